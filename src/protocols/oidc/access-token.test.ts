import { createHmac } from "node:crypto";
import { generateKeyPair, jwtVerify, SignJWT, type JWTVerifyGetKey } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { remoteKeys, validateAccessToken, type AccessTokenPolicy } from "./access-token.js";
import { OidcHttpClient } from "./http-client.js";
import { startOidcFixture, type OidcFixture } from "./test-support/fixtures.js";

let fx: OidcFixture;
let http: OidcHttpClient;
let keys: JWTVerifyGetKey;
let policy: AccessTokenPolicy;

beforeAll(async () => {
  fx = await startOidcFixture();
  http = new OidcHttpClient({ name: "rogue", tls: { ca: fx.pki.rootCertPem } });
  keys = remoteKeys(fx.op.jwksUri, { fetch: http.fetch, cooldownMs: 0 });
  policy = { issuer: fx.op.issuer, audience: "lu-aes-gateway", clockToleranceSec: 30 };
});
afterAll(async () => {
  await http.close();
  await fx.close();
});

function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return { iss: fx.op.issuer, sub: "ebc623f8", aud: "lu-aes-gateway", azp: "passerelle-aes-app", iat: now, exp: now + 300, scope: "openid profile", ...overrides };
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url");

describe("validateAccessToken (bring your own token)", () => {
  it("accepts a token signed with the issuer's key, for our audience, in date", async () => {
    const token = await fx.op.signWithPublishedKey(claims(), { typ: "at+jwt" });
    const validated = await validateAccessToken(token, keys, { ...policy, authorizedParties: ["passerelle-aes-app"], requiredType: "at+jwt" });
    expect(validated).toMatchObject({ subject: "ebc623f8", issuer: fx.op.issuer, audience: ["lu-aes-gateway"], authorizedParty: "passerelle-aes-app", scope: "openid profile" });
  });

  it.each<[string, () => Promise<string>, string]>([
    [
      "signed by another key under the issuer's kid",
      async () => {
        const attacker = await generateKeyPair("RS256");
        return new SignJWT(claims()).setProtectedHeader({ alg: "RS256", kid: fx.op.publishedKid() }).sign(attacker.privateKey);
      },
      "signature",
    ],
    ["for another audience", () => fx.op.signWithPublishedKey(claims({ aud: "some-other-api" })), "aud"],
    ["from another issuer", () => fx.op.signWithPublishedKey(claims({ iss: "https://evil.example" })), "iss"],
    ["expired beyond the tolerance", () => fx.op.signWithPublishedKey(claims({ iat: Math.floor(Date.now() / 1000) - 900, exp: Math.floor(Date.now() / 1000) - 60 })), "exp"],
    ["without exp", () => fx.op.signWithPublishedKey(claims({ exp: undefined })), "exp"],
    ["not yet valid", () => fx.op.signWithPublishedKey(claims({ nbf: Math.floor(Date.now() / 1000) + 600 })), "nbf"],
    ["issued in the future", () => fx.op.signWithPublishedKey(claims({ iat: Math.floor(Date.now() / 1000) + 600 })), "iat"],
    ["unsigned (alg none)", async () => `${b64({ alg: "none" })}.${b64(claims())}.`, "alg"],
    [
      "HS256 with the public key as secret (alg confusion)",
      async () => {
        const input = `${b64({ alg: "HS256", kid: fx.op.publishedKid() })}.${b64(claims())}`;
        return `${input}.${createHmac("sha256", fx.op.publishedPublicKeyPem()).update(input).digest("base64url")}`;
      },
      "alg",
    ],
    [
      "with a kid the issuer never published",
      async () => {
        const attacker = await generateKeyPair("RS256");
        return new SignJWT(claims()).setProtectedHeader({ alg: "RS256", kid: "forged-kid" }).sign(attacker.privateKey);
      },
      "kid",
    ],
    ["that is an ID token (nonce)", () => fx.op.signWithPublishedKey(claims({ nonce: "n" })), "typ"],
    ["that is garbage", async () => "not.a.jwt", "malformed"],
  ])("rejects a token %s", async (_label, forge, reason) => {
    const token = await forge();
    await expect(validateAccessToken(token, keys, policy)).rejects.toMatchObject({
      code: "PASSERELLE_AUTH_TOKEN_INVALID",
      status: 401,
      reason,
      headers: { "www-authenticate": 'Bearer error="invalid_token"' },
    });
  });

  it("rejects an azp outside the allow-list, and a typ other than the required one", async () => {
    const token = await fx.op.signWithPublishedKey(claims({ azp: "stranger" }));
    await expect(validateAccessToken(token, keys, { ...policy, authorizedParties: ["passerelle-aes-app"] })).rejects.toMatchObject({ reason: "azp" });
    await expect(validateAccessToken(token, keys, { ...policy, requiredType: "at+jwt" })).rejects.toMatchObject({ reason: "typ" });
  });

  it("refuses a policy allowing none or HMAC, or a tolerance above 60 s", async () => {
    const token = await fx.op.signWithPublishedKey(claims());
    await expect(validateAccessToken(token, keys, { ...policy, algorithms: ["HS256"] })).rejects.toThrow(TypeError);
    await expect(validateAccessToken(token, keys, { ...policy, algorithms: ["none"] })).rejects.toThrow(TypeError);
    await expect(validateAccessToken(token, keys, { ...policy, clockToleranceSec: 120 })).rejects.toThrow(TypeError);
    await expect(validateAccessToken(token, keys, { ...policy, audience: [] })).rejects.toThrow(TypeError);
  });

  it("follows key rotation, and an unknown kid refetches at most once per cooldown", async () => {
    const cooled = remoteKeys(fx.op.jwksUri, { fetch: http.fetch, cooldownMs: 60_000 });
    await validateAccessToken(await fx.op.signWithPublishedKey(claims()), cooled, policy);
    const fetches = fx.op.jwksRequests;
    const attacker = await generateKeyPair("RS256");
    for (let i = 0; i < 5; i++) {
      const forged = await new SignJWT(claims()).setProtectedHeader({ alg: "RS256", kid: `forged-${i}` }).sign(attacker.privateKey);
      await expect(validateAccessToken(forged, cooled, policy)).rejects.toMatchObject({ reason: "kid" });
    }
    expect(fx.op.jwksRequests).toBe(fetches);

    // With the cooldown elapsed (0 here), a rotated key is fetched on first sight.
    await fx.op.rotateSigningKey();
    const rotated = await fx.op.signWithPublishedKey(claims());
    expect((await validateAccessToken(rotated, keys, policy)).subject).toBe("ebc623f8");
  });

  it("costs about what bare jose.jwtVerify costs with the same cached keys", async () => {
    const token = await fx.op.signWithPublishedKey(claims());
    const options = { issuer: policy.issuer, audience: "lu-aes-gateway", algorithms: ["RS256"] };
    await jwtVerify(token, keys, options);
    const time = async (run: () => Promise<unknown>): Promise<number> => {
      const start = performance.now();
      for (let i = 0; i < 300; i++) await run();
      return performance.now() - start;
    };
    const bare = await time(() => jwtVerify(token, keys, options));
    const ours = await time(() => validateAccessToken(token, keys, policy));
    // Generous bound for a shared CI machine; bench/ measures the real ratio.
    expect(ours).toBeLessThan(bare * 2 + 50);
  });
});
