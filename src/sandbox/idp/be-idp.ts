/**
 * `be-idp`: a Belgian eHealth-like OpenID Provider.
 *
 * - Keycloak realm `healthcare`: issuer `<url>/auth/realms/healthcare`.
 * - System clients get tokens with client credentials, authenticating with a
 *   signed JWT assertion (RFC 7523 / OIDC `private_key_jwt`); public apps
 *   use authorization code + PKCE.
 * - Access tokens are RS256 JWTs (RFC 9068), `aud` and `azp` = the client
 *   id; ID tokens carry `nihii`, `ssin`, names and profession; no userinfo
 *   endpoint (see IdentityRealm.accessTokens).
 */
import type { SimulatorDefinition } from "../simulator.js";
import { BE_IDP_SIMULATOR } from "../simulator-ids.js";
import { belgianPractitioners } from "./be-idp-practitioners.js";
import type { IdentityRealm } from "./identity-realm.js";
import { defineIdentitySimulator } from "./identity-simulator.js";
import { PractitionerDirectory } from "./practitioners.js";

export const BE_IDP_SIMULATOR_ID = BE_IDP_SIMULATOR.id;

export function beIdpRealm(): IdentityRealm {
  return {
    provider: BE_IDP_SIMULATOR_ID,
    realm: "healthcare",
    displayName: "eHealth platform Belgium (sandbox)",
    practitioners: new PractitionerDirectory(belgianPractitioners()),
    login: { identifierLabel: "NIHII (INAMI/RIZIV) or SSIN", secretLabel: "Password" },
    claimsByScope: {
      profile: ["preferred_username", "name", "given_name", "family_name", "nihii", "ssin", "profession"],
    },
    accessTokens: {
      format: "jwt",
      scopes: ["openid", "profile", "offline_access"],
      claims: ["preferred_username", "nihii"],
    },
    accessTokenTtl: 300,
    pkce: "public",
    clientCredentials: true,
    ciba: false,
    tlsClientAuth: false,
  };
}

export function beIdpSimulator(): SimulatorDefinition {
  return defineIdentitySimulator({ info: BE_IDP_SIMULATOR, realm: beIdpRealm });
}
