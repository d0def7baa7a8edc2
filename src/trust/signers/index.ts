/** Software-key signers and key stores (PEM, PKCS#12); the shared signature-algorithm table. */
export { SoftwareSigner, type SoftwareSignerOptions } from "./software-signer.js";
export { loadPkcs12, type LoadPkcs12Options } from "./load-pkcs12.js";
export { loadPemIdentity, type PemIdentityInput } from "./load-pem.js";
export type { KeyStoreEntry } from "./key-store-entry.js";
export { keystoreInvalid, keystorePasswordIncorrect, type KeystoreInvalidReason } from "./keystore-errors.js";
export {
  P256_CURVE_OID,
  RSA_SIGNATURE_ALGORITHMS,
  SIGNATURE_ALGORITHMS,
  algorithmsForKey,
  ecdsaRawToDer,
  signatureAlgorithmSpec,
  type DigestName,
  type SignatureAlgorithmSpec,
} from "./signature-algorithms.js";
export { issuerChain, privateKeyMatchesCertificate } from "./certificate-chain.js";
