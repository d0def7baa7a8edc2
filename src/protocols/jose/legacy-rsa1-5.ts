/**
 * Reading JWEs whose content key is wrapped with RSAES-PKCS1-v1_5 ("RSA1_5",
 * RFC 7518 §4.2). jose 6 dropped the algorithm (WebCrypto has no PKCS#1 v1.5
 * encryption), but older partners still send it, and RFC 7520 §5.1 and §5.13
 * use it. We never produce it; reading it takes `allowLegacyRsa1_5: true`.
 *
 * Padding-oracle defence, RFC 7516 §11.5 and RFC 3218 §2.3.2: any failure to
 * unwrap — bad padding, wrong length — is replaced by a random content key
 * of the right length, so that the caller only ever sees the one
 * "decryption failed" of the authenticated content decryption. OpenSSL ≥ 3.2
 * does the same inside the unwrap ("implicit rejection": a deterministic
 * pseudo-random message on bad padding), and Node only allows PKCS#1 v1.5
 * decryption when OpenSSL does (CVE-2023-46809); the Node 24 the project
 * runs on bundles OpenSSL 3.5. On a runtime that refuses, RSA1_5 messages
 * fail with reason "unsupported", whatever their content.
 */
import {
  KeyObject,
  constants,
  createDecipheriv,
  createHmac,
  createPrivateKey,
  privateDecrypt,
  randomBytes,
  timingSafeEqual,
  type CipherGCMTypes,
  type JsonWebKey,
} from "node:crypto";
import { inflateRawSync } from "node:zlib";
import type { FlattenedJWE } from "jose";
import type { JweContentEncryptionAlgorithm } from "./algorithms.js";
import { JoseError } from "./errors.js";
import type { HeaderMembers } from "./header.js";
import { isJwk, type JoseKey } from "./keys.js";

interface ContentAlgorithm {
  cekBytes: number;
  ivBytes: number;
  tagBytes: number;
  mode: "cbc-hmac" | "gcm";
}

/** RFC 7518 §5.2.3–5.2.5 and §5.3. */
const CONTENT_ALGORITHMS: Record<JweContentEncryptionAlgorithm, ContentAlgorithm> = {
  "A128CBC-HS256": { cekBytes: 32, ivBytes: 16, tagBytes: 16, mode: "cbc-hmac" },
  "A192CBC-HS384": { cekBytes: 48, ivBytes: 16, tagBytes: 24, mode: "cbc-hmac" },
  "A256CBC-HS512": { cekBytes: 64, ivBytes: 16, tagBytes: 32, mode: "cbc-hmac" },
  A128GCM: { cekBytes: 16, ivBytes: 12, tagBytes: 16, mode: "gcm" },
  A192GCM: { cekBytes: 24, ivBytes: 12, tagBytes: 16, mode: "gcm" },
  A256GCM: { cekBytes: 32, ivBytes: 12, tagBytes: 16, mode: "gcm" },
};

export interface LegacyDecryptInput {
  jwe: FlattenedJWE;
  protectedHeader: HeaderMembers | undefined;
  joseHeader: HeaderMembers;
  key: JoseKey;
  contentEncryptionAlgorithms: readonly JweContentEncryptionAlgorithm[];
  maxDecompressedBytes: number;
}

function rsaPrivateKey(key: JoseKey): KeyObject {
  let keyObject: KeyObject;
  if (key instanceof KeyObject) keyObject = key;
  else if (isJwk(key)) keyObject = createPrivateKey({ key: key as JsonWebKey, format: "jwk" });
  else if (key instanceof Uint8Array) throw new TypeError("RSA1_5 needs an RSA private key, not a secret");
  else keyObject = KeyObject.from(key);
  if (keyObject.type !== "private" || keyObject.asymmetricKeyType !== "rsa") {
    throw new TypeError("RSA1_5 needs an RSA private key");
  }
  return keyObject;
}

function base64urlMember(value: unknown, name: string): Buffer {
  if (typeof value !== "string" || !/^[A-Za-z0-9_-]*$/.test(value)) {
    throw new JoseError("malformed", `JWE: ${name} is not base64url`);
  }
  return Buffer.from(value, "base64url");
}

export function decryptLegacyRsa1_5(input: LegacyDecryptInput): Uint8Array {
  const { jwe, protectedHeader, joseHeader } = input;
  const enc = joseHeader.enc;
  if (typeof enc !== "string" || !Object.hasOwn(CONTENT_ALGORITHMS, enc)) {
    throw new JoseError("unsupported", `JWE: unsupported "enc" ${JSON.stringify(enc)}`);
  }
  if (!(input.contentEncryptionAlgorithms as readonly string[]).includes(enc)) {
    throw new JoseError("algorithm_not_allowed", `JWE: "enc" ${enc} is not allowed here`);
  }
  if (joseHeader.zip !== undefined && (joseHeader.zip !== "DEF" || protectedHeader?.zip !== "DEF")) {
    // RFC 7516 §4.1.3: zip must be integrity protected; DEF is the only value (RFC 7518 §7.3).
    throw new JoseError("header_invalid", 'JWE: "zip" must be "DEF" and in the protected header');
  }
  const algorithm = CONTENT_ALGORITHMS[enc as JweContentEncryptionAlgorithm];
  const privateKey = rsaPrivateKey(input.key);
  const encryptedKey = base64urlMember(jwe.encrypted_key, "encrypted_key");
  const iv = base64urlMember(jwe.iv, "iv");
  const ciphertext = base64urlMember(jwe.ciphertext, "ciphertext");
  const tag = base64urlMember(jwe.tag, "tag");
  // RFC 7516 §5.2 step 14: ASCII(BASE64URL(protected)) [ "." BASE64URL(aad) ].
  const aad = Buffer.from(jwe.aad === undefined ? (jwe.protected ?? "") : `${jwe.protected ?? ""}.${jwe.aad}`, "ascii");

  let cek: Buffer;
  try {
    cek = privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_PADDING }, encryptedKey);
  } catch (error) {
    // The runtime's refusal of the padding mode does not depend on the message, so saying so leaks nothing.
    if ((error as NodeJS.ErrnoException).code === "ERR_INVALID_ARG_VALUE") {
      throw new JoseError("unsupported", "JWE: this runtime refuses RSAES-PKCS1-v1_5 decryption (it needs OpenSSL ≥ 3.2 implicit rejection)", error);
    }
    cek = randomBytes(algorithm.cekBytes);
  }
  if (cek.length !== algorithm.cekBytes) cek = randomBytes(algorithm.cekBytes);

  const plaintext = decryptContent(algorithm, cek, iv, ciphertext, tag, aad);
  if (joseHeader.zip !== "DEF") return plaintext;
  try {
    return inflateRawSync(plaintext, { maxOutputLength: input.maxDecompressedBytes });
  } catch (error) {
    throw new JoseError("malformed", "JWE: the compressed plaintext could not be inflated within the size limit", error);
  }
}

function decryptionFailed(cause?: unknown): JoseError {
  return new JoseError("decryption_failed", "JWE: decryption failed", cause);
}

/** RFC 7518 §5.2.2.2 (AES_CBC_HMAC_SHA2) and §5.3 (AES GCM) decryption. */
function decryptContent(
  algorithm: ContentAlgorithm,
  cek: Buffer,
  iv: Buffer,
  ciphertext: Buffer,
  tag: Buffer,
  aad: Buffer,
): Buffer {
  if (iv.length !== algorithm.ivBytes || tag.length !== algorithm.tagBytes) throw decryptionFailed();
  if (algorithm.mode === "cbc-hmac") {
    const half = algorithm.cekBytes / 2;
    const macKey = cek.subarray(0, half);
    const encKey = cek.subarray(half);
    const al = Buffer.alloc(8);
    al.writeBigUInt64BE(BigInt(aad.length) * 8n);
    const hash = { 32: "sha256", 48: "sha384", 64: "sha512" }[algorithm.cekBytes] ?? "sha256";
    const mac = createHmac(hash, macKey).update(aad).update(iv).update(ciphertext).update(al).digest().subarray(0, half);
    if (!timingSafeEqual(mac, tag)) throw decryptionFailed();
    try {
      const decipher = createDecipheriv(`aes-${half * 8}-cbc`, encKey, iv);
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    } catch (error) {
      throw decryptionFailed(error);
    }
  }
  try {
    const decipher = createDecipheriv(`aes-${algorithm.cekBytes * 8}-gcm` as CipherGCMTypes, cek, iv, { authTagLength: 16 });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch (error) {
    throw decryptionFailed(error);
  }
}
