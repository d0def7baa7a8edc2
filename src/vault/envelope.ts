/**
 * Encryption at rest of vault values: AES-256-GCM (NIST SP 800-38D) with a
 * random 96-bit IV per value and a 128-bit tag.
 *
 * Sealed format (version 1):
 *
 *     v1.<base64url(iv[12] || tag[16] || ciphertext)>
 *
 * The `v1.` prefix names the algorithm and key generation, so a later version
 * (another key, another algorithm) can be introduced while old entries are
 * still readable. The additional authenticated data binds the ciphertext to
 * the format version and to the vault key name: a value copied under another
 * key fails authentication instead of being served to the wrong session.
 *
 * @example
 * ```ts
 * const cipher = new VaultCipher(parseVaultKey(process.env.PASSERELLE_VAULT_KEY ?? ""));
 * const sealed = cipher.seal(JSON.stringify(tokens), "session:42");
 * const tokensAgain = cipher.open(sealed, "session:42");
 * ```
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, type KeyObject } from "node:crypto";

import { PasserelleError } from "../errors/index.js";

const FORMAT_V1 = "v1.";
const KEY_BYTES = 32;
// NIST SP 800-38D §8.2: a 96-bit IV is the recommended length for random IVs.
const IV_BYTES = 12;
const TAG_BYTES = 16;
const BASE64URL = /^[A-Za-z0-9_-]*$/;
const BASE64_OR_BASE64URL = /^[A-Za-z0-9+/_-]+={0,2}$/;
const HEX_KEY = /^[0-9a-fA-F]{64}$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export class VaultCipher {
  readonly #key: KeyObject;

  constructor(key: Buffer) {
    if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) {
      throw new TypeError(`VaultCipher needs a ${KEY_BYTES}-byte key (AES-256); use parseVaultKey() or generateVaultKey()`);
    }
    // A KeyObject holds its own copy: later changes to the caller's buffer
    // (e.g. zeroing it) do not change the key in use.
    this.#key = createSecretKey(key);
  }

  /** Encrypts `plaintext`, bound to `aad` (the vault key name). */
  seal(plaintext: string, aad: string): string {
    if (typeof plaintext !== "string") {
      throw new TypeError("VaultCipher.seal: plaintext must be a string");
    }
    if (typeof aad !== "string") {
      throw new TypeError("VaultCipher.seal: aad must be a string");
    }
    // A lone surrogate has no UTF-8 encoding: Buffer.from would silently turn
    // it into U+FFFD and open() would return a different string.
    if (LONE_SURROGATE.test(plaintext)) {
      throw new TypeError("VaultCipher.seal: plaintext is not well-formed UTF-16 (lone surrogate)");
    }
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.#key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(additionalData(aad));
    const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return FORMAT_V1 + Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString("base64url");
  }

  /**
   * Decrypts a value made by {@link seal} with the same key and `aad`.
   * Throws a `PasserelleError` (`PASSERELLE_INTERNAL`) when the value is not in
   * a known format or fails authentication (wrong key, tampered, or moved to
   * another vault key): it never returns unauthenticated bytes.
   */
  open(sealed: string, aad: string): string {
    if (typeof sealed !== "string" || !sealed.startsWith(FORMAT_V1)) {
      throw integrityError("unknown sealed value format (expected the v1. prefix)");
    }
    const body = sealed.slice(FORMAT_V1.length);
    if (!BASE64URL.test(body)) {
      throw integrityError("sealed value is not base64url");
    }
    const bytes = Buffer.from(body, "base64url");
    if (bytes.length < IV_BYTES + TAG_BYTES) {
      throw integrityError("sealed value is truncated");
    }
    const iv = bytes.subarray(0, IV_BYTES);
    const tag = bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES);
    const ciphertext = bytes.subarray(IV_BYTES + TAG_BYTES);
    const decipher = createDecipheriv("aes-256-gcm", this.#key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(additionalData(aad));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString("utf8");
    } catch (cause) {
      throw integrityError(
        "sealed value failed authentication: wrong vault key, or the value was altered or moved to another key",
        cause,
      );
    }
  }
}

/**
 * Reads the vault master key from configuration: 64 hexadecimal characters,
 * or the base64 / base64url encoding of 32 bytes (padding optional).
 * Throws a `TypeError` otherwise; the message never repeats the input.
 */
export function parseVaultKey(input: string): Buffer {
  if (typeof input !== "string") {
    throw new TypeError("Vault key must be a string");
  }
  const text = input.trim();
  if (HEX_KEY.test(text)) {
    return Buffer.from(text, "hex");
  }
  if (BASE64_OR_BASE64URL.test(text)) {
    const isUrlAlphabet = /[-_]/.test(text);
    const bytes = Buffer.from(text, isUrlAlphabet ? "base64url" : "base64");
    // Node's decoder skips characters it does not expect: re-encoding and
    // comparing rejects mixed alphabets and non-canonical trailing bits.
    const canonical = bytes.toString("base64url");
    if (bytes.length === KEY_BYTES && canonical === text.replace(/=+$/, "").replaceAll("+", "-").replaceAll("/", "_")) {
      return bytes;
    }
  }
  throw new TypeError(
    `Vault key must be ${KEY_BYTES} bytes written as 64 hexadecimal characters or as base64/base64url ` +
      `(43 or 44 characters); got ${text.length} characters that are neither. ` +
      `Generate one with: node -e "console.log(require('node:crypto').randomBytes(32).toString('base64url'))"`,
  );
}

/** A fresh random 32-byte key (for first-time setup and tests). */
export function generateVaultKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

function additionalData(aad: string): Buffer {
  // The format version is authenticated too, so a v1 body can never be
  // reinterpreted under a later format.
  return Buffer.from(`${FORMAT_V1}${aad}`, "utf8");
}

function integrityError(detail: string, cause?: unknown): PasserelleError {
  return new PasserelleError("PASSERELLE_INTERNAL", {
    detail: `Vault: ${detail}`,
    ...(cause === undefined ? {} : { cause }),
  });
}
