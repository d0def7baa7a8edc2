/**
 * What a vendor app and its users' browsers do against a running gateway, over
 * HTTP only: call the REST API with an API key, log a practitioner in through
 * the gateway (authorization code flow at a sandbox identity provider), get a
 * vendor app's own access token (code + PKCE), and run the independent
 * checking tools. For end-to-end tests of the shipped command: nothing here
 * reaches into the gateway's process.
 */
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { fetch, type Dispatcher, type Headers } from "undici";
import { loginThroughSandboxPage } from "../../src/sandbox/idp/index.js";

export interface Answer {
  status: number;
  headers: Headers;
  body: Buffer;
  text(): string;
  json<T>(): T;
}

export interface CallOptions {
  method?: string;
  body?: Buffer | string;
  contentType?: string;
  headers?: Record<string, string>;
  /** Another caller's key; `null` sends none. */
  apiKey?: string | null;
}

export interface GatewayClient {
  readonly url: string;
  call(path: string, options?: CallOptions): Promise<Answer>;
  /** POST of a JSON body (none when `undefined`); throws with the problem unless the answer is 2xx, else returns the JSON answer. */
  postJson<T>(path: string, body: unknown, headers?: Record<string, string>): Promise<T>;
}

export function gatewayClient(url: string, apiKey: string): GatewayClient {
  const call = async (path: string, options: CallOptions = {}): Promise<Answer> => {
    const key = options.apiKey === undefined ? apiKey : options.apiKey;
    const response = await fetch(`${url}${path}`, {
      method: options.method ?? (options.body === undefined ? "GET" : "POST"),
      headers: {
        ...(key === null ? {} : { "x-api-key": key }),
        ...(options.contentType === undefined ? {} : { "content-type": options.contentType }),
        ...options.headers,
      },
      ...(options.body === undefined ? {} : { body: options.body }),
    });
    const body = Buffer.from(await response.arrayBuffer());
    return { status: response.status, headers: response.headers, body, text: () => body.toString("utf8"), json: <T>() => JSON.parse(body.toString("utf8")) as T };
  };
  return {
    url,
    call,
    async postJson<T>(path: string, body: unknown, headers: Record<string, string> = {}): Promise<T> {
      const answer = await call(path, { method: "POST", headers, ...(body === undefined ? {} : { body: JSON.stringify(body), contentType: "application/json" }) });
      if (answer.status < 200 || answer.status > 299) throw new Error(`POST ${path}: ${answer.status} ${answer.text()}`);
      return answer.json<T>();
    },
  };
}

export interface SandboxUser {
  username: string;
  password: string;
}

/**
 * A practitioner's login through the gateway, as the vendor app drives it
 * (README, "Logging a practitioner in"): POST /v1/auth/login, the browser
 * opens loginUrl (the gateway sets its login cookie and redirects to the
 * provider), logs in on the provider's page, comes back to the gateway's
 * callback, which sends it to `returnUrl` with a one-time code; the app
 * exchanges the code for a session handle (POST /v1/auth/session).
 * `browser` trusts the sandbox root (the provider serves HTTPS).
 */
export async function loginThroughGateway(gateway: GatewayClient, browser: Dispatcher, who: SandboxUser, options: { clientId: string; returnUrl: string }): Promise<string> {
  const state = randomBytes(8).toString("hex");
  const { loginUrl } = await gateway.postJson<{ loginUrl: string }>("/v1/auth/login", { clientId: options.clientId, returnUrl: options.returnUrl, state });
  const opened = await fetch(loginUrl, { redirect: "manual", dispatcher: browser });
  await opened.body?.cancel();
  const cookie = (opened.headers.getSetCookie()[0] ?? "").split(";")[0] ?? "";
  const toProvider = opened.headers.get("location");
  if (opened.status !== 302 || toProvider === null) throw new Error(`GET ${loginUrl}: ${opened.status}, expected a redirect to the provider`);
  const callback = await loginThroughSandboxPage(new URL(toProvider), { ...who, dispatcher: browser });
  const back = await fetch(callback, { redirect: "manual", headers: { cookie } });
  await back.body?.cancel();
  const returned = new URL(back.headers.get("location") ?? "", options.returnUrl);
  const code = returned.searchParams.get("code");
  if (code === null || returned.searchParams.get("state") !== state) throw new Error(`the login through the gateway failed: ${returned.href}`);
  return (await gateway.postJson<{ session: string }>("/v1/auth/session", { code })).session;
}

/**
 * A vendor app's own login at an identity provider with its public client:
 * authorization code + PKCE (RFC 7636 §4, S256), no client secret; returns
 * the access token the app would bring to the gateway (X-Practitioner-Token).
 */
export async function vendorAppAccessToken(issuer: string, browser: Dispatcher, who: SandboxUser, client: { clientId: string; redirectUri: string }): Promise<string> {
  const discovery = (await (await fetch(`${issuer}/.well-known/openid-configuration`, { dispatcher: browser })).json()) as { authorization_endpoint: string; token_endpoint: string };
  const verifier = randomBytes(32).toString("base64url");
  const state = randomBytes(16).toString("base64url");
  const authorization = new URL(discovery.authorization_endpoint);
  authorization.search = new URLSearchParams({
    response_type: "code",
    client_id: client.clientId,
    redirect_uri: client.redirectUri,
    scope: "openid profile",
    state,
    code_challenge: createHash("sha256").update(verifier).digest("base64url"),
    code_challenge_method: "S256",
  }).toString();
  const callback = await loginThroughSandboxPage(authorization, { ...who, dispatcher: browser });
  const code = callback.searchParams.get("code");
  if (code === null || callback.searchParams.get("state") !== state) throw new Error(`the vendor app's login failed: ${callback.href}`);
  const response = await fetch(discovery.token_endpoint, {
    method: "POST",
    dispatcher: browser,
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: client.redirectUri, client_id: client.clientId, code_verifier: verifier }).toString(),
  });
  const tokens = (await response.json()) as { access_token?: unknown };
  if (!response.ok || typeof tokens.access_token !== "string") throw new Error(`token endpoint: ${response.status} ${JSON.stringify(tokens)}`);
  return tokens.access_token;
}

/** Runs an independent tool (pdfsig, xmlsec1, openssl…): its exit code and stdout + stderr, whatever the code. */
export function runTool(command: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { encoding: "utf8" }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== "number") {
        reject(error);
        return;
      }
      resolve({ code: typeof error?.code === "number" ? error.code : 0, output: `${stdout}${stderr}` });
    });
  });
}
