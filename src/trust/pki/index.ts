/** The sandbox test PKI (root, per-country CAs, server and client identities). */
export {
  SANDBOX_COUNTRIES,
  SANDBOX_ROOT_CA_NAME,
  SandboxPki,
  type ClientIdentityOptions,
  type PemIdentity,
  type SandboxCountry,
  type SandboxPkiOptions,
  type ServerIdentityOptions,
} from "./sandbox-pki.js";
export { EXTENDED_KEY_USAGES, CLIENT_KEY_USAGES, type ClientKeyUsage } from "./certificate-profiles.js";
export type { SubjectRecord } from "./subject-name.js";
export type { IndexEntry, PkiIndex } from "./pki-store.js";
