/**
 * XML signatures: XML-DSig sign/verify with any Signer, and XAdES-BES on top.
 */
export { signXml, type SignedXml, type SignXmlOptions, type XmlReferenceTransform, type XmlSignatureLocation, type XmlSignatureReference, type XmlSigningAlgorithm, type XmlSigningDigest } from "./sign.js";
export { verifyXmlSignature, type VerifiedReference, type XmlSignaturePolicy, type XmlSignatureVerification } from "./verify.js";
export { signXades, verifyXades, XADES_NAMESPACE, XADES_SIGNED_PROPERTIES_TYPE, type SignXadesOptions, type XadesVerification } from "./xades.js";
export { chainToTrustAnchors, type ChainToTrustAnchorsOptions, type TrustContext, type TrustPolicy } from "./trust.js";
export { XmlSignatureError, type XmlSignatureFailure } from "./errors.js";
export { DEFAULT_ID_ATTRIBUTES, WSU_NAMESPACE, type IdAttribute } from "./lib/ids.js";
export { DSIG_NAMESPACE, type XmlDigestAlgorithm, type XmlSignatureMethod } from "./lib/algorithms.js";
