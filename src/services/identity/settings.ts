/**
 * The identity settings, in the format of src/config/settings.ts, for the
 * gateway to merge into its settings table.
 *
 * They are built from the gateway's own parsers, passed in, rather than
 * imported: src/config/settings.ts spreads this table into SETTINGS, and an
 * import back from it would be a module cycle in which `parseString` (a
 * `const`) is read before it is initialised. This module has no runtime
 * import at all, so either side may be loaded first.
 *
 * @example
 * ```ts
 * // src/config/settings.ts
 * export const SETTINGS = { ...coreSettings, ...identitySettingSpecs({ parseString, parseUrl, parseEnum, SettingError }) } as const;
 * ```
 */
import type { Parser, SettingSpec } from "../../config/settings.js";

export interface SettingParsers {
  parseString: Parser<string>;
  parseUrl(schemes: readonly string[]): Parser<string>;
  parseEnum<const T extends string>(values: readonly T[]): Parser<T>;
  /** The error a parser throws to say what it expected (the loader reports it per setting). */
  SettingError: new (expected: string) => Error;
}

export const CLIENT_SECRET_METHODS = ["client_secret_basic", "client_secret_post", "none"] as const;

/** Names follow the national connectors where they exist; `*_FILE` settings hold PEM certificates and keys. */
export function identitySettingSpecs(p: SettingParsers) {
  const parseHttps = p.parseUrl(["https"]);
  const parseHttpUrl = p.parseUrl(["http", "https"]);
  const parseUrlList: Parser<string[]> = (raw) => {
    const urls = raw.split(",").map((s) => s.trim()).filter(Boolean);
    if (urls.length === 0) throw new p.SettingError("a comma-separated list of http(s) URLs");
    for (const url of urls) parseHttpUrl(url);
    return urls;
  };
  return {
    authRedirectUri: {
      env: "AUTH_REDIRECT_URI",
      description: "The gateway's OIDC callback as registered at the providers (e.g. https://gw.example/v1/auth/callback); exact match",
      parse: parseHttpUrl,
    },
    authReturnUrls: {
      env: "AUTH_RETURN_URLS",
      description: "Pages of the calling software a finished login may return to (comma-separated, exact match)",
      parse: parseUrlList,
    },
    pscIssuer: { env: "PSC_ISSUER", description: "Pro Santé Connect issuer (e.g. https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet)", parse: parseHttps },
    pscClientId: { env: "PSC_CLIENT_ID", description: "Pro Santé Connect client id (authorization code and CIBA, tls_client_auth)", parse: p.parseString },
    pscClientCertFile: { env: "PSC_CLIENT_CERT_FILE", description: "PEM client certificate (and chain) presented to Pro Santé Connect (RFC 8705)", parse: p.parseString },
    pscClientKeyFile: { env: "PSC_CLIENT_KEY_FILE", description: "PEM private key of PSC_CLIENT_CERT_FILE", parse: p.parseString },
    pscCaFile: { env: "PSC_CA_FILE", description: "PEM trust anchors of Pro Santé Connect's TLS certificate (default: system roots)", parse: p.parseString },
    aesIssuer: { env: "AES_ISSUER", description: "Agence eSanté issuer (Keycloak realm URL)", parse: parseHttps },
    aesClientId: { env: "AES_CLIENT_ID", description: "Agence eSanté client id for practitioner logins through the gateway", parse: p.parseString },
    aesClientSecret: { env: "AES_CLIENT_SECRET", description: "Agence eSanté client secret (not needed for a public client)", parse: p.parseString, secret: true },
    aesClientAuthMethod: {
      env: "AES_CLIENT_AUTH_METHOD",
      description: "How the AeS client authenticates: client_secret_basic, client_secret_post or none",
      parse: p.parseEnum(CLIENT_SECRET_METHODS),
    },
    aesAudience: {
      env: "AES_AUDIENCE",
      description: "Audience (client ids, comma-separated) accepted in AeS access tokens brought by callers",
      parse: p.parseString,
    },
    aesCaFile: { env: "AES_CA_FILE", description: "PEM trust anchors of the AeS TLS certificate (default: system roots)", parse: p.parseString },
    beIssuer: { env: "BE_ISSUER", description: "Belgian eHealth identity provider issuer", parse: parseHttps },
    beClientId: { env: "BE_CLIENT_ID", description: "eHealth client id for practitioner logins (public client, PKCE)", parse: p.parseString },
    beSystemClientId: { env: "BE_SYSTEM_CLIENT_ID", description: "eHealth system client id (client credentials, private_key_jwt)", parse: p.parseString },
    beClientKeyFile: {
      env: "BE_CLIENT_KEY_FILE",
      description: "PEM PKCS#8 key signing BE_SYSTEM_CLIENT_ID's client assertions (RFC 7523)",
      parse: p.parseString,
    },
    beClientKeyId: { env: "BE_CLIENT_KEY_ID", description: "kid of BE_CLIENT_KEY_FILE's public key as registered at eHealth", parse: p.parseString },
    beCaFile: { env: "BE_CA_FILE", description: "PEM trust anchors of the eHealth TLS certificate (default: system roots)", parse: p.parseString },
  } as const satisfies Record<string, SettingSpec<unknown>>;
}
