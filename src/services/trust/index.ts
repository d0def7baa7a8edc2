/**
 * The generic trust endpoints: sign a PDF (PAdES B-T/B-B) or an XML document
 * (XML-DSig, XAdES-BES) with a configured or sandbox signer, time-stamp a
 * digest (RFC 3161), verify signed PDF and XML documents against the trust
 * anchors, and list signers and anchors — `/v1/sign/*`, `/v1/verify/*`,
 * `/v1/timestamp`, `/v1/trust/certificates`.
 */
export { TRUST_MODULE, CONFIGURED_TSA_UPSTREAM, trustModule, type TrustModule, type TrustModuleOptions } from "./module.js";
export { trustSettingSpecs, KEYSTORE_SIGNER_ID, PKCS11_SIGNER_ID, type SignerCallers, type TrustSettingParsers } from "./settings.js";
export { TRUST_SETTINGS, checkTrustSettings, type TrustSettings } from "./config.js";
export {
  TrustService,
  decodeDigest,
  type CertificateView,
  type CertificatesView,
  type ChainView,
  type PadesLevel,
  type PdfSignatureView,
  type PdfVerdict,
  type SignPdfInput,
  type SignXmlInput,
  type SignerView,
  type TimestampInput,
  type TimestampView,
  type TrustCallContext,
  type TrustServiceOptions,
  type XmlVerdict,
} from "./service.js";
export { trustRoutes, type TrustRoutesOptions } from "./routes.js";
export { SignerRegistry, lazySignerSource, type SignerAccessOptions, type SignerCaller, type SignerDescription, type SignerSource } from "./signer-registry.js";
export { GatewayTimestampAuthority, timestampingChainVerifier, type TimestampAuthorityOptions } from "./timestamp-authority.js";
export { TRUST_STORE_NAME, configuredTrustMaterial, sandboxTrustMaterial, type ChainCheck, type TrustMaterial } from "./trust-material.js";
export { KEYSTORE_RELOAD_STORE } from "./configured-signers.js";
