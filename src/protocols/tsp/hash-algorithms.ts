/**
 * The message-imprint hash algorithms this module accepts, with their OIDs
 * (RFC 5754 §2) and digest lengths. SHA-1 is left out on purpose: ETSI TS
 * 119 312 withdrew it for time-stamp imprints, and a TSA that still accepts it
 * offers no second-preimage protection.
 */
export type TimestampHashAlgorithm = "SHA-256" | "SHA-384" | "SHA-512";

export interface HashAlgorithmInfo {
  name: TimestampHashAlgorithm;
  oid: string;
  /** Name for `node:crypto` `createHash`. */
  nodeName: "sha256" | "sha384" | "sha512";
  /** Digest length in bytes. */
  length: number;
}

export const TIMESTAMP_HASH_ALGORITHMS: Readonly<Record<TimestampHashAlgorithm, HashAlgorithmInfo>> = {
  "SHA-256": { name: "SHA-256", oid: "2.16.840.1.101.3.4.2.1", nodeName: "sha256", length: 32 },
  "SHA-384": { name: "SHA-384", oid: "2.16.840.1.101.3.4.2.2", nodeName: "sha384", length: 48 },
  "SHA-512": { name: "SHA-512", oid: "2.16.840.1.101.3.4.2.3", nodeName: "sha512", length: 64 },
};

/** OIDs of hash algorithms we can name in errors even though we refuse them. */
const KNOWN_HASH_NAMES: Readonly<Record<string, string>> = {
  "1.3.14.3.2.26": "SHA-1",
  "1.2.840.113549.2.5": "MD5",
  "2.16.840.1.101.3.4.2.4": "SHA-224",
  "2.16.840.1.101.3.4.2.8": "SHA3-256",
};

export function isTimestampHashAlgorithm(value: unknown): value is TimestampHashAlgorithm {
  return typeof value === "string" && Object.hasOwn(TIMESTAMP_HASH_ALGORITHMS, value);
}

/** The algorithm with this OID, or undefined when it is not one we accept. */
export function hashAlgorithmByOid(oid: string): HashAlgorithmInfo | undefined {
  return Object.values(TIMESTAMP_HASH_ALGORITHMS).find((info) => info.oid === oid);
}

/** A readable name for an algorithm OID, for error messages ("SHA-1", or the OID itself). */
export function describeHashOid(oid: string): string {
  return hashAlgorithmByOid(oid)?.name ?? KNOWN_HASH_NAMES[oid] ?? oid;
}

/** Throws `TypeError` (a caller mistake) unless `value` names an accepted algorithm. */
export function assertTimestampHashAlgorithm(value: unknown, what = "hashAlgorithm"): asserts value is TimestampHashAlgorithm {
  if (!isTimestampHashAlgorithm(value)) {
    throw new TypeError(`${what} must be one of ${Object.keys(TIMESTAMP_HASH_ALGORITHMS).join(", ")}, got ${String(value)}`);
  }
}
