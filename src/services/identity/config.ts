/**
 * Configuration of the identity service: which providers, which clients,
 * where the browser comes back, and where the calling software may be sent.
 *
 * Two sources build the same {@link IdentityConfig}:
 * - {@link IDENTITY_SETTINGS} (environment, merged into the gateway's
 *   settings table) through {@link identityConfigFromSettings}, for real
 *   deployments: Pro Santé Connect, Agence eSanté, Belgian eHealth;
 * - {@link identityProvidersFromSandbox}, for the sandbox profile: the URLs of
 *   the running identity-provider simulators and the sandbox clients
 *   registered at them (src/sandbox/idp/). The service never special-cases
 *   the sandbox: it only receives different URLs and credentials.
 */
import { readFileSync } from "node:fs";
import type { OidcProviderMetadata } from "../../protocols/oidc/index.js";
import type { ClientAuthentication } from "../../protocols/oidc/index.js";
import { settingFileReader } from "../../config/setting-files.js";
import { ConfigError, type ConfigIssue } from "../../config/index.js";
import { parseEnum, parseString, parseUrl, SettingError, type Parser } from "../../config/settings.js";
import type { SandboxEndpoints } from "../../sandbox/index.js";
// The client list only, not the simulators (sandbox/idp/index.ts loads oidc-provider).
import { CIBA_GRANT_TYPE, sandboxOidcClients, type SandboxOidcClient } from "../../sandbox/idp/sandbox-clients.js";
import { SANDBOX_COUNTRIES } from "../../trust/pki/index.js";
import { identitySettingSpecs } from "./settings.js";

export type IdentityFlow = "code" | "ciba" | "client_credentials";

export interface IdentityClientConfig {
  /** The OAuth `client_id`; also the `{clientId}` of the gateway's routes, so unique across providers. */
  clientId: string;
  authentication: ClientAuthentication;
  /** Client certificate for `tls_client_auth` (RFC 8705), PEM. */
  tlsIdentity?: { certPem: string; keyPem: string; chainPem?: readonly string[] };
  flows: readonly IdentityFlow[];
  /** Overrides the provider's scope for this client. */
  scope?: string;
}

/** What a relying party checks on access tokens brought by callers (AeS style), see src/protocols/oidc/access-token.ts. */
export interface AccessTokenProfile {
  audience: string | readonly string[];
  algorithms?: readonly string[];
  authorizedParties?: readonly string[];
  clockToleranceSec?: number;
  requiredType?: string;
  /** Default: the provider's discovered `jwks_uri`. */
  jwksUri?: string;
}

export interface IdentityProviderConfig {
  /** Short id used in routes, logs, metrics and the audit trail, e.g. `fr-psc`. */
  id: string;
  issuer: string;
  /** Explicit endpoints instead of discovery. */
  metadata?: OidcProviderMetadata;
  /** Trust anchors of the provider's TLS certificate (PEM); Node's default roots when absent. */
  trustedCaPem?: string | readonly string[];
  /** Scopes of practitioner logins. */
  scope: string;
  acrValues?: string;
  /** Claim naming the practitioner's professional identifier (SubjectNameID, provider_code, nihii…); `sub` when absent. */
  practitionerIdClaim?: string;
  /** Read the practitioner's claims from UserInfo too (PSC releases them there). */
  fetchUserinfo?: boolean;
  idTokenAlgorithm?: string;
  clockToleranceSec?: number;
  /** Session lifetime when the provider does not say how long its refresh token lives. Default 8 h. */
  sessionLifetimeSec?: number;
  accessTokens?: AccessTokenProfile;
  clients: readonly IdentityClientConfig[];
}

export interface IdentityConfig {
  providers: readonly IdentityProviderConfig[];
  /**
   * The gateway's callback (`…/v1/auth/callback`) exactly as registered at
   * the providers (OAuth 2.1 / RFC 9700 §4.1: exact match). A function when
   * the port is known only once listening.
   */
  redirectUri: string | (() => string);
  /** The calling software's pages the browser may be sent back to, matched exactly (scheme, host, port, path). */
  returnUrls: readonly string[];
  /** How long a started login may take to complete. Default 600 s. */
  loginTtlSec?: number;
}

/** The national profiles: the defaults each provider needs (paths, scopes, claims). */
export const PROVIDER_PROFILES = {
  "fr-psc": { scope: "openid scope_all", acrValues: "eidas1", practitionerIdClaim: "SubjectNameID", fetchUserinfo: true, realmPath: "/auth/realms/esante-wallet" },
  "lu-aes": { scope: "openid profile", practitionerIdClaim: "provider_code", fetchUserinfo: false, realmPath: "/auth/realms/default" },
  "be-idp": { scope: "openid profile", practitionerIdClaim: "nihii", fetchUserinfo: false, realmPath: "/auth/realms/healthcare" },
} as const satisfies Record<string, { scope: string; acrValues?: string; practitionerIdClaim: string; fetchUserinfo: boolean; realmPath: string }>;

/**
 * Identity settings, in the format of src/config/settings.ts (see
 * ./settings.ts for why they are built from the gateway's parsers).
 */
export const IDENTITY_SETTINGS = identitySettingSpecs({ parseString, parseUrl, parseEnum, SettingError });

type ValueOf<S> = S extends { parse: Parser<infer T> } ? T : never;
/** Parsed identity settings (all optional: a provider is configured when its issuer is set). */
export type IdentitySettings = { [K in keyof typeof IDENTITY_SETTINGS]?: ValueOf<(typeof IDENTITY_SETTINGS)[K]> };

/**
 * Builds the identity configuration from parsed settings, reading the
 * certificate and key files. Every problem is reported at once as a
 * {@link ConfigError}, like the rest of the configuration.
 */
export function identityConfigFromSettings(
  settings: IdentitySettings,
  readFile: (file: string) => string = (file) => readFileSync(file, "utf8"),
): IdentityConfig {
  const issues: ConfigIssue[] = [];
  const read = settingFileReader(issues, readFile);
  const require = (name: string, value: unknown, why: string): void => {
    if (value === undefined) issues.push({ name, received: "nothing", expected: why });
  };
  const providers: IdentityProviderConfig[] = [];

  if (settings.pscIssuer !== undefined) {
    require("PSC_CLIENT_ID", settings.pscClientId, "the PSC client id when PSC_ISSUER is set");
    require("PSC_CLIENT_CERT_FILE", settings.pscClientCertFile, "a client certificate: PSC authenticates clients with mutual TLS");
    require("PSC_CLIENT_KEY_FILE", settings.pscClientKeyFile, "the key of PSC_CLIENT_CERT_FILE");
    const certPem = read("PSC_CLIENT_CERT_FILE", settings.pscClientCertFile);
    const keyPem = read("PSC_CLIENT_KEY_FILE", settings.pscClientKeyFile);
    const ca = read("PSC_CA_FILE", settings.pscCaFile);
    const profile = PROVIDER_PROFILES["fr-psc"];
    providers.push({
      id: "fr-psc",
      issuer: settings.pscIssuer,
      ...(ca === undefined ? {} : { trustedCaPem: ca }),
      scope: profile.scope,
      acrValues: profile.acrValues,
      practitionerIdClaim: profile.practitionerIdClaim,
      fetchUserinfo: profile.fetchUserinfo,
      clients:
        settings.pscClientId !== undefined && certPem !== undefined && keyPem !== undefined
          ? [{ clientId: settings.pscClientId, authentication: { method: "tls_client_auth" }, tlsIdentity: { certPem, keyPem }, flows: ["code", "ciba"] }]
          : [],
    });
  }

  if (settings.aesIssuer !== undefined) {
    const method = settings.aesClientAuthMethod ?? (settings.aesClientSecret === undefined ? "none" : "client_secret_basic");
    if (method !== "none") require("AES_CLIENT_SECRET", settings.aesClientSecret, `a client secret for ${method}`);
    if (settings.aesClientId === undefined) require("AES_AUDIENCE", settings.aesAudience, "AES_CLIENT_ID or AES_AUDIENCE: an AeS provider without either has nothing to do");
    const ca = read("AES_CA_FILE", settings.aesCaFile);
    const profile = PROVIDER_PROFILES["lu-aes"];
    const audience = (settings.aesAudience ?? settings.aesClientId ?? "").split(",").map((s) => s.trim()).filter(Boolean);
    providers.push({
      id: "lu-aes",
      issuer: settings.aesIssuer,
      ...(ca === undefined ? {} : { trustedCaPem: ca }),
      scope: profile.scope,
      practitionerIdClaim: profile.practitionerIdClaim,
      fetchUserinfo: profile.fetchUserinfo,
      ...(audience.length > 0 ? { accessTokens: { audience } } : {}),
      clients:
        settings.aesClientId === undefined
          ? []
          : [
              {
                clientId: settings.aesClientId,
                authentication:
                  method === "none" ? { method: "none" } : { method, clientSecret: settings.aesClientSecret ?? "" },
                flows: ["code"],
              },
            ],
    });
  }

  if (settings.beIssuer !== undefined) {
    const clients: IdentityClientConfig[] = [];
    if (settings.beClientId !== undefined) clients.push({ clientId: settings.beClientId, authentication: { method: "none" }, flows: ["code"] });
    if (settings.beSystemClientId !== undefined) {
      require("BE_CLIENT_KEY_FILE", settings.beClientKeyFile, "the key signing the system client's assertions (private_key_jwt)");
      const key = read("BE_CLIENT_KEY_FILE", settings.beClientKeyFile);
      if (key !== undefined) {
        clients.push({
          clientId: settings.beSystemClientId,
          authentication: { method: "private_key_jwt", key, ...(settings.beClientKeyId === undefined ? {} : { kid: settings.beClientKeyId }) },
          flows: ["client_credentials"],
        });
      }
    }
    const ca = read("BE_CA_FILE", settings.beCaFile);
    const profile = PROVIDER_PROFILES["be-idp"];
    providers.push({
      id: "be-idp",
      issuer: settings.beIssuer,
      ...(ca === undefined ? {} : { trustedCaPem: ca }),
      scope: profile.scope,
      practitionerIdClaim: profile.practitionerIdClaim,
      fetchUserinfo: profile.fetchUserinfo,
      clients,
    });
  }

  // From the settings, not the built clients: a client dropped for a bad file must not hide this too.
  const needsCallback =
    (settings.pscIssuer !== undefined && settings.pscClientId !== undefined) ||
    (settings.aesIssuer !== undefined && settings.aesClientId !== undefined) ||
    (settings.beIssuer !== undefined && settings.beClientId !== undefined);
  if (needsCallback) {
    require("AUTH_REDIRECT_URI", settings.authRedirectUri, "the gateway's callback URL, needed by the authorization code flow");
    require("AUTH_RETURN_URLS", settings.authReturnUrls, "where a finished login may send the browser back");
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return {
    providers,
    redirectUri: settings.authRedirectUri ?? "http://127.0.0.1:8080/v1/auth/callback",
    returnUrls: settings.authReturnUrls ?? [],
  };
}

/**
 * The providers of a running sandbox: every identity simulator it runs
 * (`fr-psc`, `lu-aes`, `be-idp`), configured by issuer like a real one, with
 * the sandbox clients registered at them and the sandbox root as trust anchor.
 */
export async function identityProvidersFromSandbox(sandbox: SandboxEndpoints): Promise<IdentityProviderConfig[]> {
  const running = new Set(sandbox.simulators.map((s) => s.id));
  const clients = await sandboxOidcClients(sandbox.pki);
  const trustedCaPem = [sandbox.pki.rootCertPem, ...SANDBOX_COUNTRIES.map((c) => sandbox.pki.caCertPem(c))];
  const providers: IdentityProviderConfig[] = [];
  for (const id of ["fr-psc", "lu-aes", "be-idp"] as const) {
    if (!running.has(id)) continue;
    const profile = PROVIDER_PROFILES[id];
    const own = clients.filter((c) => c.provider === id);
    providers.push({
      id,
      issuer: `${sandbox.url(id)}${profile.realmPath}`,
      trustedCaPem,
      scope: profile.scope,
      ...("acrValues" in profile ? { acrValues: profile.acrValues } : {}),
      practitionerIdClaim: profile.practitionerIdClaim,
      fetchUserinfo: profile.fetchUserinfo,
      // lu-aes and be-idp issue RFC 9068 JWT access tokens with aud = the client id.
      ...(id === "fr-psc" ? {} : { accessTokens: { audience: own.map((c) => c.clientId) } }),
      clients: own.map(clientConfigOf),
    });
  }
  return providers;
}

function clientConfigOf(client: SandboxOidcClient): IdentityClientConfig {
  const flows: IdentityFlow[] = [];
  if (client.grantTypes.includes("authorization_code")) flows.push("code");
  if (client.grantTypes.includes(CIBA_GRANT_TYPE)) flows.push("ciba");
  if (client.grantTypes.includes("client_credentials")) flows.push("client_credentials");
  let authentication: ClientAuthentication;
  switch (client.authMethod) {
    case "client_secret_basic":
    case "client_secret_post":
      authentication = { method: client.authMethod, clientSecret: client.clientSecret ?? "" };
      break;
    case "private_key_jwt":
      authentication = { method: "private_key_jwt", key: client.privateKeyPem ?? "", ...(client.kid === undefined ? {} : { kid: client.kid }) };
      break;
    case "tls_client_auth":
      authentication = { method: "tls_client_auth" };
      break;
    case "none":
      authentication = { method: "none" };
      break;
  }
  return {
    clientId: client.clientId,
    authentication,
    ...(client.tlsIdentity === undefined
      ? {}
      : { tlsIdentity: { certPem: client.tlsIdentity.certPem, keyPem: client.tlsIdentity.keyPem, chainPem: client.tlsIdentity.chainPem } }),
    flows,
  };
}
