/**
 * The Luxembourg remote signature service (KMS): its client, a `Signer`
 * over a practitioner's remote key, time-stamps through it, and the trust
 * configuration (truststore and aliases) its answers are checked against.
 */
export {
  KMS_HASH_ALGORITHMS,
  KmsClient,
  kmsTlsOptions,
  loadClientIdentity,
  type KmsCallOptions,
  type KmsCertificateAnswer,
  type KmsClientIdentity,
  type KmsClientOptions,
  type KmsEndpoints,
  type KmsHashAlgorithm,
  type KmsSignDataRequest,
  type KmsSignatureAlgorithm,
  type KmsTransportOptions,
} from "./client.js";
export { KmsSigner, type KmsSignerOptions } from "./signer.js";
export { KmsTimestampAuthority, signatureTimestamp, type KmsTimestampAuthorityOptions } from "./timestamp.js";
export { KmsTrust, type KmsTrustAliases, type KmsTrustCertificates, type KmsTruststoreOptions } from "./trust.js";
export { kmsCertificateUntrusted, kmsForbidden, kmsTokenRejected, type KmsCertificateFailureReason } from "./errors.js";
