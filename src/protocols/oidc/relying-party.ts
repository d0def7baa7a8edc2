/**
 * An OpenID Connect relying party for one client at one provider, on top of
 * `openid-client` 6 (an OpenID-certified RP library): the protocol is the
 * library's; this class fixes the security choices, routes every HTTP call
 * through the gateway transport, adds the checks the library leaves out
 * (./id-token-checks.ts) and turns failures into typed errors (./errors.ts).
 *
 * Choices made for every client:
 * - the ID token's signature is always verified against the provider's JWKS
 *   (`enableNonRepudiationChecks`), even from the token endpoint where OIDC
 *   Core §3.1.3.7 point 6 would let TLS stand in for it: an HS256 ID token
 *   made with a public key, or an unsigned one, must never pass;
 * - the ID token `alg` is the registered one (`id_token_signed_response_alg`,
 *   default RS256), never taken from the token or from the provider's list
 *   (Keycloak advertises HS256 there);
 * - clock tolerance is bounded (≤ 60 s);
 * - PKCE S256 on every authorization request (RFC 9700 §2.1.1), `state` and
 *   `nonce` on every one too.
 *
 * Providers are configured by issuer (Discovery 1.0 §4, whose issuer check
 * openid-client makes: a mix-up defence) or by explicit endpoints.
 */
import * as client from "openid-client";
import { ClientError } from "openid-client";
import { buildClientAuth, type ClientAuthentication } from "./client-auth.js";
import { IdTokenRejectedError, ProviderRejectedError, translateOidcFailure } from "./errors.js";
import type { OidcFetch } from "./http-client.js";
import { checkIdTokenBeyondLibrary, checkRefreshedIdToken, type IdTokenPolicy } from "./id-token-checks.js";

/** Provider metadata as given explicitly (RFC 8414 §2 / Discovery 1.0 §3 names). */
export type OidcProviderMetadata = client.ServerMetadata;
export type IdTokenClaims = client.IDToken;
export type UserInfo = client.UserInfoResponse;

export interface RelyingPartyOptions {
  /** Label of the provider in errors, logs and metrics (e.g. `fr-psc`). */
  provider: string;
  /** Issuer identifier: discovery starts from it, and every ID token must carry it exactly. */
  issuer: string;
  /** Explicit endpoints: no discovery request is made. `issuer` must equal `metadata.issuer`. */
  metadata?: OidcProviderMetadata;
  clientId: string;
  authentication: ClientAuthentication;
  /** The transport (./http-client.ts): TLS trust, client certificate, timeouts. */
  fetch: OidcFetch;
  /** The registered `id_token_signed_response_alg`. Default RS256. */
  idTokenAlgorithm?: string;
  /** Default 30, at most 60. */
  clockToleranceSec?: number;
  /** Oldest acceptable ID token `iat`, in seconds. Default 600. */
  maxIdTokenAgeSec?: number;
  /** Audiences besides the client id allowed in an ID token's `aud`. Default none. */
  trustedAudiences?: readonly string[];
  /** Per request, in seconds. Default 15. */
  timeoutSec?: number;
  /** Epoch milliseconds, for the checks made here. */
  now?: () => number;
}

/** A validated token response. Times are epoch seconds. */
export interface OidcTokens {
  accessToken: string;
  tokenType: string;
  expiresAt: number | undefined;
  refreshToken: string | undefined;
  /** From Keycloak's `refresh_expires_in`, when sent. */
  refreshExpiresAt: number | undefined;
  idToken: string | undefined;
  /** Claims of the validated ID token. */
  claims: IdTokenClaims | undefined;
  scope: string | undefined;
}

export interface AuthorizationRequest {
  redirectUri: string;
  scope: string;
  state: string;
  nonce: string;
  /** The PKCE verifier; only its S256 challenge is sent (RFC 7636 §4.2). */
  codeVerifier: string;
  acrValues?: string;
  /** Other parameters (`login_hint`, `prompt`, `ui_locales`…); cannot override the ones above. */
  extra?: Record<string, string>;
}

export interface CodeExchange {
  /** The exact registered redirect URI the authorization request used. */
  redirectUri: string;
  /** Parameters of the authorization response (`code`, `state`, `iss`…), as received. */
  response: URLSearchParams;
  expectedState: string;
  expectedNonce: string;
  codeVerifier: string;
}

export interface BackchannelRequest {
  loginHint: string;
  scope: string;
  bindingMessage?: string;
  acrValues?: string;
  /** Seconds (CIBA Core §7.1 `requested_expiry`). */
  requestedExpiry?: number;
}

/** CIBA Core §7.3. Times in seconds. */
export interface BackchannelStart {
  authReqId: string;
  expiresIn: number;
  /** The provider's `interval`, or the default of 5 s. */
  interval: number;
}

export type BackchannelPoll =
  | { status: "pending" }
  | { status: "slow_down" }
  | { status: "denied" }
  | { status: "expired" }
  | { status: "approved"; tokens: OidcTokens };

const MAX_CLOCK_TOLERANCE_SEC = 60;
const DEFAULT_CLOCK_TOLERANCE_SEC = 30;
const DEFAULT_MAX_ID_TOKEN_AGE_SEC = 600;
const DEFAULT_TIMEOUT_SEC = 15;
/** CIBA Core §7.3: without `interval`, poll every 5 seconds. */
const DEFAULT_CIBA_INTERVAL_SEC = 5;
const CIBA_GRANT_TYPE = "urn:openid:params:grant-type:ciba";
const RESERVED_AUTHORIZATION_PARAMETERS = new Set([
  "client_id",
  "redirect_uri",
  "response_type",
  "scope",
  "state",
  "nonce",
  "code_challenge",
  "code_challenge_method",
]);

export class OidcRelyingParty {
  readonly provider: string;
  readonly clientId: string;
  readonly #config: client.Configuration;
  readonly #policy: IdTokenPolicy;

  private constructor(provider: string, clientId: string, config: client.Configuration, policy: IdTokenPolicy) {
    this.provider = provider;
    this.clientId = clientId;
    this.#config = config;
    this.#policy = policy;
  }

  /**
   * Discovers the provider (or takes its explicit metadata) and returns the
   * relying party. Misconfiguration throws `TypeError`; an unreachable or
   * misbehaving provider throws a typed error.
   */
  static async create(options: RelyingPartyOptions): Promise<OidcRelyingParty> {
    const tolerance = options.clockToleranceSec ?? DEFAULT_CLOCK_TOLERANCE_SEC;
    if (!Number.isFinite(tolerance) || tolerance < 0 || tolerance > MAX_CLOCK_TOLERANCE_SEC) {
      throw new TypeError(`clockToleranceSec must be between 0 and ${MAX_CLOCK_TOLERANCE_SEC}`);
    }
    const algorithm = options.idTokenAlgorithm ?? "RS256";
    if (algorithm === "none" || algorithm.startsWith("HS")) {
      throw new TypeError(`idTokenAlgorithm ${algorithm} is refused: ID tokens must be signed with an asymmetric key`);
    }
    if (typeof options.clientId !== "string" || options.clientId === "") throw new TypeError("clientId must be a non-empty string");
    let issuerUrl: URL;
    try {
      issuerUrl = new URL(options.issuer);
    } catch {
      throw new TypeError(`issuer ${JSON.stringify(options.issuer)} is not a URL`);
    }
    if (options.metadata !== undefined && options.metadata.issuer !== options.issuer) {
      throw new TypeError("metadata.issuer must equal issuer");
    }
    const auth = await buildClientAuth(options.authentication);
    const clientMetadata: Partial<client.ClientMetadata> = {
      id_token_signed_response_alg: algorithm,
      // RFC 8705 §5: a client authenticating with its certificate uses the mTLS aliases when the provider has them.
      use_mtls_endpoint_aliases: options.authentication.method === "tls_client_auth",
      [client.clockTolerance]: tolerance,
    };
    const timeout = options.timeoutSec ?? DEFAULT_TIMEOUT_SEC;
    let config: client.Configuration;
    if (options.metadata !== undefined) {
      config = new client.Configuration(options.metadata, options.clientId, clientMetadata, auth);
      config[client.customFetch] = options.fetch as client.CustomFetch;
      config.timeout = timeout;
      client.enableNonRepudiationChecks(config);
    } else {
      try {
        config = await client.discovery(issuerUrl, options.clientId, clientMetadata, auth, {
          [client.customFetch]: options.fetch as client.CustomFetch,
          timeout,
          execute: [client.enableNonRepudiationChecks],
        });
      } catch (error) {
        throw translateOidcFailure(options.provider, "discovery request", error);
      }
    }
    return new OidcRelyingParty(options.provider, options.clientId, config, {
      clientId: options.clientId,
      trustedAudiences: options.trustedAudiences ?? [],
      clockToleranceSec: tolerance,
      maxAgeSec: options.maxIdTokenAgeSec ?? DEFAULT_MAX_ID_TOKEN_AGE_SEC,
      now: options.now ?? (() => Date.now()),
    });
  }

  get issuer(): string {
    return this.#config.serverMetadata().issuer;
  }

  get metadata(): Readonly<OidcProviderMetadata> {
    return this.#config.serverMetadata();
  }

  get supportsBackchannel(): boolean {
    return typeof this.metadata.backchannel_authentication_endpoint === "string";
  }

  get supportsRevocation(): boolean {
    return typeof this.metadata.revocation_endpoint === "string";
  }

  get supportsEndSession(): boolean {
    return typeof this.metadata.end_session_endpoint === "string";
  }

  /** The URL to send the browser to (OIDC Core §3.1.2.1), with PKCE S256. */
  async authorizationUrl(request: AuthorizationRequest): Promise<URL> {
    for (const name of Object.keys(request.extra ?? {})) {
      if (RESERVED_AUTHORIZATION_PARAMETERS.has(name)) throw new TypeError(`extra authorization parameter ${name} is reserved`);
    }
    const parameters: Record<string, string> = {
      ...request.extra,
      response_type: "code",
      redirect_uri: request.redirectUri,
      scope: request.scope,
      state: request.state,
      nonce: request.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(request.codeVerifier),
      code_challenge_method: "S256",
      ...(request.acrValues === undefined ? {} : { acr_values: request.acrValues }),
    };
    return client.buildAuthorizationUrl(this.#config, parameters);
  }

  /**
   * Exchanges the authorization code (RFC 6749 §4.1.3, with the PKCE
   * verifier) and validates the ID token, including `nonce`, `state`, the
   * RFC 9207 `iss` parameter when present, and ./id-token-checks.ts.
   */
  async exchangeCode(exchange: CodeExchange): Promise<OidcTokens> {
    const currentUrl = new URL(exchange.redirectUri);
    if (currentUrl.search !== "") throw new TypeError("redirectUri must not carry a query (openid-client derives it from the callback URL)");
    for (const [name, value] of exchange.response) currentUrl.searchParams.append(name, value);
    let response: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;
    try {
      response = await client.authorizationCodeGrant(this.#config, currentUrl, {
        pkceCodeVerifier: exchange.codeVerifier,
        expectedState: exchange.expectedState,
        expectedNonce: exchange.expectedNonce,
        idTokenExpected: true,
      });
    } catch (error) {
      throw translateOidcFailure(this.provider, "authorization code exchange", error);
    }
    const code = exchange.response.get("code") ?? undefined;
    return this.#validated(response, { requireIdToken: true, ...(code === null ? {} : { code }) });
  }

  /** Refresh token grant (RFC 6749 §6); a new ID token must be about the same user (OIDC Core §12.2). */
  async refresh(refreshToken: string, original?: { iss: string; sub: string }): Promise<OidcTokens> {
    let response: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;
    try {
      response = await client.refreshTokenGrant(this.#config, refreshToken);
    } catch (error) {
      throw translateOidcFailure(this.provider, "refresh token request", error);
    }
    const tokens = this.#validated(response, { requireIdToken: false });
    if (tokens.claims !== undefined && original !== undefined) checkRefreshedIdToken(original, tokens.claims);
    return tokens;
  }

  /** UserInfo (OIDC Core §5.3), refused unless its `sub` is the ID token's (§5.3.2). */
  async fetchUserInfo(accessToken: string, expectedSubject: string): Promise<UserInfo> {
    try {
      return await client.fetchUserInfo(this.#config, accessToken, expectedSubject);
    } catch (error) {
      if (error instanceof ClientError && error.code === "OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED") {
        throw new IdTokenRejectedError("userinfo_sub", `The UserInfo response of ${this.provider} is about another subject than the ID token`, error);
      }
      throw translateOidcFailure(this.provider, "UserInfo request", error);
    }
  }

  /** Client credentials grant (RFC 6749 §4.4) for a system client. */
  async clientCredentials(options: { scope?: string; resource?: string } = {}): Promise<OidcTokens> {
    const parameters: Record<string, string> = {};
    if (options.scope !== undefined) parameters.scope = options.scope;
    if (options.resource !== undefined) parameters.resource = options.resource;
    let response: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;
    try {
      response = await client.clientCredentialsGrant(this.#config, parameters);
    } catch (error) {
      throw translateOidcFailure(this.provider, "client credentials request", error);
    }
    return this.#validated(response, { requireIdToken: false });
  }

  /** Backchannel authentication request (CIBA Core §7.1), poll mode. */
  async startBackchannel(request: BackchannelRequest): Promise<BackchannelStart> {
    if (!this.supportsBackchannel) throw new TypeError(`${this.provider} has no backchannel_authentication_endpoint`);
    const parameters: Record<string, string> = { scope: request.scope, login_hint: request.loginHint };
    if (request.bindingMessage !== undefined) parameters.binding_message = request.bindingMessage;
    if (request.acrValues !== undefined) parameters.acr_values = request.acrValues;
    if (request.requestedExpiry !== undefined) parameters.requested_expiry = String(request.requestedExpiry);
    let response: client.BackchannelAuthenticationResponse;
    try {
      response = await client.initiateBackchannelAuthentication(this.#config, parameters);
    } catch (error) {
      throw translateOidcFailure(this.provider, "backchannel authentication request", error);
    }
    // openid-client checked the types; CIBA Core §7.3 also wants a positive
    // integer expires_in and a non-negative integer interval.
    const { auth_req_id: authReqId, expires_in: expiresIn, interval } = response;
    if (authReqId.length === 0 || authReqId.length > 2048) {
      throw new ProviderRejectedError(this.provider, `${this.provider} sent an unusable auth_req_id`);
    }
    if (!Number.isInteger(expiresIn) || expiresIn <= 0) {
      throw new ProviderRejectedError(this.provider, `${this.provider} sent a backchannel response without a valid expires_in`);
    }
    if (interval !== undefined && (!Number.isInteger(interval) || interval < 0)) {
      throw new ProviderRejectedError(this.provider, `${this.provider} sent a backchannel response with an invalid interval`);
    }
    return { authReqId, expiresIn, interval: interval ?? DEFAULT_CIBA_INTERVAL_SEC };
  }

  /**
   * One token request for a CIBA `auth_req_id` (CIBA Core §10.1). The caller
   * schedules polls: openid-client's own poller loops in-process, which
   * cannot be shared between gateway instances.
   */
  async pollBackchannel(authReqId: string): Promise<BackchannelPoll> {
    let response: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;
    try {
      response = await client.genericGrantRequest(this.#config, CIBA_GRANT_TYPE, { auth_req_id: authReqId });
    } catch (error) {
      if (error instanceof client.ResponseBodyError) {
        // CIBA Core §11.
        switch (error.error) {
          case "authorization_pending":
            return { status: "pending" };
          case "slow_down":
            return { status: "slow_down" };
          case "access_denied":
            return { status: "denied" };
          case "expired_token":
            return { status: "expired" };
          default:
            break;
        }
      }
      throw translateOidcFailure(this.provider, "CIBA token request", error);
    }
    // CIBA Core §10.1.1: a successful response carries an ID token.
    return { status: "approved", tokens: this.#validated(response, { requireIdToken: true }) };
  }

  /** Token revocation (RFC 7009), when the provider has the endpoint. */
  async revoke(token: string, hint: "refresh_token" | "access_token"): Promise<void> {
    if (!this.supportsRevocation) return;
    try {
      await client.tokenRevocation(this.#config, token, { token_type_hint: hint });
    } catch (error) {
      throw translateOidcFailure(this.provider, "token revocation", error);
    }
  }

  /** RP-Initiated Logout 1.0 §2: where to send the browser, when the provider supports it. */
  endSessionUrl(options: { idTokenHint?: string; postLogoutRedirectUri?: string; state?: string }): URL | undefined {
    if (!this.supportsEndSession) return undefined;
    const parameters: Record<string, string> = { client_id: this.clientId };
    if (options.idTokenHint !== undefined) parameters.id_token_hint = options.idTokenHint;
    if (options.postLogoutRedirectUri !== undefined) parameters.post_logout_redirect_uri = options.postLogoutRedirectUri;
    if (options.state !== undefined) parameters.state = options.state;
    return client.buildEndSessionUrl(this.#config, parameters);
  }

  #validated(
    response: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers,
    options: { requireIdToken: boolean; code?: string },
  ): OidcTokens {
    const claims = response.claims();
    const idToken = response.id_token;
    if (options.requireIdToken && (idToken === undefined || claims === undefined)) {
      throw new IdTokenRejectedError("missing_id_token", `${this.provider} answered without an ID token`);
    }
    if (idToken !== undefined && claims !== undefined) {
      checkIdTokenBeyondLibrary(idToken, claims, this.#policy, {
        accessToken: response.access_token,
        ...(options.code === undefined ? {} : { code: options.code }),
      });
    }
    const nowSec = Math.floor(this.#policy.now() / 1000);
    const expiresIn = response.expiresIn();
    const refreshExpiresIn = response["refresh_expires_in"];
    return {
      accessToken: response.access_token,
      tokenType: response.token_type,
      expiresAt: expiresIn === undefined ? undefined : nowSec + expiresIn,
      refreshToken: response.refresh_token,
      refreshExpiresAt:
        typeof refreshExpiresIn === "number" && Number.isFinite(refreshExpiresIn) && refreshExpiresIn > 0 ? nowSec + refreshExpiresIn : undefined,
      idToken,
      claims,
      scope: response.scope,
    };
  }
}
