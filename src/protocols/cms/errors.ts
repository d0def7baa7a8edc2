/**
 * The typed error of CMS processing: one code, `PASSERELLE_CMS_INVALID`, and
 * a machine-readable `reason`, so callers match on data rather than on text.
 */
import { PasserelleError } from "../../errors/index.js";

export type CmsFailureReason =
  /** Not a DER/BER ContentInfo holding a SignedData, or a required part is missing or inconsistent (RFC 5652 §5). */
  | "malformed"
  /** A digest or signature algorithm outside the allow-list, several SignerInfos, or a construct we do not process. */
  | "unsupported"
  /** The SignerInfo's `sid` matches no certificate carried in the SignedData. */
  | "signer_certificate_not_found"
  /** The content's digest is not the message-digest attribute (RFC 5652 §5.4, §11.2). */
  | "digest_mismatch"
  /** The signature over the signed attributes does not verify with the signer's public key, or RFC 6211 algorithm protection does not match. */
  | "bad_signature"
  /** The ESS signing-certificate(-v2) attribute does not designate the certificate that verified the signature (RFC 5035 §5.4). */
  | "signing_certificate_mismatch"
  /** The caller's trust decision (`verifyChain`) rejected the signer's certificate chain. */
  | "untrusted";

export class CmsError extends PasserelleError {
  readonly reason: CmsFailureReason;

  constructor(reason: CmsFailureReason, detail: string, cause?: unknown) {
    super("PASSERELLE_CMS_INVALID", { detail, cause, extensions: { reason } });
    this.name = "CmsError";
    this.reason = reason;
  }
}
