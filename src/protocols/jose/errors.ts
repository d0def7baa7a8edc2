/**
 * The typed error of the JOSE helpers. jose's own errors are translated here
 * so that callers match on one code (`PASSERELLE_JOSE_INVALID`) and one
 * `reason`, and never on a library's message text.
 */
import { errors as joseErrors } from "jose";
import { PasserelleError } from "../../errors/index.js";

export type JoseFailureReason =
  /** Not a JWS/JWE/JWK in any serialization we accept. */
  | "malformed"
  /** A header is missing a required member, or one is unprotected that must be protected, or `crit` names an extension this use does not understand, or `typ` is not the expected one. */
  | "header_invalid"
  /** The header's `alg`/`enc` is outside this use's allow-list. */
  | "algorithm_not_allowed"
  /** No key of the key set matches the header's `kid`/`alg`. */
  | "key_not_found"
  /** Several keys of the key set match and the header does not say which. */
  | "key_ambiguous"
  /** The header's algorithm cannot be used with the key given (an RSA key for ES256, say). */
  | "key_mismatch"
  /** A JWK or key set is itself invalid. */
  | "key_invalid"
  | "signature_invalid"
  | "decryption_failed"
  /** A well-formed object using a feature this runtime does not implement. */
  | "unsupported";

export class JoseError extends PasserelleError {
  readonly reason: JoseFailureReason;

  constructor(reason: JoseFailureReason, detail: string, cause?: unknown) {
    super("PASSERELLE_JOSE_INVALID", { detail, cause, extensions: { reason } });
    this.name = "JoseError";
    this.reason = reason;
  }
}

/**
 * Maps an error thrown by `jose` (or by WebCrypto underneath it) while
 * processing external input to a JoseError. Anything unrecognised is
 * returned as is: it is a bug, not bad input, and must not be disguised.
 */
export function fromJoseLibraryError(error: unknown, operation: string): unknown {
  if (error instanceof JoseError) return error;
  if (error instanceof joseErrors.JOSEAlgNotAllowed) {
    return new JoseError("algorithm_not_allowed", `${operation}: the algorithm is not allowed for this use`, error);
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
    return new JoseError("signature_invalid", `${operation}: signature verification failed`, error);
  }
  if (error instanceof joseErrors.JWEDecryptionFailed) {
    return new JoseError("decryption_failed", `${operation}: decryption failed`, error);
  }
  if (error instanceof joseErrors.JWKSNoMatchingKey) {
    return new JoseError("key_not_found", `${operation}: no key of the key set matches the header`, error);
  }
  if (error instanceof joseErrors.JWKSMultipleMatchingKeys) {
    return new JoseError("key_ambiguous", `${operation}: several keys of the key set match the header`, error);
  }
  if (error instanceof joseErrors.JWKInvalid || error instanceof joseErrors.JWKSInvalid) {
    return new JoseError("key_invalid", `${operation}: ${error.message}`, error);
  }
  if (error instanceof joseErrors.JOSENotSupported) {
    return new JoseError("unsupported", `${operation}: ${error.message}`, error);
  }
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWEInvalid) {
    return new JoseError("malformed", `${operation}: ${error.message}`, error);
  }
  // WebCrypto refuses a key of the wrong type for the header's algorithm with
  // a DOMException ("Invalid key type") or jose with a TypeError; both only
  // reach here once our own checks passed, so the token picked the mismatch.
  if (error instanceof TypeError || (error instanceof Error && error.name === "InvalidAccessError")) {
    return new JoseError("key_mismatch", `${operation}: the key cannot be used with the header's algorithm`, error);
  }
  if (typeof DOMException !== "undefined" && error instanceof DOMException) {
    return new JoseError("key_mismatch", `${operation}: the key cannot be used with the header's algorithm`, error);
  }
  return error;
}

/**
 * One error for a JWS or JWE whose every signature (or recipient) failed.
 * The failures where our key could not even be tried (another key, an
 * algorithm we do not allow) say nothing about the one it could: the reason
 * comes from the others when there are any, and is `mixedReason` when they
 * disagree.
 */
export function summariseFailures(
  failures: readonly JoseError[],
  options: { none: string; mixedReason: JoseFailureReason; detail: (relevant: readonly JoseError[]) => string },
): JoseError {
  const [first] = failures;
  if (first === undefined) return new JoseError("malformed", options.none);
  if (failures.length === 1) return first;
  const tried = failures.filter((f) => f.reason !== "key_mismatch" && f.reason !== "algorithm_not_allowed");
  const relevant = tried.length > 0 ? tried : failures;
  const reasons = new Set<JoseFailureReason>(relevant.map((f) => f.reason));
  const [only] = reasons;
  const reason = reasons.size === 1 && only !== undefined ? only : options.mixedReason;
  return new JoseError(reason, options.detail(relevant));
}
