/**
 * Typed errors of the OIDC relying party, and the translation of what
 * `openid-client` / `oauth4webapi` throw into them.
 *
 * Two families matter to callers:
 * - {@link IdTokenRejectedError}: the provider's ID token failed a check of
 *   OpenID Connect Core 1.0 §3.1.3.7; `reason` names which one, so tests (and
 *   operators) can tell an `alg: none` token from a wrong audience.
 * - {@link ProviderRejectedError}: the provider answered with an OAuth error
 *   (RFC 6749 §5.2, CIBA Core §13) — `oauthError` holds its code — or with a
 *   response that breaks the protocol.
 * Network and TLS failures keep the transport's own `UpstreamError`.
 */
import { PasserelleError } from "../../errors/index.js";
import { ClientError, ResponseBodyError, AuthorizationResponseError } from "openid-client";

/** Which ID-token check failed. */
export type IdTokenRejection =
  | "signature"
  | "alg"
  | "kid"
  | "iss"
  | "aud"
  | "azp"
  | "exp"
  | "nbf"
  | "iat"
  | "auth_time"
  | "nonce"
  | "sub"
  | "at_hash"
  | "c_hash"
  | "missing_claim"
  | "missing_id_token"
  | "userinfo_sub"
  | "malformed";

export class IdTokenRejectedError extends PasserelleError {
  readonly reason: IdTokenRejection;

  constructor(reason: IdTokenRejection, detail: string, cause?: unknown) {
    super("PASSERELLE_AUTH_ID_TOKEN_INVALID", { detail, cause, extensions: { reason } });
    this.name = "IdTokenRejectedError";
    this.reason = reason;
  }
}

/** OAuth error codes are a closed ASCII alphabet (RFC 6749 §5.2); anything else is not echoed. */
const OAUTH_ERROR_CODE = /^[\x20-\x21\x23-\x5b\x5d-\x7e]{1,64}$/;

export class ProviderRejectedError extends PasserelleError {
  /** The provider's OAuth `error` code, when it sent one. */
  readonly oauthError: string | undefined;

  constructor(provider: string, detail: string, options: { oauthError?: string; cause?: unknown } = {}) {
    const oauthError = options.oauthError !== undefined && OAUTH_ERROR_CODE.test(options.oauthError) ? options.oauthError : undefined;
    super("PASSERELLE_AUTH_PROVIDER_ERROR", {
      detail,
      cause: options.cause,
      // The provider's error_description is never relayed: it may echo input.
      extensions: { upstream: provider, ...(oauthError === undefined ? {} : { providerError: oauthError }) },
    });
    this.name = "ProviderRejectedError";
    this.oauthError = oauthError;
  }
}

/** The error shapes of oauth4webapi, as far as we read them. */
interface OperationFailure {
  message?: string;
  code?: string;
  cause?: unknown;
  name?: string;
}

const CLAIM_REASONS: Record<string, IdTokenRejection> = {
  iss: "iss",
  aud: "aud",
  azp: "azp",
  exp: "exp",
  nbf: "nbf",
  iat: "iat",
  auth_time: "auth_time",
  nonce: "nonce",
  sub: "sub",
  at_hash: "at_hash",
  c_hash: "c_hash",
};

/**
 * Translates whatever openid-client threw during a token request into a
 * typed error. `context` says what we were doing, for the detail.
 */
export function translateOidcFailure(provider: string, context: string, error: unknown): Error {
  if (error instanceof PasserelleError) return error;
  if (error instanceof ResponseBodyError) {
    return new ProviderRejectedError(provider, `${provider} refused the ${context} (${safeCode(error.error)})`, {
      oauthError: error.error,
      cause: error,
    });
  }
  if (error instanceof AuthorizationResponseError) {
    return new ProviderRejectedError(provider, `${provider} answered the authorization request with an error (${safeCode(error.error)})`, {
      oauthError: error.error,
      cause: error,
    });
  }
  if (error instanceof ClientError) {
    // openid-client wraps what our fetch threw (an UpstreamError) as the cause.
    if (error.cause instanceof PasserelleError) return error.cause;
    const reason = idTokenReasonOf(error);
    if (reason !== undefined) return new IdTokenRejectedError(reason, `The ID token from ${provider} failed the "${reason}" check`, error);
    return new ProviderRejectedError(provider, `${provider} answered the ${context} in a way that breaks the protocol`, { cause: error });
  }
  if (error instanceof TypeError) return error; // our own misuse: a bug, not the provider's fault
  return new ProviderRejectedError(provider, `The ${context} with ${provider} failed`, { cause: error });
}

function safeCode(code: string): string {
  return OAUTH_ERROR_CODE.test(code) ? code : "unrecognised error";
}

/**
 * Whether an openid-client failure is about the ID token, and which check.
 * oauth4webapi reports JWT checks with these codes and a `cause.claim`; the
 * signature, `alg` and missing-claim failures are only told apart by their
 * message, which the tests pin for the installed version.
 */
function idTokenReasonOf(error: ClientError): IdTokenRejection | undefined {
  const inner = (error.cause ?? {}) as OperationFailure;
  const code = error.code ?? inner.code;
  const message = inner.message ?? error.message;
  const claim = claimOf(inner.cause);
  switch (code) {
    case "OAUTH_JWT_CLAIM_COMPARISON_FAILED":
    case "OAUTH_JWT_TIMESTAMP_CHECK_FAILED":
      return (claim !== undefined ? CLAIM_REASONS[claim] : undefined) ?? "malformed";
    case "OAUTH_KEY_SELECTION_FAILED":
      return "kid";
    case "OAUTH_UNSUPPORTED_OPERATION":
      // e.g. an HS256 ID token when signatures are verified against the JWKS (alg confusion).
      return /JWS algorithm|alg/i.test(message) ? "alg" : undefined;
    default:
      break;
  }
  if (typeof message !== "string") return undefined;
  if (/JWT signature verification failed/.test(message)) return "signature";
  if (/unexpected JWT "alg" header parameter/.test(message)) return "alg";
  const missing = /JWT "(\w+)" \(.*\) claim missing/.exec(message)?.[1];
  // A missing nonce is a nonce failure (Core §3.1.3.7 point 11), the rest a missing claim.
  if (missing !== undefined) return missing === "nonce" ? "nonce" : "missing_claim";
  if (/unexpected JWT "(\w+)"/.test(message)) {
    const named = /unexpected JWT "(\w+)"/.exec(message)?.[1];
    return (named !== undefined ? CLAIM_REASONS[named] : undefined) ?? "malformed";
  }
  if (/JWT|JWS/.test(message)) return "malformed";
  return undefined;
}

function claimOf(cause: unknown): string | undefined {
  if (typeof cause === "object" && cause !== null && "claim" in cause) {
    const claim = (cause as { claim: unknown }).claim;
    return typeof claim === "string" ? claim : undefined;
  }
  return undefined;
}
