/**
 * The identity use cases, without HTTP: practitioner login by authorization
 * code + PKCE and by CIBA, sessions (read, refresh, logout), access tokens
 * brought by callers, and system-client tokens. routes.ts exposes them.
 *
 * ## How a browser login is bound to the calling software
 *
 * The browser that goes through the provider's login page carries no API
 * key. So the calling software starts every login itself, authenticated:
 *
 * 1. `POST /v1/auth/login` (API key) stores a *login ticket* owned by the
 *    caller and returns `loginUrl` = `/v1/auth/login/{clientId}?login=<ticket>`.
 * 2. The browser opens `loginUrl`. The ticket is spent (single use); the
 *    gateway creates `state`, `nonce` and the PKCE verifier, stores them
 *    under `state` with the same owner, sets a cookie binding this browser
 *    to this login (SameSite=Lax, HttpOnly, path = the callback), and
 *    redirects to the provider.
 * 3. `GET /v1/auth/callback`: the `state` must match a login in progress and
 *    the browser must hold its cookie (RFC 9700 §4.7.1: CSRF and login
 *    fixation); the state is spent; the code is exchanged with the verifier;
 *    the ID token is validated. The browser is sent to the caller's return
 *    URL with a *one-time login code* (`?code=…&state=<caller's state>`, plus
 *    `error=<code>` when the login failed) — never with a session handle.
 * 4. The calling software exchanges the code (`POST /v1/auth/session`, API
 *    key): only the caller that started the login can; then the session is
 *    created and its handle returned in the response body.
 *
 * A handle therefore never appears in a URL, a browser history, a Referer or
 * an access log; the one-time code that does is single-use, lives two
 * minutes, and is worthless without the caller's API key.
 *
 * ## Several gateway instances
 *
 * Everything lives in the vault; nothing but timers and caches is in memory.
 * The vault's compare-and-set serialises what must not happen twice: a
 * ticket, state or login code is spent by the one CAS that marks it used;
 * a refresh takes a lease on the session (the loser waits and returns the
 * winner's tokens, so a rotated refresh token is never presented twice); a
 * CIBA poll takes a lease on the request and respects its `nextPollAt`,
 * so no two instances poll the same request in the same interval.
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { AuditOutcome, AuditSink } from "../../audit/index.js";
import { ERROR_CATALOGUE, PasserelleError, badRequest, notFound, type ErrorCode } from "../../errors/index.js";
import type { GatewayMetrics } from "../../observability/metrics.js";
import {
  IdTokenRejectedError,
  validateAccessToken,
  type OidcRelyingParty,
  type OidcTokens,
  type ValidatedAccessToken,
} from "../../protocols/oidc/index.js";
import { UpstreamError } from "../../transport/index.js";
import type { Vault, VaultEntry } from "../../vault/index.js";
import type { IdentityConfig, IdentityProviderConfig } from "./config.js";
import { authenticationDenied, authenticationExpired, loginInvalid, refineProviderError, returnUrlNotAllowed, sessionInvalid, stateInvalid } from "./errors.js";
import { IdentityProviders } from "./providers.js";
import {
  CIBA_PREFIX,
  digestOf,
  LOGIN_CODE_PREFIX,
  LOGIN_TICKET_PREFIX,
  looksLikeSecret,
  newSecret,
  parseRecord,
  SESSION_PREFIX,
  vaultKeyOf,
  type CibaRecord,
  type LoginFailure,
  type LoginResultRecord,
  type LoginStateRecord,
  type LoginTicketRecord,
  type SessionRecord,
} from "./records.js";

export interface IdentityServiceOptions {
  config: IdentityConfig;
  vault: Vault;
  audit: AuditSink;
  logger?: Logger;
  metrics?: GatewayMetrics;
  /** Epoch milliseconds; tests move it. */
  now?: () => number;
  /** Poll pending CIBA requests on timers (default true). Status reads poll when due either way. */
  backgroundPolling?: boolean;
}

/** Who is asking: the authenticated calling software, and the request to log against. */
export interface CallContext {
  caller: string;
  requestId: string;
}

export interface StartLoginInput {
  clientId: string;
  returnUrl: string;
  /** Echoed back to the return URL: the caller's own CSRF protection. */
  state?: string;
  scope?: string;
  acrValues?: string;
  loginHint?: string;
  prompt?: string;
}

export interface SessionView {
  provider: string;
  clientId: string;
  method: "code" | "ciba";
  subject: string;
  practitioner: { id?: string; givenName?: string; familyName?: string };
  acr?: string;
  scope?: string;
  createdAt: string;
  /** When the current access token expires (it is refreshed before). */
  expiresAt?: string;
  /** When the session ends (the refresh token's end). */
  sessionExpiresAt: string;
  refreshedAt?: string;
}

export interface SessionTokens {
  accessToken: string;
  tokenType: string;
  /** Epoch seconds. */
  expiresAt: number | undefined;
  provider: string;
  clientId: string;
  subject: string;
  practitionerId: string | undefined;
}

export interface StartCibaInput {
  clientId: string;
  loginHint: string;
  bindingMessage?: string;
  scope?: string;
  acrValues?: string;
}

export interface CibaView {
  id: string;
  status: CibaRecord["status"];
  expiresAt: string;
  /** Seconds between polls of the provider (after any slow_down). */
  interval: number;
  /** The session handle, once approved. */
  session?: string;
  error?: { code: string; detail: string };
}

export interface SystemToken {
  accessToken: string;
  tokenType: string;
  /** Epoch seconds. */
  expiresAt: number;
  scope: string | undefined;
}

export interface BroughtToken extends ValidatedAccessToken {
  provider: string;
  practitionerId: string | undefined;
}

const DEFAULT_LOGIN_TTL_SEC = 600;
const LOGIN_RESULT_TTL_SEC = 120;
const DEFAULT_SESSION_LIFETIME_SEC = 8 * 3600;
/** How long a refresh or a CIBA poll may hold its lease: the token request's own timeout plus margin. */
const LEASE_MS = 20_000;
const LEASE_WAIT_STEP_MS = 100;
/** A CIBA request stays readable this long after it ended, so the caller learns the outcome. */
const CIBA_GRACE_SEC = 600;
/** Access tokens are refreshed when they have less than this left. */
const DEFAULT_MIN_VALIDITY_SEC = 60;
const SYSTEM_TOKEN_MARGIN_SEC = 30;
const MIN_CIBA_INTERVAL_SEC = 1;

export class IdentityService {
  readonly providers: IdentityProviders;
  readonly #config: IdentityConfig;
  readonly #vault: Vault;
  readonly #audit: AuditSink;
  readonly #logger: Logger | undefined;
  readonly #now: () => number;
  readonly #background: boolean;
  readonly #instance = randomUUID();
  readonly #returnUrls: Set<string>;
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #systemTokens = new Map<string, Promise<SystemToken>>();
  #closed = false;

  constructor(options: IdentityServiceOptions) {
    this.#config = options.config;
    this.#vault = options.vault;
    this.#audit = options.audit;
    this.#logger = options.logger;
    this.#now = options.now ?? (() => Date.now());
    this.#background = options.backgroundPolling ?? true;
    this.providers = new IdentityProviders(options.config.providers, options.metrics);
    this.#returnUrls = new Set();
    for (const url of options.config.returnUrls) {
      const parsed = new URL(url); // a bad URL is a configuration mistake: TypeError
      if (parsed.hash !== "") throw new TypeError(`Return URL ${url} must not have a fragment`);
      this.#returnUrls.add(parsed.href);
    }
  }

  // ---------------------------------------------------------------- code flow

  /** Step 1: the calling software starts a login; returns the URL to open in the practitioner's browser. */
  async startLogin(ctx: CallContext, input: StartLoginInput): Promise<{ loginUrl: string; expiresAt: string }> {
    this.providers.resolve(input.clientId, "code");
    const returnUrl = this.#allowedReturnUrl(input.returnUrl, "/returnUrl");
    const ticket = newSecret(LOGIN_TICKET_PREFIX);
    const ttl = this.#loginTtlSec;
    const record: LoginTicketRecord = {
      v: 1,
      clientId: input.clientId,
      returnUrl,
      callerState: input.state,
      scope: input.scope,
      acrValues: input.acrValues,
      loginHint: input.loginHint,
      prompt: input.prompt,
      requestId: ctx.requestId,
      used: false,
    };
    await this.#vault.set(vaultKeyOf("login-ticket", ticket), JSON.stringify(record), { ttlSeconds: ttl, owner: ctx.caller });
    const loginUrl = new URL(`login/${encodeURIComponent(input.clientId)}`, this.#redirectUri());
    loginUrl.searchParams.set("login", ticket);
    return { loginUrl: loginUrl.href, expiresAt: new Date(this.#now() + ttl * 1000).toISOString() };
  }

  /** Step 2 (browser): spends the ticket, prepares state/nonce/PKCE, returns the provider URL and the binding cookie. */
  async beginAuthorization(input: { clientId: string; ticket: string | undefined }): Promise<{
    location: string;
    cookie: { name: string; value: string; maxAgeSec: number; path: string };
  }> {
    const { ticket } = input;
    if (!looksLikeSecret(ticket, LOGIN_TICKET_PREFIX)) throw loginInvalid("The login ticket is missing or malformed");
    const key = vaultKeyOf("login-ticket", ticket);
    const entry = await this.#vault.get(key);
    const record = entry === undefined ? undefined : parseRecord<LoginTicketRecord>(entry.value);
    if (entry === undefined || record === undefined || record.used || entry.owner === undefined) {
      throw loginInvalid("The login ticket is unknown, expired or already used");
    }
    if (record.clientId !== input.clientId) throw loginInvalid("The login ticket was issued for another client");
    const spent = await this.#vault.compareAndSet(key, entry.version, JSON.stringify({ ...record, used: true }), {
      ttlSeconds: remainingSec(entry, this.#now()),
      owner: entry.owner,
    });
    if (spent === undefined) throw loginInvalid("The login ticket is already used");

    const { provider, client } = this.providers.resolve(record.clientId, "code");
    const rp = await this.providers.relyingParty(record.clientId);
    const state = newSecret("");
    const binding = newSecret("");
    const stateRecord: LoginStateRecord = {
      v: 1,
      clientId: record.clientId,
      returnUrl: record.returnUrl,
      callerState: record.callerState,
      redirectUri: this.#redirectUri(),
      codeVerifier: newSecret(""),
      nonce: newSecret(""),
      browserBinding: digestOf(binding),
      requestId: record.requestId,
      used: false,
    };
    const extra: Record<string, string> = {};
    if (record.loginHint !== undefined) extra.login_hint = record.loginHint;
    if (record.prompt !== undefined) extra.prompt = record.prompt;
    const acrValues = record.acrValues ?? provider.acrValues;
    const location = await rp.authorizationUrl({
      redirectUri: stateRecord.redirectUri,
      scope: record.scope ?? client.scope ?? provider.scope,
      state,
      nonce: stateRecord.nonce,
      codeVerifier: stateRecord.codeVerifier,
      ...(acrValues === undefined ? {} : { acrValues }),
      extra,
    });
    const ttl = this.#loginTtlSec;
    await this.#vault.set(vaultKeyOf("login-state", state), JSON.stringify(stateRecord), { ttlSeconds: ttl, owner: entry.owner });
    return {
      location: location.href,
      cookie: { name: bindingCookieName(state), value: binding, maxAgeSec: ttl, path: new URL(stateRecord.redirectUri).pathname },
    };
  }

  /**
   * Step 3 (browser): the authorization response. Throws
   * `PASSERELLE_AUTH_STATE_INVALID` when it matches no login of this browser;
   * otherwise always answers with the caller's return URL (success or not).
   */
  async completeAuthorization(input: { query: URLSearchParams; cookies: Record<string, string>; requestId: string }): Promise<{
    location: string;
    clearCookie: { name: string; path: string };
  }> {
    const state = input.query.get("state");
    if (state === null || state === "") throw stateInvalid("The authorization response has no state");
    const key = vaultKeyOf("login-state", state);
    const entry = await this.#vault.get(key);
    const record = entry === undefined ? undefined : parseRecord<LoginStateRecord>(entry.value);
    if (entry === undefined || record === undefined || record.used || entry.owner === undefined) {
      throw stateInvalid("The state matches no login in progress (unknown, expired or already completed)");
    }
    const cookieName = bindingCookieName(state);
    const binding = input.cookies[cookieName];
    if (binding === undefined || digestOf(binding) !== record.browserBinding) {
      throw stateInvalid("This browser did not start this login");
    }
    const spent = await this.#vault.compareAndSet(key, entry.version, JSON.stringify({ ...record, used: true }), {
      ttlSeconds: remainingSec(entry, this.#now()),
      owner: entry.owner,
    });
    if (spent === undefined) throw stateInvalid("The login is already being completed");
    const owner = entry.owner;

    let result: LoginResultRecord;
    const { provider } = this.providers.resolve(record.clientId, "code");
    try {
      const providerError = input.query.get("error");
      if (providerError !== null) {
        throw providerError === "access_denied"
          ? authenticationDenied(`The practitioner or ${provider.id} refused the login`)
          : new PasserelleError("PASSERELLE_AUTH_PROVIDER_ERROR", {
              detail: `${provider.id} answered the authorization request with an error`,
              extensions: { upstream: provider.id, ...(/^[a-z_]{1,64}$/.test(providerError) ? { providerError } : {}) },
            });
      }
      const rp = await this.providers.relyingParty(record.clientId);
      const tokens = await rp.exchangeCode({
        redirectUri: record.redirectUri,
        response: input.query,
        expectedState: state,
        expectedNonce: record.nonce,
        codeVerifier: record.codeVerifier,
      });
      const session = await this.#sessionRecord(rp, provider, tokens, "code");
      await this.#recordAudit("identity.login", owner, session.practitionerId, "success", record.requestId, `${provider.id}/${record.clientId} code`);
      result = { v: 1, clientId: record.clientId, session, failure: undefined, used: false };
    } catch (error) {
      const failure = this.#failureOf(refineProviderError(error, "code"));
      await this.#recordAudit("identity.login", owner, undefined, "failure", record.requestId, `${provider.id}/${record.clientId} code: ${describeFailure(failure)}`).catch(
        (auditError: unknown) => this.#logger?.error({ err: auditError }, "audit of a failed login failed"),
      );
      result = { v: 1, clientId: record.clientId, session: undefined, failure, used: false };
    } finally {
      await this.#vault.delete(key).catch(() => undefined);
    }

    const code = newSecret(LOGIN_CODE_PREFIX);
    await this.#vault.set(vaultKeyOf("login-result", code), JSON.stringify(result), { ttlSeconds: LOGIN_RESULT_TTL_SEC, owner });
    const location = new URL(record.returnUrl);
    location.searchParams.set("code", code);
    if (record.callerState !== undefined) location.searchParams.set("state", record.callerState);
    if (result.failure !== undefined) location.searchParams.set("error", result.failure.code);
    return { location: location.href, clearCookie: { name: cookieName, path: new URL(record.redirectUri).pathname } };
  }

  /** Step 4: the calling software exchanges the one-time code for the session (or learns why the login failed). */
  async claimLogin(ctx: CallContext, code: string): Promise<{ session: string; view: SessionView }> {
    if (!looksLikeSecret(code, LOGIN_CODE_PREFIX)) throw loginInvalid("The login code is malformed");
    const key = vaultKeyOf("login-result", code);
    const entry = await this.#vault.get(key);
    const record = entry === undefined ? undefined : parseRecord<LoginResultRecord>(entry.value);
    if (entry === undefined || record === undefined || record.used || entry.owner !== ctx.caller) {
      throw loginInvalid("The login code is unknown, expired, already used, or was issued to another caller");
    }
    const spent = await this.#vault.compareAndSet(key, entry.version, JSON.stringify({ ...record, used: true }), {
      ttlSeconds: remainingSec(entry, this.#now()),
      owner: ctx.caller,
    });
    if (spent === undefined) throw loginInvalid("The login code is already used");
    await this.#vault.delete(key);
    if (record.session === undefined) throw errorOfFailure(record.failure);
    const handle = await this.#createSession(ctx.caller, record.session);
    return { session: handle, view: sessionView(record.session) };
  }

  // ---------------------------------------------------------------- sessions

  async getSession(ctx: CallContext, handle: string | undefined): Promise<SessionView> {
    const { record } = await this.#loadSession(ctx, handle);
    return sessionView(record);
  }

  /** Refreshes now (refresh-token rotation; one instance at a time, the others get its tokens). */
  async refreshSession(ctx: CallContext, handle: string | undefined): Promise<SessionView> {
    return sessionView(await this.#refresh(ctx, handle, undefined));
  }

  /** For services calling an upstream on the practitioner's behalf: a token valid for at least `minValiditySec`. */
  async sessionTokens(ctx: CallContext, handle: string | undefined, minValiditySec = DEFAULT_MIN_VALIDITY_SEC): Promise<SessionTokens> {
    const record = await this.#refresh(ctx, handle, minValiditySec);
    return {
      accessToken: record.accessToken,
      tokenType: record.tokenType,
      expiresAt: record.accessTokenExpiresAt,
      provider: record.provider,
      clientId: record.clientId,
      subject: record.subject,
      practitionerId: record.practitionerId,
    };
  }

  /** Ends the session here, revokes its tokens at the provider, and gives the provider's logout URL when it has one. */
  async logout(ctx: CallContext, handle: string | undefined, options: { postLogoutRedirectUri?: string } = {}): Promise<{ endSessionUrl?: string; revoked: boolean }> {
    const postLogout = options.postLogoutRedirectUri === undefined ? undefined : this.#allowedReturnUrl(options.postLogoutRedirectUri, "/postLogoutRedirectUri");
    const { key, record } = await this.#loadSession(ctx, handle);
    // Unusable at once, whatever the provider says next.
    await this.#vault.delete(key);
    let revoked = false;
    let endSessionUrl: string | undefined;
    try {
      const rp = await this.providers.relyingParty(record.clientId);
      endSessionUrl = rp.endSessionUrl({
        ...(record.idToken === undefined ? {} : { idTokenHint: record.idToken }),
        ...(postLogout === undefined ? {} : { postLogoutRedirectUri: postLogout }),
      })?.href;
      if (rp.supportsRevocation) {
        // RFC 7009 §2.1: revoking the refresh token is what ends the grant; a
        // self-contained JWT access token may not be revocable (unsupported_token_type)
        // and dies within minutes anyway.
        const [main, hint] = record.refreshToken === undefined ? [record.accessToken, "access_token" as const] : [record.refreshToken, "refresh_token" as const];
        await rp.revoke(main, hint);
        revoked = true;
        if (hint === "refresh_token") {
          await rp.revoke(record.accessToken, "access_token").catch((error: unknown) => this.#logger?.info({ err: error, provider: record.provider }, "access token not revoked"));
        }
      }
    } catch (error) {
      // Logged out here already; the provider's tokens expire on their own.
      this.#logger?.warn({ err: error, provider: record.provider }, "token revocation at logout failed");
    }
    await this.#recordAudit("identity.logout", ctx.caller, record.practitionerId, "success", ctx.requestId, `${record.provider}/${record.clientId}${revoked ? " revoked" : ""}`);
    return { ...(endSessionUrl === undefined ? {} : { endSessionUrl }), revoked };
  }

  // ---------------------------------------------------------------- CIBA

  async startCiba(ctx: CallContext, input: StartCibaInput): Promise<CibaView> {
    const { provider, client } = this.providers.resolve(input.clientId, "ciba");
    const rp = await this.providers.relyingParty(input.clientId);
    const acrValues = input.acrValues ?? provider.acrValues;
    let start;
    try {
      start = await rp.startBackchannel({
        loginHint: input.loginHint,
        scope: input.scope ?? client.scope ?? provider.scope,
        ...(input.bindingMessage === undefined ? {} : { bindingMessage: input.bindingMessage }),
        ...(acrValues === undefined ? {} : { acrValues }),
      });
    } catch (error) {
      const refined = refineProviderError(error, "ciba-start");
      const failure = this.#failureOf(refined);
      await this.#recordAudit("identity.ciba", ctx.caller, input.loginHint, failure.code === "PASSERELLE_AUTH_DENIED" ? "denied" : "failure", ctx.requestId, `${provider.id}/${input.clientId} start: ${describeFailure(failure)}`);
      throw refined;
    }
    const now = this.#now();
    const id = newSecret(CIBA_PREFIX);
    // An interval of 0 is legal (CIBA Core §7.3) but would turn the poller into a busy loop.
    const interval = Math.max(MIN_CIBA_INTERVAL_SEC, start.interval);
    const record: CibaRecord = {
      v: 1,
      clientId: input.clientId,
      provider: provider.id,
      authReqId: start.authReqId,
      loginHint: input.loginHint,
      interval,
      nextPollAt: now + interval * 1000,
      expiresAt: now + start.expiresIn * 1000,
      status: "pending",
      lease: undefined,
      sessionHandle: undefined,
      failure: undefined,
      requestId: ctx.requestId,
      createdAt: now,
    };
    const key = vaultKeyOf("ciba", id);
    await this.#vault.set(key, JSON.stringify(record), { ttlSeconds: start.expiresIn + CIBA_GRACE_SEC, owner: ctx.caller });
    this.#schedule(key, record.nextPollAt);
    return cibaView(id, record);
  }

  /** The state of a CIBA request; polls the provider first when a poll is due and nobody else is at it. */
  async cibaStatus(ctx: CallContext, id: string): Promise<CibaView> {
    const notFoundError = notFound("No CIBA request with this id");
    if (!looksLikeSecret(id, CIBA_PREFIX)) throw notFoundError;
    const key = vaultKeyOf("ciba", id);
    const entry = await this.#vault.get(key);
    let record = entry === undefined ? undefined : parseRecord<CibaRecord>(entry.value);
    if (entry === undefined || record === undefined || entry.owner !== ctx.caller) throw notFoundError;
    if (record.status === "pending" && this.#pollDue(record)) {
      record = (await this.#pollCiba(key)) ?? record;
      if (record.status === "pending") this.#schedule(key, nextAttemptAt(record));
    }
    return cibaView(id, record);
  }

  // ---------------------------------------------------------------- tokens

  /** Validates an access token a caller brings for `providerId` (src/protocols/oidc/access-token.ts). */
  async validateBroughtToken(providerId: string, token: string): Promise<BroughtToken> {
    const provider = this.providers.provider(providerId);
    if (provider?.accessTokens === undefined) {
      throw badRequest(`No access-token validation is configured for provider ${JSON.stringify(providerId)}`, [
        { in: "body", pointer: "/provider", detail: "has no access-token validation configured" },
      ]);
    }
    const keys = await this.providers.accessTokenKeys(providerId);
    const profile = provider.accessTokens;
    const validated = await validateAccessToken(token, keys, {
      issuer: provider.issuer,
      audience: profile.audience,
      ...(profile.algorithms === undefined ? {} : { algorithms: profile.algorithms }),
      ...(profile.authorizedParties === undefined ? {} : { authorizedParties: profile.authorizedParties }),
      ...(profile.clockToleranceSec === undefined ? {} : { clockToleranceSec: profile.clockToleranceSec }),
      ...(profile.requiredType === undefined ? {} : { requiredType: profile.requiredType }),
    });
    return { ...validated, provider: provider.id, practitionerId: stringClaim(validated.claims, provider.practitionerIdClaim) };
  }

  /** A client-credentials token of a system client, cached until shortly before it expires. */
  systemToken(clientId: string): Promise<SystemToken> {
    const { client } = this.providers.resolve(clientId, "client_credentials");
    const cached = this.#systemTokens.get(clientId);
    if (cached !== undefined) {
      return cached.then((token) => (this.#systemTokenFresh(token) ? token : this.#fetchSystemToken(clientId, client.scope)));
    }
    return this.#fetchSystemToken(clientId, client.scope);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    await this.providers.close();
  }

  // ---------------------------------------------------------------- internals

  get #loginTtlSec(): number {
    return this.#config.loginTtlSec ?? DEFAULT_LOGIN_TTL_SEC;
  }

  #redirectUri(): string {
    const uri = this.#config.redirectUri;
    return typeof uri === "function" ? uri() : uri;
  }

  #allowedReturnUrl(raw: string, pointer: string): string {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw returnUrlNotAllowed(pointer);
    }
    // Exact match (RFC 9700 §4.1.3 applies the same rule to redirect URIs): no open redirector.
    if (!this.#returnUrls.has(url.href)) throw returnUrlNotAllowed(pointer);
    return url.href;
  }

  async #sessionRecord(rp: OidcRelyingParty, provider: IdentityProviderConfig, tokens: OidcTokens, method: "code" | "ciba"): Promise<SessionRecord> {
    const claims = tokens.claims;
    if (claims === undefined) throw new IdTokenRejectedError("missing_id_token", `${provider.id} answered without an ID token`);
    let released: Record<string, unknown> = { ...claims };
    if (provider.fetchUserinfo === true && typeof rp.metadata.userinfo_endpoint === "string") {
      // OIDC Core §5.3.2: UserInfo about another subject is refused inside fetchUserInfo.
      released = { ...(await rp.fetchUserInfo(tokens.accessToken, claims.sub)), ...claims };
    }
    const nowSec = Math.floor(this.#now() / 1000);
    const accessEnd = tokens.expiresAt;
    const sessionExpiresAt =
      tokens.refreshToken === undefined
        ? (accessEnd ?? nowSec + 300)
        : (tokens.refreshExpiresAt ?? nowSec + (provider.sessionLifetimeSec ?? DEFAULT_SESSION_LIFETIME_SEC));
    return {
      v: 1,
      provider: provider.id,
      clientId: rp.clientId,
      method,
      issuer: claims.iss,
      subject: claims.sub,
      practitionerId: stringClaim(released, provider.practitionerIdClaim),
      givenName: stringClaim(released, "given_name"),
      familyName: stringClaim(released, "family_name"),
      acr: typeof claims.acr === "string" ? claims.acr : undefined,
      scope: tokens.scope,
      accessToken: tokens.accessToken,
      tokenType: tokens.tokenType,
      accessTokenExpiresAt: accessEnd,
      refreshToken: tokens.refreshToken,
      sessionExpiresAt: Math.max(sessionExpiresAt, accessEnd ?? 0),
      idToken: tokens.idToken,
      createdAt: this.#now(),
      refreshedAt: undefined,
      refreshLease: undefined,
    };
  }

  async #createSession(owner: string, record: SessionRecord): Promise<string> {
    const handle = newSecret(SESSION_PREFIX);
    await this.#vault.set(vaultKeyOf("session", handle), JSON.stringify(record), { ttlSeconds: this.#sessionTtl(record), owner });
    return handle;
  }

  #sessionTtl(record: SessionRecord): number {
    return Math.max(1, record.sessionExpiresAt - Math.floor(this.#now() / 1000));
  }

  async #loadSession(ctx: CallContext, handle: string | undefined): Promise<{ key: string; entry: VaultEntry; record: SessionRecord }> {
    if (!looksLikeSecret(handle, SESSION_PREFIX)) throw sessionInvalid();
    const key = vaultKeyOf("session", handle);
    const entry = await this.#vault.get(key);
    const record = entry === undefined ? undefined : parseRecord<SessionRecord>(entry.value);
    if (entry === undefined || record === undefined) throw sessionInvalid();
    if (entry.owner !== ctx.caller) {
      // Someone holds another caller's handle: worth a line in the trail.
      await this.#recordAudit("identity.session.misuse", ctx.caller, record.practitionerId, "denied", ctx.requestId, `session of another calling software presented`);
      throw sessionInvalid();
    }
    return { key, entry, record };
  }

  /**
   * Refresh with a lease on the session record. `minValiditySec` undefined =
   * refresh now (unless another instance refreshed while we waited).
   */
  async #refresh(ctx: CallContext, handle: string | undefined, minValiditySec: number | undefined): Promise<SessionRecord> {
    const startedAt = this.#now();
    const holder = `${this.#instance}:${randomUUID()}`;
    for (;;) {
      const { key, entry, record } = await this.#loadSession(ctx, handle);
      const now = this.#now();
      if (minValiditySec !== undefined) {
        const expiresAt = record.accessTokenExpiresAt;
        if (expiresAt === undefined || expiresAt * 1000 - now > minValiditySec * 1000 || record.refreshToken === undefined) return record;
      } else if (record.refreshedAt !== undefined && record.refreshedAt >= startedAt) {
        return record; // another instance refreshed while we waited: use its tokens
      }
      if (record.refreshToken === undefined) {
        throw new PasserelleError("PASSERELLE_CONFLICT", { detail: "This session has no refresh token; log the practitioner in again when it expires" });
      }
      if (record.refreshLease !== undefined && record.refreshLease.until > now) {
        if (now - startedAt > LEASE_MS) throw new PasserelleError("PASSERELLE_CONFLICT", { detail: "Another refresh of this session is taking too long; retry" });
        await sleep(LEASE_WAIT_STEP_MS);
        continue;
      }
      const leased = await this.#vault.compareAndSet(
        key,
        entry.version,
        JSON.stringify({ ...record, refreshLease: { holder, until: now + LEASE_MS } }),
        { ttlSeconds: this.#sessionTtl(record), owner: ctx.caller },
      );
      if (leased === undefined) continue; // someone wrote first: look again
      let tokens: OidcTokens;
      try {
        const rp = await this.providers.relyingParty(record.clientId);
        tokens = await rp.refresh(record.refreshToken, { iss: record.issuer, sub: record.subject });
      } catch (error) {
        const refined = refineProviderError(error, "refresh");
        if (refined instanceof PasserelleError && refined.code === "PASSERELLE_AUTH_SESSION_INVALID") {
          // The provider ended the grant (revoked, expired, reused): so does the gateway.
          await this.#vault.delete(key);
          await this.#recordAudit("identity.refresh", ctx.caller, record.practitionerId, "failure", ctx.requestId, `${record.provider}/${record.clientId}: refresh refused, session ended`);
        } else {
          await this.#vault
            .compareAndSet(key, leased.version, JSON.stringify({ ...record, refreshLease: undefined }), { ttlSeconds: this.#sessionTtl(record), owner: ctx.caller })
            .catch(() => undefined);
        }
        throw refined;
      }
      const nowSec = Math.floor(this.#now() / 1000);
      const provider = this.providers.provider(record.provider);
      const updated: SessionRecord = {
        ...record,
        accessToken: tokens.accessToken,
        tokenType: tokens.tokenType,
        accessTokenExpiresAt: tokens.expiresAt,
        // RFC 6749 §6: without a new refresh token, the old one stays valid.
        refreshToken: tokens.refreshToken ?? record.refreshToken,
        sessionExpiresAt:
          tokens.refreshToken === undefined
            ? record.sessionExpiresAt
            : Math.max(tokens.refreshExpiresAt ?? nowSec + (provider?.sessionLifetimeSec ?? DEFAULT_SESSION_LIFETIME_SEC), tokens.expiresAt ?? 0),
        idToken: tokens.idToken ?? record.idToken,
        scope: tokens.scope ?? record.scope,
        refreshedAt: this.#now(),
        refreshLease: undefined,
      };
      const written = await this.#vault.compareAndSet(key, leased.version, JSON.stringify(updated), { ttlSeconds: this.#sessionTtl(updated), owner: ctx.caller });
      if (written === undefined) throw sessionInvalid(); // logged out while we refreshed
      return updated;
    }
  }

  #pollDue(record: CibaRecord): boolean {
    const now = this.#now();
    return now >= record.expiresAt || (now >= record.nextPollAt && (record.lease === undefined || record.lease.until <= now));
  }

  /** One poll of a CIBA request, under a lease; returns the record as it now stands. */
  async #pollCiba(key: string): Promise<CibaRecord | undefined> {
    const entry = await this.#vault.get(key);
    const record = entry === undefined ? undefined : parseRecord<CibaRecord>(entry.value);
    if (entry === undefined || record === undefined || entry.owner === undefined) return undefined;
    const owner = entry.owner;
    if (record.status !== "pending" || !this.#pollDue(record)) return record;
    const ttl = { ttlSeconds: remainingSec(entry, this.#now()), owner };
    const now = this.#now();

    if (now >= record.expiresAt) {
      // CIBA Core §7.3: past expires_in, stop polling on our own.
      const expired = this.#ended(record, "expired", authenticationExpired("The practitioner did not approve the request in time"));
      const written = await this.#vault.compareAndSet(key, entry.version, JSON.stringify(expired), ttl);
      if (written !== undefined) await this.#auditCiba(owner, expired);
      return written === undefined ? this.#reread(key) : expired;
    }

    const leased = await this.#vault.compareAndSet(key, entry.version, JSON.stringify({ ...record, lease: { holder: this.#instance, until: now + LEASE_MS } }), ttl);
    if (leased === undefined) return this.#reread(key); // another instance is polling this interval

    let updated: CibaRecord;
    try {
      const rp = await this.providers.relyingParty(record.clientId);
      const outcome = await rp.pollBackchannel(record.authReqId);
      const after = this.#now();
      switch (outcome.status) {
        case "pending":
          updated = { ...record, lease: undefined, nextPollAt: after + record.interval * 1000 };
          break;
        case "slow_down": {
          // CIBA Core §11: +5 s for this and every later poll.
          const interval = record.interval + 5;
          updated = { ...record, lease: undefined, interval, nextPollAt: after + interval * 1000 };
          break;
        }
        case "denied":
          updated = this.#ended(record, "denied", authenticationDenied("The practitioner refused the authentication request"));
          break;
        case "expired":
          updated = this.#ended(record, "expired", authenticationExpired("The authentication request expired before the practitioner approved it"));
          break;
        case "approved": {
          const provider = this.providers.resolve(record.clientId, "ciba").provider;
          const session = await this.#sessionRecord(rp, provider, outcome.tokens, "ciba");
          const handle = await this.#createSession(owner, session);
          updated = { ...record, lease: undefined, status: "approved", sessionHandle: handle };
          break;
        }
      }
    } catch (error) {
      if (isTransient(error)) {
        this.#logger?.warn({ err: error, provider: record.provider }, "CIBA poll failed; will retry");
        updated = { ...record, lease: undefined, nextPollAt: this.#now() + record.interval * 1000 };
      } else {
        updated = { ...this.#ended(record, "failed", error), lease: undefined };
      }
    }
    const written = await this.#vault.compareAndSet(key, leased.version, JSON.stringify(updated), ttl);
    if (written === undefined) {
      this.#logger?.error({ provider: record.provider }, "CIBA record changed under our lease");
      return this.#reread(key);
    }
    if (updated.status !== "pending") await this.#auditCiba(owner, updated);
    return updated;
  }

  #ended(record: CibaRecord, status: "denied" | "expired" | "failed", error: unknown): CibaRecord {
    return { ...record, lease: undefined, status, failure: this.#failureOf(error) };
  }

  async #auditCiba(owner: string, record: CibaRecord): Promise<void> {
    const outcome: AuditOutcome = record.status === "approved" ? "success" : record.status === "denied" ? "denied" : "failure";
    const detail = `${record.provider}/${record.clientId} ciba ${record.status}${record.failure === undefined ? "" : `: ${describeFailure(record.failure)}`}`;
    // The login hint is the practitioner's identifier at the provider (PSC: IdNat_PS).
    await this.#recordAudit("identity.ciba", owner, record.loginHint, outcome, record.requestId, detail).catch((error: unknown) =>
      this.#logger?.error({ err: error }, "audit of a CIBA outcome failed"),
    );
  }

  async #reread(key: string): Promise<CibaRecord | undefined> {
    const entry = await this.#vault.get(key);
    return entry === undefined ? undefined : parseRecord<CibaRecord>(entry.value);
  }

  /** Background polling: one timer per request this instance knows, never busy, never keeping the process alive. */
  #schedule(key: string, at: number): void {
    if (!this.#background || this.#closed) return;
    const existing = this.#timers.get(key);
    if (existing !== undefined) clearTimeout(existing);
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      this.#pollCiba(key)
        .then((record) => {
          if (record?.status === "pending") this.#schedule(key, nextAttemptAt(record));
        })
        .catch((error: unknown) => {
          this.#logger?.warn({ err: error }, "background CIBA poll failed");
          this.#schedule(key, this.#now() + 5_000);
        });
    }, Math.max(0, at - this.#now()));
    timer.unref();
    this.#timers.set(key, timer);
  }

  #systemTokenFresh(token: SystemToken): boolean {
    const nowSec = this.#now() / 1000;
    return token.expiresAt - nowSec > SYSTEM_TOKEN_MARGIN_SEC;
  }

  #fetchSystemToken(clientId: string, scope: string | undefined): Promise<SystemToken> {
    // One request in flight per client: concurrent callers share it.
    const pending = (async () => {
      const rp = await this.providers.relyingParty(clientId);
      const tokens = await rp.clientCredentials(scope === undefined ? {} : { scope });
      const nowSec = Math.floor(this.#now() / 1000);
      return { accessToken: tokens.accessToken, tokenType: tokens.tokenType, expiresAt: tokens.expiresAt ?? nowSec + 60, scope: tokens.scope };
    })();
    this.#systemTokens.set(clientId, pending);
    pending.catch(() => {
      if (this.#systemTokens.get(clientId) === pending) this.#systemTokens.delete(clientId);
    });
    return pending;
  }

  #failureOf(error: unknown): LoginFailure {
    if (error instanceof PasserelleError && error.expose) {
      return { code: error.code, detail: error.detail, extensions: error.extensions };
    }
    this.#logger?.error({ err: error }, "identity flow failed unexpectedly");
    return { code: "PASSERELLE_INTERNAL", detail: ERROR_CATALOGUE.PASSERELLE_INTERNAL.title, extensions: undefined };
  }

  async #recordAudit(action: string, software: string, practitioner: string | undefined, outcome: AuditOutcome, requestId: string, detail: string): Promise<void> {
    await this.#audit.append({
      action,
      caller: { software, ...(practitioner === undefined ? {} : { practitioner: practitioner.slice(0, 256) }) },
      outcome,
      requestId,
      detail: detail.slice(0, 1000),
    });
  }
}

/** One cookie per login, so a practitioner may run two logins in two tabs. */
function bindingCookieName(state: string): string {
  return `passerelle_login_${digestOf(state).slice(0, 16)}`;
}

function remainingSec(entry: VaultEntry, now: number): number {
  return Math.max(1, Math.ceil((entry.expiresAt - now) / 1000));
}

function nextAttemptAt(record: CibaRecord): number {
  return Math.min(Math.max(record.nextPollAt, record.lease?.until ?? 0), record.expiresAt);
}

function isTransient(error: unknown): boolean {
  return error instanceof UpstreamError || (error instanceof PasserelleError && error.code === "PASSERELLE_VAULT_UNAVAILABLE");
}

function stringClaim(claims: Record<string, unknown>, name: string | undefined): string | undefined {
  const value = claims[name ?? "sub"];
  return typeof value === "string" && value !== "" ? value : undefined;
}

function describeFailure(failure: LoginFailure): string {
  const reason = failure.extensions?.reason;
  return typeof reason === "string" ? `${failure.code} (${reason})` : failure.code;
}

function errorOfFailure(failure: LoginFailure | undefined): PasserelleError {
  const code = failure !== undefined && failure.code in ERROR_CATALOGUE ? (failure.code as ErrorCode) : "PASSERELLE_INTERNAL";
  return new PasserelleError(code, {
    detail: failure?.detail ?? ERROR_CATALOGUE.PASSERELLE_INTERNAL.title,
    ...(failure?.extensions === undefined ? {} : { extensions: failure.extensions }),
  });
}

function sessionView(record: SessionRecord): SessionView {
  const practitioner: SessionView["practitioner"] = {};
  if (record.practitionerId !== undefined) practitioner.id = record.practitionerId;
  if (record.givenName !== undefined) practitioner.givenName = record.givenName;
  if (record.familyName !== undefined) practitioner.familyName = record.familyName;
  return {
    provider: record.provider,
    clientId: record.clientId,
    method: record.method,
    subject: record.subject,
    practitioner,
    ...(record.acr === undefined ? {} : { acr: record.acr }),
    ...(record.scope === undefined ? {} : { scope: record.scope }),
    createdAt: new Date(record.createdAt).toISOString(),
    ...(record.accessTokenExpiresAt === undefined ? {} : { expiresAt: new Date(record.accessTokenExpiresAt * 1000).toISOString() }),
    sessionExpiresAt: new Date(record.sessionExpiresAt * 1000).toISOString(),
    ...(record.refreshedAt === undefined ? {} : { refreshedAt: new Date(record.refreshedAt).toISOString() }),
  };
}

function cibaView(id: string, record: CibaRecord): CibaView {
  return {
    id,
    status: record.status,
    expiresAt: new Date(record.expiresAt).toISOString(),
    interval: record.interval,
    ...(record.sessionHandle === undefined ? {} : { session: record.sessionHandle }),
    ...(record.failure === undefined ? {} : { error: { code: record.failure.code, detail: record.failure.detail } }),
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
