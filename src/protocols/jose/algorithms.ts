/**
 * JOSE algorithm names and the allow-lists each use of JOSE in Passerelle
 * accepts. No helper of this module accepts "any algorithm": every signing,
 * verification, encryption and decryption names its list, so an attacker
 * who controls a token's header cannot pick the algorithm (RFC 8725 §3.1,
 * §2.1 "alg: none", §2.2 substitution of an HMAC for a public-key algorithm).
 */

/** JWS algorithms (RFC 7518 §3.1, RFC 8037 §3.1, RFC 9864 "Ed25519"). `none` is deliberately absent. */
export const JWS_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
  "HS256",
  "HS384",
  "HS512",
] as const;
export type JwsAlgorithm = (typeof JWS_ALGORITHMS)[number];

/** JWE key management algorithms this module may produce (RFC 7518 §4.1). */
export const JWE_KEY_MANAGEMENT_ALGORITHMS = [
  "RSA-OAEP",
  "RSA-OAEP-256",
  "RSA-OAEP-384",
  "RSA-OAEP-512",
  "ECDH-ES",
  "ECDH-ES+A128KW",
  "ECDH-ES+A192KW",
  "ECDH-ES+A256KW",
  "A128KW",
  "A192KW",
  "A256KW",
  "A128GCMKW",
  "A192GCMKW",
  "A256GCMKW",
  "PBES2-HS256+A128KW",
  "PBES2-HS384+A192KW",
  "PBES2-HS512+A256KW",
  "dir",
] as const;
export type JweKeyManagementAlgorithm = (typeof JWE_KEY_MANAGEMENT_ALGORITHMS)[number];

/**
 * RSAES-PKCS1-v1_5 key transport. Never produced (padding-oracle attacks,
 * RFC 8725 §3.2 and the Bleichenbacher/Marvin family); read only for legacy
 * messages, with `allowLegacyRsa1_5: true` on decryption.
 */
export type LegacyJweKeyManagementAlgorithm = "RSA1_5";

/** JWE content encryption algorithms (RFC 7518 §5.1). */
export const JWE_CONTENT_ENCRYPTION_ALGORITHMS = [
  "A128GCM",
  "A192GCM",
  "A256GCM",
  "A128CBC-HS256",
  "A192CBC-HS384",
  "A256CBC-HS512",
] as const;
export type JweContentEncryptionAlgorithm = (typeof JWE_CONTENT_ENCRYPTION_ALGORITHMS)[number];

// Named allow-lists, one per use. Asymmetric only: an HMAC with a key that
// is public elsewhere (a JWKS) is a forgery waiting to happen (RFC 8725 §2.2).

/** OpenID Connect ID tokens from an identity provider (PSC, AeS, eHealth): RS256 is OIDC Core §15.1 mandatory, PS256/ES256 are what FAPI asks. */
export const ID_TOKEN_ALGS = ["RS256", "PS256", "ES256"] as const satisfies readonly JwsAlgorithm[];

/** JWT access tokens validated by the gateway (RFC 9068 §4: the AS's asymmetric keys). */
export const ACCESS_TOKEN_ALGS = ["RS256", "PS256", "ES256"] as const satisfies readonly JwsAlgorithm[];

/** `private_key_jwt` client assertions (RFC 7523 §3, OIDC Core §9), signed by a software key, a card or a KMS. */
export const CLIENT_ASSERTION_ALGS = ["RS256", "PS256", "ES256"] as const satisfies readonly JwsAlgorithm[];

/** `client_secret_jwt` (OIDC Core §9): the one place an HMAC is right, with a secret shared with that one party. */
export const CLIENT_SECRET_JWT_ALGS = ["HS256", "HS512"] as const satisfies readonly JwsAlgorithm[];

/** Encryption to a recipient's public key (ID token / userinfo encryption, eHealthBox-style messages). */
export const JWE_ASYMMETRIC_KEY_MANAGEMENT_ALGS = [
  "RSA-OAEP-256",
  "ECDH-ES",
  "ECDH-ES+A128KW",
  "ECDH-ES+A256KW",
] as const satisfies readonly JweKeyManagementAlgorithm[];

/** Content encryption accepted and produced by default: AEADs only (RFC 7518 §5). */
export const JWE_CONTENT_ENCRYPTION_ALGS = [
  "A256GCM",
  "A128GCM",
  "A128CBC-HS256",
  "A256CBC-HS512",
] as const satisfies readonly JweContentEncryptionAlgorithm[];

export function isHmacAlgorithm(alg: string): boolean {
  return alg === "HS256" || alg === "HS384" || alg === "HS512";
}

/**
 * Checks an allow-list given by a caller: a non-empty array of names from
 * `known`, never `none`. Throws `TypeError` (a caller's mistake) otherwise
 * and returns a copy the caller can no longer mutate.
 */
export function checkAllowList<T extends string>(name: string, list: unknown, known: readonly T[]): readonly T[] {
  if (!Array.isArray(list) || list.length === 0) {
    throw new TypeError(`${name} must be a non-empty array of algorithm names (there is no "any algorithm")`);
  }
  for (const alg of list) {
    if (alg === "none") throw new TypeError(`${name}: "none" is never allowed (RFC 8725 §2.1)`);
    if (typeof alg !== "string" || !(known as readonly string[]).includes(alg)) {
      throw new TypeError(`${name}: unknown algorithm ${JSON.stringify(alg)} (known: ${known.join(", ")})`);
    }
  }
  return Object.freeze([...new Set(list as T[])]);
}
