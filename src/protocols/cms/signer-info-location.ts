/**
 * Finds, by byte offsets, the parts of a DER ContentInfo/SignedData that
 * callers edit or check without re-encoding anything else (RFC 5652 §3, §5.1,
 * §5.3):
 *
 *   ContentInfo ::= SEQUENCE { contentType, content [0] EXPLICIT SignedData }
 *   SignedData ::= SEQUENCE { version, digestAlgorithms, encapContentInfo,
 *                             certificates [0]?, crls [1]?, signerInfos SET }
 *   SignerInfo ::= SEQUENCE { version, sid, digestAlgorithm, signedAttrs [0]?,
 *                             signatureAlgorithm, signature, unsignedAttrs [1]? }
 */
import { TAG, readChildren, readTlv, type Tlv } from "./der.js";

export interface SignerInfoLocation {
  /** From the outside in: ContentInfo, its [0], SignedData, signerInfos SET. */
  enclosing: [Tlv, Tlv, Tlv, Tlv];
  signerInfo: Tlv;
  /** SignerInfo's children. */
  fields: Tlv[];
  signedAttrs: Tlv | undefined;
  signature: Tlv;
  unsignedAttrs: Tlv | undefined;
}

/** Undefined when `der` is not a definite-length SignedData ContentInfo with that SignerInfo. */
export function locateSignerInfo(der: Uint8Array, signerIndex: number): SignerInfoLocation | undefined {
  const contentInfo = readTlv(der, 0);
  if (contentInfo?.tag !== TAG.SEQUENCE || contentInfo.end !== der.length) return undefined;
  const explicit = readChildren(der, contentInfo)?.[1];
  if (explicit?.tag !== TAG.CONTEXT_0) return undefined;
  const signedData = readChildren(der, explicit)?.[0];
  if (signedData?.tag !== TAG.SEQUENCE) return undefined;
  const signerInfos = readChildren(der, signedData)?.at(-1);
  if (signerInfos?.tag !== TAG.SET) return undefined;
  const signerInfo = readChildren(der, signerInfos)?.[signerIndex];
  if (signerInfo?.tag !== TAG.SEQUENCE) return undefined;
  const fields = readChildren(der, signerInfo);
  if (fields === undefined || fields.length < 5) return undefined;
  const signedAttrs = fields[3]?.tag === TAG.CONTEXT_0 ? fields[3] : undefined;
  const signature = fields[signedAttrs === undefined ? 4 : 5];
  if (signature?.tag !== TAG.OCTET_STRING) return undefined;
  const last = fields.at(-1);
  const unsignedAttrs = last !== signature && last?.tag === TAG.CONTEXT_1 ? last : undefined;
  if (fields.indexOf(signature) !== fields.length - (unsignedAttrs ? 2 : 1)) return undefined;
  return { enclosing: [contentInfo, explicit, signedData, signerInfos], signerInfo, fields, signedAttrs, signature, unsignedAttrs };
}
