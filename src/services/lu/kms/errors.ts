/**
 * Typed errors of the Luxembourg remote signature service (KMS) client.
 *
 * Transport faults (KMS down, too slow, TLS refused) are the transport's
 * `UpstreamError` (503/504/502 naming the upstream). What is particular to
 * the KMS:
 * - it refused the practitioner's access token → 401 `PASSERELLE_KMS_TOKEN_REJECTED`
 *   (the caller's credential: they must log the practitioner in again);
 * - it holds no key for that practitioner → 403 `PASSERELLE_KMS_FORBIDDEN`;
 * - the certificate it returned does not chain to the configured signing CAs
 *   → 502 `PASSERELLE_KMS_CERTIFICATE_UNTRUSTED`.
 *
 * The KMS's `error_description` is free text from an upstream and is not
 * relayed (like any upstream body); its `error` code is, when it looks like one.
 */
import { PasserelleError } from "../../../errors/index.js";
import type { CertificateSummary, ChainFailureReason } from "../../../trust/certificates/index.js";

/** RFC 6749 §5.2 error codes are a small ASCII alphabet; anything else is not repeated. */
const ERROR_CODE = /^[\x20-\x21\x23-\x5b\x5d-\x7e]{1,64}$/;

export function safeKmsErrorCode(code: unknown): string | undefined {
  return typeof code === "string" && ERROR_CODE.test(code) ? code : undefined;
}

export function kmsTokenRejected(upstream: string, kmsError: string | undefined): PasserelleError {
  return new PasserelleError("PASSERELLE_KMS_TOKEN_REJECTED", {
    detail: `The remote signature service ${upstream} rejected the practitioner's access token${kmsError === undefined ? "" : ` (${kmsError})`}`,
    extensions: { upstream, ...(kmsError === undefined ? {} : { kmsError }) },
    // RFC 6750 §3.1: the caller's token is what failed.
    headers: { "www-authenticate": 'Bearer error="invalid_token"' },
  });
}

export function kmsForbidden(upstream: string, kmsError: string | undefined): PasserelleError {
  return new PasserelleError("PASSERELLE_KMS_FORBIDDEN", {
    detail: `The remote signature service ${upstream} refuses to sign for this practitioner${kmsError === undefined ? "" : ` (${kmsError})`}`,
    extensions: { upstream, ...(kmsError === undefined ? {} : { kmsError }) },
  });
}

/** Why a KMS certificate was refused: a chain-validation reason, or not issued by a configured signing CA. */
export type KmsCertificateFailureReason = ChainFailureReason | "not_issued_by_signing_ca";

export function kmsCertificateUntrusted(
  upstream: string,
  reason: KmsCertificateFailureReason,
  detail: string,
  certificate: CertificateSummary | undefined,
  cause?: unknown,
): PasserelleError {
  return new PasserelleError("PASSERELLE_KMS_CERTIFICATE_UNTRUSTED", {
    detail: `The remote signature service ${upstream} returned a signing certificate that is not trusted: ${detail}`,
    extensions: {
      upstream,
      reason,
      ...(certificate === undefined ? {} : { certificate: { subject: certificate.subject, serialNumber: certificate.serialNumber } }),
    },
    ...(cause === undefined ? {} : { cause }),
  });
}
