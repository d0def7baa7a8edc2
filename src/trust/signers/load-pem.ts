/**
 * Reading a private key and its certificate chain from PEM text: the key as
 * PKCS#8 (RFC 5958), encrypted PKCS#8 (`ENCRYPTED PRIVATE KEY`, PBES2) or a
 * traditional OpenSSL key; the certificates in any order (RFC 7468).
 *
 * @example
 * ```ts
 * const entry = loadPemIdentity({ keyPem, certificatePem: certPem + chainPem.join(""), password });
 * ```
 */
import { X509Certificate, createPrivateKey, type KeyObject } from "node:crypto";
import { issuerChain, privateKeyMatchesCertificate } from "./certificate-chain.js";
import { keystoreInvalid, keystorePasswordIncorrect } from "./keystore-errors.js";
import type { KeyStoreEntry } from "./key-store-entry.js";

export interface PemIdentityInput {
  /** The private key (PEM). */
  keyPem: string | Buffer;
  /** The key's certificate and, optionally, its issuers (PEM, concatenated, any order). */
  certificatePem: string | Buffer;
  /** Password of an encrypted key. */
  password?: string;
}

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
// RFC 5958 §3 (EncryptedPrivateKeyInfo) and OpenSSL's RFC 1421-style "Proc-Type: 4,ENCRYPTED" header.
const ENCRYPTED_KEY = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,ENCRYPTED/;

/**
 * Loads a key and its chain. Throws `PASSERELLE_KEYSTORE_PASSWORD_INCORRECT`
 * for a wrong or missing password of an encrypted key, and
 * `PASSERELLE_KEYSTORE_INVALID` for text that does not parse or a key that
 * matches none of the certificates.
 */
export function loadPemIdentity(input: PemIdentityInput): KeyStoreEntry {
  if (input === null || typeof input !== "object") throw new TypeError("loadPemIdentity needs { keyPem, certificatePem }");
  const keyText = pemText(input.keyPem, "keyPem");
  const certificateText = pemText(input.certificatePem, "certificatePem");
  if (input.password !== undefined && typeof input.password !== "string") throw new TypeError("password must be a string");

  const privateKey = parsePrivateKey(keyText, input.password);
  const certificates = parseCertificates(certificateText);
  const leaf = certificates.find((certificate) => privateKeyMatchesCertificate(privateKey, certificate));
  if (leaf === undefined) {
    throw keystoreInvalid("key_certificate_mismatch", "The private key matches none of the given certificates");
  }
  return {
    privateKey,
    certificate: leaf,
    chain: issuerChain(
      leaf,
      certificates.filter((certificate) => certificate !== leaf),
    ),
    alias: undefined,
  };
}

function pemText(value: string | Buffer, name: string): string {
  if (typeof value === "string") return value;
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  throw new TypeError(`${name} must be PEM text (string or Buffer)`);
}

function parsePrivateKey(text: string, password: string | undefined): KeyObject {
  const encrypted = ENCRYPTED_KEY.test(text);
  if (encrypted && password === undefined) {
    throw keystorePasswordIncorrect("The private key is encrypted and no password was given");
  }
  try {
    return createPrivateKey({ key: text, format: "pem", ...(encrypted ? { passphrase: password } : {}) });
  } catch (error) {
    // A wrong password fails the padding check ("bad decrypt") or, rarely, leaves bytes that do not decode.
    if (encrypted) throw keystorePasswordIncorrect("Wrong password for the encrypted private key", error);
    throw keystoreInvalid("malformed", "The private key is not a PEM key OpenSSL can read", error);
  }
}

function parseCertificates(text: string): X509Certificate[] {
  const blocks = text.match(CERTIFICATE_BLOCK) ?? [];
  if (blocks.length === 0) throw keystoreInvalid("no_certificate", "No PEM certificate was given");
  return blocks.map((block, index) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw keystoreInvalid("malformed", `PEM certificate #${index + 1} does not parse`, error);
    }
  });
}
