/**
 * The identity service through the gateway app (buildApp + inject), against
 * the rogue OP of src/protocols/oidc/test-support/: every negative case of
 * the issue asserts its exact error code and that no session is left.
 */
import { createHash } from "node:crypto";
import { createHmac } from "node:crypto";
import { generateKeyPair, SignJWT } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Validator } from "@seriousme/openapi-schema-validator";
import { MemoryVault, VaultCipher, generateVaultKey } from "../../vault/index.js";
import { REDIRECT_URI, startOidcFixture, type OidcFixture } from "../../protocols/oidc/test-support/fixtures.js";
import type { IdTokenDefect } from "../../protocols/oidc/test-support/rogue-op.js";
import type { IdentityConfig } from "./config.js";
import {
  ADMIN_KEY,
  CALLERS,
  OTHER_KEY,
  PMS_KEY,
  RETURN_URL,
  deliverCallback,
  openLoginUrl,
  startIdentityHarness,
  type IdentityHarness,
} from "./test-support/harness.js";

let fx: OidcFixture;
let h: IdentityHarness;
const clock = { offsetMs: 0 };
const now = (): number => Date.now() + clock.offsetMs;

function identityConfig(): IdentityConfig {
  return {
    redirectUri: REDIRECT_URI,
    returnUrls: [RETURN_URL, "https://pms.example/logged-out"],
    providers: [
      {
        id: "rogue",
        issuer: fx.op.issuer,
        trustedCaPem: fx.pki.rootCertPem,
        scope: "openid profile",
        acrValues: "eidas1",
        practitionerIdClaim: "practitioner_id",
        fetchUserinfo: true,
        accessTokens: { audience: "lu-aes-gateway" },
        clients: [
          { clientId: "basic-client", authentication: { method: "client_secret_basic", clientSecret: "s3cr3t:with/odd chars" }, flows: ["code", "ciba"] },
          {
            clientId: "mtls-client",
            authentication: { method: "tls_client_auth" },
            tlsIdentity: { certPem: fx.mtlsIdentity.certPem, keyPem: fx.mtlsIdentity.keyPem, chainPem: fx.mtlsIdentity.chainPem },
            flows: ["ciba", "client_credentials"],
          },
          { clientId: "pkjwt-client", authentication: { method: "private_key_jwt", key: fx.assertionKeyPem }, flows: ["client_credentials"] },
        ],
      },
    ],
  };
}

beforeAll(async () => {
  fx = await startOidcFixture();
  h = await startIdentityHarness(identityConfig(), { service: { now, backgroundPolling: false } });
});
afterAll(async () => {
  await h.close();
  await fx.close();
});
afterEach(() => {
  clock.offsetMs = 0;
  fx.op.idTokenDefect = undefined;
  fx.op.userinfoSubject = undefined;
  fx.op.cibaScript = ["authorization_pending", "approve"];
  fx.op.cibaInterval = 1;
});

const auth = (key: string) => ({ "x-api-key": key });

async function startLogin(key = PMS_KEY, body: Record<string, unknown> = {}): Promise<{ loginUrl: string }> {
  const answer = await h.app.inject({ method: "POST", url: "/v1/auth/login", headers: auth(key), payload: { clientId: "basic-client", returnUrl: RETURN_URL, state: "pms-state-1", ...body } });
  expect(answer.statusCode, answer.body).toBe(201);
  return answer.json();
}

/** The whole browser leg; returns the redirect to the caller's return URL. */
async function browserLogin(key = PMS_KEY): Promise<URL> {
  const { loginUrl } = await startLogin(key);
  const leg = await openLoginUrl(h.app, loginUrl);
  const response = await fx.authorize(leg.authorizationUrl);
  const back = await deliverCallback(h.app, response, leg.cookie);
  expect(back.status, back.body).toBe(302);
  return back.location as URL;
}

async function claim(code: string | null, key = PMS_KEY) {
  return h.app.inject({ method: "POST", url: "/v1/auth/session", headers: auth(key), payload: { code } });
}

async function logIn(key = PMS_KEY): Promise<string> {
  const back = await browserLogin(key);
  const answer = await claim(back.searchParams.get("code"), key);
  expect(answer.statusCode, answer.body).toBe(201);
  return answer.json<{ session: string }>().session;
}

async function expectNoSession(): Promise<void> {
  for (const caller of Object.values(CALLERS)) expect(await h.sessionKeys(caller)).toEqual([]);
}

async function clearSessions(): Promise<void> {
  for (const caller of Object.values(CALLERS)) for (const key of await h.sessionKeys(caller)) await h.vault.delete(key);
}

describe("authorization code + PKCE login", () => {
  it("logs a practitioner in and binds the session to the calling software", async () => {
    const { loginUrl } = await startLogin();
    expect(loginUrl).toMatch(/^http:\/\/127\.0\.0\.1:8080\/v1\/auth\/login\/basic-client\?login=psl_/);
    const leg = await openLoginUrl(h.app, loginUrl);
    expect(leg.cookie).toMatch(/^passerelle_login_[A-Za-z0-9_-]{16}=/);
    const params = leg.authorizationUrl.searchParams;
    expect(params.get("code_challenge_method")).toBe("S256");
    expect(params.get("acr_values")).toBe("eidas1");
    expect(params.get("redirect_uri")).toBe(REDIRECT_URI);
    expect(params.get("state")?.length).toBeGreaterThanOrEqual(43);
    expect(params.get("nonce")?.length).toBeGreaterThanOrEqual(43);

    const back = await deliverCallback(h.app, await fx.authorize(leg.authorizationUrl), leg.cookie);
    expect(back.status).toBe(302);
    expect(back.location?.origin + (back.location?.pathname ?? "")).toBe(RETURN_URL);
    expect(back.location?.searchParams.get("state")).toBe("pms-state-1");
    expect(back.location?.searchParams.get("error")).toBeNull();
    // The verifier went to the token endpoint, and it is the one behind the challenge (RFC 7636 §4.6).
    const verifier = fx.op.tokenRequests.at(-1)?.params.code_verifier as string;
    expect(createHash("sha256").update(verifier).digest("base64url")).toBe(params.get("code_challenge"));
    // No session before the caller claims it.
    await expectNoSession();

    const claimed = await claim(back.location?.searchParams.get("code") ?? null);
    expect(claimed.statusCode).toBe(201);
    const grant = claimed.json<{ session: string; practitioner: { id: string }; provider: string; method: string }>();
    expect(grant).toMatchObject({ provider: "rogue", method: "code", practitioner: { id: "P-rogue-user-1", givenName: "Rogue" } });
    expect(grant.session).toMatch(/^pss_[A-Za-z0-9_-]{43}$/);
    // The vault key is a hash of the handle: the handle itself is nowhere in the store's keys.
    const keys = await h.sessionKeys(CALLERS.pms);
    expect(keys).toHaveLength(1);
    expect(keys[0]).not.toContain(grant.session.slice(4));

    const session = await h.app.inject({ method: "GET", url: "/v1/auth/session", headers: { ...auth(PMS_KEY), "x-session": grant.session } });
    expect(session.statusCode).toBe(200);
    expect(session.json()).toMatchObject({ subject: "rogue-user-1", clientId: "basic-client", practitioner: { id: "P-rogue-user-1" } });
    const trail = await h.audit.query({ limit: 50, action: "identity.login" });
    expect(trail.records.at(-1)).toMatchObject({ outcome: "success", caller: { software: CALLERS.pms, practitioner: "P-rogue-user-1" } });
    // The handle never reached a log line, nor did the one-time code.
    expect(h.logs.join("\n")).not.toContain(grant.session);
    expect(h.logs.join("\n")).not.toContain(back.location?.searchParams.get("code") ?? "unreachable");
    await clearSessions();
  });

  it("refuses an unknown client id (PASSERELLE_AUTH_UNKNOWN_CLIENT)", async () => {
    const answer = await h.app.inject({ method: "POST", url: "/v1/auth/login", headers: auth(PMS_KEY), payload: { clientId: "nope", returnUrl: RETURN_URL } });
    expect(answer.statusCode).toBe(404);
    expect(answer.json()).toMatchObject({ code: "PASSERELLE_AUTH_UNKNOWN_CLIENT" });
    const systemOnly = await h.app.inject({ method: "POST", url: "/v1/auth/login", headers: auth(PMS_KEY), payload: { clientId: "pkjwt-client", returnUrl: RETURN_URL } });
    expect(systemOnly.json()).toMatchObject({ code: "PASSERELLE_AUTH_UNKNOWN_CLIENT" });
    await expectNoSession();
  });

  it("refuses a return URL that is not configured (no open redirector)", async () => {
    const answer = await h.app.inject({ method: "POST", url: "/v1/auth/login", headers: auth(PMS_KEY), payload: { clientId: "basic-client", returnUrl: "https://evil.example/steal" } });
    expect(answer.statusCode).toBe(400);
    expect(answer.json()).toMatchObject({ code: "PASSERELLE_VALIDATION", errors: [{ in: "body", pointer: "/returnUrl" }] });
  });

  it("spends a login ticket once, and only for its client", async () => {
    const { loginUrl } = await startLogin();
    const url = new URL(loginUrl);
    const other = await h.app.inject({ method: "GET", url: `/v1/auth/login/mtls-client${url.search}` });
    expect(other.json()).toMatchObject({ code: "PASSERELLE_AUTH_LOGIN_INVALID", status: 400 });
    await openLoginUrl(h.app, loginUrl);
    const again = await h.app.inject({ method: "GET", url: url.pathname + url.search });
    expect(again.statusCode).toBe(400);
    expect(again.json()).toMatchObject({ code: "PASSERELLE_AUTH_LOGIN_INVALID" });
    const forged = await h.app.inject({ method: "GET", url: "/v1/auth/login/basic-client?login=psl_forged" });
    expect(forged.json()).toMatchObject({ code: "PASSERELLE_AUTH_LOGIN_INVALID" });
  });

  it("refuses a mismatched or missing state, and a browser that did not start the login (PASSERELLE_AUTH_STATE_INVALID)", async () => {
    const { loginUrl } = await startLogin();
    const leg = await openLoginUrl(h.app, loginUrl);
    const response = await fx.authorize(leg.authorizationUrl);
    const tampered = new URLSearchParams(response);
    tampered.set("state", "an-attackers-state");
    for (const [params, cookie] of [
      [tampered, leg.cookie],
      [new URLSearchParams({ code: response.get("code") ?? "" }), leg.cookie],
      [response, undefined],
      [response, `${leg.cookie.split("=")[0]}=another-browser`],
    ] as const) {
      const back = await deliverCallback(h.app, params, cookie);
      expect(back.status).toBe(400);
      expect(JSON.parse(back.body)).toMatchObject({ code: "PASSERELLE_AUTH_STATE_INVALID" });
    }
    await expectNoSession();
  });

  it("refuses a replayed authorization response (the state is spent) and a code replayed into another login", async () => {
    const { loginUrl } = await startLogin();
    const leg = await openLoginUrl(h.app, loginUrl);
    const response = await fx.authorize(leg.authorizationUrl);
    const first = await deliverCallback(h.app, response, leg.cookie);
    expect(first.status).toBe(302);
    const replay = await deliverCallback(h.app, response, leg.cookie);
    expect(replay.status).toBe(400);
    expect(JSON.parse(replay.body)).toMatchObject({ code: "PASSERELLE_AUTH_STATE_INVALID" });

    // Code injection: the (spent) code of the first login delivered with the state of a second one.
    const second = await openLoginUrl(h.app, (await startLogin()).loginUrl);
    const injected = new URLSearchParams({ code: response.get("code") ?? "", state: second.authorizationUrl.searchParams.get("state") ?? "" });
    const back = await deliverCallback(h.app, injected, second.cookie);
    expect(back.location?.searchParams.get("error")).toBe("PASSERELLE_AUTH_CODE_REJECTED");
    const claimed = await claim(back.location?.searchParams.get("code") ?? null);
    expect(claimed.statusCode).toBe(400);
    expect(claimed.json()).toMatchObject({ code: "PASSERELLE_AUTH_CODE_REJECTED", providerError: "invalid_grant" });
    await clearSessions();
  });

  it("refuses a fresh code bound to another login's PKCE challenge (wrong code_verifier)", async () => {
    const a = await openLoginUrl(h.app, (await startLogin()).loginUrl);
    const b = await openLoginUrl(h.app, (await startLogin()).loginUrl);
    const codeForA = (await fx.authorize(a.authorizationUrl)).get("code") ?? "";
    const back = await deliverCallback(h.app, new URLSearchParams({ code: codeForA, state: b.authorizationUrl.searchParams.get("state") ?? "" }), b.cookie);
    const claimed = await claim(back.location?.searchParams.get("code") ?? null);
    expect(claimed.json()).toMatchObject({ code: "PASSERELLE_AUTH_CODE_REJECTED" });
    expect(fx.op.tokenRequests.at(-1)?.params.code_verifier).toBeTypeOf("string");
    await expectNoSession();
  });

  it.each<[IdTokenDefect, string]>([
    ["alg-none", "alg"],
    ["hs256-public-key", "alg"],
    ["wrong-issuer", "iss"],
    ["wrong-audience", "aud"],
    ["expired", "exp"],
    ["future-iat", "iat"],
    ["bad-nonce", "nonce"],
    ["unknown-kid", "kid"],
    ["tampered-signature", "signature"],
  ])("refuses an ID token with %s: PASSERELLE_AUTH_ID_TOKEN_INVALID (%s), no session", async (defect, reason) => {
    fx.op.idTokenDefect = defect;
    const back = await browserLogin();
    expect(back.searchParams.get("error")).toBe("PASSERELLE_AUTH_ID_TOKEN_INVALID");
    const claimed = await claim(back.searchParams.get("code"));
    expect(claimed.statusCode).toBe(502);
    expect(claimed.json()).toMatchObject({ code: "PASSERELLE_AUTH_ID_TOKEN_INVALID", reason });
    await expectNoSession();
    const trail = await h.audit.query({ limit: 500, action: "identity.login" });
    expect(trail.records.at(-1)).toMatchObject({ outcome: "failure", detail: expect.stringContaining(`(${reason})`) });
  });

  it("refuses UserInfo about another subject than the ID token", async () => {
    fx.op.userinfoSubject = "someone-else";
    const claimed = await claim((await browserLogin()).searchParams.get("code"));
    expect(claimed.json()).toMatchObject({ code: "PASSERELLE_AUTH_ID_TOKEN_INVALID", reason: "userinfo_sub" });
    await expectNoSession();
  });

  it("reports a refusal at the provider (access_denied) to the caller", async () => {
    const leg = await openLoginUrl(h.app, (await startLogin()).loginUrl);
    const back = await deliverCallback(h.app, new URLSearchParams({ error: "access_denied", state: leg.authorizationUrl.searchParams.get("state") ?? "" }), leg.cookie);
    expect(back.location?.searchParams.get("error")).toBe("PASSERELLE_AUTH_DENIED");
    expect((await claim(back.location?.searchParams.get("code") ?? null)).json()).toMatchObject({ code: "PASSERELLE_AUTH_DENIED", status: 403 });
    await expectNoSession();
  });

  it("lets only the caller that started the login claim it, once", async () => {
    const back = await browserLogin();
    const code = back.searchParams.get("code");
    const stolen = await claim(code, OTHER_KEY);
    expect(stolen.statusCode).toBe(400);
    expect(stolen.json()).toMatchObject({ code: "PASSERELLE_AUTH_LOGIN_INVALID" });
    expect((await claim(code)).statusCode).toBe(201);
    expect((await claim(code)).json()).toMatchObject({ code: "PASSERELLE_AUTH_LOGIN_INVALID" });
    await clearSessions();
  });
});

describe("sessions", () => {
  it("refuses a session handle from another caller, as if it did not exist, and audits it", async () => {
    const handle = await logIn(PMS_KEY);
    for (const [method, url] of [
      ["GET", "/v1/auth/session"],
      ["POST", "/v1/auth/refresh"],
    ] as const) {
      const answer = await h.app.inject({ method, url, headers: { ...auth(OTHER_KEY), "x-session": handle } });
      expect(answer.statusCode).toBe(401);
      expect(answer.json()).toMatchObject({ code: "PASSERELLE_AUTH_SESSION_INVALID" });
    }
    const logout = await h.app.inject({ method: "POST", url: "/v1/auth/logout", headers: { ...auth(OTHER_KEY), "x-session": handle }, payload: {} });
    expect(logout.json()).toMatchObject({ code: "PASSERELLE_AUTH_SESSION_INVALID" });
    expect(await h.sessionKeys(CALLERS.other)).toEqual([]);
    expect(await h.sessionKeys(CALLERS.pms)).toHaveLength(1); // untouched
    const misuse = await h.audit.query({ limit: 10, action: "identity.session.misuse" });
    expect(misuse.records.at(-1)).toMatchObject({ outcome: "denied", caller: { software: CALLERS.other } });
    const unknown = await h.app.inject({ method: "GET", url: "/v1/auth/session", headers: { ...auth(PMS_KEY), "x-session": "pss_" + "A".repeat(43) } });
    expect(unknown.json()).toMatchObject({ code: "PASSERELLE_AUTH_SESSION_INVALID" });
    expect(unknown.headers["www-authenticate"]).toBe('Session realm="passerelle"');
    await clearSessions();
  });

  it("refreshes with rotation; two gateway instances refreshing at once call the provider once", async () => {
    const handle = await logIn();
    // A second instance on the same vault.
    const twin = await startIdentityHarness(identityConfig(), { vault: h.vault, service: { backgroundPolling: false } });
    try {
      const before = fx.op.tokenRequests.filter((r) => r.grantType === "refresh_token").length;
      const [a, b] = await Promise.all([
        h.app.inject({ method: "POST", url: "/v1/auth/refresh", headers: { ...auth(PMS_KEY), "x-session": handle } }),
        twin.app.inject({ method: "POST", url: "/v1/auth/refresh", headers: { ...auth(PMS_KEY), "x-session": handle } }),
      ]);
      expect([a.statusCode, b.statusCode]).toEqual([200, 200]);
      expect(fx.op.tokenRequests.filter((r) => r.grantType === "refresh_token").length).toBe(before + 1);
      expect(a.json<{ refreshedAt: string }>().refreshedAt).toBe(b.json<{ refreshedAt: string }>().refreshedAt);
      // And the rotated refresh token works next time.
      const again = await twin.app.inject({ method: "POST", url: "/v1/auth/refresh", headers: { ...auth(PMS_KEY), "x-session": handle } });
      expect(again.statusCode).toBe(200);
    } finally {
      await twin.close();
    }
    await clearSessions();
  });

  it("ends the session when the provider refuses the refresh token", async () => {
    const handle = await logIn();
    const tokens = await h.service.sessionTokens({ caller: CALLERS.pms, requestId: "t" }, handle, 0);
    expect(tokens.accessToken).toBeTypeOf("string");
    // Spend the refresh token behind the gateway's back (as a reuse detection would revoke it).
    const key = (await h.sessionKeys(CALLERS.pms))[0] as string;
    const entry = await h.vault.get(key);
    const record = JSON.parse(entry?.value ?? "{}") as { refreshToken: string };
    await h.vault.set(key, JSON.stringify({ ...record, refreshToken: "revoked-token" }), { ttlSeconds: 600, owner: CALLERS.pms });
    const answer = await h.app.inject({ method: "POST", url: "/v1/auth/refresh", headers: { ...auth(PMS_KEY), "x-session": handle } });
    expect(answer.json()).toMatchObject({ code: "PASSERELLE_AUTH_SESSION_INVALID" });
    await expectNoSession();
  });

  it("logs out: forgets the session, revokes the tokens, returns the provider's logout URL", async () => {
    const handle = await logIn();
    const answer = await h.app.inject({
      method: "POST",
      url: "/v1/auth/logout",
      headers: { ...auth(PMS_KEY), "x-session": handle },
      payload: { postLogoutRedirectUri: "https://pms.example/logged-out" },
    });
    expect(answer.statusCode).toBe(200);
    const body = answer.json<{ revoked: boolean; endSessionUrl: string }>();
    expect(body.revoked).toBe(true);
    expect(new URL(body.endSessionUrl).searchParams.get("post_logout_redirect_uri")).toBe("https://pms.example/logged-out");
    await expectNoSession();
    const after = await h.app.inject({ method: "GET", url: "/v1/auth/session", headers: { ...auth(PMS_KEY), "x-session": handle } });
    expect(after.json()).toMatchObject({ code: "PASSERELLE_AUTH_SESSION_INVALID" });
    expect((await h.audit.query({ limit: 10, action: "identity.logout" })).records).toHaveLength(1);
  });

  it("logs out without a body too, and refuses a post-logout URL that is not configured", async () => {
    const handle = await logIn();
    const refused = await h.app.inject({ method: "POST", url: "/v1/auth/logout", headers: { ...auth(PMS_KEY), "x-session": handle }, payload: { postLogoutRedirectUri: "https://evil.example/" } });
    expect(refused.json()).toMatchObject({ code: "PASSERELLE_VALIDATION", errors: [{ pointer: "/postLogoutRedirectUri" }] });
    expect(await h.sessionKeys(CALLERS.pms)).toHaveLength(1);
    const answer = await h.app.inject({ method: "POST", url: "/v1/auth/logout", headers: { ...auth(PMS_KEY), "x-session": handle } });
    expect(answer.statusCode, answer.body).toBe(200);
    await expectNoSession();
  });
});

describe("CIBA", () => {
  async function startCiba(key = PMS_KEY, loginHint = "810000000001", clientId = "mtls-client") {
    return h.app.inject({ method: "POST", url: "/v1/auth/ciba", headers: auth(key), payload: { clientId, loginHint, bindingMessage: "PMS-4821" } });
  }
  const status = (id: string, key = PMS_KEY) => h.app.inject({ method: "GET", url: `/v1/auth/ciba/${id}`, headers: auth(key) });

  it("goes pending → approved with tls_client_auth, honouring the interval, and hands the session to its caller only", async () => {
    const started = await startCiba();
    expect(started.statusCode).toBe(202);
    const { id, status: initial, interval } = started.json<{ id: string; status: string; interval: number }>();
    expect([initial, interval]).toEqual(["pending", 1]);
    const polls = () => fx.op.cibaPolls.length;
    const before = polls();
    // Not due yet: no request to the provider.
    expect((await status(id)).json()).toMatchObject({ status: "pending" });
    expect(polls()).toBe(before);
    expect((await status(id, OTHER_KEY)).json()).toMatchObject({ code: "PASSERELLE_NOT_FOUND" });
    clock.offsetMs = 1_100;
    expect((await status(id)).json()).toMatchObject({ status: "pending" }); // authorization_pending
    expect(polls()).toBe(before + 1);
    clock.offsetMs = 2_200;
    const approved = (await status(id)).json<{ status: string; session: string }>();
    expect(approved.status).toBe("approved");
    const session = await h.app.inject({ method: "GET", url: "/v1/auth/session", headers: { ...auth(PMS_KEY), "x-session": approved.session } });
    expect(session.json()).toMatchObject({ method: "ciba", subject: "810000000001", clientId: "mtls-client" });
    expect((await h.audit.query({ limit: 50, action: "identity.ciba" })).records.at(-1)).toMatchObject({ outcome: "success", caller: { practitioner: "810000000001" } });
    await clearSessions();
  });

  it("adds 5 s to the interval on slow_down, for every later poll", async () => {
    fx.op.cibaScript = ["slow_down", "authorization_pending", "approve"];
    const { id } = (await startCiba()).json<{ id: string }>();
    clock.offsetMs = 1_100;
    expect((await status(id)).json()).toMatchObject({ status: "pending", interval: 6 });
    const after = fx.op.cibaPolls.length;
    clock.offsetMs = 1_100 + 5_500; // interval + 5 not yet elapsed
    await status(id);
    expect(fx.op.cibaPolls.length).toBe(after);
    clock.offsetMs = 1_100 + 6_200;
    expect((await status(id)).json()).toMatchObject({ status: "pending", interval: 6 });
    expect(fx.op.cibaPolls.length).toBe(after + 1);
    await clearSessions();
  });

  it("refuses an unknown user (PASSERELLE_AUTH_UNKNOWN_USER) and leaves nothing", async () => {
    const cibaRecords = async () => (await h.vault.listByOwner(CALLERS.pms)).filter((k) => k.startsWith("identity:ciba:")).length;
    const before = await cibaRecords();
    const answer = await startCiba(PMS_KEY, "nobody");
    expect(answer.statusCode).toBe(422);
    expect(answer.json()).toMatchObject({ code: "PASSERELLE_AUTH_UNKNOWN_USER" });
    expect(await cibaRecords()).toBe(before);
    expect((await h.audit.query({ limit: 100, action: "identity.ciba" })).records.at(-1)).toMatchObject({ outcome: "failure", caller: { practitioner: "nobody" } });
    await expectNoSession();
  });

  it.each([
    ["access_denied", "denied", "PASSERELLE_AUTH_DENIED"],
    ["expired_token", "expired", "PASSERELLE_AUTH_EXPIRED"],
  ] as const)("ends on %s with status %s (%s) and no session", async (step, final, code) => {
    fx.op.cibaScript = [step];
    const { id } = (await startCiba()).json<{ id: string }>();
    clock.offsetMs = 1_100;
    const view = (await status(id)).json();
    expect(view).toMatchObject({ status: final, error: { code } });
    const polls = fx.op.cibaPolls.length;
    clock.offsetMs = 60_000;
    expect((await status(id)).json()).toMatchObject({ status: final });
    expect(fx.op.cibaPolls.length).toBe(polls); // stopped polling
    await expectNoSession();
  });

  it("expires on its own once expires_in has elapsed", async () => {
    fx.op.cibaScript = ["authorization_pending"];
    const { id } = (await startCiba()).json<{ id: string }>();
    const polls = fx.op.cibaPolls.length;
    clock.offsetMs = 121_000;
    expect((await status(id)).json()).toMatchObject({ status: "expired", error: { code: "PASSERELLE_AUTH_EXPIRED" } });
    expect(fx.op.cibaPolls.length).toBe(polls);
    await expectNoSession();
  });

  it("fails, without a session, on a bad ID token", async () => {
    fx.op.cibaScript = ["approve"];
    fx.op.idTokenDefect = "wrong-issuer";
    const { id } = (await startCiba()).json<{ id: string }>();
    clock.offsetMs = 1_100;
    expect((await status(id)).json()).toMatchObject({ status: "failed", error: { code: "PASSERELLE_AUTH_ID_TOKEN_INVALID" } });
    await expectNoSession();
  });

  it("two gateway instances never poll the same request in the same interval", async () => {
    fx.op.cibaScript = ["authorization_pending"];
    const twin = await startIdentityHarness(identityConfig(), { vault: h.vault, service: { now, backgroundPolling: false } });
    try {
      const { id } = (await startCiba()).json<{ id: string }>();
      const before = fx.op.cibaPolls.length;
      clock.offsetMs = 1_100;
      const statuses = await Promise.all([status(id), twin.app.inject({ method: "GET", url: `/v1/auth/ciba/${id}`, headers: auth(PMS_KEY) }), status(id)]);
      expect(statuses.map((s) => s.statusCode)).toEqual([200, 200, 200]);
      expect(fx.op.cibaPolls.length).toBe(before + 1);
    } finally {
      await twin.close();
    }
  });

  it("polls in the background on unref'd timers when enabled", async () => {
    const background = await startIdentityHarness(identityConfig(), { vault: new MemoryVault({ cipher: new VaultCipher(generateVaultKey()), maxEntries: 100 }) });
    try {
      fx.op.cibaScript = ["authorization_pending", "approve"];
      const started = await background.app.inject({ method: "POST", url: "/v1/auth/ciba", headers: auth(PMS_KEY), payload: { clientId: "mtls-client", loginHint: "810000000001" } });
      const { id } = started.json<{ id: string }>();
      const deadline = Date.now() + 5_000;
      // Nobody asks for the status: the timers alone must get the approval.
      while ((await background.sessionKeys(CALLERS.pms)).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(await background.sessionKeys(CALLERS.pms)).toHaveLength(1);
      const view = (await background.app.inject({ method: "GET", url: `/v1/auth/ciba/${id}`, headers: auth(PMS_KEY) })).json();
      expect(view).toMatchObject({ status: "approved" });
    } finally {
      await background.close();
    }
  });
});

describe("tokens", () => {
  const claims = (overrides: Record<string, unknown> = {}) => {
    const t = Math.floor(Date.now() / 1000);
    return { iss: fx.op.issuer, sub: "u1", aud: "lu-aes-gateway", iat: t, exp: t + 300, practitioner_id: "101234-56", ...overrides };
  };
  const validate = (token: string, provider = "rogue") =>
    h.app.inject({ method: "POST", url: "/v1/auth/token/validate", headers: auth(PMS_KEY), payload: { provider, token } });

  it("validates a token brought by the caller", async () => {
    const answer = await validate(await fx.op.signWithPublishedKey(claims()));
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toMatchObject({ active: true, provider: "rogue", subject: "u1", practitionerId: "101234-56" });
  });

  it.each<[string, () => Promise<string>, string]>([
    ["signed with another key", async () => new SignJWT(claims()).setProtectedHeader({ alg: "RS256", kid: fx.op.publishedKid() }).sign((await generateKeyPair("RS256")).privateKey), "signature"],
    ["for another audience", () => fx.op.signWithPublishedKey(claims({ aud: "other-api" })), "aud"],
    ["expired", () => fx.op.signWithPublishedKey(claims({ exp: Math.floor(Date.now() / 1000) - 120 })), "exp"],
    ["unsigned", async () => `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from(JSON.stringify(claims())).toString("base64url")}.`, "alg"],
    [
      "HS256 with the public key",
      async () => {
        const input = `${Buffer.from(JSON.stringify({ alg: "HS256" })).toString("base64url")}.${Buffer.from(JSON.stringify(claims())).toString("base64url")}`;
        return `${input}.${createHmac("sha256", fx.op.publishedPublicKeyPem()).update(input).digest("base64url")}`;
      },
      "alg",
    ],
  ])("rejects a forged token (%s): 401 PASSERELLE_AUTH_TOKEN_INVALID", async (_label, forge, reason) => {
    const answer = await validate(await forge());
    expect(answer.statusCode).toBe(401);
    expect(answer.json()).toMatchObject({ code: "PASSERELLE_AUTH_TOKEN_INVALID", reason });
    expect(answer.headers["www-authenticate"]).toBe('Bearer error="invalid_token"');
  });

  it("gives system tokens to admin callers only, cached until shortly before expiry", async () => {
    const denied = await h.app.inject({ method: "POST", url: "/v1/auth/system-token/pkjwt-client", headers: auth(PMS_KEY) });
    expect(denied.json()).toMatchObject({ code: "PASSERELLE_FORBIDDEN" });
    const count = () => fx.op.tokenRequests.filter((r) => r.grantType === "client_credentials").length;
    const before = count();
    for (const clientId of ["pkjwt-client", "pkjwt-client", "mtls-client"]) {
      const answer = await h.app.inject({ method: "POST", url: `/v1/auth/system-token/${clientId}`, headers: auth(ADMIN_KEY) });
      expect(answer.statusCode, answer.body).toBe(200);
    }
    expect(count()).toBe(before + 2);
    clock.offsetMs = 280_000; // 20 s before expiry: a new one
    await h.app.inject({ method: "POST", url: "/v1/auth/system-token/pkjwt-client", headers: auth(ADMIN_KEY) });
    expect(count()).toBe(before + 3);
    const unknown = await h.app.inject({ method: "POST", url: "/v1/auth/system-token/basic-client", headers: auth(ADMIN_KEY) });
    expect(unknown.json()).toMatchObject({ code: "PASSERELLE_AUTH_UNKNOWN_CLIENT" });
  });
});

describe("OpenAPI", () => {
  it("documents every identity route in a valid OpenAPI 3.1 document", async () => {
    type Operation = { responses: Record<string, { content?: Record<string, { schema?: unknown }> }> };
    const doc = (await h.app.inject({ method: "GET", url: "/openapi.json" })).json<{ paths: Record<string, Record<string, Operation>> }>();
    for (const path of ["/v1/auth/login", "/v1/auth/login/{clientId}", "/v1/auth/callback", "/v1/auth/session", "/v1/auth/refresh", "/v1/auth/logout", "/v1/auth/ciba", "/v1/auth/ciba/{id}", "/v1/auth/token/validate", "/v1/auth/system-token/{clientId}"]) {
      expect(Object.keys(doc.paths), path).toContain(path);
    }
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    for (const [path, operations] of Object.entries(doc.paths)) {
      if (!path.startsWith("/v1/auth/")) continue;
      for (const [method, operation] of Object.entries(operations)) {
        const success = Object.entries(operation.responses).find(([status]) => status.startsWith("2"));
        if (success === undefined) {
          // The browser pages answer with redirects.
          expect(operation.responses["302"], `${method} ${path} documents its redirect`).toBeDefined();
          continue;
        }
        const media = Object.values(success?.[1].content ?? {})[0];
        expect(media?.schema, `${method} ${path} has a response schema`).toBeDefined();
        expect(JSON.stringify(media), `${method} ${path} has an example`).toMatch(/"examples?"/);
        // Every failure is documented as problem+json.
        expect(Object.keys(operation.responses).some((s) => s.startsWith("4")), `${method} ${path} documents its problems`).toBe(true);
      }
    }
  });
});
