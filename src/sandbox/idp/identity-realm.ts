/**
 * What distinguishes one simulated national identity provider from another:
 * its Keycloak-style realm, practitioners, scopes and claims, token format
 * and the protocol features it offers. The three simulators are three values
 * of this type; everything else is shared.
 */
import type { PractitionerDirectory } from "./practitioners.js";
import type { SandboxIdentityProviderId } from "./sandbox-clients.js";

/** Keycloak lays realms out under this path; the national providers keep it. */
export const REALMS_PATH = "/auth/realms";
/** Keycloak's OpenID Connect endpoints, relative to the realm (the issuer). */
export const OPENID_CONNECT_PATH = "/protocol/openid-connect";

export interface IdentityRealm {
  provider: SandboxIdentityProviderId;
  /** Realm name: the issuer is `<simulator URL>/auth/realms/<realm>`. */
  realm: string;
  /** Shown on the provider's pages. */
  displayName: string;
  practitioners: PractitionerDirectory;
  login: {
    /** Label of the identifier field, e.g. "RPPS or IdNat_PS". */
    identifierLabel: string;
    /** Label of the secret field. */
    secretLabel: string;
  };
  /** Scopes besides `openid` and `offline_access`, each with the claims it releases. */
  claimsByScope: Readonly<Record<string, readonly string[]>>;
  /** Authentication context class reference put in ID tokens (`acr`), e.g. PSC's "eidas1". */
  acr?: string;
  /**
   * `opaque`: access tokens for the userinfo endpoint only (introspect them).
   * `jwt`: RFC 9068 JWT access tokens, `aud` = the client's id, verifiable
   * with the JWKS — relying parties validate them themselves ("bring your own
   * token"); the userinfo endpoint is then not offered (oidc-provider serves
   * userinfo only for audience-less tokens) and the ID token carries the claims.
   */
  accessTokens: { format: "opaque" } | { format: "jwt"; scopes: readonly string[]; claims: readonly string[] };
  /** Access token lifetime, seconds. */
  accessTokenTtl: number;
  /** `all`: PKCE for every authorization-code client (AeS); `public`: for public clients only. */
  pkce: "all" | "public";
  clientCredentials: boolean;
  /** OpenID CIBA Core 1.0 in poll mode, with the sandbox approval page and test API. */
  ciba: boolean;
  /** RFC 8705 `tls_client_auth`; the simulator requests client certificates. */
  tlsClientAuth: boolean;
}

export function realmPath(realm: IdentityRealm): string {
  return `${REALMS_PATH}/${realm.realm}`;
}
