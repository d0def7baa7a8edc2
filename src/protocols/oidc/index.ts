/**
 * OpenID Connect relying party and OAuth 2.0 client, country-agnostic:
 * provider discovery or explicit endpoints, every client authentication
 * method, authorization code + PKCE, CIBA (poll), refresh, revocation,
 * RP-initiated logout, client credentials, and validation of ID tokens and of
 * JWT access tokens. Built on openid-client 6 and jose 6; every HTTP request
 * goes through the gateway transport.
 */
export { OidcHttpClient, type OidcFetch, type OidcFetchInit, type OidcHttpClientOptions } from "./http-client.js";
export {
  buildClientAuth,
  signerPrivateKeyJwt,
  type AssertionAlgorithm,
  type ClientAuthMethod,
  type ClientAuthentication,
} from "./client-auth.js";
export {
  OidcRelyingParty,
  type AuthorizationRequest,
  type BackchannelPoll,
  type BackchannelRequest,
  type BackchannelStart,
  type CodeExchange,
  type IdTokenClaims,
  type OidcProviderMetadata,
  type OidcTokens,
  type RelyingPartyOptions,
  type UserInfo,
} from "./relying-party.js";
export { checkIdTokenBeyondLibrary, checkRefreshedIdToken, leftHalfHash, type IdTokenBindings, type IdTokenPolicy } from "./id-token-checks.js";
export {
  AccessTokenRejectedError,
  remoteKeys,
  validateAccessToken,
  type AccessTokenPolicy,
  type AccessTokenRejection,
  type RemoteKeysOptions,
  type ValidatedAccessToken,
} from "./access-token.js";
export { IdTokenRejectedError, ProviderRejectedError, translateOidcFailure, type IdTokenRejection } from "./errors.js";
