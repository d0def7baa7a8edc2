/**
 * Test support (not part of the build): real AeS access tokens from the
 * `lu-aes` simulator — a practitioner logs in through its login page with
 * authorization code + PKCE, as the vendor's app does — and two bad ones
 * made from a real token: the same claims re-signed with the provider's own
 * key but expired, and the same claims signed with a key of our own under
 * the provider's `kid` (a forgery).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { SignJWT, decodeJwt, decodeProtectedHeader, generateKeyPair, importJWK, type JWK } from "jose";
import * as client from "openid-client";
import { Agent, fetch, type RequestInit } from "undici";
import { loginThroughSandboxPage } from "../../idp/login-driver.js";
import { SANDBOX_REDIRECT_URI } from "../../idp/sandbox-clients.js";
import type { RunningSandbox } from "../../start-sandbox.js";

export interface SandboxLogin {
  username: string;
  password: string;
}

/** Sandbox practitioners of lu-aes (src/sandbox/idp/lu-aes-practitioners.ts). */
export const ANNE_WEBER: SandboxLogin = { username: "101234-56", password: "anne-7314" };
export const MARC_SCHMIT: SandboxLogin = { username: "102345-67", password: "marc-2285" };

/** Logs `login` in at lu-aes with the public PKCE client `passerelle-aes-app`; resolves with the access token. */
export async function aesAccessToken(sandbox: RunningSandbox, login: SandboxLogin): Promise<string> {
  const dispatcher = new Agent({ connect: { ca: sandbox.pki.rootCertPem } });
  try {
    const issuer = new URL(`${sandbox.url("lu-aes")}/auth/realms/default`);
    const config = await client.discovery(issuer, "passerelle-aes-app", undefined, client.None(), {
      [client.customFetch]: (url, options) => fetch(url, { ...(options as unknown as RequestInit), dispatcher }) as unknown as Promise<Response>,
    });
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: SANDBOX_REDIRECT_URI,
      scope: "openid profile",
      state,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
    });
    const callback = await loginThroughSandboxPage(url, { ...login, dispatcher });
    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    return tokens.access_token;
  } finally {
    await dispatcher.close();
  }
}

/** `token`'s claims, expired an hour ago, signed with lu-aes's real key (read from its data directory). */
export async function expiredAesAccessToken(dataDir: string, token: string): Promise<string> {
  const stored = JSON.parse(await readFile(join(dataDir, "sandbox", "lu-aes", "provider-keys.json"), "utf8")) as { signingKeys: JWK[] };
  const jwk = stored.signingKeys[0];
  if (jwk === undefined) throw new Error("lu-aes has no signing key");
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ ...decodeJwt(token), iat: now - 7200, exp: now - 3600 })
    .setProtectedHeader(decodeProtectedHeader(token) as { alg: string })
    .sign(await importJWK(jwk, "RS256"));
}

/** `token`'s claims and header (same `kid`), signed with a key lu-aes never had. */
export async function forgedAesAccessToken(token: string): Promise<string> {
  const { privateKey } = await generateKeyPair("RS256");
  return new SignJWT(decodeJwt(token)).setProtectedHeader(decodeProtectedHeader(token) as { alg: string }).sign(privateKey);
}
