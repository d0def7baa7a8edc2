/**
 * Appends an unsigned attribute to a SignerInfo of a DER SignedData — the
 * way a signature becomes CAdES-T / PAdES B-T after signing: the
 * signature-time-stamp (id-aa-signatureTimeStampToken, RFC 3161 Appendix A)
 * is an RFC 3161 token over the SignatureValue, so it can only be obtained
 * once the signature exists.
 *
 * Only the SignerInfo's unsignedAttrs and the lengths of the structures that
 * enclose it change: every other byte — the signed attributes, the
 * certificates, the signature — is copied, never re-encoded.
 *
 * The new attribute goes after the existing ones rather than in DER SET
 * order: CAdES (ETSI EN 319 122-1) keeps unsigned attributes in the order
 * they were added, because later archive time-stamps cover those before them.
 *
 * @example
 * ```ts
 * const cadesT = addUnsignedAttribute(cms, {
 *   type: "1.2.840.113549.1.9.16.2.14",
 *   values: [timeStampToken],
 * });
 * ```
 */
import { assertAttribute, encodeAttribute, type CmsAttribute } from "./attributes.js";
import { TAG, encodeTlv, rewrap } from "./der.js";
import { CmsError } from "./errors.js";
import { locateSignerInfo } from "./signer-info-location.js";

export interface AddUnsignedAttributeOptions {
  /** Which SignerInfo, default the first. */
  signerIndex?: number;
}

export function addUnsignedAttribute(
  contentInfoDer: Uint8Array,
  attribute: CmsAttribute,
  options: AddUnsignedAttributeOptions = {},
): Buffer {
  if (!(contentInfoDer instanceof Uint8Array)) throw new TypeError("contentInfoDer must be a Uint8Array");
  assertAttribute(attribute, "addUnsignedAttribute");
  const signerIndex = options.signerIndex ?? 0;
  if (!Number.isInteger(signerIndex) || signerIndex < 0) throw new TypeError("signerIndex must be a non-negative integer");

  const der = Buffer.from(contentInfoDer.buffer, contentInfoDer.byteOffset, contentInfoDer.byteLength);
  const location = locateSignerInfo(der, signerIndex);
  if (location === undefined) {
    throw new CmsError("malformed", `Not a DER SignedData ContentInfo with a SignerInfo #${signerIndex}`);
  }
  const added = encodeAttribute(attribute);
  const { signerInfo, fields, unsignedAttrs } = location;

  // The new SignerInfo: its fields as they are, with unsignedAttrs [1] extended or created.
  const kept = fields.filter((field) => field !== unsignedAttrs).map((field) => der.subarray(field.start, field.end));
  const previousAttributes = unsignedAttrs === undefined ? [] : [der.subarray(unsignedAttrs.contentStart, unsignedAttrs.end)];
  const rebuilt = encodeTlv(TAG.SEQUENCE, ...kept, encodeTlv(TAG.CONTEXT_1, ...previousAttributes, added));
  // Re-wrapped, innermost first: signerInfos SET, SignedData, [0], ContentInfo.
  return rewrap(der, location.enclosing, signerInfo, rebuilt);
}
