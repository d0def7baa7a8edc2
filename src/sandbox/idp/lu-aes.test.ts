import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLocalJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet } from "jose";
import * as client from "openid-client";
import { pino } from "pino";
import { Agent, fetch, type RequestInit } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type RunningSandbox } from "../start-sandbox.js";
import { luAesSimulator } from "./lu-aes.js";
import { loginThroughSandboxPage } from "./login-driver.js";
import { sandboxOidcClients, type SandboxOidcClient } from "./sandbox-clients.js";

const ANNE = { username: "101234-56", password: "anne-7314", sub: "ebc623f8-4521-4026-a56e-037ccf7a5a0b" };

let dataDir: string;
let sandbox: RunningSandbox;
let dispatcher: Agent;
let issuer: string;
let clients: SandboxOidcClient[];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "passerelle-lu-aes-"));
  sandbox = await startSandbox({ dataDir, simulators: [luAesSimulator()], logger: pino({ level: "silent" }) });
  dispatcher = new Agent({ connect: { ca: sandbox.pki.rootCertPem } });
  issuer = `${sandbox.url("lu-aes")}/auth/realms/default`;
  clients = (await sandboxOidcClients(sandbox.pki)).filter((c) => c.provider === "lu-aes");
});

afterAll(async () => {
  await sandbox?.close();
  await dispatcher?.close();
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

function sandboxClient(clientId: string): SandboxOidcClient {
  const found = clients.find((c) => c.clientId === clientId);
  if (found === undefined) throw new Error(`no sandbox client ${clientId}`);
  return found;
}

/** openid-client over real HTTPS, trusting the sandbox root only. */
async function discover(clientId: string): Promise<client.Configuration> {
  const registered = sandboxClient(clientId);
  const auth =
    registered.authMethod === "client_secret_basic"
      ? client.ClientSecretBasic(registered.clientSecret)
      : registered.authMethod === "client_secret_post"
        ? client.ClientSecretPost(registered.clientSecret)
        : client.None();
  return client.discovery(new URL(issuer), clientId, undefined, auth, {
    [client.customFetch]: (url, options) =>
      fetch(url, { ...(options as unknown as RequestInit), dispatcher }) as unknown as Promise<Response>,
  });
}

async function providerJwks(): Promise<JSONWebKeySet> {
  const response = await fetch(`${issuer}/protocol/openid-connect/certs`, { dispatcher });
  return (await response.json()) as JSONWebKeySet;
}

interface StartedLogin {
  url: URL;
  verifier: string;
  state: string;
  nonce: string;
}

async function startLogin(config: client.Configuration, redirectUri: string, extra: Record<string, string> = {}): Promise<StartedLogin> {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: "openid profile",
    state,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    ...extra,
  });
  return { url, verifier, state, nonce };
}

async function loginAndExchange(clientId: string, redirectUri = "http://127.0.0.1:8080/v1/auth/callback") {
  const config = await discover(clientId);
  const login = await startLogin(config, redirectUri);
  const callback = await loginThroughSandboxPage(login.url, { ...ANNE, dispatcher });
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: login.verifier,
    expectedState: login.state,
    expectedNonce: login.nonce,
  });
  return { config, tokens, callback };
}

/** GET without following redirects, as a browser's first hop. */
async function getManually(url: URL): Promise<{ status: number; location: string | null; body: string }> {
  const response = await fetch(url, { dispatcher, redirect: "manual" });
  return { status: response.status, location: response.headers.get("location"), body: await response.text() };
}

/** A cookie-keeping client that does not follow redirects: one browser, hop by hop. */
class Browser {
  readonly #cookies: Map<string, string>;

  constructor(cookies = new Map<string, string>()) {
    this.#cookies = cookies;
  }

  async request(url: URL, form?: Record<string, string>): Promise<{ status: number; location: string | null; body: string; headers: Headers }> {
    const response = await fetch(url, {
      dispatcher,
      redirect: "manual",
      method: form === undefined ? "GET" : "POST",
      headers: {
        ...(this.#cookies.size > 0 ? { cookie: [...this.#cookies].map(([name, value]) => `${name}=${value}`).join("; ") } : {}),
        ...(form === undefined ? {} : { "content-type": "application/x-www-form-urlencoded" }),
      },
      ...(form === undefined ? {} : { body: new URLSearchParams(form).toString() }),
    });
    for (const header of response.headers.getSetCookie()) {
      const [pair = ""] = header.split(";");
      const separator = pair.indexOf("=");
      this.#cookies.set(pair.slice(0, separator), pair.slice(separator + 1));
    }
    return { status: response.status, location: response.headers.get("location"), body: await response.text(), headers: response.headers as unknown as Headers };
  }
}

describe("lu-aes sandbox identity provider", () => {
  it("lists its sandbox practitioners, with their passwords, as test users", () => {
    const running = sandbox.simulators.find((simulator) => simulator.id === "lu-aes");
    expect(running?.testUsers).toHaveLength(6);
    expect(running?.testUsers[0]).toMatchObject({ id: "101234-56", password: expect.any(String), sub: expect.any(String) });
  });

  it("publishes Keycloak-style discovery for realm default, with PKCE S256 and no userinfo", async () => {
    const config = await discover("passerelle-aes-app");
    const metadata = config.serverMetadata();
    const endpoints = `${issuer}/protocol/openid-connect`;
    expect(metadata.issuer).toBe(issuer);
    expect(metadata).toMatchObject({
      authorization_endpoint: `${endpoints}/auth`,
      token_endpoint: `${endpoints}/token`,
      jwks_uri: `${endpoints}/certs`,
      end_session_endpoint: `${endpoints}/logout`,
      revocation_endpoint: `${endpoints}/revoke`,
      introspection_endpoint: `${endpoints}/token/introspect`,
      code_challenge_methods_supported: ["S256"],
      response_types_supported: ["code"],
    });
    expect(metadata.userinfo_endpoint).toBeUndefined();
    expect(metadata.token_endpoint_auth_methods_supported).toEqual(
      expect.arrayContaining(["none", "client_secret_basic", "client_secret_post"]),
    );
    const jwks = await providerJwks();
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: "RSA", alg: "RS256", use: "sig" });
    expect(jwks.keys[0]).not.toHaveProperty("d");
  });

  it("runs authorization code + PKCE end to end for the public client, redirecting to another loopback port", async () => {
    const redirectUri = "http://127.0.0.1:53124/v1/auth/callback";
    const { config, tokens, callback } = await loginAndExchange("passerelle-aes-app", redirectUri);
    expect(`${callback.origin}${callback.pathname}`).toBe(redirectUri);

    const idClaims = tokens.claims();
    expect(idClaims).toMatchObject({
      iss: issuer,
      aud: "passerelle-aes-app",
      sub: ANNE.sub,
      provider_code: "101234-56",
      given_name: "Anne",
      family_name: "Weber",
    });

    // RFC 9068 JWT access token: verifiable with the published JWKS alone.
    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, createLocalJWKSet(await providerJwks()), {
      issuer,
      audience: "passerelle-aes-app",
      typ: "at+jwt",
      algorithms: ["RS256"],
    });
    expect(protectedHeader.kid).toBe((await providerJwks()).keys[0]?.kid);
    expect(payload).toMatchObject({ sub: ANNE.sub, azp: "passerelle-aes-app", client_id: "passerelle-aes-app", provider_code: "101234-56" });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(300);
    expect(tokens.expires_in).toBe(300);
    expect(tokens.refresh_token).toEqual(expect.any(String));
    expect(config.serverMetadata().issuer).toBe(issuer);
  });

  it("rotates refresh tokens for the client_secret_basic client and revokes the grant when a used one is replayed", async () => {
    const { config, tokens } = await loginAndExchange("passerelle-aes");
    const first = tokens.refresh_token;
    if (first === undefined) throw new Error("no refresh token");

    const refreshed = await client.refreshTokenGrant(config, first);
    expect(refreshed.refresh_token).toEqual(expect.any(String));
    expect(refreshed.refresh_token).not.toBe(first);
    expect(decodeJwt(refreshed.access_token)).toMatchObject({ aud: "passerelle-aes", sub: ANNE.sub });

    // RFC 9700 §4.14.2: the replay of a rotated token is refused, and ends the whole grant.
    await expect(client.refreshTokenGrant(config, first)).rejects.toMatchObject({ error: "invalid_grant" });
    await expect(client.refreshTokenGrant(config, refreshed.refresh_token ?? "")).rejects.toMatchObject({ error: "invalid_grant" });
  });

  it("authenticates the client_secret_post client and introspects and revokes its tokens", async () => {
    const { config, tokens } = await loginAndExchange("passerelle-aes-post");
    const refreshToken = tokens.refresh_token ?? "";
    // JWT access tokens are validated locally (RFC 9068); the opaque refresh token is what introspection serves.
    const introspection = await client.tokenIntrospection(config, refreshToken);
    expect(introspection).toMatchObject({ active: true, client_id: "passerelle-aes-post", sub: ANNE.sub, iss: issuer });

    await client.tokenRevocation(config, refreshToken);
    expect(await client.tokenIntrospection(config, refreshToken)).toMatchObject({ active: false });
    await expect(client.refreshTokenGrant(config, refreshToken)).rejects.toMatchObject({ error: "invalid_grant" });
  });

  it("signs a practitioner with a session in to a second client after a continue page (single sign-on)", async () => {
    const cookies = new Map<string, string>();
    const appConfig = await discover("passerelle-aes-app");
    const first = await startLogin(appConfig, "http://127.0.0.1:8080/v1/auth/callback");
    await loginThroughSandboxPage(first.url, { ...ANNE, dispatcher, cookies });

    const serverConfig = await discover("passerelle-aes");
    const second = await startLogin(serverConfig, "http://127.0.0.1:8080/v1/auth/callback");
    const browser = new Browser(cookies);
    const page = new URL((await browser.request(second.url)).location ?? "", second.url);
    const continuePage = await browser.request(page);
    expect(continuePage.status).toBe(200);
    expect(continuePage.body).toContain("Continue to passerelle-aes?");
    expect(continuePage.body).not.toContain('name="password"');

    // No password this time: the session answers for the practitioner.
    const callback = await loginThroughSandboxPage(second.url, { username: "nobody", password: "none", dispatcher, cookies });
    const tokens = await client.authorizationCodeGrant(serverConfig, callback, {
      pkceCodeVerifier: second.verifier,
      expectedState: second.state,
      expectedNonce: second.nonce,
    });
    expect(tokens.claims()).toMatchObject({ sub: ANNE.sub, aud: "passerelle-aes" });
  });

  it("ends the session on RP-initiated logout, which retires the session's refresh tokens", async () => {
    const cookies = new Map<string, string>();
    const config = await discover("passerelle-aes");
    const login = await startLogin(config, "http://127.0.0.1:8080/v1/auth/callback");
    const callback = await loginThroughSandboxPage(login.url, { ...ANNE, dispatcher, cookies });
    const tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: login.verifier,
      expectedState: login.state,
      expectedNonce: login.nonce,
    });

    const browser = new Browser(cookies);
    const logoutUrl = client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token ?? "" });
    const confirmation = await browser.request(logoutUrl);
    expect(confirmation.status).toBe(200);
    const action = /<form[^>]*action="([^"]+)"/.exec(confirmation.body)?.[1];
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(confirmation.body)?.[1];
    if (action === undefined || xsrf === undefined) throw new Error(`no logout form in ${confirmation.body}`);
    const done = await browser.request(new URL(action, logoutUrl), { xsrf, logout: "yes" });
    expect(done.status).toBe(303);
    const success = await browser.request(new URL(done.location ?? "", logoutUrl));
    expect(success.body).toContain("You are signed out");

    await expect(client.refreshTokenGrant(config, tokens.refresh_token ?? "")).rejects.toMatchObject({ error: "invalid_grant" });
  });

  it("refuses an authorization request without PKCE, even from a confidential client", async () => {
    for (const clientId of ["passerelle-aes-app", "passerelle-aes"]) {
      const config = await discover(clientId);
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: "http://127.0.0.1:8080/v1/auth/callback",
        scope: "openid",
        state: "s1",
      });
      const response = await getManually(url);
      expect(response.status, clientId).toBe(303);
      const location = new URL(response.location ?? "");
      expect(`${location.origin}${location.pathname}`).toBe("http://127.0.0.1:8080/v1/auth/callback");
      expect(location.searchParams.get("error")).toBe("invalid_request");
      expect(location.searchParams.get("error_description")).toMatch(/PKCE/);
      expect(location.searchParams.get("state")).toBe("s1");
    }
  });

  it("refuses a wrong code_verifier at the token endpoint", async () => {
    const config = await discover("passerelle-aes-app");
    const login = await startLogin(config, "http://127.0.0.1:8080/v1/auth/callback");
    const callback = await loginThroughSandboxPage(login.url, { ...ANNE, dispatcher });
    await expect(
      client.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: client.randomPKCECodeVerifier(),
        expectedState: login.state,
        expectedNonce: login.nonce,
      }),
    ).rejects.toMatchObject({ error: "invalid_grant" });
  });

  it("matches redirect URIs exactly except for the loopback port (RFC 8252 §7.3)", async () => {
    const config = await discover("passerelle-aes-app");
    for (const redirectUri of [
      "http://127.0.0.1:8080/v1/auth/other",
      "http://127.0.0.1:8080/v1/auth/callback/",
      "http://localhost:8080/v1/auth/callback",
      "https://127.0.0.1:8080/v1/auth/callback",
      "https://evil.example/v1/auth/callback",
    ]) {
      const { url } = await startLogin(config, redirectUri);
      const response = await getManually(url);
      // Never redirected to an unregistered URI: the provider answers with its own error page.
      expect(response.status, redirectUri).toBe(400);
      expect(response.location, redirectUri).toBeNull();
      expect(response.body, redirectUri).toContain("invalid_redirect_uri");
    }
    const { url } = await startLogin(config, "http://127.0.0.1:1/v1/auth/callback");
    const accepted = await getManually(url);
    expect(accepted.status).toBe(303);
    expect(new URL(accepted.location ?? "", url).pathname).toMatch(/^\/auth\/realms\/default\/login-actions\/[\w-]+$/);
  });

  it("shows the login page again with 401 on a wrong password, and lets the practitioner cancel", async () => {
    const config = await discover("passerelle-aes-app");
    const login = await startLogin(config, "http://127.0.0.1:8080/v1/auth/callback");
    await expect(loginThroughSandboxPage(login.url, { username: ANNE.username, password: "wrong", dispatcher })).rejects.toMatchObject({
      status: 401,
    });

    const browser = new Browser();
    const page = new URL((await browser.request(login.url)).location ?? "", login.url);
    const form = await browser.request(page);
    expect(form.status).toBe(200);
    expect(form.body).toContain('name="password"');
    const refused = await browser.request(new URL(`${page.pathname}/login`, page), { username: ANNE.username, password: "anne-0000" });
    expect(refused.status).toBe(401);
    expect(refused.body).toContain("Unknown identifier or wrong password.");

    let step = await browser.request(new URL(`${page.pathname}/abort`, page), {});
    while (step.status === 303 && step.location !== null && new URL(step.location, page).origin === page.origin) {
      step = await browser.request(new URL(step.location, page));
    }
    const callback = new URL(step.location ?? "");
    expect(callback.searchParams.get("error")).toBe("access_denied");
    expect(callback.searchParams.get("state")).toBe(login.state);
  });

  it("refuses the login page to a browser without the interaction cookie", async () => {
    const config = await discover("passerelle-aes-app");
    const login = await startLogin(config, "http://127.0.0.1:8080/v1/auth/callback");
    const page = new URL((await new Browser().request(login.url)).location ?? "", login.url);
    const stranger = await new Browser().request(page);
    expect(stranger.status).toBe(400);
    expect(stranger.body).toContain("This sign-in has expired");
    const wrongMethod = await new Browser().request(new URL(`${page.pathname}/login`, page));
    expect(wrongMethod.status).toBe(405);
  });

  it("escapes what it echoes and answers problem+json outside the realm", async () => {
    const notFound = await fetch(`${sandbox.url("lu-aes")}/nowhere?x=<b>`, { dispatcher });
    expect(notFound.status).toBe(404);
    expect(notFound.headers.get("content-type")).toBe("application/problem+json; charset=utf-8");
    expect(await notFound.json()).toMatchObject({ code: "PASSERELLE_NOT_FOUND", status: 404, instance: "/nowhere" });

    const config = await discover("passerelle-aes-app");
    const login = await startLogin(config, "http://127.0.0.1:8080/v1/auth/callback", { login_hint: '"><script>alert(1)</script>' });
    const browser = new Browser();
    const page = await browser.request(new URL((await browser.request(login.url)).location ?? "", login.url));
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(page.body).toContain("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(page.body).not.toContain("<script>");
});
});
