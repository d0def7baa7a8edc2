/**
 * How a sandbox client is registered at its simulated provider: the OAuth
 * 2.0 Dynamic Client Registration metadata (RFC 7591 §2) oidc-provider reads.
 */
import { X509Certificate } from "node:crypto";
import type { ClientMetadata } from "oidc-provider";
import { CIBA_GRANT_TYPE, type SandboxOidcClient } from "./sandbox-clients.js";
import { subjectDistinguishedName } from "./tls-client-auth.js";

export function clientMetadataFor(client: SandboxOidcClient): ClientMetadata {
  const metadata: ClientMetadata = {
    client_id: client.clientId,
    client_name: client.clientId,
    grant_types: [...client.grantTypes],
    response_types: client.grantTypes.includes("authorization_code") ? ["code"] : [],
    redirect_uris: [...client.redirectUris],
    token_endpoint_auth_method: client.authMethod,
    // oidc-provider applies the loopback rule of RFC 8252 §7.3 (any port for
    // http://127.0.0.1) to native clients only; the sandbox clients redirect
    // to a gateway on loopback whose port tests choose, so they register as native.
    application_type: client.redirectUris.length > 0 && client.redirectUris.every(isLoopbackHttpUri) ? "native" : "web",
  };
  switch (client.authMethod) {
    case "client_secret_basic":
    case "client_secret_post":
      if (client.clientSecret === undefined) throw new TypeError(`Sandbox client ${client.clientId} has no clientSecret`);
      metadata.client_secret = client.clientSecret;
      break;
    case "private_key_jwt":
      if (client.publicJwk === undefined) throw new TypeError(`Sandbox client ${client.clientId} has no publicJwk`);
      metadata.jwks = { keys: [client.publicJwk] };
      break;
    case "tls_client_auth":
      if (client.tlsIdentity === undefined) throw new TypeError(`Sandbox client ${client.clientId} has no tlsIdentity`);
      metadata.tls_client_auth_subject_dn = subjectDistinguishedName(new X509Certificate(client.tlsIdentity.certPem));
      break;
    case "none":
      break;
  }
  if (client.grantTypes.includes(CIBA_GRANT_TYPE)) {
    // CIBA Core §4 / §5: poll mode, the one a gateway behind NAT can always use.
    metadata.backchannel_token_delivery_mode = "poll";
  }
  return metadata;
}

function isLoopbackHttpUri(uri: string): boolean {
  const parsed = URL.parse(uri);
  return parsed !== null && parsed.protocol === "http:" && parsed.hostname === "127.0.0.1";
}
