/**
 * A small OpenID Provider for tests that misbehaves on purpose.
 *
 * It speaks enough of the protocol for a relying party to complete the
 * authorization code flow with PKCE, CIBA (poll), refresh (with rotation),
 * client credentials, UserInfo, revocation and RP-initiated logout, over real
 * HTTPS with a certificate from the sandbox PKI — and it breaks whatever the
 * test asks: an ID token signed with `alg: none`, with the public key as an
 * HMAC secret, for another audience, from the future, with an unknown `kid`,
 * a CIBA response without `auth_req_id`, a `slow_down`… (see
 * {@link IdTokenDefect} and the CIBA knobs). Strict where an OP must be
 * strict (single-use codes, PKCE S256, exact redirect URIs, client
 * authentication), so the relying party's own mistakes show too.
 *
 * Test support only: never started by the gateway.
 */
import { createHash, createHmac, createPublicKey, randomBytes, type JsonWebKey as NodeJsonWebKey, type KeyObject, type X509Certificate } from "node:crypto";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import { exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type CryptoKey, type JWK, type JWTPayload } from "jose";
import { SANDBOX_COUNTRIES, type SandboxPki } from "../../../trust/pki/index.js";

export type IdTokenDefect =
  | "alg-none"
  | "hs256-public-key"
  | "alternate-alg"
  | "wrong-issuer"
  | "missing-iss"
  | "wrong-audience"
  | "missing-aud"
  | "untrusted-extra-aud"
  | "azp-mismatch"
  | "aud-array-single"
  | "expired"
  | "missing-exp"
  | "future-iat"
  | "stale-iat"
  | "missing-iat"
  | "missing-sub"
  | "bad-nonce"
  | "missing-nonce"
  | "unknown-kid"
  | "tampered-signature"
  | "no-kid-single-key"
  | "no-kid-multiple-keys"
  | "bad-at-hash"
  | "bad-c-hash";

export type CibaStep = "authorization_pending" | "slow_down" | "access_denied" | "expired_token" | "invalid_grant" | "approve";

export interface RogueClient {
  clientId: string;
  authMethod: "client_secret_basic" | "client_secret_post" | "private_key_jwt" | "tls_client_auth" | "none";
  clientSecret?: string;
  /** private_key_jwt: the client's public key. */
  publicJwk?: JWK;
  /** tls_client_auth: the subject CN the client certificate must carry (RFC 8705 §2.1.2 `tls_client_auth_subject_dn`-like). */
  certificateCommonName?: string;
  /** Exact redirect URIs; http://127.0.0.1/... matches any port (RFC 8252 §7.3). */
  redirectUris?: string[];
}

export interface RogueOpOptions {
  pki: SandboxPki;
  clients: RogueClient[];
  /** Users known to CIBA `login_hint` (others get `unknown_user_id`). */
  users?: string[];
}

export interface RecordedTokenRequest {
  grantType: string;
  clientId: string | undefined;
  params: Record<string, string>;
  at: number;
}

interface IssuedCode {
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  codeChallengeMethod: string;
  nonce: string | undefined;
  subject: string;
  used: boolean;
}

interface CibaRequest {
  clientId: string;
  subject: string;
  script: CibaStep[];
  expiresAt: number;
}

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  publicKeyObject: KeyObject;
}

const SIGNING_ALG = "RS256";

export class RogueOp {
  readonly issuer: string;
  /** Applied to every ID token issued until changed. */
  idTokenDefect: IdTokenDefect | undefined;
  /** Discovery claims this issuer instead of its own (mix-up / issuer-mismatch test). */
  discoveryIssuer: string | undefined;
  /** UserInfo answers with this `sub` instead of the user's. */
  userinfoSubject: string | undefined;
  accessTokenLifetimeSec = 300;
  refreshTokenLifetimeSec = 1800;
  /** Steps of the next CIBA requests' polls; the last one repeats. */
  cibaScript: CibaStep[] = ["authorization_pending", "approve"];
  /** `interval` of backchannel responses; undefined omits it (client default 5 s). */
  cibaInterval: number | undefined = 1;
  cibaExpiresIn = 120;
  cibaStartDefect: "missing-auth-req-id" | "missing-expires-in" | undefined;
  /** Audience of issued access tokens (default: the client id). */
  accessTokenAudience: string | undefined;
  readonly tokenRequests: RecordedTokenRequest[] = [];
  readonly cibaPolls: Array<{ authReqId: string; at: number }> = [];
  readonly revoked: string[] = [];
  /** How many times the JWKS was downloaded. */
  jwksRequests = 0;

  readonly #server: Server;
  readonly #clients: Map<string, RogueClient>;
  readonly #users: Set<string>;
  readonly #codes = new Map<string, IssuedCode>();
  readonly #refreshTokens = new Map<string, { clientId: string; subject: string; expiresAt: number; used: boolean }>();
  readonly #ciba = new Map<string, CibaRequest>();
  readonly #assertionIds = new Set<string>();
  #keys: SigningKey[];
  /** A key that signs but is never published (unknown-kid). */
  readonly #strayKey: SigningKey;

  private constructor(server: Server, issuer: string, clients: RogueClient[], users: string[], keys: SigningKey[], stray: SigningKey) {
    this.#server = server;
    this.issuer = issuer;
    this.#clients = new Map(clients.map((c) => [c.clientId, c]));
    this.#users = new Set(users);
    this.#keys = keys;
    this.#strayKey = stray;
  }

  static async start(options: RogueOpOptions): Promise<RogueOp> {
    const identity = await options.pki.serverIdentity("rogue-op");
    const [k1, stray] = await Promise.all([newSigningKey("k1"), newSigningKey("stray")]);
    // The handler needs the instance, which needs the server's port: filled in once listening.
    const ref: { op?: RogueOp } = {};
    const server = createServer(
      {
        key: identity.keyPem,
        cert: [identity.certPem, ...identity.chainPem].join(""),
        // Client certificates are asked for, not required: only tls_client_auth clients present one.
        requestCert: true,
        rejectUnauthorized: false,
        ca: [options.pki.rootCertPem, ...SANDBOX_COUNTRIES.map((c) => options.pki.caCertPem(c))],
      },
      (req, res) => {
        const op = ref.op;
        if (op === undefined) {
          res.statusCode = 503;
          res.end();
          return;
        }
        op.#handle(req, res).catch((err: unknown) => {
          if (!res.headersSent) json(res, 500, { error: "server_error", error_description: String(err) });
          else res.destroy();
        });
      },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const op = new RogueOp(server, `https://127.0.0.1:${port}/realms/rogue`, options.clients, options.users ?? ["rogue-user-1"], [k1], stray);
    ref.op = op;
    return op;
  }

  get tokenEndpoint(): string {
    return `${this.issuer}/token`;
  }

  get jwksUri(): string {
    return `${this.issuer}/jwks`;
  }

  /** Publishes a new signing key and withdraws the old ones (key rotation). */
  async rotateSigningKey(): Promise<void> {
    this.#keys = [await newSigningKey(`k${Date.now().toString(36)}`)];
  }

  /** Signs any JWT with the published key (for bring-your-own-token tests). */
  async signWithPublishedKey(payload: JWTPayload, header: { alg?: string; kid?: string; typ?: string } = {}): Promise<string> {
    const key = this.#keys[0] as SigningKey;
    return new SignJWT(payload)
      .setProtectedHeader({ alg: header.alg ?? SIGNING_ALG, kid: header.kid ?? key.kid, ...(header.typ ? { typ: header.typ } : {}) })
      .sign(key.privateKey);
  }

  /** The published public key, as PEM (what an attacker uses as an HMAC secret). */
  publishedPublicKeyPem(): string {
    return (this.#keys[0] as SigningKey).publicKeyObject.export({ type: "spki", format: "pem" }).toString();
  }

  publishedKid(): string {
    return (this.#keys[0] as SigningKey).kid;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.issuer);
    const path = url.pathname.slice(new URL(this.issuer).pathname.length);
    const body = req.method === "POST" ? new URLSearchParams(await readBody(req)) : new URLSearchParams();
    switch (`${req.method} ${path}`) {
      case "GET /.well-known/openid-configuration":
        return json(res, 200, this.#discovery());
      case "GET /jwks":
        this.jwksRequests += 1;
        return json(res, 200, { keys: this.#publishedJwks() });
      case "GET /authorize":
        return this.#authorize(url.searchParams, res);
      case "POST /token":
        return this.#token(req, body, res);
      case "POST /bc-authorize":
        return this.#backchannel(req, body, res);
      case "GET /userinfo":
        return this.#userinfo(req, res);
      case "POST /revoke":
        this.revoked.push(body.get("token") ?? "");
        res.statusCode = 200;
        res.end();
        return;
      default:
        return json(res, 404, { error: "not_found" });
    }
  }

  #discovery(): Record<string, unknown> {
    const base = this.issuer;
    return {
      issuer: this.discoveryIssuer ?? this.issuer,
      authorization_endpoint: `${base}/authorize`,
      token_endpoint: `${base}/token`,
      jwks_uri: `${base}/jwks`,
      userinfo_endpoint: `${base}/userinfo`,
      revocation_endpoint: `${base}/revoke`,
      end_session_endpoint: `${base}/logout`,
      backchannel_authentication_endpoint: `${base}/bc-authorize`,
      backchannel_token_delivery_modes_supported: ["poll"],
      response_types_supported: ["code"],
      subject_types_supported: ["public"],
      // Like Keycloak, HS256 is advertised: the RP must not take this list as its allow-list.
      id_token_signing_alg_values_supported: ["RS256", "PS256", "HS256"],
      code_challenge_methods_supported: ["S256"],
      grant_types_supported: ["authorization_code", "refresh_token", "client_credentials", "urn:openid:params:grant-type:ciba"],
      token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "private_key_jwt", "tls_client_auth", "none"],
    };
  }

  #publishedJwks(): JWK[] {
    const keys = this.#keys.map((k) => ({ ...k.publicJwk, kid: k.kid, use: "sig", alg: SIGNING_ALG }));
    if (this.idTokenDefect === "no-kid-single-key") return keys.map(({ kid: _kid, alg: _alg, ...rest }) => rest);
    if (this.idTokenDefect === "no-kid-multiple-keys") {
      return [...keys, { ...this.#strayKey.publicJwk, kid: this.#strayKey.kid, use: "sig" }].map(({ kid: _kid, alg: _alg, ...rest }) => rest);
    }
    return keys;
  }

  #authorize(params: URLSearchParams, res: ServerResponse): void {
    const client = this.#clients.get(params.get("client_id") ?? "");
    const redirectUri = params.get("redirect_uri") ?? "";
    // RFC 6749 §4.1.2.1: with an unknown client or redirect URI, never redirect.
    if (client === undefined || !redirectUriAllowed(client, redirectUri)) return json(res, 400, { error: "invalid_request" });
    const state = params.get("state");
    const fail = (error: string): void => redirect(res, redirectUri, { error, ...(state ? { state } : {}) });
    if (params.get("response_type") !== "code") return fail("unsupported_response_type");
    const challenge = params.get("code_challenge");
    if (challenge === null || params.get("code_challenge_method") !== "S256") return fail("invalid_request");
    const code = randomBytes(24).toString("base64url");
    this.#codes.set(code, {
      clientId: client.clientId,
      redirectUri,
      codeChallenge: challenge,
      codeChallengeMethod: "S256",
      nonce: params.get("nonce") ?? undefined,
      subject: params.get("login_hint") ?? "rogue-user-1",
      used: false,
    });
    redirect(res, redirectUri, { code, ...(state ? { state } : {}) });
  }

  async #token(req: IncomingMessage, body: URLSearchParams, res: ServerResponse): Promise<void> {
    const grantType = body.get("grant_type") ?? "";
    const client = await this.#authenticateClient(req, body);
    this.tokenRequests.push({ grantType, clientId: client?.clientId, params: Object.fromEntries(body), at: Date.now() });
    if (client === undefined) return json(res, 401, { error: "invalid_client" });
    switch (grantType) {
      case "authorization_code": {
        const code = body.get("code") ?? "";
        const issued = this.#codes.get(code);
        if (issued === undefined || issued.used || issued.clientId !== client.clientId) return json(res, 400, { error: "invalid_grant" });
        // RFC 6749 §4.1.2: a code is used once; a replay fails (and would revoke what it gave).
        issued.used = true;
        if (body.get("redirect_uri") !== issued.redirectUri) return json(res, 400, { error: "invalid_grant" });
        const verifier = body.get("code_verifier");
        if (verifier === null || createHash("sha256").update(verifier, "ascii").digest("base64url") !== issued.codeChallenge) {
          return json(res, 400, { error: "invalid_grant", error_description: "PKCE verification failed" });
        }
        return json(res, 200, await this.#tokenResponse(client.clientId, issued.subject, { nonce: issued.nonce, code, withRefresh: true }));
      }
      case "refresh_token": {
        const old = this.#refreshTokens.get(body.get("refresh_token") ?? "");
        if (old === undefined || old.used || old.clientId !== client.clientId || old.expiresAt < Date.now()) {
          return json(res, 400, { error: "invalid_grant" });
        }
        old.used = true; // rotation: the old refresh token is spent
        return json(res, 200, await this.#tokenResponse(client.clientId, old.subject, { withRefresh: true }));
      }
      case "client_credentials": {
        const accessToken = await this.#accessToken(client.clientId, `service-account-${client.clientId}`);
        return json(res, 200, { access_token: accessToken, token_type: "Bearer", expires_in: this.accessTokenLifetimeSec, scope: body.get("scope") ?? "" });
      }
      case "urn:openid:params:grant-type:ciba": {
        const authReqId = body.get("auth_req_id") ?? "";
        this.cibaPolls.push({ authReqId, at: Date.now() });
        const request = this.#ciba.get(authReqId);
        if (request === undefined || request.clientId !== client.clientId) return json(res, 400, { error: "invalid_grant" });
        if (Date.now() > request.expiresAt) return json(res, 400, { error: "expired_token" });
        const step = request.script.length > 1 ? (request.script.shift() as CibaStep) : (request.script[0] as CibaStep);
        if (step === "approve") {
          this.#ciba.delete(authReqId);
          return json(res, 200, await this.#tokenResponse(client.clientId, request.subject, { withRefresh: true }));
        }
        return json(res, 400, { error: step });
      }
      default:
        return json(res, 400, { error: "unsupported_grant_type" });
    }
  }

  async #backchannel(req: IncomingMessage, body: URLSearchParams, res: ServerResponse): Promise<void> {
    const client = await this.#authenticateClient(req, body);
    if (client === undefined) return json(res, 401, { error: "invalid_client" });
    const hint = body.get("login_hint");
    if (hint === null || !this.#users.has(hint)) return json(res, 400, { error: "unknown_user_id" });
    const authReqId = randomBytes(24).toString("base64url");
    this.#ciba.set(authReqId, { clientId: client.clientId, subject: hint, script: [...this.cibaScript], expiresAt: Date.now() + this.cibaExpiresIn * 1000 });
    const answer: Record<string, unknown> = { auth_req_id: authReqId, expires_in: this.cibaExpiresIn };
    if (this.cibaInterval !== undefined) answer.interval = this.cibaInterval;
    if (this.cibaStartDefect === "missing-auth-req-id") delete answer.auth_req_id;
    if (this.cibaStartDefect === "missing-expires-in") delete answer.expires_in;
    return json(res, 200, answer);
  }

  async #userinfo(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (token === undefined) return json(res, 401, { error: "invalid_token" });
    try {
      const key = this.#keys[0] as SigningKey;
      const { payload } = await jwtVerify(token, await importJWK(key.publicJwk, SIGNING_ALG), { issuer: this.issuer });
      return json(res, 200, { sub: this.userinfoSubject ?? payload.sub, given_name: "Rogue", family_name: "User", practitioner_id: `P-${String(payload.sub)}` });
    } catch {
      return json(res, 401, { error: "invalid_token" });
    }
  }

  async #authenticateClient(req: IncomingMessage, body: URLSearchParams): Promise<RogueClient | undefined> {
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    let claimedId = body.get("client_id") ?? undefined;
    let basicSecret: string | undefined;
    if (basic !== undefined) {
      const [id, secret] = Buffer.from(basic, "base64").toString("utf8").split(":");
      // RFC 6749 §2.3.1: form-urlencoded before base64.
      claimedId = decodeURIComponent((id ?? "").replaceAll("+", " "));
      basicSecret = decodeURIComponent((secret ?? "").replaceAll("+", " "));
    }
    const client = claimedId === undefined ? undefined : this.#clients.get(claimedId);
    if (client === undefined) return undefined;
    switch (client.authMethod) {
      case "client_secret_basic":
        return basicSecret !== undefined && basicSecret === client.clientSecret ? client : undefined;
      case "client_secret_post":
        return basic === undefined && body.get("client_secret") === client.clientSecret ? client : undefined;
      case "none":
        return basic === undefined && !body.has("client_secret") ? client : undefined;
      case "tls_client_auth": {
        const socket = req.socket as TLSSocket;
        const cert = socket.authorized ? socket.getPeerX509Certificate() : undefined;
        return cert !== undefined && commonNameOf(cert) === client.certificateCommonName ? client : undefined;
      }
      case "private_key_jwt": {
        if (body.get("client_assertion_type") !== "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" || client.publicJwk === undefined) return undefined;
        try {
          const key = await importJWK(client.publicJwk, client.publicJwk.alg ?? "RS256");
          const { payload } = await jwtVerify(body.get("client_assertion") ?? "", key, {
            issuer: client.clientId,
            subject: client.clientId,
            audience: [this.issuer, this.tokenEndpoint],
            requiredClaims: ["jti", "exp"],
          });
          // RFC 7523 §3 point 7: a jti is used once.
          if (this.#assertionIds.has(payload.jti as string)) return undefined;
          this.#assertionIds.add(payload.jti as string);
          return client;
        } catch {
          return undefined;
        }
      }
      default:
        return undefined;
    }
  }

  async #accessToken(clientId: string, subject: string): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return this.signWithPublishedKey(
      { iss: this.issuer, sub: subject, aud: this.accessTokenAudience ?? clientId, azp: clientId, iat: now, exp: now + this.accessTokenLifetimeSec, scope: "openid" },
      { typ: "at+jwt" },
    );
  }

  async #tokenResponse(clientId: string, subject: string, options: { nonce?: string | undefined; code?: string; withRefresh: boolean }): Promise<Record<string, unknown>> {
    const accessToken = await this.#accessToken(clientId, subject);
    const response: Record<string, unknown> = {
      access_token: accessToken,
      token_type: "Bearer",
      expires_in: this.accessTokenLifetimeSec,
      scope: "openid",
      id_token: await this.#idToken(clientId, subject, options.nonce, accessToken, options.code),
    };
    if (options.withRefresh) {
      const refreshToken = randomBytes(24).toString("base64url");
      this.#refreshTokens.set(refreshToken, { clientId, subject, expiresAt: Date.now() + this.refreshTokenLifetimeSec * 1000, used: false });
      response.refresh_token = refreshToken;
      response.refresh_expires_in = this.refreshTokenLifetimeSec;
    }
    return response;
  }

  async #idToken(clientId: string, subject: string, nonce: string | undefined, accessToken: string, code: string | undefined): Promise<string> {
    const defect = this.idTokenDefect;
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = {
      iss: this.issuer,
      sub: subject,
      aud: clientId,
      exp: now + 300,
      iat: now,
      auth_time: now,
      at_hash: halfHash(accessToken),
      given_name: "Rogue",
      family_name: "User",
      ...(nonce === undefined ? {} : { nonce }),
      ...(code === undefined ? {} : { c_hash: halfHash(code) }),
    };
    switch (defect) {
      case "wrong-issuer":
        claims.iss = "https://evil.example/realms/rogue";
        break;
      case "missing-iss":
        delete claims.iss;
        break;
      case "wrong-audience":
        claims.aud = "some-other-client";
        break;
      case "missing-aud":
        delete claims.aud;
        break;
      case "untrusted-extra-aud":
        claims.aud = [clientId, "untrusted-party"];
        claims.azp = clientId;
        break;
      case "azp-mismatch":
        claims.aud = [clientId, "other-client"];
        claims.azp = "other-client";
        break;
      case "aud-array-single":
        claims.aud = [clientId];
        break;
      case "expired":
        claims.iat = now - 900;
        claims.exp = now - 600;
        break;
      case "missing-exp":
        delete claims.exp;
        break;
      case "future-iat":
        claims.iat = now + 3600;
        claims.exp = now + 7200;
        break;
      case "stale-iat":
        claims.iat = now - 7 * 24 * 3600;
        break;
      case "missing-iat":
        delete claims.iat;
        break;
      case "missing-sub":
        delete claims.sub;
        break;
      case "bad-nonce":
        claims.nonce = "not-the-nonce-you-sent";
        break;
      case "missing-nonce":
        delete claims.nonce;
        break;
      case "bad-at-hash":
        claims.at_hash = halfHash("another access token");
        break;
      case "bad-c-hash":
        claims.c_hash = halfHash("another code");
        break;
      default:
        break;
    }
    const key = this.#keys[0] as SigningKey;
    switch (defect) {
      case "alg-none":
        return `${b64json({ alg: "none", typ: "JWT" })}.${b64json(claims)}.`;
      case "hs256-public-key": {
        // The classic alg-confusion forgery: HMAC keyed with the public key everyone can download.
        const input = `${b64json({ alg: "HS256", typ: "JWT", kid: key.kid })}.${b64json(claims)}`;
        return `${input}.${createHmac("sha256", this.publishedPublicKeyPem()).update(input).digest("base64url")}`;
      }
      case "alternate-alg":
        return new SignJWT(claims).setProtectedHeader({ alg: "PS256", kid: key.kid, typ: "JWT" }).sign(await reimport(key, "PS256"));
      case "unknown-kid":
        return new SignJWT(claims).setProtectedHeader({ alg: SIGNING_ALG, kid: "unknown-kid", typ: "JWT" }).sign(this.#strayKey.privateKey);
      case "no-kid-single-key":
      case "no-kid-multiple-keys":
        return new SignJWT(claims).setProtectedHeader({ alg: SIGNING_ALG, typ: "JWT" }).sign(key.privateKey);
      case "tampered-signature": {
        const jws = await new SignJWT(claims).setProtectedHeader({ alg: SIGNING_ALG, kid: key.kid, typ: "JWT" }).sign(key.privateKey);
        const [h, p, s] = jws.split(".") as [string, string, string];
        const sig = Buffer.from(s, "base64url");
        sig[10] = (sig[10] as number) ^ 0x01;
        return `${h}.${p}.${sig.toString("base64url")}`;
      }
      default:
        return new SignJWT(claims).setProtectedHeader({ alg: SIGNING_ALG, kid: key.kid, typ: "JWT" }).sign(key.privateKey);
    }
  }
}

async function newSigningKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  return { kid, privateKey, publicJwk, publicKeyObject: createPublicKey({ key: publicJwk as NodeJsonWebKey, format: "jwk" }) };
}

/** The same RSA key for another algorithm (WebCrypto binds a key to one). */
async function reimport(key: SigningKey, alg: string): Promise<CryptoKey> {
  const jwk = await exportJWK(key.privateKey);
  return (await importJWK({ ...jwk, alg }, alg)) as CryptoKey;
}

function halfHash(value: string): string {
  const digest = createHash("sha256").update(value, "ascii").digest();
  return digest.subarray(0, 16).toString("base64url");
}

function b64json(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

function commonNameOf(cert: X509Certificate): string | undefined {
  return /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1];
}

function redirectUriAllowed(client: RogueClient, redirectUri: string): boolean {
  for (const registered of client.redirectUris ?? []) {
    if (registered === redirectUri) return true;
    // RFC 8252 §7.3: loopback IP redirect URIs match on any port.
    try {
      const a = new URL(registered);
      const b = new URL(redirectUri);
      if (a.hostname === "127.0.0.1" && b.hostname === "127.0.0.1" && a.protocol === b.protocol && a.pathname === b.pathname && a.search === b.search) return true;
    } catch {
      // not a URL: no match
    }
  }
  return false;
}

function redirect(res: ServerResponse, to: string, params: Record<string, string>): void {
  const url = new URL(to);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  res.statusCode = 302;
  res.setHeader("location", url.toString());
  res.end();
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader("content-type", "application/json");
  res.setHeader("cache-control", "no-store");
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}
