/**
 * Identity: practitioner login (authorization code + PKCE, CIBA), sessions in
 * the vault, access tokens brought by callers, system-client tokens — for Pro
 * Santé Connect, Agence eSanté and Belgian eHealth, or any OpenID provider.
 */
export { identitySettingSpecs, type SettingParsers } from "./settings.js";
export { IdentityService, type BroughtToken, type CallContext, type CibaView, type IdentityServiceOptions, type SessionTokens, type SessionView, type StartCibaInput, type StartLoginInput, type SystemToken } from "./service.js";
export { identityBrowserRoutes, identityRoutes } from "./routes.js";
export {
  IDENTITY_SETTINGS,
  PROVIDER_PROFILES,
  identityConfigFromSettings,
  identityProvidersFromSandbox,
  type AccessTokenProfile,
  type IdentityClientConfig,
  type IdentityConfig,
  type IdentityFlow,
  type IdentityProviderConfig,
  type IdentitySettings,
} from "./config.js";
export { IDENTITY_MODULE, SANDBOX_RETURN_URLS, identityModule, type IdentityModule } from "./module.js";
