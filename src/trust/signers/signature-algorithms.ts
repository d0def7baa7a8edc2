/**
 * What each {@link SignatureAlgorithm} of the Signer contract means in bytes:
 * its digest, its padding, and the DER encodings the signers must produce or
 * undo. Shared by the software signer (node:crypto does the padding) and the
 * PKCS#11 signer (the token does the raw RSA/ECDSA operation on a digest
 * computed here).
 */
import type { KeyObject } from "node:crypto";
import type { SignatureAlgorithm } from "../signer.js";

export type DigestName = "sha1" | "sha256" | "sha384" | "sha512";

export interface SignatureAlgorithmSpec {
  name: SignatureAlgorithm;
  keyType: "RSA" | "EC";
  /** node:crypto hash name. */
  digest: DigestName;
  /** Digest output length in bytes. */
  digestLength: number;
  scheme: "pkcs1-v1_5" | "pss" | "ecdsa";
  /**
   * RSASSA-PKCS1-v1_5 only: the DER prefix of the DigestInfo that is padded
   * and signed (RFC 8017 §9.2, note 1), so a raw-RSA token can be given
   * `prefix || digest` with CKM_RSA_PKCS.
   */
  digestInfoPrefix?: Buffer;
  /** RSA-PSS only: salt length in bytes (the digest length, RFC 8017 §9.1 and RFC 7518 §3.5). */
  saltLength?: number;
}

const hex = (text: string): Buffer => Buffer.from(text.replaceAll(" ", ""), "hex");

// RFC 8017 §9.2 note 1.
const DIGEST_INFO_PREFIX: Readonly<Record<DigestName, Buffer>> = {
  sha1: hex("30 21 30 09 06 05 2b 0e 03 02 1a 05 00 04 14"),
  sha256: hex("30 31 30 0d 06 09 60 86 48 01 65 03 04 02 01 05 00 04 20"),
  sha384: hex("30 41 30 0d 06 09 60 86 48 01 65 03 04 02 02 05 00 04 30"),
  sha512: hex("30 51 30 0d 06 09 60 86 48 01 65 03 04 02 03 05 00 04 40"),
};

const DIGEST_LENGTH: Readonly<Record<DigestName, number>> = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 };

function pkcs1(name: SignatureAlgorithm, digest: DigestName): SignatureAlgorithmSpec {
  return {
    name,
    keyType: "RSA",
    digest,
    digestLength: DIGEST_LENGTH[digest],
    scheme: "pkcs1-v1_5",
    digestInfoPrefix: DIGEST_INFO_PREFIX[digest],
  };
}

export const SIGNATURE_ALGORITHMS: Readonly<Record<SignatureAlgorithm, SignatureAlgorithmSpec>> = {
  "RSASSA-PKCS1-v1_5-SHA256": pkcs1("RSASSA-PKCS1-v1_5-SHA256", "sha256"),
  "RSASSA-PKCS1-v1_5-SHA384": pkcs1("RSASSA-PKCS1-v1_5-SHA384", "sha384"),
  "RSASSA-PKCS1-v1_5-SHA512": pkcs1("RSASSA-PKCS1-v1_5-SHA512", "sha512"),
  "RSASSA-PKCS1-v1_5-SHA1": pkcs1("RSASSA-PKCS1-v1_5-SHA1", "sha1"),
  "RSA-PSS-SHA256": { name: "RSA-PSS-SHA256", keyType: "RSA", digest: "sha256", digestLength: 32, scheme: "pss", saltLength: 32 },
  "ECDSA-P256-SHA256": { name: "ECDSA-P256-SHA256", keyType: "EC", digest: "sha256", digestLength: 32, scheme: "ecdsa" },
};

/** Every algorithm an RSA key can serve, SHA-256 first (the default of most profiles). */
export const RSA_SIGNATURE_ALGORITHMS: readonly SignatureAlgorithm[] = [
  "RSASSA-PKCS1-v1_5-SHA256",
  "RSASSA-PKCS1-v1_5-SHA384",
  "RSASSA-PKCS1-v1_5-SHA512",
  "RSASSA-PKCS1-v1_5-SHA1",
  "RSA-PSS-SHA256",
];

/** The one curve the Signer contract names (RFC 5480 secp256r1 / prime256v1). */
export const P256_CURVE_OID = "1.2.840.10045.3.1.7";

/**
 * The spec of `algorithm`, checked against what the signer offers. A name
 * outside the contract or outside `offered` is the caller's mistake: TypeError.
 */
export function signatureAlgorithmSpec(
  algorithm: SignatureAlgorithm,
  offered: readonly SignatureAlgorithm[],
  signerId: string,
): SignatureAlgorithmSpec {
  const spec = Object.hasOwn(SIGNATURE_ALGORITHMS, algorithm) ? SIGNATURE_ALGORITHMS[algorithm] : undefined;
  if (spec === undefined) throw new TypeError(`Unknown signature algorithm ${JSON.stringify(algorithm)}`);
  if (!offered.includes(algorithm)) {
    throw new TypeError(`Signer ${signerId} cannot sign with ${algorithm} (it offers ${offered.join(", ")})`);
  }
  return spec;
}

/** The algorithms a node:crypto private or public key can serve; empty for keys the contract has no algorithm for. */
export function algorithmsForKey(key: KeyObject): SignatureAlgorithm[] {
  if (key.asymmetricKeyType === "rsa") return [...RSA_SIGNATURE_ALGORITHMS];
  if (key.asymmetricKeyType === "ec" && key.asymmetricKeyDetails?.namedCurve === "prime256v1") {
    return ["ECDSA-P256-SHA256"];
  }
  return [];
}

/**
 * PKCS#11 CKM_ECDSA returns r || s, each as long as the group order
 * (PKCS#11 v2.40 §2.3.1); the Signer contract returns the DER
 * Ecdsa-Sig-Value SEQUENCE { r INTEGER, s INTEGER } (RFC 3279 §2.2.3).
 */
export function ecdsaRawToDer(raw: Uint8Array): Buffer {
  if (raw.length === 0 || raw.length % 2 !== 0) {
    throw new RangeError(`An ECDSA r||s signature has an even, non-zero length; got ${raw.length} bytes`);
  }
  const half = raw.length / 2;
  const body = Buffer.concat([derInteger(raw.subarray(0, half)), derInteger(raw.subarray(half))]);
  return Buffer.concat([Buffer.from([0x30]), derLength(body.length), body]);
}

function derInteger(unsigned: Uint8Array): Buffer {
  let start = 0;
  while (start < unsigned.length - 1 && unsigned[start] === 0) start += 1;
  const magnitude = Buffer.from(unsigned.subarray(start));
  // X.690 §8.3: a set high bit would read as negative; prefix a zero octet.
  const value = (magnitude[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), magnitude]) : magnitude;
  return Buffer.concat([Buffer.from([0x02]), derLength(value.length), value]);
}

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
