/**
 * The Luxembourg remote signature service simulator (`lu-kms`) and the
 * sandbox's eConnector-style key stores (generic keystore, KMS truststore).
 */
export {
  KMS_HASH_ALGORITHMS,
  KMS_SIGNATURE_ALGORITHMS,
  LU_KMS_PATHS,
  LU_KMS_SIMULATOR_ID,
  LU_KMS_TIMESTAMP_POLICY_OID,
  buildLuKmsApp,
  luKmsSimulator,
  type LuKmsApp,
  type LuKmsAppOptions,
  type LuKmsSimulatorOptions,
} from "./simulator.js";
export { KMS_FAULT_MODES, KMS_OPERATIONS, type KmsFaultMode, type KmsOperation } from "./faults.js";
export { DOCUMENT_SIGNING_EKU, type KmsPractitioner } from "./practitioner-keys.js";
export {
  GENERIC_KEYSTORE_ALIAS,
  GENERIC_KEYSTORE_ORGANIZATIONAL_UNIT,
  SANDBOX_GENERIC_KEYSTORE_FILE,
  SANDBOX_GENERIC_KEYSTORE_IDENTITY,
  SANDBOX_KMS_TRUSTSTORE_ALIASES,
  SANDBOX_KMS_TRUSTSTORE_FILE,
  sandboxEconnectorKeystores,
  sandboxGenericKeystoreIdentity,
  writeSandboxEconnectorKeystores,
  type SandboxEconnectorKeystoreFiles,
  type SandboxEconnectorKeystoreOptions,
  type SandboxEconnectorKeystores,
} from "./econnector-keystores.js";
export { encodePkcs12KeyStore, encodePkcs12TrustStore, type Pkcs12KeyStoreInput, type Pkcs12TrustStoreInput } from "./pkcs12-writer.js";
