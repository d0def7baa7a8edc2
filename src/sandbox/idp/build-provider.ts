/**
 * Builds the OpenID Provider of one sandbox realm on `oidc-provider` (a
 * certified implementation: the protocol — discovery, authorization code with
 * PKCE, token, refresh rotation, CIBA, client authentication, introspection,
 * revocation, RP-initiated logout — is the library's; this file only
 * configures it). Its own login pages are served by ./interaction-pages.ts.
 */
import type { Logger } from "pino";
import Provider, { errors, type Account, type ClientMetadata, type Configuration, type KoaContextWithOIDC } from "oidc-provider";
import { createMemoryAdapter } from "oidc-provider/lib/adapters/memory_adapter.js";
import type { CibaApprovals } from "./ciba-approvals.js";
import { CibaPollPacing } from "./ciba-polling.js";
import { escapeHtml, renderPage } from "./html-page.js";
import { OPENID_CONNECT_PATH, realmPath, type IdentityRealm } from "./identity-realm.js";
import type { ProviderKeys } from "./provider-keys.js";
import { certificateMatchesRegistration, verifiedPeerCertificate } from "./tls-client-auth.js";

export interface BuildProviderOptions {
  /** `<simulator URL>/auth/realms/<realm>`. */
  issuer: string;
  realm: IdentityRealm;
  keys: ProviderKeys;
  clients: ClientMetadata[];
  /** Present when the realm offers CIBA: where pending requests wait for the practitioner. */
  cibaApprovals?: CibaApprovals;
  logger: Logger;
}

/** Seconds of clock difference tolerated on incoming JWTs (client assertions, hints). */
const CLOCK_TOLERANCE_S = 5;
const MINUTE = 60;
const HOUR = 60 * MINUTE;
/**
 * Lifetimes modelled on the national providers (Keycloak defaults as
 * configured there): short codes and ID tokens, a 30-minute idle refresh
 * window, a working day of single sign-on.
 */
const TTL = {
  authorizationCode: MINUTE,
  idToken: 5 * MINUTE,
  refreshToken: 30 * MINUTE,
  interaction: 10 * MINUTE,
  session: 10 * HOUR,
  grant: 10 * HOUR,
  /** An e-CPS push stays on the phone for two minutes unless the client asks for less (CIBA Core §7.1 requested_expiry). */
  cibaRequest: 2 * MINUTE,
  cibaRequestMax: 10 * MINUTE,
} as const;
/** CIBA Core §7.1 leaves binding messages to the OP; PSC shows short texts on the phone. */
const BINDING_MESSAGE = /^[\p{L}\p{N} .,:;!?#&+/'()_-]{1,64}$/u;

export function buildIdentityProvider(options: BuildProviderOptions): Provider {
  const { realm, issuer, logger } = options;
  const basePath = realmPath(realm);
  const scopes = ["openid", "offline_access", ...Object.keys(realm.claimsByScope)];
  const resourceIndicator = `${issuer}/resources/access-token`;

  const findAccount = async (_ctx: KoaContextWithOIDC, sub: string): Promise<Account | undefined> => {
    const practitioner = realm.practitioners.bySub(sub);
    if (practitioner === undefined) return undefined;
    return { accountId: sub, claims: () => ({ ...practitioner.claims, sub }) };
  };

  const configuration: Configuration = {
    adapter: createMemoryAdapter(CLOCK_TOLERANCE_S),
    clients: options.clients,
    jwks: { keys: options.keys.signingKeys },
    cookies: { keys: options.keys.cookieKeys },
    scopes,
    claims: claimsConfiguration(realm),
    acrValues: realm.acr === undefined ? [] : [realm.acr],
    // RFC 8705 §2.1 comes on top of the usual methods where the realm asks for mutual TLS.
    clientAuthMethods: [
      "none",
      "client_secret_basic",
      "client_secret_post",
      "private_key_jwt",
      ...(realm.tlsClientAuth ? ["tls_client_auth"] : []),
    ],
    // Like Keycloak and PSC, ID tokens carry the claims of the granted scopes
    // even when an access token is issued (OIDC Core §5.4 allows either).
    conformIdTokenClaims: false,
    responseTypes: ["code"],
    clockTolerance: CLOCK_TOLERANCE_S,
    findAccount,
    interactions: { url: (_ctx, interaction) => `${basePath}/login-actions/${interaction.uid}` },
    routes: {
      authorization: `${OPENID_CONNECT_PATH}/auth`,
      token: `${OPENID_CONNECT_PATH}/token`,
      jwks: `${OPENID_CONNECT_PATH}/certs`,
      userinfo: `${OPENID_CONNECT_PATH}/userinfo`,
      end_session: `${OPENID_CONNECT_PATH}/logout`,
      revocation: `${OPENID_CONNECT_PATH}/revoke`,
      introspection: `${OPENID_CONNECT_PATH}/token/introspect`,
      backchannel_authentication: `${OPENID_CONNECT_PATH}/ext/ciba/auth`,
      pushed_authorization_request: `${OPENID_CONNECT_PATH}/ext/par/request`,
    },
    ttl: {
      AccessToken: realm.accessTokenTtl,
      ClientCredentials: realm.accessTokenTtl,
      AuthorizationCode: TTL.authorizationCode,
      IdToken: TTL.idToken,
      RefreshToken: TTL.refreshToken,
      Interaction: TTL.interaction,
      Session: TTL.session,
      Grant: TTL.grant,
      BackchannelAuthenticationRequest: (ctx) => {
        const requested = Number(ctx?.oidc?.params?.requested_expiry);
        return Number.isSafeInteger(requested) && requested > 0 ? Math.min(requested, TTL.cibaRequestMax) : TTL.cibaRequest;
      },
    },
    // RFC 7636; AeS refuses any authorization-code request without PKCE, the others only public clients'.
    pkce: { required: (_ctx, client) => realm.pkce === "all" || client.clientAuthMethod === "none" },
    // Keycloak issues a refresh token with every code or CIBA grant, not only for offline_access.
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed("refresh_token"),
    // RFC 9700 §4.14.2: every use of a refresh token returns a new one and retires the old one.
    rotateRefreshToken: true,
    renderError: (ctx, out) => {
      ctx.type = "html";
      const rows = Object.entries(out)
        .map(([name, value]) => `<tr><th>${escapeHtml(name)}</th><td>${escapeHtml(value)}</td></tr>`)
        .join("");
      ctx.body = renderPage(`${realm.displayName}: error`, `<h1>The request could not be processed</h1><table>${rows}</table>`);
    },
    // Browser apps (public clients) may call the token endpoint from their redirect URI's origin.
    clientBasedCORS: (_ctx, origin, client) =>
      client.clientAuthMethod === "none" &&
      options.clients.some((c) => c.client_id === client.clientId && c.redirect_uris?.some((uri) => URL.parse(uri)?.origin === origin)),
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: realm.clientCredentials },
      introspection: { enabled: true, allowedPolicy: (_ctx, client, token) => client.clientAuthMethod !== "none" || token.clientId === client.clientId },
      revocation: { enabled: true, allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId },
      userinfo: { enabled: realm.accessTokens.format === "opaque" },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx, form) => {
          ctx.type = "html";
          ctx.body = renderPage(
            `${realm.displayName}: sign out`,
            `<h1>Sign out of ${escapeHtml(realm.displayName)}?</h1>${form}` +
              `<button type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button>` +
              `<button type="submit" form="op.logoutForm">Stay signed in</button>`,
          );
        },
        postLogoutSuccessSource: (ctx) => {
          ctx.type = "html";
          ctx.body = renderPage(`${realm.displayName}: signed out`, `<h1>You are signed out of ${escapeHtml(realm.displayName)}.</h1>`);
        },
      },
      resourceIndicators:
        realm.accessTokens.format === "jwt"
          ? {
              enabled: true,
              // Every access token is for the one resource: the client itself, as
              // Keycloak puts the client in `aud` (RFC 9068 §3) for "bring your own token".
              defaultResource: () => resourceIndicator,
              useGrantedResource: () => true,
              getResourceServerInfo: (_ctx, indicator, client) => {
                if (indicator !== resourceIndicator || realm.accessTokens.format !== "jwt") throw new errors.InvalidTarget();
                return {
                  scope: realm.accessTokens.scopes.join(" "),
                  audience: client.clientId,
                  accessTokenTTL: realm.accessTokenTtl,
                  accessTokenFormat: "jwt",
                  jwt: { sign: { alg: "RS256" } },
                };
              },
            }
          : { enabled: false },
      ciba: options.cibaApprovals === undefined ? { enabled: false } : cibaFeature(realm, options.cibaApprovals),
      mTLS: realm.tlsClientAuth
        ? {
            enabled: true,
            tlsClientAuth: true,
            certificateBoundAccessTokens: false,
            // The handshake verified the chain up to the sandbox root; oidc-provider then matches the subject.
            getCertificate: (ctx) => verifiedPeerCertificate(ctx.req),
            certificateAuthorized: (ctx) => verifiedPeerCertificate(ctx.req) !== undefined,
            certificateSubjectMatches: (ctx, property, expected) => {
              const certificate = verifiedPeerCertificate(ctx.req);
              return certificate !== undefined && certificateMatchesRegistration(certificate, property, expected);
            },
          }
        : { enabled: false },
    },
  };

  if (realm.accessTokens.format === "jwt") {
    const copiedClaims = realm.accessTokens.claims;
    configuration.formats = {
      customizers: {
        // RFC 9068 §2.2: `client_id` is there already; Keycloak adds `azp` and the user's names.
        jwt: async (ctx, token, jwt) => {
          jwt.payload.azp = token.clientId;
          if (token.accountId === undefined) return;
          const account = await findAccount(ctx, token.accountId);
          const claims = account === undefined ? undefined : await account.claims("access_token", token.scope ?? "", {}, []);
          for (const name of copiedClaims) {
            if (claims?.[name] !== undefined) jwt.payload[name] = claims[name];
          }
        },
      },
    };
  }

  const provider = new Provider(issuer, configuration);
  if (options.cibaApprovals !== undefined) provider.use(new CibaPollPacing().middleware);
  provider.on("server_error", (_ctx, err) => logger.error({ err }, "identity provider failed"));
  // Koa logs unhandled errors to the console unless someone listens; the logger is that someone.
  provider.on("error", (err) => logger.warn({ err }, "identity provider request error"));
  for (const event of ["authorization.error", "grant.error", "backchannel_authentication.error", "introspection.error", "revocation.error"]) {
    provider.on(event, (_ctx, err) => logger.debug({ err: describeProtocolError(err) }, event));
  }
  return provider;
}

/**
 * Claims by scope (OIDC Core §5.4). `openid` releases what PSC and Keycloak
 * always put in ID tokens — how and when the practitioner authenticated —
 * besides the defaults that may be requested one by one.
 */
function claimsConfiguration(realm: IdentityRealm): Record<string, string[] | null> {
  const byScope = Object.entries(realm.claimsByScope).map(([scope, claims]) => [scope, [...claims]]);
  return { acr: null, amr: null, auth_time: null, sid: null, iss: null, openid: ["sub", "acr", "amr", "auth_time"], ...Object.fromEntries(byScope) };
}

function cibaFeature(realm: IdentityRealm, approvals: CibaApprovals): NonNullable<NonNullable<Configuration["features"]>["ciba"]> {
  return {
    enabled: true,
    deliveryModes: ["poll"],
    // CIBA Core §7.1: login_hint names the practitioner — PSC's IdNat_PS ("8" + RPPS), or the RPPS.
    processLoginHint: async (_ctx, loginHint) => {
      const practitioner = realm.practitioners.byIdentifier(loginHint);
      // CIBA Core §13: unknown_user_id.
      if (practitioner === undefined) throw new errors.UnknownUserId("no practitioner has this identifier");
      return practitioner.sub;
    },
    processLoginHintToken: async () => {
      throw new errors.InvalidRequest("login_hint_token is not supported; send login_hint");
    },
    validateBindingMessage: async (_ctx, bindingMessage) => {
      if (bindingMessage !== undefined && !BINDING_MESSAGE.test(bindingMessage)) {
        throw new errors.InvalidBindingMessage("binding_message must be 1 to 64 letters, digits, spaces or basic punctuation");
      }
    },
    // request_context and user_code are not used by the national providers: accepted and ignored (CIBA Core §7.1).
    validateRequestContext: async () => undefined,
    verifyUserCode: async () => undefined,
    triggerAuthenticationDevice: async (_ctx, request, account, client) => {
      approvals.record({
        authReqId: request.jti,
        accountId: account.accountId,
        clientId: client.clientId,
        clientName: client.clientName ?? client.clientId,
        bindingMessage: typeof request.params.binding_message === "string" ? request.params.binding_message : undefined,
        scope: request.scope,
        expiresIn: request.remainingTTL,
      });
    },
  };
}

function describeProtocolError(err: unknown): Record<string, unknown> {
  if (err instanceof errors.OIDCProviderError) return { error: err.error, error_description: err.error_description };
  return { message: err instanceof Error ? err.message : String(err) };
}
