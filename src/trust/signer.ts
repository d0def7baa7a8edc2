import type { X509Certificate } from "node:crypto";

/**
 * Signature algorithms a Signer may offer. Names follow WebCrypto/JWA usage;
 * SHA-1 exists only for the profiles that still require it (some XML-DSig
 * consumers) and must be asked for explicitly.
 */
export type SignatureAlgorithm =
  | "RSASSA-PKCS1-v1_5-SHA256"
  | "RSASSA-PKCS1-v1_5-SHA384"
  | "RSASSA-PKCS1-v1_5-SHA512"
  | "RSASSA-PKCS1-v1_5-SHA1"
  | "RSA-PSS-SHA256"
  | "ECDSA-P256-SHA256";

/**
 * A private key that signs, wherever it lives: a software key, a smart card
 * reached through PKCS#11, or a remote signature service (KMS). Callers never
 * see the key, only signatures and the certificate chain.
 */
export interface Signer {
  /** A label for logs and metrics (never secret). */
  readonly id: string;
  readonly keyType: "RSA" | "EC";
  /** What this key can do. */
  readonly algorithms: readonly SignatureAlgorithm[];
  /**
   * Signs `data` (the signer hashes it with the algorithm's digest).
   * RSA: the raw signature; ECDSA: the DER-encoded Ecdsa-Sig-Value (RFC 3279),
   * which JOSE/XML-DSig callers convert to r||s.
   */
  sign(data: Uint8Array, algorithm: SignatureAlgorithm): Promise<Buffer>;
  /** The signing certificate first, then its issuers up to (not including) the root. */
  certificateChain(): Promise<X509Certificate[]>;
  /** Releases sessions/connections (PKCS#11 logout, HTTP pools). */
  close?(): Promise<void>;
}
