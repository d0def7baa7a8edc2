import { PasserelleError } from "../../errors/index.js";

/**
 * Why an XML signature was rejected. Stable values: callers and vendors may
 * branch on them (they are the `reason` member of the problem document).
 */
export type XmlSignatureFailure =
  /** No Signature element where the policy expects one. */
  | "signature_not_found"
  /** More than one Signature element where the policy expects one. */
  | "multiple_signatures"
  /** The Signature does not have the XML-DSig structure (two SignedInfo, bad base64, unknown children…). */
  | "malformed_signature"
  /** A signature, digest or canonicalization algorithm outside the policy's allow-list (SHA-1, DSA, HMAC…). */
  | "algorithm_not_allowed"
  /** An HMACOutputLength element: truncated HMACs are refused outright (CVE-2009-0217). */
  | "hmac_truncation"
  /** A transform other than enveloped-signature and (exclusive) canonicalization without comments. */
  | "transform_not_allowed"
  /** A Reference URI that is neither "" nor "#id" (external resources, XPointer). */
  | "unsupported_reference"
  /** A "#id" Reference whose Id is on no element. */
  | "reference_not_found"
  /** A Reference pointing into the Signature itself (enveloping) while the policy does not allow it. */
  | "reference_inside_signature"
  /** The same Id value on two elements: the classic signature-wrapping set-up. */
  | "duplicate_id"
  /** A comment inside signed content or inside SignedInfo. */
  | "comment_in_signed_content"
  /** An element the policy requires to be signed is not covered by any Reference. */
  | "wrapping"
  /** The key is neither trusted nor validated by the trust policy. */
  | "untrusted_key"
  /** The key is shorter than the policy's minimum, or on an unsupported curve. */
  | "weak_key"
  | "certificate_expired"
  | "certificate_not_yet_valid"
  /** SignatureValue does not verify over SignedInfo with the trusted key. */
  | "signature_mismatch"
  /** A Reference's digest does not match its content. */
  | "digest_mismatch"
  /** XAdES: the signing certificate named in SignedProperties is not the certificate that verified. */
  | "signing_certificate_mismatch"
  /** More References than the policy allows (each one costs a canonicalization). */
  | "too_many_references";

/**
 * An XML signature rejected by the verifier (`PASSERELLE_XML_SIGNATURE_INVALID`,
 * 422), with a machine-readable `reason`. A service that got the document
 * from an upstream should wrap it in `PASSERELLE_UPSTREAM_BAD_RESPONSE`.
 */
export class XmlSignatureError extends PasserelleError {
  readonly reason: XmlSignatureFailure;

  constructor(reason: XmlSignatureFailure, detail: string, cause?: unknown) {
    super("PASSERELLE_XML_SIGNATURE_INVALID", { detail, cause, extensions: { reason } });
    this.name = "XmlSignatureError";
    this.reason = reason;
  }
}
