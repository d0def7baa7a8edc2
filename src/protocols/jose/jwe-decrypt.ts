/**
 * Decrypting a JWE (RFC 7516) in any serialization, with the caller's
 * allow-lists of key management and content encryption algorithms.
 *
 * For a general JWE with several recipients, each recipient whose algorithm
 * is allowed and fits the key is tried in turn (RFC 7516 §5.2 step 6).
 * `RSA1_5` recipients are read only with `allowLegacyRsa1_5: true` and
 * "RSA1_5" in `keyManagementAlgorithms` — see legacy-rsa1-5.ts.
 *
 * @example
 * ```ts
 * const { plaintext } = await decryptJwe(token, ourPrivateKey, {
 *   keyManagementAlgorithms: ["RSA-OAEP-256"],
 *   contentEncryptionAlgorithms: JWE_CONTENT_ENCRYPTION_ALGS,
 * });
 * ```
 */
import { flattenedDecrypt, type FlattenedJWE, type GeneralJWE, type JWEHeaderParameters } from "jose";
import {
  JWE_CONTENT_ENCRYPTION_ALGORITHMS,
  JWE_KEY_MANAGEMENT_ALGORITHMS,
  checkAllowList,
  type JweContentEncryptionAlgorithm,
  type JweKeyManagementAlgorithm,
  type LegacyJweKeyManagementAlgorithm,
} from "./algorithms.js";
import { JoseError, fromJoseLibraryError, summariseFailures } from "./errors.js";
import {
  assertCritUnderstood,
  assertExpectedTyp,
  checkUnderstoodCrit,
  critOption,
  decodeHeaderSegment,
  type HeaderMembers,
} from "./header.js";
import { decryptLegacyRsa1_5 } from "./legacy-rsa1-5.js";
import { assertAllowListFitsKey, assertJoseKey, jweAlgorithmFitsKey, keyFamily, type JoseKey, type KeyFamily } from "./keys.js";

/** A JWE in the compact serialization, or either JSON serialization (parsed). */
export type JweInput = string | FlattenedJWE | GeneralJWE;

/** jose's default ceiling on PBES2 iterations: a larger p2c is a denial-of-service attempt (RFC 8725 §3.1 spirit). */
export const DEFAULT_MAX_PBES2_COUNT = 10_000;
/** Default ceiling on an inflated (`zip: "DEF"`) plaintext: 250 kB, as jose. */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 250_000;

export interface DecryptJweOptions {
  /** Key management algorithms this use accepts. Required: there is no default. */
  keyManagementAlgorithms: readonly (JweKeyManagementAlgorithm | LegacyJweKeyManagementAlgorithm)[];
  /** Content encryption algorithms this use accepts (e.g. `JWE_CONTENT_ENCRYPTION_ALGS`). */
  contentEncryptionAlgorithms: readonly JweContentEncryptionAlgorithm[];
  /** Extension header names this use understands and processes (RFC 7516 §4.1.13). */
  crit?: readonly string[];
  /** Expected `typ` (RFC 8725 §3.11). */
  typ?: string;
  /** Largest accepted PBES2 `p2c`; default {@link DEFAULT_MAX_PBES2_COUNT}. */
  maxPbes2Count?: number;
  /** Largest inflated plaintext for `zip: "DEF"`; default {@link DEFAULT_MAX_DECOMPRESSED_BYTES}. */
  maxDecompressedBytes?: number;
  /** Must be true for "RSA1_5" to be accepted in `keyManagementAlgorithms` (legacy partners only). */
  allowLegacyRsa1_5?: boolean;
}

export interface DecryptedJwe {
  plaintext: Uint8Array;
  protectedHeader?: JWEHeaderParameters;
  /** Not integrity protected. */
  sharedUnprotectedHeader?: JWEHeaderParameters;
  /** The per-recipient header of the recipient that decrypted. Not integrity protected. */
  recipientHeader?: JWEHeaderParameters;
  additionalAuthenticatedData?: Uint8Array;
  /** Which recipient of a general JWE decrypted (0 otherwise). */
  recipientIndex: number;
}

const KNOWN_KEY_MANAGEMENT = [...JWE_KEY_MANAGEMENT_ALGORITHMS, "RSA1_5"] as const;

interface CheckedOptions {
  keyManagementAlgorithms: readonly string[];
  contentEncryptionAlgorithms: readonly JweContentEncryptionAlgorithm[];
  crit: readonly string[] | undefined;
  maxPbes2Count: number;
  maxDecompressedBytes: number;
  typ: string | undefined;
}

function checkOptions(options: DecryptJweOptions): CheckedOptions {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("decryptJwe needs options with keyManagementAlgorithms and contentEncryptionAlgorithms");
  }
  const keyManagementAlgorithms = checkAllowList("keyManagementAlgorithms", options.keyManagementAlgorithms, KNOWN_KEY_MANAGEMENT);
  if (keyManagementAlgorithms.includes("RSA1_5") && options.allowLegacyRsa1_5 !== true) {
    throw new TypeError('"RSA1_5" in keyManagementAlgorithms needs allowLegacyRsa1_5: true (RFC 8725 §3.2: legacy partners only)');
  }
  const contentEncryptionAlgorithms = checkAllowList(
    "contentEncryptionAlgorithms",
    options.contentEncryptionAlgorithms,
    JWE_CONTENT_ENCRYPTION_ALGORITHMS,
  );
  const positive = (name: string, value: number | undefined, fallback: number): number => {
    if (value === undefined) return fallback;
    if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`${name} must be a positive integer`);
    return value;
  };
  if (options.typ !== undefined && typeof options.typ !== "string") throw new TypeError("typ must be a string");
  return {
    keyManagementAlgorithms,
    contentEncryptionAlgorithms,
    crit: checkUnderstoodCrit(options.crit, "crit"),
    maxPbes2Count: positive("maxPbes2Count", options.maxPbes2Count, DEFAULT_MAX_PBES2_COUNT),
    maxDecompressedBytes: positive("maxDecompressedBytes", options.maxDecompressedBytes, DEFAULT_MAX_DECOMPRESSED_BYTES),
    typ: options.typ,
  };
}

export async function decryptJwe(jwe: JweInput, key: JoseKey, options: DecryptJweOptions): Promise<DecryptedJwe> {
  const checked = checkOptions(options);
  assertJoseKey(key, "decryptJwe key");
  const family = keyFamily(key);
  assertAllowListFitsKey(checked.keyManagementAlgorithms, family, jweAlgorithmFitsKey, "decryptJwe");

  const candidates = candidatesOf(jwe);
  const failures: JoseError[] = [];
  for (const [index, candidate] of candidates.entries()) {
    try {
      const result = await decryptOne(candidate, key, family, checked);
      return { ...result, recipientIndex: index };
    } catch (error) {
      if (!(error instanceof JoseError)) throw error;
      failures.push(error);
    }
  }
  throw summariseFailures(failures, {
    none: "JWE: no recipient",
    mixedReason: "decryption_failed",
    detail: (relevant) => `JWE: no recipient could be decrypted with this key (${relevant.map((f) => f.detail).join("; ")})`,
  });
}

function candidatesOf(jwe: JweInput): FlattenedJWE[] {
  if (typeof jwe === "string") {
    const parts = jwe.split(".");
    if (parts.length !== 5) throw new JoseError("malformed", "JWE: the compact serialization has five dot-separated parts");
    const [protectedSegment, encryptedKey, iv, ciphertext, tag] = parts as [string, string, string, string, string];
    return [{ protected: protectedSegment, ...(encryptedKey === "" ? {} : { encrypted_key: encryptedKey }), iv, ciphertext, tag }];
  }
  if (typeof jwe !== "object" || jwe === null) throw new JoseError("malformed", "JWE: neither a compact string nor a JSON object");
  if ("recipients" in jwe) {
    const { recipients, ...shared } = jwe;
    if (!Array.isArray(recipients) || recipients.length === 0) {
      throw new JoseError("malformed", "JWE: the general serialization needs a non-empty recipients array");
    }
    return recipients.map((recipient: unknown) => {
      if (typeof recipient !== "object" || recipient === null) throw new JoseError("malformed", "JWE: a recipients entry is not an object");
      return { ...shared, ...(recipient as Pick<FlattenedJWE, "encrypted_key" | "header">) };
    });
  }
  return [jwe];
}

/** RFC 7516 §7.2.1: the members every JSON serialization has, with their types. */
function assertJweShape(candidate: FlattenedJWE): void {
  const optionalStrings = ["protected", "encrypted_key", "iv", "tag", "aad"] as const;
  if (typeof candidate.ciphertext !== "string") throw new JoseError("malformed", "JWE: ciphertext missing or not a string");
  for (const member of optionalStrings) {
    if (candidate[member] !== undefined && typeof candidate[member] !== "string") throw new JoseError("malformed", `JWE: ${member} is not a string`);
  }
  for (const member of ["unprotected", "header"] as const) {
    const value = candidate[member];
    if (value !== undefined && (typeof value !== "object" || value === null || Array.isArray(value))) {
      throw new JoseError("malformed", `JWE: ${member} is not a JSON object`);
    }
  }
}

async function decryptOne(
  candidate: FlattenedJWE,
  key: JoseKey,
  family: KeyFamily,
  options: CheckedOptions,
): Promise<Omit<DecryptedJwe, "recipientIndex">> {
  assertJweShape(candidate);
  const protectedHeader = candidate.protected === undefined || candidate.protected === "" ? undefined : decodeHeaderSegment(candidate.protected, "JWE");
  const joseHeader: HeaderMembers = {
    ...protectedHeader,
    ...(candidate.unprotected as HeaderMembers | undefined),
    ...(candidate.header as HeaderMembers | undefined),
  };
  const alg = joseHeader.alg;
  if (typeof alg !== "string") throw new JoseError("header_invalid", "JWE: no alg in the header");
  if (!options.keyManagementAlgorithms.includes(alg)) {
    throw new JoseError("algorithm_not_allowed", `JWE: key management algorithm ${JSON.stringify(alg)} is not allowed here`);
  }
  if (!jweAlgorithmFitsKey(alg, family)) {
    throw new JoseError("key_mismatch", `JWE: the configured ${family.kind} key cannot unwrap ${alg}`);
  }
  assertCritUnderstood(protectedHeader, joseHeader, options.crit ?? [], "JWE");

  let plaintext: Uint8Array;
  if (alg === "RSA1_5") {
    plaintext = decryptLegacyRsa1_5({
      jwe: candidate,
      protectedHeader,
      joseHeader,
      key,
      contentEncryptionAlgorithms: options.contentEncryptionAlgorithms,
      maxDecompressedBytes: options.maxDecompressedBytes,
    });
  } else {
    try {
      const result = await flattenedDecrypt(candidate, key, {
        keyManagementAlgorithms: [alg],
        contentEncryptionAlgorithms: [...options.contentEncryptionAlgorithms],
        maxPBES2Count: options.maxPbes2Count,
        maxDecompressedLength: options.maxDecompressedBytes,
        ...critOption(options.crit),
      });
      plaintext = result.plaintext;
    } catch (error) {
      throw fromJoseLibraryError(error, "JWE");
    }
  }
  assertExpectedTyp(joseHeader.typ, options.typ);
  return {
    plaintext,
    ...(protectedHeader === undefined ? {} : { protectedHeader: protectedHeader as JWEHeaderParameters }),
    ...(candidate.unprotected === undefined ? {} : { sharedUnprotectedHeader: candidate.unprotected }),
    ...(candidate.header === undefined ? {} : { recipientHeader: candidate.header }),
    ...(candidate.aad === undefined ? {} : { additionalAuthenticatedData: Buffer.from(candidate.aad, "base64url") }),
  };
}

