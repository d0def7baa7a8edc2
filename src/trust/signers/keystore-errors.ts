/**
 * Typed errors for key stores (PKCS#12 files, PEM keys and certificates).
 * `reason` is stable and machine-readable; docs/errors.md lists the values.
 */
import { PasserelleError } from "../../errors/index.js";

export type KeystoreInvalidReason =
  | "not_pkcs12"
  | "malformed"
  | "unsupported_algorithm"
  | "no_private_key"
  | "no_certificate"
  | "alias_not_found"
  | "ambiguous"
  | "key_certificate_mismatch"
  | "unsupported_key";

export function keystoreInvalid(reason: KeystoreInvalidReason, detail: string, cause?: unknown): PasserelleError {
  return new PasserelleError("PASSERELLE_KEYSTORE_INVALID", {
    detail,
    extensions: { reason },
    ...(cause === undefined ? {} : { cause }),
  });
}

export function keystorePasswordIncorrect(detail: string, cause?: unknown): PasserelleError {
  return new PasserelleError("PASSERELLE_KEYSTORE_PASSWORD_INCORRECT", {
    detail,
    ...(cause === undefined ? {} : { cause }),
  });
}
