import type { KeyObject, X509Certificate } from "node:crypto";

/** A private key with its certificate, as read from a key store and as a software Signer needs them. */
export interface KeyStoreEntry {
  privateKey: KeyObject;
  /** The certificate of `privateKey`. */
  certificate: X509Certificate;
  /** Issuers of `certificate`, nearest first, excluding a self-signed root. */
  chain: X509Certificate[];
  /** The entry's friendlyName (PKCS#12 alias), when it has one. */
  alias: string | undefined;
}
