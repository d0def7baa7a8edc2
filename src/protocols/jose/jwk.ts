/**
 * JWK and JWK Set helpers (RFC 7517): import with an expected kind, export of
 * the public half only, RFC 7638 thumbprints, and key selection by `kid`
 * with an error that says what was looked for and what exists.
 *
 * @example
 * ```ts
 * const jwk = await exportPublicJwk(publicKey, { use: "sig", alg: "PS256" }); // kid = RFC 7638 thumbprint
 * const key = selectJwk(partnerJwks, { kid: header.kid, use: "enc" });
 * ```
 */
import { KeyObject, createPublicKey, type webcrypto } from "node:crypto";
import { calculateJwkThumbprint, importJWK, type JWK } from "jose";
import { JWE_KEY_MANAGEMENT_ALGORITHMS, JWS_ALGORITHMS } from "./algorithms.js";
import { JoseError, fromJoseLibraryError } from "./errors.js";
import { isJwk, jweAlgorithmFitsKey, jwsAlgorithmFitsKey, keyFamily, type JsonWebKeySet } from "./keys.js";

/** JWK members that hold private or secret key material (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2). */
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k", "priv"] as const;

export type JwkKind = "public" | "private" | "secret";

export function jwkKind(jwk: JWK): JwkKind {
  if (jwk.kty === "oct") return "secret";
  return jwk.d === undefined && jwk.priv === undefined ? "public" : "private";
}

/**
 * Imports a JWK for `alg`, refusing a key of another kind than `expect`:
 * importing a partner's key that unexpectedly carries private members means
 * a private key was published, and is refused rather than silently used.
 */
export async function importJwk(
  jwk: JWK,
  options: { alg: string; expect: JwkKind },
): Promise<webcrypto.CryptoKey | Uint8Array> {
  if (!isJwk(jwk)) throw new TypeError("importJwk needs a JWK object with kty");
  if (typeof options?.alg !== "string") throw new TypeError("importJwk needs options.alg");
  const known = [...JWS_ALGORITHMS, ...JWE_KEY_MANAGEMENT_ALGORITHMS] as readonly string[];
  if (!known.includes(options.alg)) throw new TypeError(`importJwk: unknown alg ${JSON.stringify(options.alg)}`);
  const kind = jwkKind(jwk);
  if (kind !== options.expect) {
    throw new JoseError("key_invalid", `JWK: expected a ${options.expect} key, got a ${kind} key`);
  }
  if (jwk.alg !== undefined && jwk.alg !== options.alg) {
    // RFC 7517 §4.4: a key that names its algorithm must not be used with another.
    throw new JoseError("key_mismatch", `JWK: the key is for ${jwk.alg}, not ${options.alg}`);
  }
  try {
    return (await importJWK(jwk, options.alg)) as webcrypto.CryptoKey | Uint8Array;
  } catch (error) {
    throw fromJoseLibraryError(error, "JWK");
  }
}

/** Removes private members; throws TypeError on a secret (oct) key, which has no public half. */
export function publicJwkOf(jwk: JWK): JWK {
  if (jwk.kty === "oct") throw new TypeError("a symmetric (oct) key has no public part");
  const copy: Record<string, unknown> = { ...jwk };
  for (const member of PRIVATE_MEMBERS) delete copy[member];
  return copy as JWK;
}

export interface ExportJwkOptions {
  /** Default: the RFC 7638 SHA-256 thumbprint. */
  kid?: string;
  use?: "sig" | "enc";
  alg?: string;
}

/**
 * The public JWK of an asymmetric key (a private key's public half), with
 * `kid` defaulting to its RFC 7638 thumbprint so that the same key always
 * gets the same `kid`.
 */
export async function exportPublicJwk(key: webcrypto.CryptoKey | KeyObject, options: ExportJwkOptions = {}): Promise<JWK> {
  let keyObject: KeyObject;
  if (key instanceof KeyObject) keyObject = key;
  else if (typeof globalThis.CryptoKey === "function" && key instanceof globalThis.CryptoKey) keyObject = KeyObject.from(key);
  else throw new TypeError("exportPublicJwk needs a CryptoKey or a KeyObject");
  if (keyObject.type === "secret") throw new TypeError("a symmetric key has no public part to export");
  const publicKey = keyObject.type === "private" ? createPublicKey(keyObject) : keyObject;
  const jwk = publicKey.export({ format: "jwk" }) as JWK;
  if (options.alg !== undefined) {
    const family = keyFamily(jwk);
    if (!jwsAlgorithmFitsKey(options.alg, family) && !jweAlgorithmFitsKey(options.alg, family)) {
      throw new TypeError(`exportPublicJwk: ${options.alg} does not fit this ${family.kind} key`);
    }
  }
  const kid = options.kid ?? (await jwkThumbprint(jwk));
  return { kid, ...(options.use === undefined ? {} : { use: options.use }), ...(options.alg === undefined ? {} : { alg: options.alg }), ...jwk };
}

/** RFC 7638 JWK thumbprint (base64url of the digest of the required members, in lexicographic order). */
export async function jwkThumbprint(jwk: JWK, digest: "sha256" | "sha384" | "sha512" = "sha256"): Promise<string> {
  if (!isJwk(jwk)) throw new TypeError("jwkThumbprint needs a JWK object with kty");
  try {
    return await calculateJwkThumbprint(jwk, digest);
  } catch (error) {
    throw fromJoseLibraryError(error, "JWK thumbprint");
  }
}

export interface SelectJwkCriteria {
  kid?: string;
  /** Only keys for this algorithm: the key's own `alg` must match when present, and its type must fit. */
  alg?: string;
  use?: "sig" | "enc";
}

/**
 * The one key of `jwks` matching the criteria. Throws JoseError
 * `key_not_found` (listing the kids present, which are not secret) or
 * `key_ambiguous` when no `kid` was given and several keys fit.
 */
export function selectJwk(jwks: JsonWebKeySet, criteria: SelectJwkCriteria): JWK {
  if (typeof jwks !== "object" || jwks === null || !Array.isArray(jwks.keys)) throw new TypeError("selectJwk needs a JWK Set ({ keys: [...] })");
  const matches = jwks.keys.filter((jwk) => {
    if (!isJwk(jwk)) return false;
    if (criteria.kid !== undefined && jwk.kid !== criteria.kid) return false;
    if (criteria.use !== undefined && jwk.use !== undefined && jwk.use !== criteria.use) return false;
    if (criteria.alg !== undefined) {
      if (jwk.alg !== undefined && jwk.alg !== criteria.alg) return false;
      const family = keyFamily(jwk);
      if (!jwsAlgorithmFitsKey(criteria.alg, family) && !jweAlgorithmFitsKey(criteria.alg, family)) return false;
    }
    return true;
  });
  const wanted = [
    criteria.kid === undefined ? undefined : `kid ${JSON.stringify(criteria.kid)}`,
    criteria.alg === undefined ? undefined : `alg ${criteria.alg}`,
    criteria.use === undefined ? undefined : `use ${criteria.use}`,
  ].filter((part) => part !== undefined).join(", ") || "any key";
  const [match, second] = matches;
  if (match === undefined) {
    const kids = jwks.keys.map((jwk) => (isJwk(jwk) && typeof jwk.kid === "string" ? JSON.stringify(jwk.kid) : "(no kid)"));
    throw new JoseError("key_not_found", `JWKS: no key with ${wanted} among ${jwks.keys.length} key(s): ${kids.join(", ") || "none"}`);
  }
  if (second !== undefined) {
    throw new JoseError("key_ambiguous", `JWKS: ${matches.length} keys match ${wanted}; a kid is needed to choose`);
  }
  return match;
}
