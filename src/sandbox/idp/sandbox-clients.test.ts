import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { calculateJwkThumbprint } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SandboxPki } from "../../trust/pki/index.js";
import { clientMetadataFor } from "./client-registration.js";
import { sandboxIdentitySimulators } from "./index.js";
import { loadOrCreateProviderKeys } from "./provider-keys.js";
import { CIBA_GRANT_TYPE, SANDBOX_REDIRECT_URI, sandboxOidcClients, type SandboxOidcClient } from "./sandbox-clients.js";

let dataDir: string;
let pki: SandboxPki;
let clients: SandboxOidcClient[];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "passerelle-idp-clients-"));
  pki = await SandboxPki.open(dataDir);
  clients = await sandboxOidcClients(pki);
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

function byId(clientId: string): SandboxOidcClient {
  const found = clients.find((c) => c.clientId === clientId);
  if (found === undefined) throw new Error(`no client ${clientId}`);
  return found;
}

describe("sandboxOidcClients", () => {
  it("lists the clients of the contract, per provider", () => {
    expect(clients.map((c) => [c.provider, c.clientId, c.kind, c.authMethod])).toEqual([
      ["fr-psc", "passerelle-psc", "confidential", "tls_client_auth"],
      ["lu-aes", "passerelle-aes", "confidential", "client_secret_basic"],
      ["lu-aes", "passerelle-aes-post", "confidential", "client_secret_post"],
      ["lu-aes", "passerelle-aes-app", "public", "none"],
      ["be-idp", "passerelle-be-system", "system", "private_key_jwt"],
      ["be-idp", "passerelle-be-app", "public", "none"],
    ]);
    expect(byId("passerelle-psc").grantTypes).toContain(CIBA_GRANT_TYPE);
    expect(byId("passerelle-be-system")).toMatchObject({ redirectUris: [], grantTypes: ["client_credentials"] });
    for (const c of clients.filter((c) => c.kind !== "system")) expect(c.redirectUris).toEqual([SANDBOX_REDIRECT_URI]);
  });

  it("gives passerelle-psc a client certificate from the FR CA, for TLS client authentication", () => {
    const identity = byId("passerelle-psc").tlsIdentity;
    if (identity === undefined) throw new Error("no TLS identity");
    const certificate = new X509Certificate(identity.certPem);
    expect(certificate.checkIssued(new X509Certificate(pki.caCertPem("FR")))).toBe(true);
    expect(certificate.checkPrivateKey(createPrivateKey(identity.keyPem))).toBe(true);
    expect(identity.chainPem).toEqual([pki.caCertPem("FR")]);
  });

  it("gives the system client a key pair whose public JWK and kid match its private key", async () => {
    const system = byId("passerelle-be-system");
    if (system.privateKeyPem === undefined || system.publicJwk === undefined) throw new Error("no key");
    const expected = createPublicKey(system.privateKeyPem).export({ format: "jwk" });
    expect(system.publicJwk).toMatchObject({ kty: "RSA", n: expected.n, e: expected.e, alg: "RS256", use: "sig", kid: system.kid });
    expect(system.publicJwk).not.toHaveProperty("d");
    expect(system.kid).toBe(await calculateJwkThumbprint({ kty: "RSA", n: expected.n ?? "", e: expected.e ?? "" }));
  });

  it("returns the same keys to the gateway and to the simulators (reused from the PKI directory)", async () => {
    const again = await sandboxOidcClients(await SandboxPki.open(dataDir));
    expect(again.map((c) => c.tlsIdentity?.certPem ?? c.publicJwk?.n ?? c.clientSecret ?? c.clientId)).toEqual(
      clients.map((c) => c.tlsIdentity?.certPem ?? c.publicJwk?.n ?? c.clientSecret ?? c.clientId),
    );
  });
});

describe("clientMetadataFor", () => {
  it("registers loopback clients as native (RFC 8252 §7.3 port rule) and others as web", () => {
    expect(clientMetadataFor(byId("passerelle-aes-app"))).toMatchObject({
      application_type: "native",
      token_endpoint_auth_method: "none",
      response_types: ["code"],
      redirect_uris: [SANDBOX_REDIRECT_URI],
    });
    expect(clientMetadataFor(byId("passerelle-be-system"))).toMatchObject({ application_type: "web", response_types: [], jwks: { keys: [expect.any(Object)] } });
  });

  it("registers the PSC client by certificate subject, in CIBA poll mode", () => {
    expect(clientMetadataFor(byId("passerelle-psc"))).toMatchObject({
      tls_client_auth_subject_dn: "CN=passerelle-psc,OU=Pro Sante Connect client,O=Passerelle Sandbox,C=FR",
      backchannel_token_delivery_mode: "poll",
    });
  });

  it("refuses a client whose credentials are missing", () => {
    expect(() => clientMetadataFor({ ...byId("passerelle-aes"), clientSecret: undefined })).toThrow(TypeError);
    expect(() => clientMetadataFor({ ...byId("passerelle-psc"), tlsIdentity: undefined })).toThrow(TypeError);
  });
});

describe("loadOrCreateProviderKeys", () => {
  it("keeps the signing key across restarts, in a file only its owner reads", async () => {
    const dir = join(dataDir, "provider-a");
    await mkdir(dir);
    const first = await loadOrCreateProviderKeys(dir);
    const second = await loadOrCreateProviderKeys(dir);
    expect(second).toEqual(first);
    expect(first.signingKeys[0]).toMatchObject({ kty: "RSA", alg: "RS256", use: "sig", kid: expect.any(String), d: expect.any(String) });
    expect((await stat(join(dir, "provider-keys.json"))).mode & 0o777).toBe(0o600);
  });

  it("replaces a damaged key file", async () => {
    const dir = join(dataDir, "provider-b");
    await mkdir(dir);
    const first = await loadOrCreateProviderKeys(dir);
    await writeFile(join(dir, "provider-keys.json"), '{"version":1,"signingKeys":[{"kty":"RSA"}]');
    const replaced = await loadOrCreateProviderKeys(dir);
    expect(replaced.signingKeys[0]?.kid).not.toBe(first.signingKeys[0]?.kid);
    expect(JSON.parse(await readFile(join(dir, "provider-keys.json"), "utf8"))).toMatchObject({ version: 1 });
  });
});

describe("sandboxIdentitySimulators", () => {
  it("defines fr-psc (mutual TLS), lu-aes and be-idp", () => {
    expect(sandboxIdentitySimulators().map((s) => [s.id, s.country, s.tls?.requestClientCertificate === true])).toEqual([
      ["fr-psc", "FR", true],
      ["lu-aes", "LU", false],
      ["be-idp", "BE", false],
    ]);
  });
});
