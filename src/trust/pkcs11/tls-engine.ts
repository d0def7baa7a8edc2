/**
 * Mutual TLS with a private key that never leaves the smart card: France's
 * "direct authentication" to the DMP, where the CPS card signs the TLS
 * handshake (CertificateVerify, RFC 8446 §4.4.3) with its authentication key.
 *
 * How: Node's TLS options `privateKeyEngine` / `privateKeyIdentifier` load
 * the key through OpenSSL's PKCS#11 engine (libp11, Debian
 * `libengine-pkcs11-openssl`), which signs with the token through the
 * PKCS#11 library; OpenSSL never sees the key. Node documents these options
 * as deprecated (DEP0183, documentation-only) because OpenSSL 3 deprecates
 * engines, so their use is kept inside this one module. Replacing it with
 * the OpenSSL 3 `pkcs11-provider` would change only this file.
 *
 * What we found on this machine (Node 24 / bundled OpenSSL 3.5, libp11 0.4.12):
 * - Given as a file path, the engine can be used for one secure context per
 *   process (a second context fails with `engine routines::init failed`).
 *   Loaded by id (`pkcs11`) from the directory in OPENSSL_ENGINES, it serves
 *   any number of contexts. So we load it by id and set OPENSSL_ENGINES.
 * - The engine finds the PKCS#11 library in PKCS11_MODULE_PATH (without it,
 *   p11-kit's proxy); the `module-path` URI attribute is refused as invalid.
 * - Each new secure context makes one C_Login attempt, and after a failed one
 *   the engine C_Finalizes the library — for the whole process. Creating one
 *   context per connection (raw engine options handed to an HTTP client)
 *   would therefore spend a PIN try per connection and per retry: a card
 *   locked in seconds. {@link cardTlsOptions} builds the context **once**
 *   and returns it as `secureContext`, which every connection reuses: a
 *   wrong PIN fails that one call, and no connection ever logs in.
 * - Once the token is logged in for the process (PKCS#11 login state is per
 *   application), later contexts for it do not check the PIN again.
 *
 * These variables are process-wide: this module sets them when unset and
 * refuses (TypeError) to overwrite a different value, rather than silently
 * pointing another card's context at the wrong library.
 *
 * @example
 * ```ts
 * const tlsOptions = cardTlsOptions(
 *   { tokenLabel: "CPS-10000000001", keyLabel: "Authentification CPS", keyId: "01", pin, certPem, chainPem },
 *   { ca: dmpTrustAnchors },
 * );
 * const agent = new Agent({ connect: tlsOptions }); // undici; or tls.connect({ ...tlsOptions, host, port })
 * ```
 */
import { existsSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { createSecureContext, type ConnectionOptions, type SecureContext, type SecureContextOptions } from "node:tls";
import { PasserelleError } from "../../errors/index.js";
import { cardPinIncorrect, cardPinLocked, cardUnavailable } from "./card-errors.js";
import { DEFAULT_PKCS11_MODULE } from "./pkcs11-module.js";

/** Debian's `libengine-pkcs11-openssl` on x86-64. */
export const DEFAULT_PKCS11_ENGINE = "/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so";

export interface CardTlsIdentity {
  /** Token label, e.g. `CPS-10000000001`. */
  tokenLabel: string;
  /** CKA_LABEL of the private key (at least one of keyLabel and keyId). */
  keyLabel?: string;
  /** CKA_ID of the private key, hex. */
  keyId?: string;
  pin: string;
  /** The card's authentication certificate (PEM). */
  certPem: string;
  /** Its issuing CAs (PEM), sent to the server after the certificate. */
  chainPem?: readonly string[];
  /** PKCS#11 library. Default /usr/lib/softhsm/libsofthsm2.so. */
  modulePath?: string;
  /** OpenSSL PKCS#11 engine. Default {@link DEFAULT_PKCS11_ENGINE}. */
  enginePath?: string;
  /** SoftHSM only: its configuration, which the engine's SoftHSM reads from SOFTHSM2_CONF. */
  softhsmConfigPath?: string;
}

/** Server trust and protocol bounds for the context (the key and certificate come from the card). */
export type CardTlsContextOptions = Pick<SecureContextOptions, "ca" | "minVersion" | "maxVersion" | "ciphers" | "sigalgs">;

const HEX_ID = /^(?:[0-9a-fA-F]{2})+$/;

/**
 * The RFC 7512 PKCS#11 URI of the card's private key, with the PIN as the
 * `pin-value` query attribute (RFC 7512 §2.3). It holds the PIN: never log it.
 */
export function pkcs11PrivateKeyUri(card: Pick<CardTlsIdentity, "tokenLabel" | "keyLabel" | "keyId" | "pin">): string {
  const path = [`token=${encodeURIComponent(card.tokenLabel)}`];
  if (card.keyLabel !== undefined) path.push(`object=${encodeURIComponent(card.keyLabel)}`);
  if (card.keyId !== undefined) path.push(`id=${card.keyId.replace(/(..)/g, "%$1")}`);
  path.push("type=private");
  return `pkcs11:${path.join(";")}?pin-value=${encodeURIComponent(card.pin)}`;
}

/**
 * Loads the card key into one TLS secure context: exactly one login attempt.
 * Throws PASSERELLE_CARD_PIN_INCORRECT / _PIN_LOCKED (403) or
 * PASSERELLE_CARD_UNAVAILABLE (503), and TypeError for bad arguments.
 */
export function createCardSecureContext(card: CardTlsIdentity, options: CardTlsContextOptions = {}): SecureContext {
  assertCard(card);
  const engineId = prepareEngineEnvironment(card);
  try {
    return createSecureContext({
      ...options,
      cert: [card.certPem, ...(card.chainPem ?? [])].join("\n"),
      // DEP0183 (documentation-only): see the module comment.
      privateKeyEngine: engineId,
      privateKeyIdentifier: pkcs11PrivateKeyUri(card),
    });
  } catch (error) {
    throw mapCardTlsError(error, card.tokenLabel);
  }
}

/**
 * TLS connection options presenting the card's authentication certificate,
 * for `tls.connect`, `https.request` or undici's `connect` option: one
 * secure context, built now, shared by every connection made with them.
 * Each call is one login attempt: build once, keep the result.
 */
export function cardTlsOptions(
  card: CardTlsIdentity,
  options: CardTlsContextOptions = {},
): ConnectionOptions & { secureContext: SecureContext } {
  return { secureContext: createCardSecureContext(card, options) };
}

/** Maps the engine's OpenSSL errors to typed card errors (others pass through). */
export function mapCardTlsError(error: unknown, tokenLabel: string): unknown {
  if (error instanceof PasserelleError || error instanceof TypeError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  switch (code) {
    case "ERR_OSSL_PIN_INCORRECT":
      return cardPinIncorrect(`Card ${tokenLabel} refused the PIN`, { loginAttempted: true }, error);
    case "ERR_OSSL_PIN_LOCKED":
    case "ERR_OSSL_PIN_EXPIRED":
      return cardPinLocked(`The PIN of card ${tokenLabel} is locked or expired`, error);
    case "ERR_OSSL_OBJECT_NOT_FOUND":
      // libp11 says the same whether the token or the key is missing.
      return cardUnavailable(
        "token_absent",
        `No token labelled ${JSON.stringify(tokenLabel)} holding the key was found (card not inserted?)`,
        error,
      );
    default:
      if (/engine routines|DSO support routines|invalid engine/i.test(message)) {
        return cardUnavailable("module_missing", "The OpenSSL PKCS#11 engine or the PKCS#11 library could not be loaded", error);
      }
      return cardUnavailable("device_error", "The card could not be used for TLS", error);
  }
}

function assertCard(card: CardTlsIdentity): void {
  if (card === null || typeof card !== "object") throw new TypeError("cardTlsOptions needs the card's identity");
  if (typeof card.tokenLabel !== "string" || card.tokenLabel === "") throw new TypeError("tokenLabel must be a non-empty string");
  if (typeof card.pin !== "string" || card.pin === "") throw new TypeError("pin must be a non-empty string");
  if (typeof card.certPem !== "string" || !card.certPem.includes("-----BEGIN CERTIFICATE-----")) {
    throw new TypeError("certPem must be the card's PEM certificate");
  }
  if (card.keyLabel === undefined && card.keyId === undefined) throw new TypeError("Give keyLabel or keyId (or both)");
  if (card.keyId !== undefined && !HEX_ID.test(card.keyId)) throw new TypeError('keyId must be hex, e.g. "01"');
}

/**
 * Points OpenSSL at the engine directory and the engine at the PKCS#11
 * library (see the module comment), and returns the engine id to load.
 */
function prepareEngineEnvironment(card: CardTlsIdentity): string {
  const enginePath = resolve(card.enginePath ?? DEFAULT_PKCS11_ENGINE);
  const modulePath = resolve(card.modulePath ?? DEFAULT_PKCS11_MODULE);
  // OpenSSL's dynamic engine loader looks for "<id>.so" in OPENSSL_ENGINES, and libp11 binds only as id "pkcs11".
  if (basename(enginePath) !== "pkcs11.so") {
    throw new TypeError(`enginePath must name libp11's engine file pkcs11.so, got ${enginePath}`);
  }
  if (!existsSync(enginePath)) throw cardUnavailable("module_missing", `OpenSSL PKCS#11 engine ${enginePath} not found`);
  if (!existsSync(modulePath)) throw cardUnavailable("module_missing", `PKCS#11 module ${modulePath} not found`);
  setProcessVariable("OPENSSL_ENGINES", dirname(enginePath));
  setProcessVariable("PKCS11_MODULE_PATH", modulePath);
  if (card.softhsmConfigPath !== undefined) setProcessVariable("SOFTHSM2_CONF", resolve(card.softhsmConfigPath));
  return "pkcs11";
}

function setProcessVariable(name: string, value: string): void {
  const current = process.env[name];
  if (current === undefined || current === "") {
    process.env[name] = value;
    return;
  }
  if (resolve(current) !== value) {
    throw new TypeError(`${name} is already ${current} in this process; card TLS needs ${value} (one PKCS#11 setup per process)`);
  }
}
