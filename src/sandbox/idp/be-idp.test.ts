import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLocalJWKSet, generateKeyPair, importPKCS8, jwtVerify, type JSONWebKeySet } from "jose";
import * as client from "openid-client";
import { pino } from "pino";
import { Agent, fetch, type RequestInit } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type RunningSandbox } from "../start-sandbox.js";
import { beIdpSimulator } from "./be-idp.js";
import { loginThroughSandboxPage } from "./login-driver.js";
import { sandboxOidcClients, type SandboxOidcClient } from "./sandbox-clients.js";

const ELS = { nihii: "12345625004", ssin: "72041513879", password: "els-3920", sub: "f7152ee8-73a5-40cb-9968-632dfe6fd53d" };

let dataDir: string;
let sandbox: RunningSandbox;
let dispatcher: Agent;
let issuer: string;
let system: SandboxOidcClient;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "passerelle-be-idp-"));
  sandbox = await startSandbox({ dataDir, simulators: [beIdpSimulator()], logger: pino({ level: "silent" }) });
  dispatcher = new Agent({ connect: { ca: sandbox.pki.rootCertPem } });
  issuer = `${sandbox.url("be-idp")}/auth/realms/healthcare`;
  const found = (await sandboxOidcClients(sandbox.pki)).find((c) => c.clientId === "passerelle-be-system");
  if (found === undefined) throw new Error("no system client");
  system = found;
});

afterAll(async () => {
  await sandbox?.close();
  await dispatcher?.close();
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

function discover(clientId: string, auth: client.ClientAuth): Promise<client.Configuration> {
  return client.discovery(new URL(issuer), clientId, undefined, auth, {
    [client.customFetch]: (url, options) =>
      fetch(url, { ...(options as unknown as RequestInit), dispatcher }) as unknown as Promise<Response>,
  });
}

async function systemKey(): Promise<client.PrivateKey> {
  if (system.privateKeyPem === undefined) throw new Error("system client has no key");
  return { key: await importPKCS8(system.privateKeyPem, "RS256"), ...(system.kid === undefined ? {} : { kid: system.kid }) };
}

async function verifyAccessToken(token: string, audience: string) {
  const jwks = (await (await fetch(`${issuer}/protocol/openid-connect/certs`, { dispatcher })).json()) as JSONWebKeySet;
  return jwtVerify(token, createLocalJWKSet(jwks), { issuer, audience, typ: "at+jwt", algorithms: ["RS256"] });
}

describe("be-idp sandbox identity provider", () => {
  it("lists its sandbox practitioners, with their passwords, as test users", () => {
    const running = sandbox.simulators.find((simulator) => simulator.id === "be-idp");
    expect(running?.testUsers).toHaveLength(6);
    expect(running?.testUsers[0]).toMatchObject({ id: "12345625004", password: expect.any(String), sub: expect.any(String) });
  });

  it("publishes discovery for realm healthcare with client credentials and private_key_jwt", async () => {
    const metadata = (await discover("passerelle-be-system", client.PrivateKeyJwt(await systemKey()))).serverMetadata();
    expect(metadata).toMatchObject({
      issuer,
      token_endpoint: `${issuer}/protocol/openid-connect/token`,
      jwks_uri: `${issuer}/protocol/openid-connect/certs`,
    });
    expect(metadata.grant_types_supported).toEqual(expect.arrayContaining(["client_credentials", "authorization_code", "refresh_token"]));
    expect(metadata.token_endpoint_auth_methods_supported).toContain("private_key_jwt");
    expect(metadata.token_endpoint_auth_signing_alg_values_supported).toContain("RS256");
    expect(metadata.userinfo_endpoint).toBeUndefined();
  });

  it("issues a JWT access token to the system client authenticated with a signed assertion (RFC 7523)", async () => {
    const config = await discover("passerelle-be-system", client.PrivateKeyJwt(await systemKey()));
    const tokens = await client.clientCredentialsGrant(config);
    expect(tokens.token_type.toLowerCase()).toBe("bearer");
    expect(tokens.expires_in).toBe(300);
    const { payload } = await verifyAccessToken(tokens.access_token, "passerelle-be-system");
    expect(payload).toMatchObject({ sub: "passerelle-be-system", client_id: "passerelle-be-system", azp: "passerelle-be-system" });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(300);
  });

  it("refuses an assertion signed with another key, or a client secret instead of one", async () => {
    const { privateKey } = await generateKeyPair("RS256");
    const forged = await discover("passerelle-be-system", client.PrivateKeyJwt({ key: privateKey, kid: system.kid ?? "" }));
    await expect(client.clientCredentialsGrant(forged)).rejects.toMatchObject({ error: "invalid_client", status: 401 });
    const withSecret = await discover("passerelle-be-system", client.ClientSecretPost("guess"));
    await expect(client.clientCredentialsGrant(withSecret)).rejects.toMatchObject({ error: "invalid_client", status: 401 });
  });

  it("logs a practitioner in through the public app client with PKCE, by SSIN, and releases NIHII and SSIN", async () => {
    const config = await discover("passerelle-be-app", client.None());
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: "http://127.0.0.1:40999/v1/auth/callback",
      scope: "openid profile",
      state,
      nonce,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
    });
    const callback = await loginThroughSandboxPage(url, { username: ELS.ssin, password: ELS.password, dispatcher });
    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
    expect(tokens.claims()).toMatchObject({ sub: ELS.sub, nihii: ELS.nihii, ssin: ELS.ssin, given_name: "Els", family_name: "Peeters", amr: ["pwd"] });
    const { payload } = await verifyAccessToken(tokens.access_token, "passerelle-be-app");
    expect(payload).toMatchObject({ sub: ELS.sub, nihii: ELS.nihii });
  });

  it("refuses the public client's authorization request without PKCE", async () => {
    const config = await discover("passerelle-be-app", client.None());
    const url = client.buildAuthorizationUrl(config, { redirect_uri: "http://127.0.0.1:8080/v1/auth/callback", scope: "openid" });
    const response = await fetch(url, { dispatcher, redirect: "manual" });
    expect(response.status).toBe(303);
    expect(new URL(response.headers.get("location") ?? "").searchParams.get("error")).toBe("invalid_request");
  });
});
