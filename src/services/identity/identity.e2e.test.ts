/**
 * End to end over real HTTPS against the sandbox identity providers
 * (src/sandbox/idp/): a real gateway (createGateway, sandbox profile) with
 * its identity module, the three national-style providers configured from
 * the sandbox like real ones (identityProvidersFromSandbox), and a
 * practitioner's browser played with fetch and the providers' own login form.
 * The browser pages (`GET /v1/auth/login/{clientId}`, `GET /v1/auth/callback`)
 * are served by the same gateway, outside caller authentication.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { Agent, fetch } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashApiKey } from "../../config/index.js";
import { createGateway, type Gateway } from "../../gateway/create-gateway.js";
import { loginThroughSandboxPage, sandboxIdentitySimulators, sandboxOidcClients } from "../../sandbox/idp/index.js";
import type { RunningSandbox } from "../../sandbox/index.js";
import type { Vault } from "../../vault/index.js";
import { IDENTITY_MODULE, identityModule, type IdentityModule } from "./module.js";
import type { IdentityService } from "./service.js";

const RETURN_URL = "https://pms.example/after-login";
const DEMO_KEY = "psk_sandbox_identity_e2e_0123456789";
const RIVAL_KEY = "rival-pms-key-0123456789";
const ANNE = { username: "101234-56", password: "anne-7314", providerCode: "101234-56" };
const MARIE = { rpps: "10001234565", subjectNameId: "810001234565" };

let dataDir: string;
let sandbox: RunningSandbox;
let service: IdentityService;
let vault: Vault;
let gateway: Gateway;
let gatewayUrl: string;
/** The practitioner's browser: trusts the sandbox root, keeps no API key. */
let browser: Agent;
/** The e-CPS phone app's side: the fr-psc simulator asks every client for a certificate. */
let phone: Agent;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "passerelle-identity-e2e-"));
  gateway = await createGateway({
    env: {
      PORT: "0",
      DATA_DIR: dataDir,
      RATE_LIMIT_PER_MINUTE: "0",
      SANDBOX_API_KEY: DEMO_KEY,
      API_KEYS: `rival-pms:${hashApiKey(RIVAL_KEY)}`,
      AUTH_RETURN_URLS: RETURN_URL,
    },
    simulators: sandboxIdentitySimulators(),
    modules: [identityModule()],
    logDestination: new Writable({ write: (_chunk, _encoding, callback) => callback() }),
  });
  gatewayUrl = await gateway.listen();
  if (gateway.sandbox === undefined) throw new Error("the sandbox profile runs a sandbox");
  sandbox = gateway.sandbox.sandbox;
  vault = gateway.vault;
  service = (gateway.modules.get(IDENTITY_MODULE) as IdentityModule).service;

  browser = new Agent({ connect: { ca: sandbox.pki.rootCertPem } });
  const psc = (await sandboxOidcClients(sandbox.pki)).find((c) => c.clientId === "passerelle-psc");
  const identity = psc?.tlsIdentity;
  if (identity === undefined) throw new Error("passerelle-psc has no TLS identity");
  phone = new Agent({ connect: { ca: sandbox.pki.rootCertPem, cert: [identity.certPem, ...identity.chainPem].join(""), key: identity.keyPem } });
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([browser?.close(), phone?.close()]);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function api<T>(method: string, path: string, options: { key?: string; session?: string; body?: unknown } = {}): Promise<{ status: number; body: T }> {
  const response = await fetch(`${gatewayUrl}${path}`, {
    method,
    headers: {
      "x-api-key": options.key ?? DEMO_KEY,
      ...(options.session === undefined ? {} : { "x-session": options.session }),
      ...(options.body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  return { status: response.status, body: (await response.json()) as T };
}

describe("authorization code + PKCE on lu-aes, through the gateway", () => {
  it("logs Anne in through the provider's login page, then refreshes, validates her token, and logs out", async () => {
    const started = await api<{ loginUrl: string }>("POST", "/v1/auth/login", { body: { clientId: "passerelle-aes", returnUrl: RETURN_URL, state: "pms-42" } });
    expect(started.status).toBe(201);

    // The browser opens loginUrl: a redirect to the provider, and the cookie binding this browser to the login.
    const opened = await fetch(started.body.loginUrl, { redirect: "manual", dispatcher: browser });
    expect(opened.status).toBe(302);
    const cookie = (opened.headers.getSetCookie()[0] ?? "").split(";")[0] ?? "";
    const authorizationUrl = new URL(opened.headers.get("location") ?? "");
    expect(authorizationUrl.origin).toBe(sandbox.url("lu-aes"));
    expect(authorizationUrl.searchParams.get("code_challenge_method")).toBe("S256");

    // The practitioner types her code médecin and password on the provider's page.
    const callback = await loginThroughSandboxPage(authorizationUrl, { username: ANNE.username, password: ANNE.password, dispatcher: browser });
    expect(callback.origin).toBe(gatewayUrl);
    const back = await fetch(callback, { redirect: "manual", headers: { cookie } });
    expect(back.status).toBe(302);
    const returned = new URL(back.headers.get("location") ?? "");
    expect(returned.origin + returned.pathname).toBe(RETURN_URL);
    expect(returned.searchParams.get("state")).toBe("pms-42");
    expect(returned.searchParams.has("error")).toBe(false);

    // Another calling software cannot use the code; the one that started the login can.
    const code = returned.searchParams.get("code");
    expect((await api<{ code: string }>("POST", "/v1/auth/session", { key: RIVAL_KEY, body: { code } })).body.code).toBe("PASSERELLE_AUTH_LOGIN_INVALID");
    const claimed = await api<{ session: string; practitioner: { id: string; familyName: string }; provider: string }>("POST", "/v1/auth/session", { body: { code } });
    expect(claimed.status).toBe(201);
    expect(claimed.body).toMatchObject({ provider: "lu-aes", practitioner: { id: ANNE.providerCode, givenName: "Anne", familyName: "Weber" } });
    const session = claimed.body.session;

    const seen = await api<{ subject: string; expiresAt: string }>("GET", "/v1/auth/session", { session });
    expect(seen.status).toBe(200);
    const other = await api<{ code: string }>("GET", "/v1/auth/session", { key: RIVAL_KEY, session });
    expect([other.status, other.body.code]).toEqual([401, "PASSERELLE_AUTH_SESSION_INVALID"]);

    // Refresh with rotation at the provider.
    const refreshed = await api<{ refreshedAt: string }>("POST", "/v1/auth/refresh", { session });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refreshedAt).toEqual(expect.any(String));

    // The AeS access token is an RFC 9068 JWT: the gateway validates it as a token brought by a caller would be.
    const tokens = await service.sessionTokens({ caller: "sandbox-demo", requestId: "e2e" }, session);
    const validated = await api<{ active: boolean; practitionerId: string; audience: string[] }>("POST", "/v1/auth/token/validate", {
      body: { provider: "lu-aes", token: tokens.accessToken },
    });
    expect(validated.status).toBe(200);
    expect(validated.body).toMatchObject({ active: true, audience: ["passerelle-aes"], practitionerId: ANNE.providerCode });
    const forged = await api<{ code: string; reason: string }>("POST", "/v1/auth/token/validate", {
      body: { provider: "lu-aes", token: tokens.accessToken.slice(0, -4) + (tokens.accessToken.endsWith("AAAA") ? "BBBB" : "AAAA") },
    });
    expect([forged.status, forged.body.code, forged.body.reason]).toEqual([401, "PASSERELLE_AUTH_TOKEN_INVALID", "signature"]);

    const loggedOut = await api<{ revoked: boolean; endSessionUrl: string }>("POST", "/v1/auth/logout", { session, body: {} });
    expect(loggedOut.status).toBe(200);
    expect(loggedOut.body.revoked).toBe(true);
    expect(new URL(loggedOut.body.endSessionUrl).origin).toBe(sandbox.url("lu-aes"));
    expect((await api<{ code: string }>("GET", "/v1/auth/session", { session })).body.code).toBe("PASSERELLE_AUTH_SESSION_INVALID");
  });

  it("refuses a wrong password at the provider without creating anything", async () => {
    const started = await api<{ loginUrl: string }>("POST", "/v1/auth/login", { body: { clientId: "passerelle-aes-post", returnUrl: RETURN_URL } });
    const opened = await fetch(started.body.loginUrl, { redirect: "manual", dispatcher: browser });
    await expect(
      loginThroughSandboxPage(new URL(opened.headers.get("location") ?? ""), { username: ANNE.username, password: "wrong", dispatcher: browser }),
    ).rejects.toMatchObject({ status: 401 });
    expect(await vault.listByOwner("sandbox-demo")).not.toContainEqual(expect.stringMatching(/^identity:session:/));
  });
});

describe("CIBA on fr-psc with tls_client_auth, through the gateway", () => {
  it("pushes to the practitioner, who approves on the phone; the caller polls and gets the session", async () => {
    const started = await api<{ id: string; status: string; interval: number }>("POST", "/v1/auth/ciba", {
      body: { clientId: "passerelle-psc", loginHint: MARIE.subjectNameId, bindingMessage: "PMS 4821" },
    });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ status: "pending", interval: 2 });

    // The e-CPS app lists the request with its binding message, and the practitioner approves it.
    const listed = await fetch(`${sandbox.url("fr-psc")}/_sandbox/ciba/pending?login_hint=${MARIE.rpps}`, { dispatcher: phone });
    const { pending } = (await listed.json()) as { pending: Array<{ auth_req_id: string; binding_message: string; client_id: string }> };
    const request = pending.find((p) => p.client_id === "passerelle-psc" && p.binding_message === "PMS 4821");
    expect(request).toBeDefined();
    const approved = await fetch(`${sandbox.url("fr-psc")}/_sandbox/ciba/${request?.auth_req_id}/approve`, { method: "POST", dispatcher: phone });
    expect(approved.status).toBe(200);

    let view: { status: string; session?: string } = started.body;
    const deadline = Date.now() + 15_000;
    while (view.status === "pending" && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      view = (await api<{ status: string; session?: string }>("GET", `/v1/auth/ciba/${started.body.id}`)).body;
    }
    expect(view.status).toBe("approved");
    const session = await api<{ method: string; acr: string; practitioner: { id: string; familyName: string } }>("GET", "/v1/auth/session", { session: view.session });
    expect(session.body).toMatchObject({ method: "ciba", provider: "fr-psc", acr: "eidas1", practitioner: { id: MARIE.subjectNameId, familyName: "Durand" } });
    // The id is the caller's alone.
    expect((await api<{ code: string }>("GET", `/v1/auth/ciba/${started.body.id}`, { key: RIVAL_KEY })).body.code).toBe("PASSERELLE_NOT_FOUND");
  });

  it("reports a denial on the phone as denied", async () => {
    const started = await api<{ id: string }>("POST", "/v1/auth/ciba", { body: { clientId: "passerelle-psc", loginHint: MARIE.subjectNameId, bindingMessage: "PMS deny" } });
    const listed = await fetch(`${sandbox.url("fr-psc")}/_sandbox/ciba/pending?login_hint=${MARIE.rpps}`, { dispatcher: phone });
    const { pending } = (await listed.json()) as { pending: Array<{ auth_req_id: string; binding_message: string }> };
    const request = pending.find((p) => p.binding_message === "PMS deny");
    await fetch(`${sandbox.url("fr-psc")}/_sandbox/ciba/${request?.auth_req_id}/deny`, { method: "POST", dispatcher: phone });
    let view: { status: string; error?: { code: string } } = { status: "pending" };
    const deadline = Date.now() + 15_000;
    while (view.status === "pending" && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      view = (await api<{ status: string; error?: { code: string } }>("GET", `/v1/auth/ciba/${started.body.id}`)).body;
    }
    expect(view).toMatchObject({ status: "denied", error: { code: "PASSERELLE_AUTH_DENIED" } });
  });

  it("refuses an unknown practitioner", async () => {
    const answer = await api<{ code: string }>("POST", "/v1/auth/ciba", { body: { clientId: "passerelle-psc", loginHint: "899999999999" } });
    expect([answer.status, answer.body.code]).toEqual([422, "PASSERELLE_AUTH_UNKNOWN_USER"]);
  });
});

describe("client credentials with private_key_jwt on be-idp, through the gateway", () => {
  it("gets a system token, cached, that validates against the provider's JWKS", async () => {
    const first = await api<{ accessToken: string; expiresAt: string }>("POST", "/v1/auth/system-token/passerelle-be-system");
    expect(first.status).toBe(200);
    const second = await api<{ accessToken: string }>("POST", "/v1/auth/system-token/passerelle-be-system");
    expect(second.body.accessToken).toBe(first.body.accessToken);
    const validated = await api<{ active: boolean; audience: string[] }>("POST", "/v1/auth/token/validate", { body: { provider: "be-idp", token: first.body.accessToken } });
    expect(validated.status).toBe(200);
    expect(validated.body.active).toBe(true);
    // Not for every calling software.
    expect((await api<{ code: string }>("POST", "/v1/auth/system-token/passerelle-be-system", { key: RIVAL_KEY })).body.code).toBe("PASSERELLE_FORBIDDEN");
  });
});
