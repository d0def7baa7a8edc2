import "reflect-metadata";
import { X509Certificate, constants, createPrivateKey, sign as nodeSign, type KeyObject, type webcrypto } from "node:crypto";
import { X509CertificateGenerator } from "@peculiar/x509";
import { compactVerify, decodeProtectedHeader, importX509 } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import type { SignatureAlgorithm, Signer } from "../../trust/signer.js";
import { signJwsWithSigner, verifyJws, type SignerJwsAlgorithm } from "./index.js";

/**
 * A Signer over a software key, standing in for a card or a KMS: it sees only
 * the bytes to sign and returns what the Signer contract says (DER for ECDSA).
 */
class TestSigner implements Signer {
  readonly algorithms: readonly SignatureAlgorithm[];
  #tamper = false;

  constructor(
    readonly id: string,
    readonly keyType: "RSA" | "EC",
    readonly key: KeyObject,
    readonly certificate: X509Certificate,
  ) {
    this.algorithms =
      keyType === "RSA" ? ["RSASSA-PKCS1-v1_5-SHA256", "RSASSA-PKCS1-v1_5-SHA384", "RSASSA-PKCS1-v1_5-SHA512", "RSA-PSS-SHA256"] : ["ECDSA-P256-SHA256"];
  }

  /** Makes the next signatures wrong, as a faulty token would. */
  tamper(): void {
    this.#tamper = true;
  }

  async sign(data: Uint8Array, algorithm: SignatureAlgorithm): Promise<Buffer> {
    const digest = { "RSASSA-PKCS1-v1_5-SHA384": "sha384", "RSASSA-PKCS1-v1_5-SHA512": "sha512" }[algorithm as string] ?? "sha256";
    const options =
      algorithm === "RSA-PSS-SHA256"
        ? { key: this.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
        : { key: this.key, dsaEncoding: "der" as const };
    const signature = nodeSign(digest, data, options);
    if (this.#tamper) signature[signature.length - 1]! ^= 1;
    return signature;
  }

  async certificateChain(): Promise<X509Certificate[]> {
    return [this.certificate];
  }
}

async function selfSigned(algorithm: webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams, name: string): Promise<{ key: KeyObject; certificate: X509Certificate }> {
  const keys = (await crypto.subtle.generateKey(algorithm, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
  const signingAlgorithm = algorithm.name === "ECDSA" ? { name: "ECDSA", hash: "SHA-256" } : algorithm;
  const certificate = await X509CertificateGenerator.createSelfSigned({ name: `CN=${name}`, keys, signingAlgorithm });
  const pkcs8 = Buffer.from(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  return { key: createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" }), certificate: new X509Certificate(Buffer.from(certificate.rawData)) };
}

let rsaSigner: TestSigner;
let ecSigner: TestSigner;

beforeAll(async () => {
  const [rsa, ec] = await Promise.all([
    selfSigned({ name: "RSASSA-PKCS1-v1_5", hash: "SHA-256", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) }, "card RSA"),
    selfSigned({ name: "ECDSA", namedCurve: "P-256" }, "card EC"),
  ]);
  rsaSigner = new TestSigner("card-rsa", "RSA", rsa.key, rsa.certificate);
  ecSigner = new TestSigner("card-ec", "EC", ec.key, ec.certificate);
});

describe("signJwsWithSigner", () => {
  it.each(["RS256", "RS384", "RS512", "PS256", "ES256"] as const)("produces a %s compact JWS that jose.compactVerify accepts", async (alg: SignerJwsAlgorithm) => {
    const signer = alg === "ES256" ? ecSigner : rsaSigner;
    const claims = { iss: "client-1", sub: "client-1", aud: "https://idp.example/token", jti: "j1", exp: 2_000_000_000 };
    const jws = await signJwsWithSigner(claims, signer, { alg, typ: "JWT", kid: "card-key" });
    const publicKey = await importX509(signer.certificate.toString(), alg);
    const { payload, protectedHeader } = await compactVerify(jws, publicKey, { algorithms: [alg] });
    expect(JSON.parse(Buffer.from(payload).toString())).toEqual(claims);
    expect(protectedHeader).toEqual({ alg, kid: "card-key", typ: "JWT" });
    if (alg === "ES256") expect(Buffer.from(jws.split(".")[2]!, "base64url")).toHaveLength(64);
  });

  it("puts the certificate chain and its SHA-256 thumbprint in the header on request, and the result verifies through our own helper", async () => {
    const jws = await signJwsWithSigner("hello", rsaSigner, { alg: "RS256", x5c: true, x5tS256: true });
    const header = decodeProtectedHeader(jws);
    expect(header.x5c).toEqual([rsaSigner.certificate.raw.toString("base64")]);
    expect(header["x5t#S256"]).toBe(Buffer.from(rsaSigner.certificate.fingerprint256.replaceAll(":", ""), "hex").toString("base64url"));
    const verified = await verifyJws(jws, rsaSigner.certificate.publicKey, { algorithms: ["RS256"] });
    expect(Buffer.from(verified.payload).toString()).toBe("hello");
  });

  it("refuses an algorithm the signer cannot do, with a TypeError", async () => {
    await expect(signJwsWithSigner("x", ecSigner, { alg: "RS256" })).rejects.toThrow(/cannot sign RS256/);
    await expect(signJwsWithSigner("x", rsaSigner, { alg: "HS256" as SignerJwsAlgorithm })).rejects.toThrow(TypeError);
  });

  it("refuses to hand out a signature that the signer's own certificate does not verify (a faulty card or KMS)", async () => {
    const { key, certificate } = { key: ecSigner.key, certificate: ecSigner.certificate };
    const faulty = new TestSigner("faulty", "EC", key, certificate);
    faulty.tamper();
    await expect(signJwsWithSigner("x", faulty, { alg: "ES256" })).rejects.toThrow(/does not verify/);
  });
});
