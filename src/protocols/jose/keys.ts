/**
 * The keys JOSE operations accept, and the check that an algorithm fits a
 * key before any cryptography runs. The check turns two classic attacks into
 * caller errors or typed rejections: an HMAC "signed" with a public key
 * (RFC 8725 §2.2), and a token whose header names an algorithm of another
 * key family than the one configured.
 */
import { KeyObject, type webcrypto } from "node:crypto";
import type { JWK } from "jose";
import { isHmacAlgorithm } from "./algorithms.js";

export type { JWK } from "jose";

/** A key as the helpers accept it: WebCrypto, Node KeyObject, JWK, or raw secret bytes. */
export type JoseKey = webcrypto.CryptoKey | KeyObject | JWK | Uint8Array;

/** A JSON Web Key Set (RFC 7517 §5). */
export interface JsonWebKeySet {
  keys: JWK[];
}

/** What a key is, as far as algorithm selection is concerned. */
export type KeyFamily =
  | { kind: "secret" }
  | { kind: "rsa" }
  | { kind: "ec"; curve: "P-256" | "P-384" | "P-521" | "other" }
  | { kind: "okp"; curve: "Ed25519" | "X25519" | "other" }
  | { kind: "unknown" };

const NODE_CURVES: Record<string, "P-256" | "P-384" | "P-521"> = {
  prime256v1: "P-256",
  secp384r1: "P-384",
  secp521r1: "P-521",
};

export function isJwk(value: unknown): value is JWK {
  return typeof value === "object" && value !== null && !ArrayBuffer.isView(value) && typeof (value as JWK).kty === "string";
}

export function isJsonWebKeySet(value: unknown): value is JsonWebKeySet {
  return typeof value === "object" && value !== null && Array.isArray((value as JsonWebKeySet).keys) && !isJwk(value);
}

function isCryptoKey(value: unknown): value is webcrypto.CryptoKey {
  return typeof globalThis.CryptoKey === "function" && value instanceof globalThis.CryptoKey;
}

/** Throws TypeError unless `key` is one of the accepted key forms. */
export function assertJoseKey(key: unknown, what: string): asserts key is JoseKey {
  if (key instanceof Uint8Array || key instanceof KeyObject || isCryptoKey(key) || isJwk(key)) return;
  throw new TypeError(`${what} must be a CryptoKey, a KeyObject, a JWK or a Uint8Array secret`);
}

export function keyFamily(key: JoseKey): KeyFamily {
  if (key instanceof Uint8Array) return { kind: "secret" };
  if (key instanceof KeyObject) {
    if (key.type === "secret") return { kind: "secret" };
    switch (key.asymmetricKeyType) {
      case "rsa":
      case "rsa-pss":
        return { kind: "rsa" };
      case "ec":
        return { kind: "ec", curve: NODE_CURVES[key.asymmetricKeyDetails?.namedCurve ?? ""] ?? "other" };
      case "ed25519":
        return { kind: "okp", curve: "Ed25519" };
      case "x25519":
        return { kind: "okp", curve: "X25519" };
      default:
        return { kind: "unknown" };
    }
  }
  if (isCryptoKey(key)) {
    if (key.type === "secret") return { kind: "secret" };
    const algorithm = key.algorithm as { name: string; namedCurve?: string };
    if (algorithm.name.startsWith("RSA")) return { kind: "rsa" };
    if (algorithm.name === "ECDSA" || algorithm.name === "ECDH") {
      const curve = algorithm.namedCurve;
      return { kind: "ec", curve: curve === "P-256" || curve === "P-384" || curve === "P-521" ? curve : "other" };
    }
    if (algorithm.name === "Ed25519") return { kind: "okp", curve: "Ed25519" };
    if (algorithm.name === "X25519") return { kind: "okp", curve: "X25519" };
    return { kind: "unknown" };
  }
  switch (key.kty) {
    case "oct":
      return { kind: "secret" };
    case "RSA":
      return { kind: "rsa" };
    case "EC":
      return {
        kind: "ec",
        curve: key.crv === "P-256" || key.crv === "P-384" || key.crv === "P-521" ? key.crv : "other",
      };
    case "OKP":
      return { kind: "okp", curve: key.crv === "Ed25519" || key.crv === "X25519" ? key.crv : "other" };
    default:
      return { kind: "unknown" };
  }
}

/** Whether a JWS algorithm can run with a key of this family (RFC 7518 §3.1, RFC 8037 §3.1). */
export function jwsAlgorithmFitsKey(alg: string, family: KeyFamily): boolean {
  if (isHmacAlgorithm(alg)) return family.kind === "secret";
  if (/^(RS|PS)(256|384|512)$/.test(alg)) return family.kind === "rsa";
  if (alg === "ES256") return family.kind === "ec" && family.curve === "P-256";
  if (alg === "ES384") return family.kind === "ec" && family.curve === "P-384";
  if (alg === "ES512") return family.kind === "ec" && family.curve === "P-521";
  if (alg === "EdDSA" || alg === "Ed25519") return family.kind === "okp" && family.curve === "Ed25519";
  return false;
}

/** Whether a JWE key management algorithm can run with a key of this family (RFC 7518 §4.1). */
export function jweAlgorithmFitsKey(alg: string, family: KeyFamily): boolean {
  if (alg.startsWith("RSA")) return family.kind === "rsa";
  if (alg.startsWith("ECDH-ES")) {
    return (family.kind === "ec" && family.curve !== "other") || (family.kind === "okp" && family.curve === "X25519");
  }
  return family.kind === "secret";
}

/**
 * Throws TypeError when an HMAC algorithm is allowed together with a key that
 * is not a shared secret, or when no allowed algorithm fits the key at all:
 * both are configuration mistakes that would otherwise surface as "invalid
 * signature" on every message.
 */
export function assertAllowListFitsKey(
  allowList: readonly string[],
  family: KeyFamily,
  fits: (alg: string, family: KeyFamily) => boolean,
  what: string,
): void {
  if (family.kind !== "secret" && allowList.some(isHmacAlgorithm)) {
    throw new TypeError(`${what}: HMAC algorithms (HS*) need a shared secret, never a public/private key (RFC 8725 §2.2)`);
  }
  if (family.kind === "unknown") return;
  if (!allowList.some((alg) => fits(alg, family))) {
    throw new TypeError(`${what}: none of the allowed algorithms (${allowList.join(", ")}) can be used with this ${family.kind} key`);
  }
}
