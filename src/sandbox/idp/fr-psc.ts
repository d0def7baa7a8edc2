/**
 * `fr-psc`: a Pro Santé Connect-like OpenID Provider (France, ANS).
 *
 * - Keycloak realm `esante-wallet`: issuer `<url>/auth/realms/esante-wallet`,
 *   endpoints under `…/protocol/openid-connect/`, CIBA at `…/ext/ciba/auth`.
 * - Clients authenticate with mutual TLS (RFC 8705 `tls_client_auth`): the
 *   simulator asks every connection for a client certificate.
 * - Scopes `openid scope_all`; `acr` "eidas1"; claims `SubjectNameID`
 *   ("8" + RPPS), `given_name`, `family_name`, `SubjectOrganization` and
 *   `SubjectRefPro` (profession, see ./fr-psc-practitioners.ts); opaque
 *   access tokens, with userinfo and introspection.
 * - CIBA in poll mode: `login_hint` is the practitioner's IdNat_PS (or
 *   RPPS); the request waits on `/_sandbox/ciba`, which plays the e-CPS app.
 */
import type { SimulatorDefinition } from "../simulator.js";
import { FR_PSC_SIMULATOR } from "../simulator-ids.js";
import { frenchPractitioners } from "./fr-psc-practitioners.js";
import type { IdentityRealm } from "./identity-realm.js";
import { defineIdentitySimulator } from "./identity-simulator.js";
import { PractitionerDirectory } from "./practitioners.js";

export const FR_PSC_SIMULATOR_ID = FR_PSC_SIMULATOR.id;

export function frPscRealm(): IdentityRealm {
  return {
    provider: FR_PSC_SIMULATOR_ID,
    realm: "esante-wallet",
    displayName: "Pro Santé Connect (sandbox)",
    practitioners: new PractitionerDirectory(frenchPractitioners()),
    login: { identifierLabel: "National identifier (IdNat_PS) or RPPS", secretLabel: "e-CPS code" },
    claimsByScope: {
      scope_all: ["SubjectNameID", "preferred_username", "given_name", "family_name", "SubjectOrganization", "SubjectRefPro"],
    },
    acr: "eidas1",
    accessTokens: { format: "opaque" },
    accessTokenTtl: 300,
    pkce: "public",
    clientCredentials: false,
    ciba: true,
    tlsClientAuth: true,
  };
}

export function frPscSimulator(): SimulatorDefinition {
  return defineIdentitySimulator({ info: FR_PSC_SIMULATOR, realm: frPscRealm });
}
