import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import * as client from "openid-client";
import { pino } from "pino";
import { Agent, fetch, type RequestInit } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PemIdentity } from "../../trust/pki/index.js";
import { startSandbox, type RunningSandbox } from "../start-sandbox.js";
import { frPscSimulator } from "./fr-psc.js";
import { loginThroughSandboxPage } from "./login-driver.js";
import { CIBA_GRANT_TYPE, sandboxOidcClients } from "./sandbox-clients.js";

const MARIE = { rpps: "10001234565", subjectNameId: "810001234565", sub: "16bc869d-244b-4cd2-afcb-20b0f99f18cb", password: "marie-4821" };
const CLIENT_ID = "passerelle-psc";

let dataDir: string;
let sandbox: RunningSandbox;
let baseUrl: string;
let issuer: string;
/** Presents the registered client certificate of passerelle-psc. */
let clientAgent: Agent;
/** Presents another certificate from the sandbox PKI (a valid chain, not the registered subject). */
let intruderAgent: Agent;
let config: client.Configuration;

function agentFor(identity: PemIdentity): Agent {
  return new Agent({
    connect: { ca: sandbox.pki.rootCertPem, cert: [identity.certPem, ...identity.chainPem].join(""), key: identity.keyPem },
  });
}

function discover(agent: Agent): Promise<client.Configuration> {
  return client.discovery(new URL(issuer), CLIENT_ID, undefined, client.TlsClientAuth(), {
    [client.customFetch]: (url, options) =>
      fetch(url, { ...(options as unknown as RequestInit), dispatcher: agent }) as unknown as Promise<Response>,
  });
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "passerelle-fr-psc-"));
  sandbox = await startSandbox({ dataDir, simulators: [frPscSimulator()], logger: pino({ level: "silent" }) });
  baseUrl = sandbox.url("fr-psc");
  issuer = `${baseUrl}/auth/realms/esante-wallet`;
  const registered = (await sandboxOidcClients(sandbox.pki)).find((c) => c.clientId === CLIENT_ID);
  if (registered?.tlsIdentity === undefined) throw new Error("passerelle-psc has no TLS identity");
  clientAgent = agentFor(registered.tlsIdentity);
  intruderAgent = agentFor(
    await sandbox.pki.clientIdentity("fr-psc-intruder", {
      country: "FR",
      subject: { C: "FR", O: "Passerelle Sandbox", OU: "Pro Sante Connect client", CN: "someone-else" },
    }),
  );
  config = await discover(clientAgent);
});

afterAll(async () => {
  await sandbox?.close();
  await Promise.all([clientAgent?.close(), intruderAgent?.close()]);
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

async function startCiba(parameters: Record<string, string> = {}): Promise<string> {
  return (await initiateCiba(parameters)).auth_req_id;
}

async function initiateCiba(parameters: Record<string, string> = {}) {
  const response = await client.initiateBackchannelAuthentication(config, {
    scope: "openid scope_all",
    login_hint: MARIE.subjectNameId,
    binding_message: "Code 42",
    acr_values: "eidas1",
    ...parameters,
  });
  expect(response.expires_in).toBeGreaterThan(0);
  return response;
}

function pollOnce(authReqId: string) {
  // One token request per call (the library's poller would wait `interval`, 5 s by default).
  return client.genericGrantRequest(config, CIBA_GRANT_TYPE, { auth_req_id: authReqId });
}

async function sandboxApi(path: string, method: "GET" | "POST" = "GET", form?: Record<string, string>) {
  return fetch(`${baseUrl}${path}`, {
    method,
    dispatcher: clientAgent,
    redirect: "manual",
    ...(form === undefined ? {} : { body: new URLSearchParams(form).toString(), headers: { "content-type": "application/x-www-form-urlencoded" } }),
  });
}

describe("fr-psc sandbox identity provider", () => {
  it("lists its sandbox practitioners, with their passwords, as test users", () => {
    const running = sandbox.simulators.find((simulator) => simulator.id === "fr-psc");
    expect(running?.testUsers).toHaveLength(6);
    expect(running?.testUsers[0]).toMatchObject({ id: "810001234565", password: expect.any(String), sub: expect.any(String) });
  });

  it("publishes discovery for realm esante-wallet with CIBA at ext/ciba/auth and mutual-TLS client auth", () => {
    const metadata = config.serverMetadata();
    const endpoints = `${issuer}/protocol/openid-connect`;
    expect(metadata).toMatchObject({
      issuer,
      authorization_endpoint: `${endpoints}/auth`,
      token_endpoint: `${endpoints}/token`,
      userinfo_endpoint: `${endpoints}/userinfo`,
      jwks_uri: `${endpoints}/certs`,
      end_session_endpoint: `${endpoints}/logout`,
      revocation_endpoint: `${endpoints}/revoke`,
      backchannel_authentication_endpoint: `${endpoints}/ext/ciba/auth`,
      backchannel_token_delivery_modes_supported: ["poll"],
      acr_values_supported: ["eidas1"],
    });
    expect(metadata.grant_types_supported).toEqual(expect.arrayContaining(["authorization_code", "refresh_token", CIBA_GRANT_TYPE]));
    expect(metadata.token_endpoint_auth_methods_supported).toContain("tls_client_auth");
    expect(metadata.scopes_supported).toEqual(expect.arrayContaining(["openid", "scope_all"]));
    expect(metadata.claims_supported).toEqual(expect.arrayContaining(["SubjectNameID", "SubjectRefPro", "given_name", "family_name"]));
  });

  it("refuses a TLS connection without a client certificate", async () => {
    const anonymous = new Agent({ connect: { ca: sandbox.pki.rootCertPem } });
    try {
      await expect(fetch(`${issuer}/.well-known/openid-configuration`, { dispatcher: anonymous })).rejects.toThrow();
    } finally {
      await anonymous.close();
    }
  });

  it("runs CIBA in poll mode: pending, approved through the test API, then tokens", async () => {
    const authReqId = await startCiba();
    await expect(pollOnce(authReqId)).rejects.toMatchObject({ error: "authorization_pending" });

    const listed = await sandboxApi(`/_sandbox/ciba/pending?login_hint=${MARIE.rpps}`);
    expect(listed.status).toBe(200);
    const { pending } = (await listed.json()) as { pending: Array<Record<string, unknown>> };
    expect(pending).toContainEqual(
      expect.objectContaining({
        auth_req_id: authReqId,
        login_hint: MARIE.subjectNameId,
        practitioner: "Dr Marie Durand",
        client_id: CLIENT_ID,
        binding_message: "Code 42",
        scope: "openid scope_all",
      }),
    );

    const approved = await sandboxApi(`/_sandbox/ciba/${authReqId}/approve`, "POST");
    expect(approved.status).toBe(200);
    expect(await approved.json()).toEqual({ auth_req_id: authReqId, status: "approved" });

    const tokens = await pollOnce(authReqId);
    expect(tokens.claims()).toMatchObject({
      iss: issuer,
      aud: CLIENT_ID,
      sub: MARIE.sub,
      acr: "eidas1",
      amr: ["mfa"],
      SubjectNameID: MARIE.subjectNameId,
      given_name: "Marie",
      family_name: "Durand",
    });
    expect(tokens.refresh_token).toEqual(expect.any(String));
    expect(tokens.expires_in).toBe(300);

    const userinfo = await client.fetchUserInfo(config, tokens.access_token, MARIE.sub);
    expect(userinfo).toMatchObject({
      SubjectNameID: MARIE.subjectNameId,
      SubjectRefPro: { codeCivilite: "MME", exercices: [expect.objectContaining({ codeProfession: "10", codeSavoirFaire: "SM54" })] },
    });

    // The request is decided once, and its tokens are issued once.
    expect((await sandboxApi(`/_sandbox/ciba/${authReqId}/approve`, "POST")).status).toBe(404);
    await expect(pollOnce(authReqId)).rejects.toMatchObject({ error: "invalid_grant" });
  });

  it("paces polling: interval 2 s, slow_down and 5 s more for a client polling too fast (CIBA Core §11)", async () => {
    const response = await initiateCiba();
    expect(response.interval).toBe(2);
    expect(response.expires_in).toBe(120);
    await expect(pollOnce(response.auth_req_id)).rejects.toMatchObject({ error: "authorization_pending" });
    await expect(pollOnce(response.auth_req_id)).rejects.toMatchObject({
      error: "slow_down",
      error_description: expect.stringContaining("7 seconds"),
    });
    await expect(pollOnce(response.auth_req_id)).rejects.toMatchObject({
      error: "slow_down",
      error_description: expect.stringContaining("12 seconds"),
    });
    // Once decided, the answer comes whatever the pace.
    await sandboxApi(`/_sandbox/ciba/${response.auth_req_id}/approve`, "POST");
    expect((await pollOnce(response.auth_req_id)).access_token).toEqual(expect.any(String));
  });

  it("answers access_denied once the practitioner refuses", async () => {
    const authReqId = await startCiba();
    const denied = await sandboxApi(`/_sandbox/ciba/${authReqId}/deny`, "POST");
    expect(await denied.json()).toEqual({ auth_req_id: authReqId, status: "denied" });
    await expect(pollOnce(authReqId)).rejects.toMatchObject({ error: "access_denied" });
  });

  it("answers expired_token once the requested expiry has passed", async () => {
    const authReqId = await startCiba({ requested_expiry: "1" });
    await sleep(1100);
    await expect(pollOnce(authReqId)).rejects.toMatchObject({ error: "expired_token" });
    expect((await sandboxApi(`/_sandbox/ciba/${authReqId}/approve`, "POST")).status).toBe(404);
  });

  it("refuses CIBA for an unknown practitioner with unknown_user_id, and a binding message it cannot show", async () => {
    await expect(startCiba({ login_hint: "810009999999" })).rejects.toMatchObject({ error: "unknown_user_id" });
    await expect(startCiba({ binding_message: "<b>42</b>" })).rejects.toMatchObject({ error: "invalid_binding_message" });
  });

  it("refuses a client certificate whose subject is not the registered one with invalid_client", async () => {
    const intruderConfig = await discover(intruderAgent);
    await expect(
      client.initiateBackchannelAuthentication(intruderConfig, { scope: "openid scope_all", login_hint: MARIE.subjectNameId }),
    ).rejects.toMatchObject({ error: "invalid_client", status: 401 });
  });

  it("shows pending requests on the approval page, escaped, and takes decisions posted from it", async () => {
    const authReqId = await startCiba({ binding_message: "Passerelle 'A&B'" });
    const page = await sandboxApi(`/_sandbox/ciba?login_hint=${MARIE.subjectNameId}`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const html = await page.text();
    expect(html).toContain("Passerelle &#39;A&amp;B&#39;");
    expect(html).toContain(`action="/_sandbox/ciba/${authReqId}/approve"`);
    expect(html).toContain("Dr Marie Durand");

    const decided = await sandboxApi(`/_sandbox/ciba/${authReqId}/deny`, "POST", { from: "page", login_hint: MARIE.subjectNameId });
    expect(decided.status).toBe(303);
    expect(decided.headers.get("location")).toBe(`/_sandbox/ciba?login_hint=${MARIE.subjectNameId}`);
    expect(await (await sandboxApi(`/_sandbox/ciba?login_hint=${MARIE.subjectNameId}`)).text()).not.toContain(authReqId);
  });

  it("answers the test API's misuse with problem+json", async () => {
    const unknown = await sandboxApi("/_sandbox/ciba/not-a-request/approve", "POST");
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ code: "PASSERELLE_NOT_FOUND", instance: "/_sandbox/ciba/not-a-request/approve" });
    const wrongMethod = await sandboxApi("/_sandbox/ciba/not-a-request/approve");
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("POST");
  });

  it("logs a practitioner in with the authorization code flow and acr eidas1", async () => {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: "http://127.0.0.1:8080/v1/auth/callback",
      scope: "openid scope_all",
      acr_values: "eidas1",
      state,
      nonce,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
    });
    const callback = await loginThroughSandboxPage(url, { username: MARIE.rpps, password: MARIE.password, dispatcher: clientAgent });
    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
    expect(tokens.claims()).toMatchObject({ sub: MARIE.sub, acr: "eidas1", amr: ["pwd"], SubjectNameID: MARIE.subjectNameId });
  });
});
