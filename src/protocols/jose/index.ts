/**
 * JOSE (JWS, JWE, JWK) on top of `jose`, with an explicit algorithm
 * allow-list on every operation. One public operation per file:
 *
 * - jws-sign.ts / jws-verify.ts — RFC 7515 (+ RFC 7797 unencoded payloads)
 * - jwe-encrypt.ts / jwe-decrypt.ts — RFC 7516 (RSA1_5 read-only, legacy-rsa1-5.ts)
 * - jwk.ts, jwks-from-certificates.ts — RFC 7517, RFC 7638 thumbprints, x5c
 * - signer-jws.ts — a compact JWS signed by a card / KMS / software Signer
 * - algorithms.ts — names and the allow-list of each use
 */
export {
  ACCESS_TOKEN_ALGS,
  CLIENT_ASSERTION_ALGS,
  CLIENT_SECRET_JWT_ALGS,
  ID_TOKEN_ALGS,
  JWE_ASYMMETRIC_KEY_MANAGEMENT_ALGS,
  JWE_CONTENT_ENCRYPTION_ALGORITHMS,
  JWE_CONTENT_ENCRYPTION_ALGS,
  JWE_KEY_MANAGEMENT_ALGORITHMS,
  JWS_ALGORITHMS,
  type JweContentEncryptionAlgorithm,
  type JweKeyManagementAlgorithm,
  type JwsAlgorithm,
  type LegacyJweKeyManagementAlgorithm,
} from "./algorithms.js";
export { JoseError, type JoseFailureReason } from "./errors.js";
export type { HeaderMembers, JsonValue } from "./header.js";
export type { JWK, JoseKey, JsonWebKeySet } from "./keys.js";
export {
  signJws,
  type FlattenedJWS,
  type GeneralJWS,
  type JwsPayload,
  type JwsSerialization,
  type SignJwsOptions,
} from "./jws-sign.js";
export {
  verifyJws,
  type FlattenedJWSInput,
  type GeneralJWSInput,
  type JWSHeaderParameters,
  type JwsInput,
  type VerifiedJws,
  type VerifyJwsOptions,
} from "./jws-verify.js";
export {
  DEFAULT_PBES2_COUNT,
  encryptJwe,
  encryptJweForRecipients,
  type EncryptJweForRecipientsOptions,
  type EncryptJweOptions,
  type FlattenedJWE,
  type GeneralJWE,
  type JWEHeaderParameters,
  type JweRecipient,
  type JweSerialization,
} from "./jwe-encrypt.js";
export {
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  DEFAULT_MAX_PBES2_COUNT,
  decryptJwe,
  type DecryptJweOptions,
  type DecryptedJwe,
  type JweInput,
} from "./jwe-decrypt.js";
export {
  exportPublicJwk,
  importJwk,
  jwkKind,
  jwkThumbprint,
  publicJwkOf,
  selectJwk,
  type ExportJwkOptions,
  type JwkKind,
  type SelectJwkCriteria,
} from "./jwk.js";
export {
  jwkFromCertificateChain,
  jwksFromCertificates,
  type CertificateInput,
  type JwksFromCertificatesOptions,
} from "./jwks-from-certificates.js";
export {
  SIGNER_JWS_ALGORITHMS,
  signJwsWithSigner,
  type SignJwsWithSignerOptions,
  type SignerJwsAlgorithm,
} from "./signer-jws.js";
export { ECDSA_COORDINATE_BYTES, ecdsaDerToJose, ecdsaJoseToDer, type EcdsaCurve } from "./ecdsa-signature.js";
