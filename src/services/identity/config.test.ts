import { describe, expect, it } from "vitest";
import { MemoryAuditSink, PatientPseudonymiser } from "../../audit/index.js";
import { ConfigError } from "../../config/index.js";
import { MemoryVault, VaultCipher, generateVaultKey } from "../../vault/index.js";
import { IDENTITY_SETTINGS, identityConfigFromSettings, type IdentityConfig } from "./config.js";
import { IdentityService } from "./service.js";

const FILES: Record<string, string> = {
  "/etc/passerelle/psc.crt": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
  "/etc/passerelle/psc.key": "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n",
  "/etc/passerelle/be.key": "-----BEGIN PRIVATE KEY-----\nMIIF\n-----END PRIVATE KEY-----\n",
};
const readFile = (file: string): string => {
  const content = FILES[file];
  if (content === undefined) throw Object.assign(new Error("missing"), { code: "ENOENT" });
  return content;
};

function issuesOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map((i) => i.name);
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("IDENTITY_SETTINGS", () => {
  it("is a settings table in the gateway's format, secrets marked", () => {
    for (const spec of Object.values(IDENTITY_SETTINGS)) {
      expect(spec.env).toMatch(/^[A-Z][A-Z0-9_]+$/);
      expect(spec.description.length).toBeGreaterThan(10);
      expect(typeof spec.parse).toBe("function");
    }
    expect(IDENTITY_SETTINGS.aesClientSecret).toMatchObject({ env: "AES_CLIENT_SECRET", secret: true });
    expect(IDENTITY_SETTINGS.authReturnUrls.parse("https://a.example/x, http://127.0.0.1:3000/cb")).toEqual(["https://a.example/x", "http://127.0.0.1:3000/cb"]);
    expect(() => IDENTITY_SETTINGS.authReturnUrls.parse("not a url")).toThrow();
    expect(() => IDENTITY_SETTINGS.pscIssuer.parse("http://insecure.example")).toThrow();
    expect(() => IDENTITY_SETTINGS.aesClientAuthMethod.parse("private_key_jwt")).toThrow();
  });
});

describe("identityConfigFromSettings", () => {
  it("configures PSC (mTLS, code + CIBA), AeS (secret, bring-your-own-token audience) and eHealth (public + system client)", () => {
    const config = identityConfigFromSettings(
      {
        authRedirectUri: "https://gw.example/v1/auth/callback",
        authReturnUrls: ["https://pms.example/back"],
        pscIssuer: "https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet",
        pscClientId: "acme-pms",
        pscClientCertFile: "/etc/passerelle/psc.crt",
        pscClientKeyFile: "/etc/passerelle/psc.key",
        aesIssuer: "https://login.aes.example/auth/realms/default",
        aesClientId: "acme-aes",
        aesClientSecret: "s",
        aesAudience: "acme-app, acme-aes",
        beIssuer: "https://idp.ehealth.example/auth/realms/healthcare",
        beClientId: "acme-be-app",
        beSystemClientId: "acme-be-system",
        beClientKeyFile: "/etc/passerelle/be.key",
        beClientKeyId: "k1",
      },
      readFile,
    );
    expect(config.redirectUri).toBe("https://gw.example/v1/auth/callback");
    const [psc, aes, be] = config.providers;
    expect(psc).toMatchObject({ id: "fr-psc", scope: "openid scope_all", acrValues: "eidas1", practitionerIdClaim: "SubjectNameID", fetchUserinfo: true });
    expect(psc?.clients[0]).toMatchObject({ clientId: "acme-pms", authentication: { method: "tls_client_auth" }, flows: ["code", "ciba"], tlsIdentity: { certPem: FILES["/etc/passerelle/psc.crt"] } });
    expect(aes).toMatchObject({ id: "lu-aes", accessTokens: { audience: ["acme-app", "acme-aes"] } });
    expect(aes?.clients[0]?.authentication).toEqual({ method: "client_secret_basic", clientSecret: "s" });
    expect(be?.clients).toEqual([
      { clientId: "acme-be-app", authentication: { method: "none" }, flows: ["code"] },
      { clientId: "acme-be-system", authentication: { method: "private_key_jwt", key: FILES["/etc/passerelle/be.key"], kid: "k1" }, flows: ["client_credentials"] },
    ]);
  });

  it("reports every missing or unreadable piece at once", () => {
    expect(
      issuesOf(() =>
        identityConfigFromSettings({ pscIssuer: "https://psc.example/auth/realms/esante-wallet", pscClientId: "x", pscClientCertFile: "/nope.crt", aesIssuer: "https://aes.example" }, readFile),
      ).sort(),
    ).toEqual(["AES_AUDIENCE", "AUTH_REDIRECT_URI", "AUTH_RETURN_URLS", "PSC_CLIENT_CERT_FILE", "PSC_CLIENT_KEY_FILE"]);
  });

  it("configures AeS for bring-your-own tokens only, without a client or a callback", () => {
    const config = identityConfigFromSettings({ aesIssuer: "https://aes.example/auth/realms/default", aesAudience: "vendor-app" }, readFile);
    expect(config.providers[0]).toMatchObject({ id: "lu-aes", clients: [], accessTokens: { audience: ["vendor-app"] } });
  });
});

describe("IdentityService construction", () => {
  const base = (providers: IdentityConfig["providers"]): IdentityConfig => ({ providers, redirectUri: "http://127.0.0.1:8080/v1/auth/callback", returnUrls: [] });
  const build = (config: IdentityConfig) =>
    new IdentityService({
      config,
      vault: new MemoryVault({ cipher: new VaultCipher(generateVaultKey()), maxEntries: 10 }),
      audit: new MemoryAuditSink({ pseudonymiser: new PatientPseudonymiser(Buffer.alloc(32)) }),
    });
  const provider = { id: "p", issuer: "https://p.example", scope: "openid" };

  it("fails loudly on misconfiguration, before any I/O", () => {
    expect(() =>
      build(
        base([
          { ...provider, clients: [{ clientId: "c", authentication: { method: "none" }, flows: ["code"] }] },
          { ...provider, id: "q", clients: [{ clientId: "c", authentication: { method: "none" }, flows: ["code"] }] },
        ]),
      ),
    ).toThrow(/twice/);
    expect(() => build(base([{ ...provider, clients: [{ clientId: "c", authentication: { method: "tls_client_auth" }, flows: ["ciba"] }] }]))).toThrow(/tlsIdentity/);
    expect(() => build(base([{ ...provider, clients: [{ clientId: "c", authentication: { method: "none" }, flows: ["client_credentials"] }] }]))).toThrow(TypeError);
    expect(() => build({ ...base([]), returnUrls: ["not a url"] })).toThrow(TypeError);
  });
});
