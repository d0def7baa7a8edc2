/**
 * Typed errors of certificate validation and trust stores.
 */
import { PasserelleError } from "../../errors/index.js";
import type { CertificateSummary } from "./certificate-input.js";

export type ChainFailureReason =
  /** A certificate of the path is past its notAfter at the validation time. */
  | "expired"
  /** A certificate of the path is before its notBefore at the validation time. */
  | "not_yet_valid"
  /** The path ends at a self-signed certificate that is not a configured anchor. */
  | "untrusted_root"
  /** No configured anchor or intermediate has the name of a certificate's issuer. */
  | "issuer_not_found"
  /** A certificate's signature does not verify with its issuer's key. */
  | "bad_signature"
  /** A certificate used as an issuer is not a CA (basicConstraints cA false or absent). */
  | "not_a_ca"
  /** A CA's pathLenConstraint is exceeded (RFC 5280 §4.2.1.9). */
  | "path_length_exceeded"
  /** keyUsage forbids the use (the leaf's purpose, or keyCertSign / cRLSign for a CA). */
  | "key_usage"
  /** extendedKeyUsage forbids the purpose (in the leaf, or restricted by a CA). */
  | "extended_key_usage"
  /** A critical extension this validator does not process (RFC 5280 §6.1.4 (o)). */
  | "unsupported_critical_extension"
  /** Listed on its issuer's CRL. */
  | "revoked"
  /** Revocation checking was required and no usable CRL could be had. */
  | "revocation_unavailable"
  /** Not a certificate. */
  | "malformed";

export interface RevocationDetails {
  revokedAt: string;
  /** RFC 5280 §5.3.1 reason, e.g. `keyCompromise`; `unspecified` when the CRL entry gives none. */
  revocationReason: string;
  crlIssuer: string;
  crlThisUpdate: string;
}

export interface CertificateErrorOptions {
  reason: ChainFailureReason;
  detail: string;
  certificate?: CertificateSummary;
  revocation?: RevocationDetails;
  cause?: unknown;
}

/**
 * A chain that failed validation. `revocation_unavailable` maps to the 503
 * code (try again when the CRL is reachable), everything else to 422.
 */
export class CertificateError extends PasserelleError {
  readonly reason: ChainFailureReason;
  readonly certificate: CertificateSummary | undefined;
  readonly revocation: RevocationDetails | undefined;

  constructor(options: CertificateErrorOptions) {
    super(options.reason === "revocation_unavailable" ? "PASSERELLE_REVOCATION_UNAVAILABLE" : "PASSERELLE_CERTIFICATE_INVALID", {
      detail: options.detail,
      cause: options.cause,
      extensions: {
        reason: options.reason,
        ...(options.certificate === undefined
          ? {}
          : { certificate: { subject: options.certificate.subject, serialNumber: options.certificate.serialNumber } }),
        ...(options.revocation === undefined ? {} : { revocation: options.revocation }),
      },
    });
    this.name = "CertificateError";
    this.reason = options.reason;
    this.certificate = options.certificate;
    this.revocation = options.revocation;
  }
}

/** A trust store that cannot be read; at start only (reloads keep the old content). */
export function trustStoreInvalid(detail: string, cause?: unknown): PasserelleError {
  return new PasserelleError("PASSERELLE_TRUST_STORE_INVALID", { detail, ...(cause === undefined ? {} : { cause }) });
}
