/**
 * Logs a sandbox practitioner in through a sandbox identity provider's login
 * page without a browser: follows the authorization request's redirects,
 * submits the login form (and the continue page of an existing session), and
 * returns the redirect to the client's `redirect_uri` — the URL carrying
 * `code` and `state`, or `error`. For end-to-end tests and scripted demos of
 * the authorization code flow; it uses the same HTTP a browser would
 * (cookies, 303 after POST), nothing private to the simulator.
 *
 * @example
 * ```ts
 * const dispatcher = new Agent({ connect: { ca: pki.rootCertPem } });
 * const callback = await loginThroughSandboxPage(authorizationUrl, { username: "101234-56", password: "anne-7314", dispatcher });
 * await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier, expectedState });
 * ```
 */
import { fetch, type Dispatcher } from "undici";

export interface SandboxLoginOptions {
  username: string;
  password: string;
  /** Trusts the sandbox root (and, for `fr-psc`, presents a client certificate). */
  dispatcher: Dispatcher;
  /** Cookies of an earlier login (a "browser session"), updated in place; a fresh jar by default. */
  cookies?: Map<string, string>;
}

/** The provider refused the login or the flow went somewhere unexpected. */
export class SandboxLoginError extends Error {
  readonly status: number;

  constructor(message: string, status: number) {
    super(message);
    this.name = "SandboxLoginError";
    this.status = status;
  }
}

const MAX_STEPS = 12;
const LOGIN_PAGE = /\/login-actions\/[A-Za-z0-9_-]+$/;

export async function loginThroughSandboxPage(authorizationUrl: URL | string, options: SandboxLoginOptions): Promise<URL> {
  const start = new URL(authorizationUrl);
  const providerOrigin = start.origin;
  const cookies = options.cookies ?? new Map<string, string>();
  let request: { url: URL; form?: URLSearchParams } = { url: start };

  for (let step = 0; step < MAX_STEPS; step++) {
    const response = await fetch(request.url, {
      method: request.form === undefined ? "GET" : "POST",
      redirect: "manual",
      dispatcher: options.dispatcher,
      headers: {
        accept: "text/html",
        ...(cookies.size > 0 ? { cookie: [...cookies].map(([name, value]) => `${name}=${value}`).join("; ") } : {}),
        ...(request.form === undefined ? {} : { "content-type": "application/x-www-form-urlencoded" }),
      },
      ...(request.form === undefined ? {} : { body: request.form.toString() }),
    });
    for (const header of response.headers.getSetCookie()) storeCookie(cookies, header);
    const body = await response.text();

    const location = response.headers.get("location");
    if (response.status >= 300 && response.status < 400 && location !== null) {
      const next = new URL(location, request.url);
      if (next.origin !== providerOrigin) return next;
      request = { url: next };
      continue;
    }
    if (response.status === 401) throw new SandboxLoginError(`The provider refused the login of ${options.username}`, 401);
    if (response.status !== 200 || !LOGIN_PAGE.test(request.url.pathname)) {
      throw new SandboxLoginError(`Unexpected ${response.status} from ${request.url.pathname}: ${body.slice(0, 200)}`, response.status);
    }
    const page = request.url;
    request = body.includes('name="password"')
      ? { url: new URL(`${page.pathname}/login`, page), form: new URLSearchParams({ username: options.username, password: options.password }) }
      : { url: new URL(`${page.pathname}/continue`, page), form: new URLSearchParams() };
  }
  throw new SandboxLoginError(`No redirect to the client after ${MAX_STEPS} steps`, 0);
}

/** Keeps name=value of a Set-Cookie header; an expired cookie (Max-Age=0 or past Expires) is removed. */
function storeCookie(cookies: Map<string, string>, header: string): void {
  const [pair = "", ...attributes] = header.split(";");
  const separator = pair.indexOf("=");
  if (separator <= 0) return;
  const name = pair.slice(0, separator).trim();
  const value = pair.slice(separator + 1).trim();
  const expired = attributes.some((attribute) => {
    const [key = "", attributeValue = ""] = attribute.split("=").map((part) => part.trim());
    if (key.toLowerCase() === "max-age") return Number(attributeValue) <= 0;
    if (key.toLowerCase() === "expires") return Date.parse(attributeValue) <= Date.now();
    return false;
  });
  if (expired) cookies.delete(name);
  else cookies.set(name, value);
}
