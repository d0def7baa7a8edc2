/**
 * The OAuth clients registered at the sandbox identity providers — test
 * credentials, documented, not secrets. The same list configures both sides:
 * the simulators register these clients, and the gateway's sandbox profile
 * configures itself from them. Key material comes from the sandbox PKI
 * (cached in its data directory), so both sides hold the same keys.
 *
 * | provider | client id              | kind         | authentication       | grants                                   |
 * |----------|------------------------|--------------|----------------------|------------------------------------------|
 * | fr-psc   | passerelle-psc         | confidential | tls_client_auth      | authorization_code, refresh_token, CIBA  |
 * | lu-aes   | passerelle-aes         | confidential | client_secret_basic  | authorization_code, refresh_token        |
 * | lu-aes   | passerelle-aes-post    | confidential | client_secret_post   | authorization_code, refresh_token        |
 * | lu-aes   | passerelle-aes-app     | public       | none (PKCE)          | authorization_code, refresh_token        |
 * | be-idp   | passerelle-be-system   | system       | private_key_jwt      | client_credentials                       |
 * | be-idp   | passerelle-be-app      | public       | none (PKCE)          | authorization_code, refresh_token        |
 */
import { createPublicKey, X509Certificate, type JsonWebKey } from "node:crypto";
import { calculateJwkThumbprint, exportJWK } from "jose";
import type { PemIdentity, SandboxPki } from "../../trust/pki/index.js";

export type SandboxIdentityProviderId = "fr-psc" | "lu-aes" | "be-idp";

export interface SandboxOidcClient {
  provider: SandboxIdentityProviderId;
  clientId: string;
  kind: "confidential" | "public" | "system";
  authMethod: "tls_client_auth" | "client_secret_basic" | "client_secret_post" | "private_key_jwt" | "none";
  clientSecret?: string;
  /** The client certificate and key for `tls_client_auth` (from `pki.clientIdentity`). */
  tlsIdentity?: PemIdentity;
  /** PKCS#8 PEM of the `private_key_jwt` signing key. */
  privateKeyPem?: string;
  /** The public half of `privateKeyPem`, as registered at the provider (with `kid`, `alg`, `use`, `x5c`). */
  publicJwk?: JsonWebKey;
  /** `kid` of `publicJwk` (its RFC 7638 thumbprint), to put in the client assertion's header. */
  kid?: string;
  redirectUris: string[];
  grantTypes: string[];
}

/**
 * Where the gateway receives authorization responses. The providers accept
 * this URI on any port of 127.0.0.1 (RFC 8252 §7.3), so a gateway listening
 * elsewhere than 8080 — in tests, on port 0 — is accepted too.
 */
export const SANDBOX_REDIRECT_URI = "http://127.0.0.1:8080/v1/auth/callback";

/** OpenID CIBA Core 1.0 §10.1 grant type. */
export const CIBA_GRANT_TYPE = "urn:openid:params:grant-type:ciba";

const CODE_GRANTS = ["authorization_code", "refresh_token"];
const PRIVATE_KEY_JWT_ALGORITHM = "RS256";

/**
 * Every sandbox client of the three providers. Issues (on first call) and
 * then reuses the client certificates in the PKI's directory; concurrent
 * calls share one issuance.
 */
export async function sandboxOidcClients(pki: SandboxPki): Promise<SandboxOidcClient[]> {
  const [pscIdentity, beSystemIdentity] = await Promise.all([
    pki.clientIdentity("passerelle-psc-client", {
      country: "FR",
      subject: { C: "FR", O: "Passerelle Sandbox", OU: "Pro Sante Connect client", CN: "passerelle-psc" },
    }),
    pki.clientIdentity("passerelle-be-system-client", {
      country: "BE",
      subject: { C: "BE", O: "Passerelle Sandbox", OU: "eHealth system client", CN: "passerelle-be-system" },
    }),
  ]);
  const beSystemKey = await publicSigningJwk(beSystemIdentity);

  return [
    {
      provider: "fr-psc",
      clientId: "passerelle-psc",
      kind: "confidential",
      authMethod: "tls_client_auth",
      tlsIdentity: pscIdentity,
      redirectUris: [SANDBOX_REDIRECT_URI],
      grantTypes: [...CODE_GRANTS, CIBA_GRANT_TYPE],
    },
    {
      provider: "lu-aes",
      clientId: "passerelle-aes",
      kind: "confidential",
      authMethod: "client_secret_basic",
      clientSecret: "sandbox-aes-secret-basic-not-for-production",
      redirectUris: [SANDBOX_REDIRECT_URI],
      grantTypes: [...CODE_GRANTS],
    },
    {
      provider: "lu-aes",
      clientId: "passerelle-aes-post",
      kind: "confidential",
      authMethod: "client_secret_post",
      clientSecret: "sandbox-aes-secret-post-not-for-production",
      redirectUris: [SANDBOX_REDIRECT_URI],
      grantTypes: [...CODE_GRANTS],
    },
    {
      provider: "lu-aes",
      clientId: "passerelle-aes-app",
      kind: "public",
      authMethod: "none",
      redirectUris: [SANDBOX_REDIRECT_URI],
      grantTypes: [...CODE_GRANTS],
    },
    {
      provider: "be-idp",
      clientId: "passerelle-be-system",
      kind: "system",
      authMethod: "private_key_jwt",
      privateKeyPem: beSystemIdentity.keyPem,
      publicJwk: beSystemKey.jwk,
      kid: beSystemKey.kid,
      redirectUris: [],
      grantTypes: ["client_credentials"],
    },
    {
      provider: "be-idp",
      clientId: "passerelle-be-app",
      kind: "public",
      authMethod: "none",
      redirectUris: [SANDBOX_REDIRECT_URI],
      grantTypes: [...CODE_GRANTS],
    },
  ];
}

/** The certificate's public key as a JWK, identified by its thumbprint and carrying the certificate (RFC 7517 §4.7). */
async function publicSigningJwk(identity: PemIdentity): Promise<{ jwk: JsonWebKey; kid: string }> {
  const publicJwk = await exportJWK(createPublicKey(identity.keyPem));
  const kid = await calculateJwkThumbprint(publicJwk);
  const x5c = [identity.certPem, ...identity.chainPem].map((pem) => new X509Certificate(pem).raw.toString("base64"));
  return { jwk: { ...publicJwk, kid, alg: PRIVATE_KEY_JWT_ALGORITHM, use: "sig", x5c }, kid };
}
