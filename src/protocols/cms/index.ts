/**
 * CMS SignedData (RFC 5652) with any Signer: creation (attached or detached,
 * ESS signing-certificate-v2, optional signature time-stamp), adding unsigned
 * attributes after signing (CAdES-T), and verification with a pluggable
 * trust decision.
 */
export { createSignedData, createSignedDataDetailed, estimateSignedDataSize } from "./sign.js";
export type { CreateSignedDataOptions, SignedAttributesOptions, SignedDataResult } from "./sign.js";
export { addUnsignedAttribute, type AddUnsignedAttributeOptions } from "./add-unsigned-attribute.js";
export { verifySignedData, type SignedDataVerification, type VerifySignedDataOptions } from "./verify.js";
export { readTimestampToken, type TimestampTokenInfo } from "./timestamp-token.js";
export { CmsError, type CmsFailureReason } from "./errors.js";
export type { CmsAttribute } from "./attributes.js";
export { DIGEST_ALGORITHMS, type DigestAlgorithm } from "./algorithms.js";
export { ATTRIBUTE_OID, CMS_OID } from "./oids.js";
