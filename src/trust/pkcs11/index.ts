/** Smart cards and HSMs through PKCS#11: the card signer, token listing, mutual TLS with the card key, SoftHSM tokens. */
export { Pkcs11Signer, type Pkcs11SignerOptions } from "./pkcs11-signer.js";
export {
  DEFAULT_PKCS11_MODULE,
  Pkcs11Module,
  listTokens,
  type Pkcs11Binding,
  type Pkcs11ModuleOptions,
  type TokenDescription,
} from "./pkcs11-module.js";
export {
  DEFAULT_PKCS11_ENGINE,
  cardTlsOptions,
  createCardSecureContext,
  mapCardTlsError,
  pkcs11PrivateKeyUri,
  type CardTlsContextOptions,
  type CardTlsIdentity,
} from "./tls-engine.js";
export {
  createSoftHsmToken,
  importIdentity,
  isSoftHsmAvailable,
  type SoftHsmIdentity,
  type SoftHsmToken,
  type SoftHsmTokenOptions,
} from "./softhsm-fixture.js";
export { cardPinIncorrect, cardPinLocked, cardUnavailable, type CardUnavailableReason, type PinStatus } from "./card-errors.js";
