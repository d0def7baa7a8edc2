/**
 * Certificates: chain validation to trust anchors with CRL revocation, and
 * trust stores read from PEM files, directories or PKCS#12 truststores that
 * reload when their files change.
 */
export {
  parseCertificate,
  toNodeCertificate,
  type CertificateInput,
  type CertificateSummary,
} from "./certificate-input.js";
export { CertificateError, type CertificateErrorOptions, type ChainFailureReason, type RevocationDetails } from "./errors.js";
export { CERTIFICATE_PURPOSES, type CertificatePurpose } from "./purposes.js";
export {
  validateChain,
  type ChainValidationFailure,
  type ChainValidationResult,
  type ChainValidationSuccess,
  type RevocationCheck,
  type ValidateChainOptions,
} from "./validate-chain.js";
export type { StaleCrlPolicy } from "./revocation.js";
export {
  Crl,
  CrlError,
  FileCrlSource,
  HttpCrlSource,
  StaticCrlSource,
  crlDistributionPointUrls,
  parseCrls,
  type CrlSource,
  type HttpCrlSourceOptions,
} from "./crl.js";
export { loadTruststore, type LoadTruststoreOptions, type TrustedCertificate } from "./load-truststore.js";
export {
  TrustStore,
  type TrustRole,
  type TrustStoreEntry,
  type TrustStoreListener,
  type TrustStoreOptions,
  type TrustStoreReloadOutcome,
  type TrustStoreSnapshot,
  type TrustStoreSource,
  type TrustStoreWatchOptions,
} from "./trust-store.js";
