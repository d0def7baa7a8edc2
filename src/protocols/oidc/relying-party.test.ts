import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { UpstreamError } from "../../transport/index.js";
import type { ClientAuthentication } from "./client-auth.js";
import { IdTokenRejectedError, ProviderRejectedError } from "./errors.js";
import { OidcHttpClient } from "./http-client.js";
import { checkRefreshedIdToken } from "./id-token-checks.js";
import { OidcRelyingParty, type OidcTokens } from "./relying-party.js";
import { REDIRECT_URI, startOidcFixture, type OidcFixture } from "./test-support/fixtures.js";
import type { IdTokenDefect } from "./test-support/rogue-op.js";

let fx: OidcFixture;
const httpClients: OidcHttpClient[] = [];

beforeAll(async () => {
  fx = await startOidcFixture();
});
afterAll(async () => {
  await fx.close();
});
afterEach(async () => {
  vi.useRealTimers();
  fx.op.idTokenDefect = undefined;
  fx.op.discoveryIssuer = undefined;
  fx.op.userinfoSubject = undefined;
  fx.op.cibaStartDefect = undefined;
  fx.op.cibaScript = ["authorization_pending", "approve"];
  for (const c of httpClients.splice(0)) await c.close();
});

function http(options: { mtls?: boolean } = {}): OidcHttpClient {
  const client = new OidcHttpClient({
    name: "rogue",
    tls: {
      ca: fx.pki.rootCertPem,
      ...(options.mtls ? { cert: [fx.mtlsIdentity.certPem, ...fx.mtlsIdentity.chainPem].join(""), key: fx.mtlsIdentity.keyPem } : {}),
    },
  });
  httpClients.push(client);
  return client;
}

const BASIC: ClientAuthentication = { method: "client_secret_basic", clientSecret: "s3cr3t:with/odd chars" };

async function relyingParty(clientId = "basic-client", authentication: ClientAuthentication = BASIC, mtls = false): Promise<OidcRelyingParty> {
  return OidcRelyingParty.create({ provider: "rogue", issuer: fx.op.issuer, clientId, authentication, fetch: http({ mtls }).fetch });
}

/** The whole code flow: authorization URL, the browser leg, the code exchange. */
async function logIn(rp: OidcRelyingParty): Promise<OidcTokens> {
  const state = `state-${Math.random()}`;
  const nonce = `nonce-${Math.random()}`;
  const codeVerifier = "v".repeat(20) + Math.random().toString(36).slice(2).padEnd(30, "x");
  const url = await rp.authorizationUrl({ redirectUri: REDIRECT_URI, scope: "openid profile", state, nonce, codeVerifier, acrValues: "eidas1" });
  const response = await fx.authorize(url);
  return rp.exchangeCode({ redirectUri: REDIRECT_URI, response, expectedState: state, expectedNonce: nonce, codeVerifier });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (error: unknown) => error,
  );
}

describe("authorization code flow with PKCE", () => {
  it("sends state, nonce, S256 challenge and the profile's acr_values, and completes", async () => {
    const rp = await relyingParty();
    const url = await rp.authorizationUrl({ redirectUri: REDIRECT_URI, scope: "openid", state: "s", nonce: "n", codeVerifier: "a".repeat(43) });
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
    // RFC 7636 Appendix B computes the challenge the same way (SHA-256, base64url).
    expect(url.searchParams.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.has("code_verifier")).toBe(false);
    await expect(rp.authorizationUrl({ redirectUri: REDIRECT_URI, scope: "openid", state: "s", nonce: "n", codeVerifier: "a".repeat(43), extra: { state: "x" } })).rejects.toThrow(TypeError);

    const tokens = await logIn(rp);
    expect(tokens.claims?.sub).toBe("rogue-user-1");
    expect(tokens.refreshToken).toBeTypeOf("string");
    expect(tokens.expiresAt).toBeGreaterThan(Date.now() / 1000);
    const exchange = fx.op.tokenRequests.at(-1);
    expect(exchange?.params.code_verifier).toMatch(/^v{20}/);
    expect(exchange?.params.redirect_uri).toBe(REDIRECT_URI);
  });

  it.each<[string, ClientAuthentication, boolean]>([
    ["post-client", { method: "client_secret_post", clientSecret: "post-secret" }, false],
    ["public-client", { method: "none" }, false],
    ["mtls-client", { method: "tls_client_auth" }, true],
  ])("authenticates %s as registered", async (clientId, auth, mtls) => {
    const tokens = await logIn(await relyingParty(clientId, auth, mtls));
    expect(tokens.accessToken).toBeTypeOf("string");
    expect(fx.op.tokenRequests.at(-1)?.clientId).toBe(clientId);
  });

  it("authenticates with private_key_jwt from a PEM key (RFC 7523)", async () => {
    const tokens = await logIn(await relyingParty("pkjwt-client", { method: "private_key_jwt", key: fx.assertionKeyPem }));
    expect(tokens.claims?.aud).toBe("pkjwt-client");
    expect(fx.op.tokenRequests.at(-1)?.params.client_assertion_type).toBe("urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
  });

  it("refuses a tls_client_auth client without its certificate (invalid_client)", async () => {
    const error = await rejection(logIn(await relyingParty("mtls-client", { method: "tls_client_auth" }, false)));
    expect(error).toBeInstanceOf(ProviderRejectedError);
    expect((error as ProviderRejectedError).oauthError).toBe("invalid_client");
  });

  it("refuses a replayed authorization response: the code is single-use", async () => {
    const rp = await relyingParty();
    const [state, nonce, verifier] = ["replay-state", "replay-nonce", "r".repeat(50)];
    const url = await rp.authorizationUrl({ redirectUri: REDIRECT_URI, scope: "openid", state, nonce, codeVerifier: verifier });
    const replay = await fx.authorize(url);
    await rp.exchangeCode({ redirectUri: REDIRECT_URI, response: replay, expectedState: state, expectedNonce: nonce, codeVerifier: verifier });
    const error = await rejection(rp.exchangeCode({ redirectUri: REDIRECT_URI, response: replay, expectedState: state, expectedNonce: nonce, codeVerifier: verifier }));
    expect(error).toMatchObject({ code: "PASSERELLE_AUTH_PROVIDER_ERROR", oauthError: "invalid_grant" });
  });

  it("refuses a code with the wrong PKCE verifier (code injection)", async () => {
    const rp = await relyingParty();
    const url = await rp.authorizationUrl({ redirectUri: REDIRECT_URI, scope: "openid", state: "s1", nonce: "n1", codeVerifier: "x".repeat(50) });
    const response = await fx.authorize(url);
    const error = await rejection(rp.exchangeCode({ redirectUri: REDIRECT_URI, response, expectedState: "s1", expectedNonce: "n1", codeVerifier: "y".repeat(50) }));
    expect(error).toMatchObject({ code: "PASSERELLE_AUTH_PROVIDER_ERROR", oauthError: "invalid_grant" });
  });

  it("refuses an authorization response whose state differs from the expected one", async () => {
    const rp = await relyingParty();
    const url = await rp.authorizationUrl({ redirectUri: REDIRECT_URI, scope: "openid", state: "mine", nonce: "n", codeVerifier: "z".repeat(50) });
    const response = await fx.authorize(url);
    response.set("state", "theirs");
    const error = await rejection(rp.exchangeCode({ redirectUri: REDIRECT_URI, response, expectedState: "mine", expectedNonce: "n", codeVerifier: "z".repeat(50) }));
    expect(error).toMatchObject({ code: "PASSERELLE_AUTH_PROVIDER_ERROR" });
    // Nothing was sent to the token endpoint for it.
    expect(fx.op.tokenRequests.at(-1)?.params.code).not.toBe(response.get("code"));
  });
});

describe("ID token validation (OIDC Core §3.1.3.7, conformance checklist §1-2)", () => {
  it.each<[IdTokenDefect, string]>([
    ["alg-none", "alg"],
    ["hs256-public-key", "alg"],
    ["alternate-alg", "alg"],
    ["wrong-issuer", "iss"],
    ["missing-iss", "missing_claim"],
    ["wrong-audience", "aud"],
    ["missing-aud", "missing_claim"],
    ["untrusted-extra-aud", "aud"],
    ["azp-mismatch", "azp"],
    ["expired", "exp"],
    ["missing-exp", "missing_claim"],
    ["future-iat", "iat"],
    ["stale-iat", "iat"],
    ["missing-iat", "missing_claim"],
    ["missing-sub", "missing_claim"],
    ["bad-nonce", "nonce"],
    ["missing-nonce", "nonce"],
    ["unknown-kid", "kid"],
    ["tampered-signature", "signature"],
    ["no-kid-multiple-keys", "kid"],
    ["bad-at-hash", "at_hash"],
    ["bad-c-hash", "c_hash"],
  ])("rejects an ID token with %s (reason %s)", async (defect, reason) => {
    fx.op.idTokenDefect = defect;
    const error = await rejection(logIn(await relyingParty()));
    expect(error).toBeInstanceOf(IdTokenRejectedError);
    expect(error).toMatchObject({ code: "PASSERELLE_AUTH_ID_TOKEN_INVALID", reason, status: 502 });
  });

  it.each<IdTokenDefect>(["no-kid-single-key", "aud-array-single"])("accepts %s (conformance: kid absent with one key; aud as a one-element array)", async (defect) => {
    fx.op.idTokenDefect = defect;
    const tokens = await logIn(await relyingParty());
    expect(tokens.claims?.sub).toBe("rogue-user-1");
  });

  it("refetches the JWKS for an unknown kid once the cache is a minute old, not before (key rotation)", async () => {
    const rp = await relyingParty();
    await logIn(rp);
    const fetchesBefore = fx.op.jwksRequests;
    await fx.op.rotateSigningKey();
    // Within a minute of the last download an unknown kid is not worth a refetch: rejected.
    await expect(logIn(rp)).rejects.toMatchObject({ reason: "kid" });
    expect(fx.op.jwksRequests).toBe(fetchesBefore);
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 61_000 });
    const tokens = await logIn(rp);
    expect(tokens.claims?.sub).toBe("rogue-user-1");
    expect(fx.op.jwksRequests).toBe(fetchesBefore + 1);
  });

  it("rejects a UserInfo response about another subject", async () => {
    const rp = await relyingParty();
    const tokens = await logIn(rp);
    expect((await rp.fetchUserInfo(tokens.accessToken, "rogue-user-1")).sub).toBe("rogue-user-1");
    fx.op.userinfoSubject = "someone-else";
    await expect(rp.fetchUserInfo(tokens.accessToken, "rogue-user-1")).rejects.toMatchObject({ reason: "userinfo_sub" });
  });

  it("rejects a discovery document that names another issuer (mix-up defence)", async () => {
    fx.op.discoveryIssuer = "https://evil.example/realms/rogue";
    await expect(relyingParty()).rejects.toMatchObject({ code: "PASSERELLE_AUTH_PROVIDER_ERROR" });
  });

  it("refuses to be configured for alg none or HMAC ID tokens, or a clock tolerance above 60 s", async () => {
    const base = { provider: "rogue", issuer: fx.op.issuer, clientId: "basic-client", authentication: BASIC, fetch: http().fetch };
    await expect(OidcRelyingParty.create({ ...base, idTokenAlgorithm: "none" })).rejects.toThrow(TypeError);
    await expect(OidcRelyingParty.create({ ...base, idTokenAlgorithm: "HS256" })).rejects.toThrow(TypeError);
    await expect(OidcRelyingParty.create({ ...base, clockToleranceSec: 61 })).rejects.toThrow(TypeError);
  });
});

describe("refresh, revocation, logout", () => {
  it("rotates refresh tokens; the spent one is refused", async () => {
    const rp = await relyingParty();
    const first = await logIn(rp);
    const original = { iss: first.claims?.iss as string, sub: first.claims?.sub as string };
    const second = await rp.refresh(first.refreshToken as string, original);
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(second.refreshExpiresAt).toBeGreaterThan(Date.now() / 1000);
    await expect(rp.refresh(first.refreshToken as string, original)).rejects.toMatchObject({ oauthError: "invalid_grant" });
  });

  it("rejects a refreshed ID token about another subject or from another issuer (OIDC Core §12.2)", () => {
    const claims = { iss: "https://a", sub: "u2", aud: "c", exp: 2, iat: 1 };
    expect(() => checkRefreshedIdToken({ iss: "https://a", sub: "u1" }, claims)).toThrow(expect.objectContaining({ reason: "sub" }));
    expect(() => checkRefreshedIdToken({ iss: "https://b", sub: "u2" }, claims)).toThrow(expect.objectContaining({ reason: "iss" }));
  });

  it("revokes tokens and builds the RP-initiated logout URL", async () => {
    const rp = await relyingParty();
    const tokens = await logIn(rp);
    await rp.revoke(tokens.refreshToken as string, "refresh_token");
    expect(fx.op.revoked).toContain(tokens.refreshToken);
    const url = rp.endSessionUrl({ idTokenHint: tokens.idToken as string, postLogoutRedirectUri: "https://app.example/bye", state: "st" });
    expect(url?.origin + (url?.pathname ?? "")).toBe(`${fx.op.issuer}/logout`);
    expect(url?.searchParams.get("id_token_hint")).toBe(tokens.idToken);
    expect(url?.searchParams.get("post_logout_redirect_uri")).toBe("https://app.example/bye");
  });
});

describe("client credentials (system clients)", () => {
  it("uses private_key_jwt signed by a Signer (RSA-PSS and ECDSA keys that never leave it)", async () => {
    for (const [clientId, signer, algorithm] of [
      ["signer-rsa-client", fx.rsaSigner, "PS256"],
      ["signer-ec-client", fx.ecSigner, "ES256"],
    ] as const) {
      const before = signer.signatures;
      const rp = await relyingParty(clientId, { method: "private_key_jwt", key: signer, algorithm, kid: `${clientId}-key` });
      const tokens = await rp.clientCredentials({ scope: "system" });
      expect(tokens.accessToken).toBeTypeOf("string");
      expect(tokens.claims).toBeUndefined();
      expect(signer.signatures).toBe(before + 1);
      const assertion = fx.op.tokenRequests.at(-1)?.params.client_assertion as string;
      expect(JSON.parse(Buffer.from(assertion.split(".")[0] as string, "base64url").toString())).toMatchObject({ alg: algorithm, kid: `${clientId}-key` });
    }
  });

  it("uses tls_client_auth", async () => {
    const tokens = await (await relyingParty("mtls-client", { method: "tls_client_auth" }, true)).clientCredentials();
    expect(tokens.accessToken).toBeTypeOf("string");
  });

  it("a private_key_jwt assertion with the wrong key is invalid_client", async () => {
    const rp = await relyingParty("signer-ec-client", { method: "private_key_jwt", key: fx.assertionKeyPem });
    await expect(rp.clientCredentials()).rejects.toMatchObject({ oauthError: "invalid_client" });
  });
});

describe("CIBA (poll mode)", () => {
  it("starts, reports pending, then approves with a validated ID token", async () => {
    const rp = await relyingParty();
    expect(rp.supportsBackchannel).toBe(true);
    const start = await rp.startBackchannel({ loginHint: "810000000001", scope: "openid", bindingMessage: "A1B2" });
    expect(start).toMatchObject({ expiresIn: 120, interval: 1 });
    expect(await rp.pollBackchannel(start.authReqId)).toEqual({ status: "pending" });
    const approved = await rp.pollBackchannel(start.authReqId);
    expect(approved.status).toBe("approved");
    expect(approved.status === "approved" && approved.tokens.claims?.sub).toBe("810000000001");
  });

  it.each([
    ["slow_down", "slow_down"],
    ["access_denied", "denied"],
    ["expired_token", "expired"],
  ] as const)("maps %s to %s", async (step, status) => {
    fx.op.cibaScript = [step, "approve"];
    const rp = await relyingParty();
    const start = await rp.startBackchannel({ loginHint: "810000000001", scope: "openid" });
    expect(await rp.pollBackchannel(start.authReqId)).toEqual({ status });
  });

  it("defaults the interval to 5 s when the provider gives none (CIBA Core §7.3)", async () => {
    fx.op.cibaInterval = undefined;
    try {
      const start = await (await relyingParty()).startBackchannel({ loginHint: "810000000001", scope: "openid" });
      expect(start.interval).toBe(5);
    } finally {
      fx.op.cibaInterval = 1;
    }
  });

  it("surfaces unknown_user_id, and refuses responses without auth_req_id or expires_in", async () => {
    const rp = await relyingParty();
    await expect(rp.startBackchannel({ loginHint: "nobody", scope: "openid" })).rejects.toMatchObject({ oauthError: "unknown_user_id" });
    for (const defect of ["missing-auth-req-id", "missing-expires-in"] as const) {
      fx.op.cibaStartDefect = defect;
      await expect(rp.startBackchannel({ loginHint: "810000000001", scope: "openid" })).rejects.toMatchObject({ code: "PASSERELLE_AUTH_PROVIDER_ERROR" });
    }
  });

  it("rejects a bad ID token in the CIBA token response too", async () => {
    fx.op.cibaScript = ["approve"];
    fx.op.idTokenDefect = "wrong-audience";
    const rp = await relyingParty();
    const start = await rp.startBackchannel({ loginHint: "810000000001", scope: "openid" });
    await expect(rp.pollBackchannel(start.authReqId)).rejects.toMatchObject({ code: "PASSERELLE_AUTH_ID_TOKEN_INVALID", reason: "aud" });
  });
});

describe("transport", () => {
  it("fails with the transport's problem when the provider's certificate is not trusted", async () => {
    // Node's default roots: the sandbox root is not among them.
    const untrusting = new OidcHttpClient({ name: "rogue" });
    httpClients.push(untrusting);
    const error = await rejection(OidcRelyingParty.create({ provider: "rogue", issuer: fx.op.issuer, clientId: "basic-client", authentication: BASIC, fetch: untrusting.fetch }));
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ code: "PASSERELLE_UPSTREAM_UNAVAILABLE" });
  });
});
