import { X509Certificate, createHash, createPrivateKey, generateKeyPairSync, type webcrypto } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { importX509, exportJWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SandboxPki, type PemIdentity } from "../../trust/pki/index.js";
import {
  JoseError,
  exportPublicJwk,
  importJwk,
  jwkThumbprint,
  jwksFromCertificates,
  selectJwk,
  signJws,
  verifyJws,
  type JsonWebKeySet,
} from "./index.js";

const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });

function joseError(action: () => unknown): JoseError {
  try {
    action();
  } catch (error) {
    if (error instanceof JoseError) return error;
    throw error;
  }
  throw new Error("expected a JoseError");
}

describe("JWK helpers", () => {
  it("exports the public half only, with the RFC 7638 thumbprint as kid", async () => {
    const jwk = await exportPublicJwk(ec.privateKey, { use: "sig", alg: "ES256" });
    expect(jwk).toEqual({ kid: await jwkThumbprint(jwk), use: "sig", alg: "ES256", ...ec.publicKey.export({ format: "jwk" }) });
    expect(jwk).not.toHaveProperty("d");
    await expect(exportPublicJwk(rsa.publicKey, { alg: "ES256" })).rejects.toThrow(TypeError);
  });

  it("imports a partner's public key, refusing one that carries private members or names another algorithm", async () => {
    const publicJwk = await exportPublicJwk(rsa.publicKey, { alg: "RS256" });
    const key = await importJwk(publicJwk, { alg: "RS256", expect: "public" });
    expect((key as webcrypto.CryptoKey).type).toBe("public");
    const privateJwk = { ...rsa.privateKey.export({ format: "jwk" }), kty: "RSA" };
    await expect(importJwk(privateJwk, { alg: "RS256", expect: "public" })).rejects.toMatchObject({ reason: "key_invalid" });
    await expect(importJwk(publicJwk, { alg: "PS256", expect: "public" })).rejects.toMatchObject({ reason: "key_mismatch" });
  });

  it("selects a key by kid, use and algorithm, with errors that say what exists", async () => {
    const jwks: JsonWebKeySet = {
      keys: [
        await exportPublicJwk(rsa.publicKey, { kid: "rsa-sig", use: "sig" }),
        await exportPublicJwk(rsa.publicKey, { kid: "rsa-enc", use: "enc" }),
        await exportPublicJwk(ec.publicKey, { kid: "ec-sig", use: "sig" }),
      ],
    };
    expect(selectJwk(jwks, { kid: "ec-sig" }).kty).toBe("EC");
    expect(selectJwk(jwks, { use: "enc" }).kid).toBe("rsa-enc");
    expect(selectJwk(jwks, { alg: "ES256" }).kid).toBe("ec-sig");
    const missing = joseError(() => selectJwk(jwks, { kid: "rotated-away" }));
    expect(missing.reason).toBe("key_not_found");
    expect(missing.detail).toBe('JWKS: no key with kid "rotated-away" among 3 key(s): "rsa-sig", "rsa-enc", "ec-sig"');
    expect(joseError(() => selectJwk(jwks, { use: "sig" })).reason).toBe("key_ambiguous");
    expect(joseError(() => selectJwk(jwks, { kid: "ec-sig", alg: "RS256" })).reason).toBe("key_not_found");
  });
});

describe("jwksFromCertificates", () => {
  let workDir: string;
  let pki: SandboxPki;
  let practitioner: PemIdentity;

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), "passerelle-jose-"));
    pki = await SandboxPki.open(workDir);
    practitioner = await pki.clientIdentity("fr-practitioner-jose", {
      country: "FR",
      subject: { C: "FR", O: "Cabinet Test", CN: "Test, Alice", serialNumber: "810000000001" },
    });
  });

  afterAll(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  it("publishes each key with its chain in x5c, its x5t#S256, and the key thumbprint as kid", async () => {
    const chain = [practitioner.certPem, pki.caCertPem("FR")];
    const jwks = await jwksFromCertificates([chain], { use: "sig", alg: "RS256" });
    const [jwk] = jwks.keys;
    const leaf = new X509Certificate(practitioner.certPem);
    expect(jwk!.x5c).toEqual(chain.map((pem) => new X509Certificate(pem).raw.toString("base64")));
    expect(jwk!["x5t#S256"]).toBe(createHash("sha256").update(leaf.raw).digest("base64url"));
    // The JWK's key is the certificate's key, as jose reads it from x5c.
    const fromX5c = await exportJWK(await importX509(`-----BEGIN CERTIFICATE-----\n${jwk!.x5c![0]}\n-----END CERTIFICATE-----`, "RS256", { extractable: true }));
    expect({ n: jwk!.n, e: jwk!.e }).toEqual({ n: fromX5c.n, e: fromX5c.e });
    expect(jwk!.kid).toBe(await jwkThumbprint(jwk!));
    // A JWS signed with the practitioner's key verifies with the published key set.
    const jws = await signJws("x", createPrivateKey(practitioner.keyPem), { alg: "RS256", kid: jwk!.kid! });
    await expect(verifyJws(jws, jwks, { algorithms: ["RS256"] })).resolves.toBeDefined();
  });

  it("can use x5t#S256 as kid, and refuses a chain out of order", async () => {
    const jwks = await jwksFromCertificates([practitioner.certPem], { kid: "x5t#S256" });
    expect(jwks.keys[0]!.kid).toBe(jwks.keys[0]!["x5t#S256"]);
    await expect(jwksFromCertificates([[pki.caCertPem("FR"), practitioner.certPem]])).rejects.toThrow(/x5c order/);
    await expect(jwksFromCertificates([practitioner.certPem, practitioner.certPem])).rejects.toThrow(/same kid/);
  });
});
