/**
 * RSA key pairs for the sandbox PKI, made with WebCrypto (`globalThis.crypto`).
 *
 * One algorithm for every key: RSASSA-PKCS1-v1_5 with SHA-256 and a 2048-bit
 * modulus (RFC 8017 §8.2). It is what the national services' own test PKIs
 * issue (CPS cards, eHealth and LuxTrust certificates), so the simulators see
 * the same kind of signatures as in integration.
 *
 * Node runs `generateKey` for RSA on the libuv thread pool, so several calls
 * started together really run in parallel — callers generate keys with
 * `Promise.all` rather than one after the other (each takes 50–150 ms).
 */
import { createPrivateKey, createPublicKey, type KeyObject, type webcrypto } from "node:crypto";

/** WebCrypto types from Node (the project compiles without the DOM lib). */
export type WebCryptoKey = webcrypto.CryptoKey;
export type WebCryptoKeyPair = webcrypto.CryptoKeyPair;

export const RSA_SIGNING_ALGORITHM = {
  name: "RSASSA-PKCS1-v1_5",
  hash: "SHA-256",
} as const;

const RSA_KEY_GENERATION: webcrypto.RsaHashedKeyGenParams = {
  ...RSA_SIGNING_ALGORITHM,
  modulusLength: 2048,
  publicExponent: new Uint8Array([0x01, 0x00, 0x01]), // F4 = 65537
};

/** A freshly generated pair, its private key already in PKCS#8 PEM for storage. */
export interface GeneratedKeyPair {
  keys: WebCryptoKeyPair;
  /** PKCS#8 (RFC 5208) PEM, "BEGIN PRIVATE KEY". */
  privateKeyPem: string;
}

export async function generateRsaKeyPair(): Promise<GeneratedKeyPair> {
  // Extractable so that the private key can be written to the PKI directory.
  const keys = await globalThis.crypto.subtle.generateKey(RSA_KEY_GENERATION, true, ["sign", "verify"]);
  const pkcs8 = await globalThis.crypto.subtle.exportKey("pkcs8", keys.privateKey);
  return { keys, privateKeyPem: encodePem("PRIVATE KEY", new Uint8Array(pkcs8)) };
}

/** Imports a stored PKCS#8 PEM private key as a (non-extractable) WebCrypto signing key. */
export async function importRsaSigningKey(privateKeyPem: string): Promise<WebCryptoKey> {
  const der = createPrivateKey(privateKeyPem).export({ format: "der", type: "pkcs8" });
  return globalThis.crypto.subtle.importKey("pkcs8", der, RSA_SIGNING_ALGORITHM, false, ["sign"]);
}

/**
 * Parses a stored private key and checks it is an RSA key whose public half is
 * `certificatePublicKey`. A mismatch happens when a crash fell between the
 * renames of a key file and its certificate file: the pair is then unusable.
 */
export function privateKeyMatches(privateKeyPem: string, certificatePublicKey: KeyObject): boolean {
  const privateKey = createPrivateKey(privateKeyPem);
  if (privateKey.asymmetricKeyType !== "rsa") return false;
  const derivedPublic = createPublicKey(privateKey).export({ format: "der", type: "spki" });
  const certificatePublic = certificatePublicKey.export({ format: "der", type: "spki" });
  return derivedPublic.equals(certificatePublic);
}

/** RFC 7468 §2 textual encoding: base64 in 64-character lines. */
export function encodePem(label: string, der: Uint8Array): string {
  const base64 = Buffer.from(der).toString("base64");
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}
