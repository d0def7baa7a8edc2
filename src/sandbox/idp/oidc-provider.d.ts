/**
 * Types for the part of `oidc-provider` 9 (panva, a certified OpenID
 * Provider, shipped without type declarations) that the sandbox identity
 * providers use. Only what this folder calls is declared, with the shapes
 * documented in the library's configuration reference; extend it when using
 * more. Kept as an ambient declaration so that no exported signature of the
 * project mentions these types.
 */
declare module "oidc-provider" {
  import type { IncomingMessage, ServerResponse } from "node:http";
  import type { X509Certificate } from "node:crypto";
  import type { JWK } from "jose";

  export type UnknownObject = Record<string, unknown>;

  /** Storage contract (upsert/find/consume/destroy…) of every model. */
  export interface Adapter {
    upsert(id: string, payload: UnknownObject, expiresIn: number): Promise<void>;
    find(id: string): Promise<UnknownObject | undefined>;
    findByUserCode(userCode: string): Promise<UnknownObject | undefined>;
    findByUid(uid: string): Promise<UnknownObject | undefined>;
    consume(id: string): Promise<void>;
    destroy(id: string): Promise<void>;
    revokeByGrantId(grantId: string): Promise<void>;
  }
  export type AdapterFactory = (modelName: string) => Adapter;

  export interface ClientMetadata {
    client_id: string;
    client_secret?: string;
    client_name?: string;
    application_type?: "web" | "native";
    grant_types?: string[];
    response_types?: string[];
    redirect_uris?: string[];
    post_logout_redirect_uris?: string[];
    token_endpoint_auth_method?: string;
    token_endpoint_auth_signing_alg?: string;
    jwks?: { keys: JWK[] };
    tls_client_auth_subject_dn?: string;
    backchannel_token_delivery_mode?: "poll" | "ping" | "push";
    backchannel_user_code_parameter?: boolean;
    id_token_signed_response_alg?: string;
    scope?: string;
  }

  export interface Client {
    readonly clientId: string;
    readonly clientName?: string;
    readonly clientAuthMethod: string;
    readonly applicationType: "web" | "native";
    grantTypeAllowed(grantType: string): boolean;
  }

  export interface OIDCContext {
    readonly route: string;
    readonly issuer: string;
    readonly client?: Client;
    readonly params?: UnknownObject;
  }

  /** The Koa context oidc-provider hands to configuration helpers. */
  export interface KoaContextWithOIDC {
    readonly req: IncomingMessage;
    readonly res: ServerResponse;
    readonly oidc: OIDCContext;
    type: string;
    body: unknown;
    status: number;
  }

  export interface AccountClaims extends UnknownObject {
    sub: string;
  }

  export interface Account {
    accountId: string;
    claims(use: string, scope: string, claims: UnknownObject, rejected: string[]): AccountClaims | Promise<AccountClaims>;
  }

  export interface ResourceServerInfo {
    scope: string;
    audience?: string;
    accessTokenTTL?: number;
    accessTokenFormat?: "opaque" | "jwt";
    jwt?: { sign?: { alg?: string; kid?: string } };
  }

  /** An access token (or client credentials token) being issued. */
  export interface IssuedToken {
    readonly clientId: string;
    readonly accountId?: string;
    readonly scope?: string;
  }

  export interface StructuredJwt {
    header: UnknownObject | undefined;
    payload: UnknownObject;
  }

  export interface InteractionPrompt {
    name: string;
    reasons: string[];
    details: UnknownObject;
  }

  export interface Interaction {
    readonly uid: string;
    readonly prompt: InteractionPrompt;
    readonly params: UnknownObject;
    readonly session?: { accountId: string; uid?: string };
    readonly grantId?: string;
    readonly returnTo: string;
    readonly exp: number;
  }

  export interface InteractionResults {
    login?: { accountId: string; acr?: string; amr?: string[]; remember?: boolean; ts?: number };
    consent?: { grantId?: string };
    error?: string;
    error_description?: string;
  }

  export interface Grant {
    readonly jti: string;
    readonly accountId: string;
    readonly clientId: string;
    addOIDCScope(scope: string): void;
    addOIDCClaims(claims: string[]): void;
    addResourceScope(resource: string, scope: string): void;
    save(): Promise<string>;
  }
  export interface GrantStatic {
    new (properties: { accountId: string; clientId: string }): Grant;
    find(id: string): Promise<Grant | undefined>;
  }

  export interface BackchannelAuthenticationRequest {
    readonly jti: string;
    readonly accountId: string;
    readonly clientId: string;
    readonly scope: string;
    readonly claims?: { id_token?: UnknownObject; userinfo?: UnknownObject };
    readonly resource?: string | string[];
    readonly params: UnknownObject;
    /** Seconds left before expiry (from `exp` once saved). */
    readonly remainingTTL: number;
    readonly isExpired: boolean;
    readonly grantId?: string;
    readonly error?: string;
  }
  export interface BackchannelAuthenticationRequestStatic {
    find(id: string, options?: { ignoreExpiration?: boolean }): Promise<BackchannelAuthenticationRequest | undefined>;
  }

  export interface ClientStatic {
    find(id: string): Promise<Client | undefined>;
  }

  type Ttl<T> = number | ((ctx: KoaContextWithOIDC, token: T, client: Client) => number);

  export interface Configuration {
    adapter?: AdapterFactory;
    clients?: ClientMetadata[];
    jwks?: { keys: JWK[] };
    cookies?: {
      keys?: string[];
      long?: { httpOnly?: boolean; sameSite?: "lax" | "strict" | "none"; secure?: boolean };
      short?: { httpOnly?: boolean; sameSite?: "lax" | "strict" | "none"; secure?: boolean };
    };
    claims?: Record<string, string[] | null>;
    scopes?: string[];
    acrValues?: string[];
    clientAuthMethods?: string[];
    conformIdTokenClaims?: boolean;
    responseTypes?: string[];
    clockTolerance?: number;
    clientDefaults?: Partial<ClientMetadata>;
    discovery?: UnknownObject;
    enabledJWA?: { idTokenSigningAlgValues?: string[]; clientAuthSigningAlgValues?: string[] };
    findAccount?: (ctx: KoaContextWithOIDC, sub: string) => Promise<Account | undefined>;
    interactions?: { url?: (ctx: KoaContextWithOIDC, interaction: Interaction) => string | Promise<string> };
    routes?: Partial<Record<
      | "authorization"
      | "backchannel_authentication"
      | "end_session"
      | "introspection"
      | "jwks"
      | "pushed_authorization_request"
      | "revocation"
      | "token"
      | "userinfo",
      string
    >>;
    ttl?: {
      AccessToken?: Ttl<IssuedToken>;
      AuthorizationCode?: Ttl<unknown>;
      BackchannelAuthenticationRequest?: Ttl<unknown>;
      ClientCredentials?: Ttl<IssuedToken>;
      Grant?: number;
      IdToken?: Ttl<unknown>;
      Interaction?: number;
      RefreshToken?: Ttl<unknown>;
      Session?: number;
    };
    pkce?: { required?: (ctx: KoaContextWithOIDC, client: Client) => boolean };
    issueRefreshToken?: (ctx: KoaContextWithOIDC, client: Client, code: unknown) => boolean | Promise<boolean>;
    rotateRefreshToken?: boolean;
    renderError?: (ctx: KoaContextWithOIDC, out: Record<string, string>, error: Error) => void | Promise<void>;
    clientBasedCORS?: (ctx: KoaContextWithOIDC, origin: string, client: Client) => boolean;
    formats?: { customizers?: { jwt?: (ctx: KoaContextWithOIDC, token: IssuedToken, jwt: StructuredJwt) => void | Promise<void> } };
    features?: {
      devInteractions?: { enabled: boolean };
      clientCredentials?: { enabled: boolean };
      introspection?: {
        enabled: boolean;
        allowedPolicy?: (ctx: KoaContextWithOIDC, client: Client, token: IssuedToken) => boolean | Promise<boolean>;
      };
      revocation?: {
        enabled: boolean;
        allowedPolicy?: (ctx: KoaContextWithOIDC, client: Client, token: IssuedToken) => boolean | Promise<boolean>;
      };
      userinfo?: { enabled: boolean };
      rpInitiatedLogout?: {
        enabled: boolean;
        logoutSource?: (ctx: KoaContextWithOIDC, form: string) => void | Promise<void>;
        postLogoutSuccessSource?: (ctx: KoaContextWithOIDC) => void | Promise<void>;
      };
      resourceIndicators?: {
        enabled: boolean;
        defaultResource?: (ctx: KoaContextWithOIDC, client: Client, oneOf?: string[]) => string | string[] | undefined | Promise<string | string[] | undefined>;
        getResourceServerInfo?: (ctx: KoaContextWithOIDC, resourceIndicator: string, client: Client) => ResourceServerInfo | Promise<ResourceServerInfo>;
        useGrantedResource?: (ctx: KoaContextWithOIDC, model: unknown) => boolean | Promise<boolean>;
      };
      ciba?: {
        enabled: boolean;
        deliveryModes?: Array<"poll" | "ping">;
        processLoginHint?: (ctx: KoaContextWithOIDC, loginHint: string) => Promise<string | undefined>;
        processLoginHintToken?: (ctx: KoaContextWithOIDC, loginHintToken: string) => Promise<string | undefined>;
        validateBindingMessage?: (ctx: KoaContextWithOIDC, bindingMessage: string | undefined) => Promise<void>;
        validateRequestContext?: (ctx: KoaContextWithOIDC, requestContext: string | undefined) => Promise<void>;
        verifyUserCode?: (ctx: KoaContextWithOIDC, account: Account, userCode: string | undefined) => Promise<void>;
        triggerAuthenticationDevice?: (
          ctx: KoaContextWithOIDC,
          request: BackchannelAuthenticationRequest,
          account: Account,
          client: Client,
        ) => Promise<void>;
      };
      mTLS?: {
        enabled: boolean;
        certificateBoundAccessTokens?: boolean;
        selfSignedTlsClientAuth?: boolean;
        tlsClientAuth?: boolean;
        getCertificate?: (ctx: KoaContextWithOIDC) => X509Certificate | string | undefined;
        certificateAuthorized?: (ctx: KoaContextWithOIDC) => boolean;
        certificateSubjectMatches?: (ctx: KoaContextWithOIDC, property: string, expected: string) => boolean;
      };
    };
  }

  export class Provider {
    constructor(issuer: string, configuration?: Configuration);
    readonly issuer: string;
    readonly Grant: GrantStatic;
    readonly Client: ClientStatic;
    readonly BackchannelAuthenticationRequest: BackchannelAuthenticationRequestStatic;
    /** Koa's request listener for Node's http server. */
    callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
    on(event: string, listener: (...args: unknown[]) => void): this;
    /** Koa middleware run around oidc-provider's own routing (pre- and post-processing). */
    use(middleware: (ctx: KoaContextWithOIDC, next: () => Promise<void>) => Promise<void>): this;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>;
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: InteractionResults,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>;
    backchannelResult(
      request: BackchannelAuthenticationRequest | string,
      result: Grant | string | errors.OIDCProviderError,
      options?: { acr?: string; amr?: string[]; authTime?: number },
    ): Promise<void>;
  }
  export default Provider;

  export namespace errors {
    class OIDCProviderError extends Error {
      readonly error: string;
      error_description?: string;
      readonly status: number;
      readonly statusCode: number;
      readonly expose: boolean;
    }
    class AccessDenied extends OIDCProviderError {
      constructor(description?: string);
    }
    class InvalidBindingMessage extends OIDCProviderError {
      constructor(description?: string);
    }
    class InvalidRequest extends OIDCProviderError {
      constructor(description?: string, status?: number);
    }
    class InvalidTarget extends OIDCProviderError {
      constructor(description?: string);
    }
    class UnknownUserId extends OIDCProviderError {
      constructor(description?: string);
    }
  }
}

declare module "oidc-provider/lib/adapters/memory_adapter.js" {
  import type { AdapterFactory } from "oidc-provider";

  /** A per-provider in-memory store (LRU of 1000 entries) — unlike the module-wide default. */
  export function createMemoryAdapter(clockTolerance?: number): AdapterFactory;
}
