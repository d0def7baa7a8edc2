/**
 * Validation of a JWT access token a caller brings (the Luxembourg AeS
 * practice: the vendor's app logs the practitioner in and hands the token to
 * the gateway), following RFC 9068 §4 and RFC 8725 (JWT BCP):
 *
 * - signature against the issuer's JWKS, keys selected by `kid`/`alg`;
 *   an unknown `kid` refetches the JWKS, at most once per cooldown (a forged
 *   `kid` must not turn the gateway into a JWKS-fetching amplifier);
 * - an explicit asymmetric `alg` allow-list (RFC 8725 §3.1): `none` and HS*
 *   are refused at configuration, so an HS256 token "signed" with the
 *   provider's public key can never verify;
 * - `iss` exact, `aud` containing the configured audience, optional `azp`
 *   allow-list, `exp` required, `nbf` and `iat` not in the future, with a
 *   clock tolerance bounded to 60 s;
 * - an ID token is not an access token (RFC 9068 §4 `typ`, RFC 8725 §3.11):
 *   tokens carrying `nonce`/`at_hash`/`c_hash` or Keycloak's `typ: "ID"` are refused.
 *
 * Keys are cached, results are not: verifying an RS256 signature costs tens
 * of microseconds, less than a cache keyed by a hash of the token would save
 * once its bookkeeping and the risk of serving a revoked key's verdict are
 * counted. The benchmark compares this against bare `jose.jwtVerify`.
 */
import { createRemoteJWKSet, customFetch, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import { PasserelleError } from "../../errors/index.js";
import type { OidcFetch } from "./http-client.js";

export type AccessTokenRejection = "signature" | "alg" | "kid" | "iss" | "aud" | "azp" | "exp" | "nbf" | "iat" | "typ" | "malformed";

export class AccessTokenRejectedError extends PasserelleError {
  readonly reason: AccessTokenRejection;

  constructor(reason: AccessTokenRejection, detail: string, cause?: unknown) {
    super("PASSERELLE_AUTH_TOKEN_INVALID", {
      detail,
      cause,
      extensions: { reason },
      // RFC 6750 §3.1.
      headers: { "www-authenticate": 'Bearer error="invalid_token"' },
    });
    this.name = "AccessTokenRejectedError";
    this.reason = reason;
  }
}

export interface AccessTokenPolicy {
  issuer: string;
  /** The token's `aud` must contain one of these. */
  audience: string | readonly string[];
  /** Asymmetric JWS algorithms accepted. Default RS256, PS256, ES256. */
  algorithms?: readonly string[];
  /** 0..60, default 30. */
  clockToleranceSec?: number;
  /** When set, `azp` must be present and one of these (the clients allowed to obtain tokens for us). */
  authorizedParties?: readonly string[];
  /** When set, the JOSE `typ` header must be this (e.g. `at+jwt`, RFC 9068 §2.1). */
  requiredType?: string;
}

export interface ValidatedAccessToken {
  subject: string;
  issuer: string;
  audience: string[];
  /** Epoch seconds. */
  expiresAt: number;
  authorizedParty: string | undefined;
  scope: string | undefined;
  claims: JWTPayload;
}

const DEFAULT_ALGORITHMS = ["RS256", "PS256", "ES256"] as const;
const MAX_CLOCK_TOLERANCE_SEC = 60;
const DEFAULT_CLOCK_TOLERANCE_SEC = 30;
/** Tokens are short; anything larger is not one of ours and is not parsed. */
const MAX_TOKEN_LENGTH = 16 * 1024;

/**
 * Validates one access token with the given key resolver (a remote JWKS, or
 * any `jose` key function). Rejects with {@link AccessTokenRejectedError}.
 *
 * @example
 * ```ts
 * const keys = createRemoteJWKSet(new URL(jwksUri), { [customFetch]: http.fetch });
 * const token = await validateAccessToken(raw, keys, { issuer, audience: "lu-aes-gateway" });
 * ```
 */
export async function validateAccessToken(token: string, keys: JWTVerifyGetKey, policy: AccessTokenPolicy): Promise<ValidatedAccessToken> {
  const { algorithms, clockToleranceSec, audiences } = checkPolicy(policy);
  if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
    throw new AccessTokenRejectedError("malformed", "The access token is not a JWT of acceptable size");
  }
  let payload: JWTPayload;
  let typ: string | undefined;
  try {
    const verified = await jwtVerify(token, keys, {
      issuer: policy.issuer,
      audience: audiences,
      algorithms,
      clockTolerance: clockToleranceSec,
      requiredClaims: ["exp", "sub"],
      ...(policy.requiredType === undefined ? {} : { typ: policy.requiredType }),
    });
    payload = verified.payload;
    typ = verified.protectedHeader.typ;
  } catch (error) {
    throw rejectionOf(error);
  }
  const now = Math.floor(Date.now() / 1000);
  if (typeof payload.iat === "number" && payload.iat > now + clockToleranceSec) {
    throw new AccessTokenRejectedError("iat", "The access token is issued in the future");
  }
  if (payload.nonce !== undefined || payload.at_hash !== undefined || payload.c_hash !== undefined || payload.typ === "ID" || typ === "id+jwt") {
    throw new AccessTokenRejectedError("typ", "An ID token is not an access token");
  }
  const azp = typeof payload.azp === "string" ? payload.azp : undefined;
  if (policy.authorizedParties !== undefined && (azp === undefined || !policy.authorizedParties.includes(azp))) {
    throw new AccessTokenRejectedError("azp", "The access token was issued to a client that is not allowed here");
  }
  return {
    subject: payload.sub as string,
    issuer: payload.iss as string,
    audience: Array.isArray(payload.aud) ? payload.aud : payload.aud === undefined ? [] : [payload.aud],
    expiresAt: payload.exp as number,
    authorizedParty: azp,
    scope: typeof payload.scope === "string" ? payload.scope : undefined,
    claims: payload,
  };
}

export interface RemoteKeysOptions {
  /** Through the gateway transport (./http-client.ts), for TLS trust and metrics. */
  fetch: OidcFetch;
  /** After a fetch, how long an unknown `kid` waits before triggering another (default 30 s). */
  cooldownMs?: number;
  /** Keys older than this are refetched (default 10 min). */
  cacheMaxAgeMs?: number;
  timeoutMs?: number;
}

/** A cached, rotating JWKS resolver (jose `createRemoteJWKSet`) whose requests go through our transport. */
export function remoteKeys(jwksUri: string | URL, options: RemoteKeysOptions): JWTVerifyGetKey {
  return createRemoteJWKSet(new URL(jwksUri), {
    [customFetch]: options.fetch,
    cooldownDuration: options.cooldownMs ?? 30_000,
    cacheMaxAge: options.cacheMaxAgeMs ?? 600_000,
    timeoutDuration: options.timeoutMs ?? 5_000,
  });
}

function checkPolicy(policy: AccessTokenPolicy): { algorithms: string[]; clockToleranceSec: number; audiences: string[] } {
  if (typeof policy?.issuer !== "string" || policy.issuer === "") throw new TypeError("policy.issuer must be a non-empty string");
  const audiences = typeof policy.audience === "string" ? [policy.audience] : [...(policy.audience ?? [])];
  if (audiences.length === 0 || audiences.some((a) => typeof a !== "string" || a === "")) {
    throw new TypeError("policy.audience must name at least one audience");
  }
  const algorithms = [...(policy.algorithms ?? DEFAULT_ALGORITHMS)];
  if (algorithms.length === 0) throw new TypeError("policy.algorithms must not be empty");
  for (const alg of algorithms) {
    if (alg === "none" || alg.startsWith("HS")) throw new TypeError(`Access token algorithm ${alg} is refused: asymmetric algorithms only`);
  }
  const clockToleranceSec = policy.clockToleranceSec ?? DEFAULT_CLOCK_TOLERANCE_SEC;
  if (!Number.isFinite(clockToleranceSec) || clockToleranceSec < 0 || clockToleranceSec > MAX_CLOCK_TOLERANCE_SEC) {
    throw new TypeError(`policy.clockToleranceSec must be between 0 and ${MAX_CLOCK_TOLERANCE_SEC}`);
  }
  return { algorithms, clockToleranceSec, audiences };
}

function rejectionOf(error: unknown): Error {
  if (error instanceof PasserelleError) return error; // the JWKS could not be fetched: an upstream problem
  if (error instanceof errors.JWTExpired) return new AccessTokenRejectedError("exp", "The access token has expired", error);
  if (error instanceof errors.JWTClaimValidationFailed) {
    const claim = error.claim;
    const reason: AccessTokenRejection =
      claim === "iss" || claim === "aud" || claim === "nbf" || claim === "iat" || claim === "exp" ? claim : claim === "typ" ? "typ" : "malformed";
    return new AccessTokenRejectedError(reason, `The access token failed the "${claim}" check`, error);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return new AccessTokenRejectedError("signature", "The access token signature is invalid", error);
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return new AccessTokenRejectedError("alg", "The access token is signed with an algorithm that is not accepted", error);
  }
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return new AccessTokenRejectedError("kid", "No single key of the issuer matches the access token", error);
  }
  if (error instanceof errors.JOSEError) return new AccessTokenRejectedError("malformed", "The access token is not a valid JWT", error);
  if (error instanceof TypeError) return error;
  return new PasserelleError("PASSERELLE_INTERNAL", { cause: error });
}
