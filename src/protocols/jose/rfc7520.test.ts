/**
 * RFC 7520 (JOSE cookbook), RFC 7797 §4.1 and RFC 8037 A.4, from the shared
 * conformance folder (`../shared/conformance/jose/`, see its SOURCE.txt).
 *
 * Deterministic examples are re-created byte for byte through our helpers,
 * with the example's fixed CEK, IVs, salt or ephemeral key injected. The
 * randomised ones (RSA-PSS, ECDSA, RSA-OAEP, RSA1_5, ECDH-ES ephemeral keys)
 * are verified/decrypted, and where part of the output is still
 * deterministic (the content ciphertext), that part is compared too.
 */
import { createPrivateKey, type JsonWebKey } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { FlattenedSign, GeneralSign, flattenedVerify, generalVerify, type JWK } from "jose";
import { describe, expect, it } from "vitest";
import {
  JoseError,
  decryptJwe,
  encryptJwe,
  jwkThumbprint,
  publicJwkOf,
  signJws,
  verifyJws,
  type FlattenedJWE,
  type FlattenedJWS,
  type GeneralJWE,
  type GeneralJWS,
  type JweContentEncryptionAlgorithm,
  type JweKeyManagementAlgorithm,
  type JwsAlgorithm,
} from "./index.js";
import { buildJweProtectedHeader, encryptFlattenedJwe, serializeJwe, type FixedJweValues } from "./jwe-encrypt.js";

const VECTORS_DIR = fileURLToPath(new URL("../../../../shared/conformance/jose/", import.meta.url));

interface JwsVector {
  source: string;
  deterministic?: boolean;
  input: { payload: string; key: JWK; alg: string };
  signing: { protected?: Record<string, string>; unprotected?: Record<string, string> };
  output: { compact?: string; json: GeneralJWS; json_flat: FlattenedJWS };
}

interface JweVector {
  source: string;
  deterministic?: boolean;
  input: { plaintext: string; key?: JWK; pwd?: string; alg: string; enc: string; aad?: string };
  generated?: { cek?: string; iv?: string };
  encrypting_key?: { iv?: string; salt?: string; iteration_count?: number; epk?: JWK; cek?: string };
  encrypting_content: { protected?: Record<string, unknown>; unprotected?: Record<string, unknown> };
  /** RFC 7520 prints two general examples (§5.5, §5.6) without "recipients". */
  output: { compact?: string; json: Omit<GeneralJWE, "recipients"> & { recipients?: GeneralJWE["recipients"] }; json_flat: FlattenedJWE };
}

function load<T>(prefix: string): T {
  const name = readdirSync(VECTORS_DIR).find((file) => file.startsWith(prefix));
  if (name === undefined) throw new Error(`no vector ${prefix}* in ${VECTORS_DIR}`);
  return JSON.parse(readFileSync(VECTORS_DIR + name, "utf8")) as T;
}

const b64u = (value: string): Uint8Array => Buffer.from(value, "base64url");
const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString("utf8");

async function rejection(promise: Promise<unknown>): Promise<JoseError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof JoseError) return error;
    throw error;
  }
  throw new Error("expected a JoseError");
}

describe("the vector folder", () => {
  it("holds every example this suite covers, and nothing it ignores", () => {
    const files = readdirSync(VECTORS_DIR).filter((file) => file.endsWith(".json"));
    const covered = [
      "rfc7520_3_x", "rfc7520_4_1_", "rfc7520_4_2_", "rfc7520_4_3_", "rfc7520_4_4_", "rfc7520_4_6_", "rfc7520_4_7_",
      "rfc7520_4_8_", "rfc7520_5_1_", "rfc7520_5_2_", "rfc7520_5_3_", "rfc7520_5_4_", "rfc7520_5_5_", "rfc7520_5_6_",
      "rfc7520_5_7_", "rfc7520_5_8_", "rfc7520_5_9_", "rfc7520_5_10_", "rfc7520_5_11_", "rfc7520_5_12_", "rfc7520_5_13_",
      "rfc7797_4_1_", "rfc8037_A_4_",
    ];
    for (const file of files) expect(covered.some((prefix) => file.startsWith(prefix)), file).toBe(true);
    expect(files).toHaveLength(covered.length);
  });
});

describe("RFC 7520 §3 keys and RFC 7638 thumbprints", () => {
  it("computes the RFC 7638 §3.1 thumbprint", async () => {
    const jwk = {
      kty: "RSA",
      e: "AQAB",
      alg: "RS256",
      kid: "2011-04-29",
      n:
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    };
    expect(await jwkThumbprint(jwk)).toBe("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  });

  it("gives a private key and its public part the same thumbprint (§3.1/3.2, §3.3/3.4)", async () => {
    const { keys } = load<{ keys: Record<string, JWK> }>("rfc7520_3_x");
    const ec = keys["RFC 7520 section 3.2 ec_private_key"]!;
    const rsa = keys["RFC 7520 section 3.4 rsa_private_key"]!;
    expect(publicJwkOf(ec)).toEqual(keys["RFC 7520 section 3.1 ec_public_key"]);
    expect(publicJwkOf(rsa)).toEqual(keys["RFC 7520 section 3.3 rsa_public_key"]);
    expect(await jwkThumbprint(ec)).toBe(await jwkThumbprint(publicJwkOf(ec)));
    expect(await jwkThumbprint(rsa)).toBe(await jwkThumbprint(publicJwkOf(rsa)));
  });
});

describe("JWS (RFC 7520 §4, RFC 7797, RFC 8037)", () => {
  it("§4.1 RSA v1.5 (RS256): re-creates the compact, flattened and general outputs exactly", async () => {
    const v = load<JwsVector>("rfc7520_4_1_");
    const options = { alg: "RS256", kid: v.input.key.kid! } as const;
    expect(await signJws(v.input.payload, v.input.key, options)).toBe(v.output.compact);
    expect(await signJws(v.input.payload, v.input.key, { ...options, serialization: "flattened" })).toEqual(v.output.json_flat);
    expect(await signJws(v.input.payload, v.input.key, { ...options, serialization: "general" })).toEqual(v.output.json);
    const verified = await verifyJws(v.output.compact!, publicJwkOf(v.input.key), { algorithms: ["RS256"] });
    expect(text(verified.payload)).toBe(v.input.payload);
    expect(verified.protectedHeader).toEqual(v.signing.protected);
  });

  it.each([
    ["§4.2 RSA-PSS (PS384)", "rfc7520_4_2_"],
    ["§4.3 ECDSA (ES512)", "rfc7520_4_3_"],
  ])("%s: verifies all three serializations (randomised signature), and our own signature round-trips", async (_name, prefix) => {
    const v = load<JwsVector>(prefix);
    const alg = v.input.alg as JwsAlgorithm;
    const publicKey = publicJwkOf(v.input.key);
    for (const jws of [v.output.compact!, v.output.json_flat, v.output.json] as const) {
      const verified = await verifyJws(jws, publicKey, { algorithms: [alg] });
      expect(text(verified.payload)).toBe(v.input.payload);
    }
    const ours = await signJws(v.input.payload, v.input.key, { alg, kid: v.input.key.kid! });
    expect(ours.split(".")[0]).toBe(v.output.compact!.split(".")[0]);
    expect(text((await verifyJws(ours, publicKey, { algorithms: [alg] })).payload)).toBe(v.input.payload);
    const tampered = `${ours.slice(0, -6)}${ours.endsWith("AAAAAA") ? "BBBBBB" : "AAAAAA"}`;
    expect((await rejection(verifyJws(tampered, publicKey, { algorithms: [alg] }))).reason).toBe("signature_invalid");
  });

  it("§4.4 HMAC-SHA2 (HS256): re-creates all three outputs exactly and verifies them with the shared secret", async () => {
    const v = load<JwsVector>("rfc7520_4_4_");
    const options = { alg: "HS256", kid: v.input.key.kid! } as const;
    expect(await signJws(v.input.payload, v.input.key, options)).toBe(v.output.compact);
    expect(await signJws(v.input.payload, v.input.key, { ...options, serialization: "flattened" })).toEqual(v.output.json_flat);
    expect(await signJws(v.input.payload, v.input.key, { ...options, serialization: "general" })).toEqual(v.output.json);
    expect(text((await verifyJws(v.output.json, v.input.key, { algorithms: ["HS256"] })).payload)).toBe(v.input.payload);
  });

  it("§4.6 protecting specific header fields: alg protected, kid unprotected, exactly", async () => {
    const v = load<JwsVector>("rfc7520_4_6_");
    const options = { alg: "HS256", unprotectedHeader: { kid: v.input.key.kid! } } as const;
    expect(await signJws(v.input.payload, v.input.key, { ...options, serialization: "flattened" })).toEqual(v.output.json_flat);
    expect(await signJws(v.input.payload, v.input.key, { ...options, serialization: "general" })).toEqual(v.output.json);
    const verified = await verifyJws(v.output.json_flat, v.input.key, { algorithms: ["HS256"] });
    expect(verified.unprotectedHeader).toEqual({ kid: v.input.key.kid });
  });

  it("§4.7 protecting content only: jose re-creates it exactly; verifyJws refuses it because our policy wants alg integrity protected", async () => {
    const v = load<JwsVector>("rfc7520_4_7_");
    const payload = new TextEncoder().encode(v.input.payload);
    const produced = await new FlattenedSign(payload).setUnprotectedHeader(v.signing.unprotected!).sign(v.input.key);
    expect(produced).toEqual(v.output.json_flat);
    await expect(flattenedVerify(v.output.json_flat, v.input.key, { algorithms: ["HS256"] })).resolves.toBeDefined();
    const refused = await rejection(verifyJws(v.output.json_flat, v.input.key, { algorithms: ["HS256"] }));
    expect(refused.reason).toBe("header_invalid");
    expect(refused.detail).toMatch(/unprotected header/);
  });

  it("§4.8 multiple signatures: RS256 and HS256 signatures exactly (ES512 is randomised), each verified with its own key", async () => {
    const v = load<JwsVector & { input: { key: JWK[]; alg: string[] }; signing: JwsVector["signing"][] }>("rfc7520_4_8_");
    const [rsa, ec, hmac] = v.input.key as [JWK, JWK, JWK];
    const signer = new GeneralSign(new TextEncoder().encode(v.input.payload));
    signer.addSignature(rsa).setProtectedHeader(v.signing[0]!.protected!).setUnprotectedHeader(v.signing[0]!.unprotected!);
    signer.addSignature(ec).setUnprotectedHeader(v.signing[1]!.unprotected!);
    signer.addSignature(hmac).setProtectedHeader(v.signing[2]!.protected!);
    const produced = await signer.sign();
    const expected = v.output.json;
    expect(produced.payload).toBe(expected.payload);
    expect(produced.signatures[0]).toEqual(expected.signatures[0]);
    expect(produced.signatures[2]).toEqual(expected.signatures[2]);

    const json = v.output.json;
    expect((await verifyJws(json, publicJwkOf(rsa), { algorithms: ["RS256"] })).signatureIndex).toBe(0);
    expect((await verifyJws(json, hmac, { algorithms: ["HS256"] })).signatureIndex).toBe(2);
    // The ES512 signature has alg only in its unprotected header: jose accepts it, our policy does not.
    await expect(generalVerify(json, publicJwkOf(ec), { algorithms: ["ES512"] })).resolves.toBeDefined();
    expect((await rejection(verifyJws(json, publicJwkOf(ec), { algorithms: ["ES512"] }))).reason).toBe("header_invalid");
  });

  it('RFC 7797 §4.1 unencoded payload ("b64": false, crit): re-creates both JSON outputs exactly', async () => {
    const v = load<JwsVector>("rfc7797_4_1_");
    const options = { alg: "HS256", b64: false } as const;
    expect(await signJws(v.input.payload, v.input.key, { ...options, serialization: "flattened" })).toEqual(v.output.json_flat);
    expect(await signJws(v.input.payload, v.input.key, { ...options, serialization: "general" })).toEqual(v.output.json);
    const verified = await verifyJws(v.output.json_flat, v.input.key, { algorithms: ["HS256"] });
    expect(text(verified.payload)).toBe("$.02");
    expect(verified.protectedHeader).toEqual({ alg: "HS256", b64: false, crit: ["b64"] });
  });

  it("RFC 8037 A.4 Ed25519: EdDSA is deterministic, so all three outputs are re-created exactly", async () => {
    const v = load<JwsVector>("rfc8037_A_4_");
    expect(await signJws(v.input.payload, v.input.key, { alg: "EdDSA" })).toBe(v.output.compact);
    expect(await signJws(v.input.payload, v.input.key, { alg: "EdDSA", serialization: "flattened" })).toEqual(v.output.json_flat);
    expect(await signJws(v.input.payload, v.input.key, { alg: "EdDSA", serialization: "general" })).toEqual(v.output.json);
    expect(text((await verifyJws(v.output.compact!, publicJwkOf(v.input.key), { algorithms: ["EdDSA"] })).payload)).toBe(v.input.payload);
  });
});

/** Re-creates a deterministic JWE through the same code path as encryptJwe, with the example's fixed values. */
async function recreate(
  v: JweVector,
  key: Parameters<typeof encryptFlattenedJwe>[1],
  fixed: FixedJweValues,
  extra: { pbes2Count?: number; aad?: Uint8Array } = {},
): Promise<FlattenedJWE> {
  const header = v.encrypting_content.protected ?? {};
  const options = {
    alg: v.input.alg as JweKeyManagementAlgorithm,
    enc: v.input.enc as JweContentEncryptionAlgorithm,
    ...(typeof header.kid === "string" ? { kid: header.kid } : {}),
    ...(typeof header.cty === "string" ? { cty: header.cty } : {}),
  };
  return encryptFlattenedJwe(new TextEncoder().encode(v.input.plaintext), key, {
    protectedHeader: buildJweProtectedHeader(options),
    fixed,
    ...extra,
  });
}

const ALL_ENC: JweContentEncryptionAlgorithm[] = ["A128GCM", "A192GCM", "A256GCM", "A128CBC-HS256", "A192CBC-HS384", "A256CBC-HS512"];

async function expectDecrypts(v: JweVector, key: Parameters<typeof decryptJwe>[1], extra: Partial<Parameters<typeof decryptJwe>[2]> = {}): Promise<void> {
  const options = {
    keyManagementAlgorithms: [v.input.alg as JweKeyManagementAlgorithm],
    contentEncryptionAlgorithms: ALL_ENC,
    ...extra,
  };
  for (const jwe of [v.output.compact, v.output.json_flat, v.output.json]) {
    if (jwe === undefined) continue;
    const decrypted = await decryptJwe(jwe as string | FlattenedJWE | GeneralJWE, key, options);
    expect(text(decrypted.plaintext)).toBe(v.input.plaintext);
  }
}

describe("JWE (RFC 7520 §5)", () => {
  it("§5.1 RSA v1.5 + A128CBC-HS256: decrypted only with an explicit legacy opt-in; never produced", async () => {
    const v = load<JweVector>("rfc7520_5_1_");
    const key = v.input.key!;
    await expectDecrypts(v, key, { keyManagementAlgorithms: ["RSA1_5"], allowLegacyRsa1_5: true });
    await expect(decryptJwe(v.output.compact!, key, { keyManagementAlgorithms: ["RSA1_5"], contentEncryptionAlgorithms: ALL_ENC })).rejects.toThrow(TypeError);
    expect((await rejection(decryptJwe(v.output.compact!, key, { keyManagementAlgorithms: ["RSA-OAEP-256"], contentEncryptionAlgorithms: ALL_ENC }))).reason).toBe(
      "algorithm_not_allowed",
    );
    await expect(encryptJwe("x", publicJwkOf(key), { alg: "RSA1_5" as never, enc: "A128CBC-HS256" })).rejects.toThrow(/RSA1_5/);
  });

  it("§5.1 RSA v1.5: a damaged encrypted key gives the same 'decryption failed' as a damaged tag (RFC 7516 §11.5)", async () => {
    const v = load<JweVector>("rfc7520_5_1_");
    const options = { keyManagementAlgorithms: ["RSA1_5"] as const, contentEncryptionAlgorithms: ALL_ENC, allowLegacyRsa1_5: true };
    const parts = v.output.compact!.split(".");
    const badKey = Buffer.from(parts[1]!, "base64url");
    badKey[10]! ^= 0xff;
    const withBadKey = [parts[0], badKey.toString("base64url"), ...parts.slice(2)].join(".");
    const badTag = Buffer.from(parts[4]!, "base64url");
    badTag[0]! ^= 1;
    const withBadTag = [...parts.slice(0, 4), badTag.toString("base64url")].join(".");
    const [keyError, tagError] = [await rejection(decryptJwe(withBadKey, v.input.key!, options)), await rejection(decryptJwe(withBadTag, v.input.key!, options))];
    expect(keyError.reason).toBe("decryption_failed");
    expect(tagError.reason).toBe("decryption_failed");
    expect(keyError.detail).toBe(tagError.detail);
  });

  it("§5.2 RSA-OAEP + A256GCM: decrypts all serializations; with the example's CEK and IV our ciphertext and tag are the example's", async () => {
    const v = load<JweVector>("rfc7520_5_2_");
    await expectDecrypts(v, v.input.key!);
    // RSA-OAEP wraps at random, but the content encryption is fixed by CEK, IV and protected header.
    const ours = await recreate(v, publicJwkOf(v.input.key!), { cek: b64u(v.generated!.cek!), iv: b64u(v.generated!.iv!) });
    expect({ protected: ours.protected, iv: ours.iv, ciphertext: ours.ciphertext, tag: ours.tag }).toEqual({
      protected: v.output.json_flat.protected,
      iv: v.output.json_flat.iv,
      ciphertext: v.output.json_flat.ciphertext,
      tag: v.output.json_flat.tag,
    });
    expect(ours.encrypted_key).not.toBe(v.output.json_flat.encrypted_key);
    expect(text((await decryptJwe(ours, v.input.key!, { keyManagementAlgorithms: ["RSA-OAEP"], contentEncryptionAlgorithms: ["A256GCM"] })).plaintext)).toBe(v.input.plaintext);
  });

  it("§5.3 PBES2-HS512+A256KW + A128CBC-HS256: re-creates all three outputs exactly (salt, count, CEK and IV fixed)", async () => {
    const v = load<JweVector>("rfc7520_5_3_");
    const password = new TextEncoder().encode(v.input.pwd!);
    const flattened = await recreate(
      v,
      password,
      { cek: b64u(v.generated!.cek!), iv: b64u(v.generated!.iv!), p2s: b64u(v.encrypting_key!.salt!) },
      { pbes2Count: v.encrypting_key!.iteration_count! },
    );
    expect(serializeJwe(flattened, "compact")).toBe(v.output.compact);
    expect(flattened).toEqual(v.output.json_flat);
    expect(serializeJwe(flattened, "general")).toEqual(v.output.json);
    await expectDecrypts(v, password);
    // A p2c above the use's ceiling is refused before 8192 PBKDF2 rounds are spent (a cheap denial of service otherwise).
    expect((await rejection(decryptJwe(v.output.compact!, password, { keyManagementAlgorithms: ["PBES2-HS512+A256KW"], contentEncryptionAlgorithms: ALL_ENC, maxPbes2Count: 1000 }))).reason).toBe("malformed");
  });

  it("§5.4 ECDH-ES+A128KW + A128GCM: decrypts; with the example's ephemeral key, CEK and IV the wrapped key and ciphertext are the example's", async () => {
    const v = load<JweVector>("rfc7520_5_4_");
    await expectDecrypts(v, v.input.key!);
    const epk = createPrivateKey({ key: v.encrypting_key!.epk! as JsonWebKey, format: "jwk" });
    const ours = await recreate(v, publicJwkOf(v.input.key!), { epk, cek: b64u(v.generated!.cek!), iv: b64u(v.generated!.iv!) });
    // The tag differs only because jose writes the epk members in another order inside the protected header (the AAD).
    expect(ours.encrypted_key).toBe(v.output.json_flat.encrypted_key);
    expect(ours.ciphertext).toBe(v.output.json_flat.ciphertext);
    expect(text((await decryptJwe(ours, v.input.key!, { keyManagementAlgorithms: ["ECDH-ES+A128KW"], contentEncryptionAlgorithms: ["A128GCM"] })).plaintext)).toBe(v.input.plaintext);
  });

  it("§5.5 ECDH-ES + A128CBC-HS256: decrypts; with the example's ephemeral key and IV the ciphertext (hence the agreed key) is the example's", async () => {
    const v = load<JweVector>("rfc7520_5_5_");
    await expectDecrypts(v, v.input.key!);
    const epk = createPrivateKey({ key: v.encrypting_key!.epk! as JsonWebKey, format: "jwk" });
    const ours = await recreate(v, publicJwkOf(v.input.key!), { epk, iv: b64u(v.generated!.iv!) });
    expect(ours.ciphertext).toBe(v.output.json_flat.ciphertext);
    expect(text((await decryptJwe(ours, v.input.key!, { keyManagementAlgorithms: ["ECDH-ES"], contentEncryptionAlgorithms: ["A128CBC-HS256"] })).plaintext)).toBe(v.input.plaintext);
  });

  it.each([
    ["§5.6 dir + A128GCM", "rfc7520_5_6_"],
    ["§5.7 A256GCMKW + A128CBC-HS256", "rfc7520_5_7_"],
    ["§5.8 A128KW + A128GCM", "rfc7520_5_8_"],
  ])("%s: re-creates all three outputs exactly (general with recipients: [{}] for dir, RFC 7516 §7.2.1)", async (_name, prefix) => {
    const v = load<JweVector>(prefix);
    const fixed: FixedJweValues = {
      iv: b64u(v.generated!.iv!),
      ...(v.generated?.cek === undefined ? {} : { cek: b64u(v.generated.cek) }),
      ...(v.encrypting_key?.iv === undefined ? {} : { keyWrapIv: b64u(v.encrypting_key.iv) }),
    };
    const flattened = await recreate(v, v.input.key!, fixed);
    expect(serializeJwe(flattened, "compact")).toBe(v.output.compact);
    expect(flattened).toEqual(v.output.json_flat);
    // RFC 7520 prints the dir example's general form without "recipients", which RFC 7516 §7.2.1 requires
    // ("even if some or all of the elements are empty JSON objects"): we emit it; both forms decrypt.
    const general = { ...v.output.json, recipients: v.output.json.recipients ?? [{}] };
    expect(serializeJwe(flattened, "general")).toEqual(general);
    await expectDecrypts(v, v.input.key!);
  });

  it('§5.9 compressed content ("zip": "DEF"): decrypts and inflates (compression output is implementation-specific)', async () => {
    const v = load<JweVector>("rfc7520_5_9_");
    await expectDecrypts(v, v.input.key!);
    // Inflating beyond the configured ceiling is refused (a "zip bomb").
    expect((await rejection(decryptJwe(v.output.compact!, v.input.key!, { keyManagementAlgorithms: ["A128KW"], contentEncryptionAlgorithms: ["A128GCM"], maxDecompressedBytes: 100 }))).reason).toBe("malformed");
  });

  it("§5.10 additional authenticated data: re-creates both JSON outputs exactly", async () => {
    const v = load<JweVector>("rfc7520_5_10_");
    const flattened = await recreate(v, v.input.key!, { cek: b64u(v.generated!.cek!), iv: b64u(v.generated!.iv!) }, { aad: new TextEncoder().encode(v.input.aad!) });
    expect(flattened).toEqual(v.output.json_flat);
    expect(serializeJwe(flattened, "general")).toEqual(v.output.json);
    const decrypted = await decryptJwe(v.output.json as GeneralJWE, v.input.key!, { keyManagementAlgorithms: ["A128KW"], contentEncryptionAlgorithms: ["A128GCM"] });
    expect(text(decrypted.additionalAuthenticatedData!)).toBe(v.input.aad);
    expect(text(decrypted.plaintext)).toBe(v.input.plaintext);
  });

  it.each([
    ["§5.11 protecting specific header fields (enc protected, alg and kid shared unprotected)", "rfc7520_5_11_"],
    ["§5.12 protecting content only (no protected header)", "rfc7520_5_12_"],
  ])("%s: re-creates both JSON outputs exactly", async (_name, prefix) => {
    const v = load<JweVector>(prefix);
    const flattened = await encryptFlattenedJwe(new TextEncoder().encode(v.input.plaintext), v.input.key!, {
      ...(v.encrypting_content.protected === undefined ? {} : { protectedHeader: v.encrypting_content.protected as Record<string, string> }),
      sharedUnprotectedHeader: v.encrypting_content.unprotected as Record<string, string>,
      fixed: { cek: b64u(v.generated!.cek!), iv: b64u(v.generated!.iv!) },
    });
    expect(flattened).toEqual(v.output.json_flat);
    expect(serializeJwe(flattened, "general")).toEqual(v.output.json);
    await expectDecrypts(v, v.input.key!);
  });

  it("§5.13 multiple recipients: each of the three recipients decrypts with its own key (RSA1_5 with the legacy opt-in)", async () => {
    const v = load<Omit<JweVector, "input"> & { input: { plaintext: string; key: JWK[] } }>("rfc7520_5_13_");
    const [rsa, ec, aes] = v.input.key as [JWK, JWK, JWK];
    const enc: JweContentEncryptionAlgorithm[] = ["A128CBC-HS256"];
    const cases = [
      [rsa, { keyManagementAlgorithms: ["RSA1_5"] as const, allowLegacyRsa1_5: true }, 0],
      [ec, { keyManagementAlgorithms: ["ECDH-ES+A256KW"] as const }, 1],
      [aes, { keyManagementAlgorithms: ["A256GCMKW"] as const }, 2],
    ] as const;
    for (const [key, options, index] of cases) {
      const decrypted = await decryptJwe(v.output.json as GeneralJWE, key, { ...options, contentEncryptionAlgorithms: enc });
      expect(text(decrypted.plaintext)).toBe(v.input.plaintext);
      expect(decrypted.recipientIndex).toBe(index);
      expect(decrypted.sharedUnprotectedHeader).toEqual({ cty: "text/plain" });
    }
  });
});
