/**
 * The ID-token checks a relying party must make that openid-client 6 leaves
 * out. openid-client already verifies (and our tests pin): the signature
 * against the JWKS (with non-repudiation checks on), the `alg` against the
 * registered one (so `none` and HS* are refused), `kid` selection with a
 * rate-limited JWKS refresh, `iss`, `aud`, `azp` when `aud` has several
 * values, `exp`, `nonce`, and the presence of `iss`, `sub`, `aud`, `exp`, `iat`.
 *
 * Added here:
 * - `iat` in the future (beyond the clock tolerance) or too old: a token
 *   minted for a later time or replayed from long ago (OIDC Core §3.1.3.7
 *   point 10 lets the client bound `iat`; FAPI-CIBA tests reject a week-old one).
 * - every `aud` entry must be trusted, not just one of them (Core §3.1.3.7
 *   point 3: reject "additional audiences not trusted by the Client").
 * - `at_hash` / `c_hash` when present, even in the code flow where they are
 *   optional (Core §3.3.2.11, §3.3.2.12: left half of the hash of the ASCII
 *   token, with the hash of the JWS `alg`).
 * - after a refresh, `iss` and `sub` must be those of the original ID token
 *   (Core §12.2).
 */
import { createHash } from "node:crypto";
import { decodeProtectedHeader } from "jose";
import type { IDToken } from "openid-client";
import { IdTokenRejectedError } from "./errors.js";

export interface IdTokenPolicy {
  clientId: string;
  /** Audiences besides the client id that may appear in `aud`. */
  trustedAudiences: readonly string[];
  clockToleranceSec: number;
  /** Oldest acceptable `iat`, in seconds before now. */
  maxAgeSec: number;
  /** Epoch milliseconds. */
  now: () => number;
}

export interface IdTokenBindings {
  /** The access token issued with the ID token (for `at_hash`). */
  accessToken?: string;
  /** The authorization code exchanged (for `c_hash`). */
  code?: string;
}

export function checkIdTokenBeyondLibrary(idToken: string, claims: IDToken, policy: IdTokenPolicy, bindings: IdTokenBindings): void {
  const now = Math.floor(policy.now() / 1000);
  if (typeof claims.iat !== "number" || claims.iat > now + policy.clockToleranceSec) {
    throw new IdTokenRejectedError("iat", "The ID token is issued in the future (iat beyond the allowed clock skew)");
  }
  if (claims.iat < now - policy.maxAgeSec - policy.clockToleranceSec) {
    throw new IdTokenRejectedError("iat", `The ID token was issued more than ${policy.maxAgeSec} s ago`);
  }
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  const trusted = new Set([policy.clientId, ...policy.trustedAudiences]);
  if (!audiences.includes(policy.clientId) || audiences.some((aud) => !trusted.has(aud))) {
    throw new IdTokenRejectedError("aud", "The ID token's audience includes a party this client does not trust");
  }
  const hashes: Array<["at_hash" | "c_hash", string | undefined]> = [
    ["at_hash", bindings.accessToken],
    ["c_hash", bindings.code],
  ];
  for (const [claim, value] of hashes) {
    const presented = claims[claim];
    if (presented === undefined || value === undefined) continue;
    if (typeof presented !== "string" || presented !== leftHalfHash(idToken, value)) {
      throw new IdTokenRejectedError(claim, `The ID token's ${claim} does not match the ${claim === "at_hash" ? "access token" : "authorization code"}`);
    }
  }
}

/** OIDC Core §12.2: a refreshed ID token speaks of the same user, from the same issuer. */
export function checkRefreshedIdToken(original: { iss: string; sub: string }, refreshed: IDToken): void {
  if (refreshed.iss !== original.iss) throw new IdTokenRejectedError("iss", "The refreshed ID token has another issuer than the original");
  if (refreshed.sub !== original.sub) throw new IdTokenRejectedError("sub", "The refreshed ID token is about another subject than the original");
}

const HASH_OF_ALG: Record<string, string> = {
  RS256: "sha256",
  PS256: "sha256",
  ES256: "sha256",
  RS384: "sha384",
  PS384: "sha384",
  ES384: "sha384",
  RS512: "sha512",
  PS512: "sha512",
  ES512: "sha512",
  // OIDC Core errata: EdDSA with Ed25519 hashes with SHA-512.
  EdDSA: "sha512",
  Ed25519: "sha512",
};

/** base64url of the left-most half of hash(ASCII value), hash chosen by the ID token's `alg`. */
export function leftHalfHash(idToken: string, value: string): string {
  const { alg } = decodeProtectedHeader(idToken);
  const hash = alg === undefined ? undefined : HASH_OF_ALG[alg];
  if (hash === undefined) throw new IdTokenRejectedError("alg", `No hash is defined for ID token alg ${String(alg)}`);
  const digest = createHash(hash).update(value, "ascii").digest();
  return digest.subarray(0, digest.length / 2).toString("base64url");
}
