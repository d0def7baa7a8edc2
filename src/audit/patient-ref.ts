import { type KeyObject, createHmac, createSecretKey } from "node:crypto";

/** Prefix of every pseudonym, so the algorithm can change later without ambiguity. */
export const PATIENT_REF_PREFIX = "hmac-sha256:";

/** RFC 2104 §3: a key shorter than the hash output (32 bytes for SHA-256) weakens the HMAC. */
const MIN_KEY_BYTES = 32;

/**
 * Turns a national patient identifier into the pseudonym stored in the audit
 * trail: `hmac-sha256:<hex>` of the normalised identifier.
 *
 * Why keyed: national identifiers are short and structured. A French NIR is
 * 13 digits (plus a 2-digit check key) whose first digits are sex, birth year
 * and month, birth département: well under 10^11 plausible values, which a
 * laptop hashes with SHA-256 in minutes. An unkeyed hash of a NIR (or a
 * Belgian NISS, a Luxembourg matricule) is therefore no pseudonym at all:
 * anyone holding the trail re-identifies every patient by brute force. With
 * HMAC the same search needs the key, which stays with the gateway (GDPR
 * art. 4(5): the "additional information" kept separately).
 *
 * Normalisation makes the written forms of one identifier map to one
 * pseudonym: surrounding and inner white space, `.` and `-` separators are
 * removed (`1 84 12 75 123 456`, `85.07.30-033.28`) and letters are upper-cased
 * (Corsican NIRs carry `2A`/`2B`).
 *
 * Changing the key changes every pseudonym: records written under an old key
 * are no longer found by `patientId` queries.
 *
 * @example
 * const pseudonymiser = new PatientPseudonymiser(keyFromVault);
 * pseudonymiser.ref("2 84 06 75 123 456") === pseudonymiser.ref("2840675123456"); // true
 */
export class PatientPseudonymiser {
  // A KeyObject, not a Buffer: it does not print its bytes when logged or inspected.
  readonly #key: KeyObject;

  constructor(key: Buffer) {
    if (!Buffer.isBuffer(key)) {
      throw new TypeError("PatientPseudonymiser: key must be a Buffer");
    }
    if (key.length < MIN_KEY_BYTES) {
      throw new TypeError(`PatientPseudonymiser: key must be at least ${MIN_KEY_BYTES} bytes, got ${key.length}`);
    }
    // createSecretKey copies the bytes, so the caller may wipe its buffer.
    this.#key = createSecretKey(key);
  }

  /** `hmac-sha256:<64 lowercase hex>` of the normalised identifier. */
  ref(patientId: string): string {
    const normalised = normalisePatientId(patientId);
    return PATIENT_REF_PREFIX + createHmac("sha256", this.#key).update(normalised, "utf8").digest("hex");
  }
}

/**
 * The canonical form that is hashed (exported so callers can check whether a
 * text carries an identifier). Throws a `TypeError` when nothing is left.
 */
export function normalisePatientId(patientId: string): string {
  if (typeof patientId !== "string") {
    throw new TypeError("patientId must be a string");
  }
  const normalised = patientId.replace(/[\s.-]+/gu, "").toUpperCase();
  if (normalised.length === 0) {
    throw new TypeError("patientId must not be empty");
  }
  return normalised;
}
