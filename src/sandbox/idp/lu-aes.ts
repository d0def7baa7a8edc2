/**
 * `lu-aes`: a Luxembourg Agence eSanté-like OpenID Provider.
 *
 * - Keycloak realm `default`: issuer `<url>/auth/realms/default`.
 * - PKCE (S256, RFC 7636) is mandatory for every authorization-code request,
 *   public or confidential client.
 * - Access tokens are RS256 JWTs (RFC 9068) living 300 s as in production,
 *   with `aud` and `azp` = the client id, so that the software the vendor's
 *   app hands them to validates them against the JWKS ("bring your own
 *   token"). Refresh tokens rotate on every use. ID tokens carry the claims
 *   (`provider_code`, the CNS code médecin/prestataire; names; profession);
 *   there is no userinfo endpoint (see IdentityRealm.accessTokens).
 */
import type { SimulatorDefinition } from "../simulator.js";
import { LU_AES_SIMULATOR } from "../simulator-ids.js";
import type { IdentityRealm } from "./identity-realm.js";
import { defineIdentitySimulator } from "./identity-simulator.js";
import { luxembourgPractitioners } from "./lu-aes-practitioners.js";
import { PractitionerDirectory } from "./practitioners.js";

export const LU_AES_SIMULATOR_ID = LU_AES_SIMULATOR.id;

export function luAesRealm(): IdentityRealm {
  return {
    provider: LU_AES_SIMULATOR_ID,
    realm: "default",
    displayName: "Agence eSanté Luxembourg (sandbox)",
    practitioners: new PractitionerDirectory(luxembourgPractitioners()),
    login: { identifierLabel: "Provider code (code médecin)", secretLabel: "Password" },
    claimsByScope: {
      profile: ["preferred_username", "name", "given_name", "family_name", "provider_code", "profession"],
    },
    accessTokens: {
      format: "jwt",
      scopes: ["openid", "profile", "offline_access"],
      claims: ["preferred_username", "given_name", "family_name", "provider_code"],
    },
    accessTokenTtl: 300,
    pkce: "all",
    clientCredentials: false,
    ciba: false,
    tlsClientAuth: false,
  };
}

export function luAesSimulator(): SimulatorDefinition {
  return defineIdentitySimulator({ info: LU_AES_SIMULATOR, realm: luAesRealm });
}
