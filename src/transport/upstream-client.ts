/**
 * The one HTTP client every call to an upstream (a national service or its
 * simulator) goes through: one undici pool per upstream holding its TLS
 * identity, bounded timeouts, retries for idempotent calls, a circuit
 * breaker, and metrics for every attempt.
 *
 * @example
 * ```ts
 * const dmp = new UpstreamClient({
 *   name: "fr-dmp",
 *   baseUrl: "https://dmp.example/si-dmp/v2",
 *   tls: { ca: anssiRoots, cert: clientCertPem, key: clientKeyPem },
 *   metrics,
 * });
 * const answer = await dmp.request({ method: "GET", path: "/patients/123/documents" });
 * const documents = answer.json<DocumentList>();
 * ```
 */
import { performance } from "node:perf_hooks";
import { setTimeout as sleepFor } from "node:timers/promises";
import type { SecureContext } from "node:tls";
import { Pool } from "./undici-parts.js";
import type { Dispatcher } from "undici";
import type { GatewayMetrics } from "../observability/metrics.js";
import { CircuitBreaker } from "./circuit-breaker.js";
import { buildUpstreamConnector } from "./connector.js";
import type { CircuitPermit, CircuitState } from "./circuit-breaker.js";
import { UpstreamError } from "./errors.js";
import type { UpstreamErrorKind } from "./errors.js";
import { describeNetworkFailure } from "./network-failure.js";
import { backoffDelayMs, isIdempotentMethod, isRetryableStatus, parseRetryAfterMs } from "./retry-policy.js";
import { createUpstreamResponse } from "./upstream-response.js";
import type { UpstreamResponse } from "./upstream-response.js";

export interface UpstreamTlsOptions {
  /** Trust anchors for the upstream's certificate (replaces Node's default roots). */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Client certificate chain (PEM) for mutual TLS. */
  cert?: string | Buffer;
  /** Client private key (PEM) for mutual TLS. */
  key?: string | Buffer;
  /** Client identity as PKCS#12, instead of `cert` + `key`. */
  pfx?: Buffer;
  passphrase?: string;
  /**
   * A ready TLS context instead of `ca`/`cert`/`key`/`pfx`: the way to do
   * mutual TLS with a key that never leaves a smart card
   * (src/trust/pkcs11 `cardTlsOptions`). It must hold the trust anchors too.
   */
  secureContext?: SecureContext;
  /** SNI and certificate host-name check, when they differ from the URL's host. */
  servername?: string;
  /** Default true. Never false in the production profile — that is the caller's check. */
  rejectUnauthorized?: boolean;
}

export interface UpstreamRetryOptions {
  /** Attempts including the first. Default 3. */
  maxAttempts?: number;
  /** Default 100. */
  baseDelayMs?: number;
  /** Upper bound of a backoff pause, and of a `Retry-After` we agree to wait. Default 2000. */
  maxDelayMs?: number;
}

export interface UpstreamBreakerOptions {
  /** Consecutive failed attempts that open the circuit. Default 5. */
  failureThreshold?: number;
  /** Default 30000. */
  resetTimeoutMs?: number;
}

export interface UpstreamOptions {
  /** Short name, e.g. `fr-dmp`: appears in errors, logs and metric labels. */
  name: string;
  /** `http(s)://host:port/base/path`; request paths are appended to it. */
  baseUrl: string;
  /** Default 5000. */
  connectTimeoutMs?: number;
  /** Total time allowed per attempt, connect + headers + body. Default 30000. */
  timeoutMs?: number;
  tls?: UpstreamTlsOptions;
  retry?: UpstreamRetryOptions;
  breaker?: UpstreamBreakerOptions;
  /** Larger answers fail with `bad_response`. Default 50 MiB. */
  maxResponseBytes?: number;
  metrics?: GatewayMetrics;
  /** Clock for the circuit breaker. Default `Date.now`. */
  now?: () => number;
  /** Uniform draw in [0, 1) for backoff jitter. Default `Math.random`. */
  random?: () => number;
  /** Pause between retries. Default a real timer. */
  sleep?: (ms: number) => Promise<void>;
}

export interface UpstreamRequest {
  method: string;
  /** Appended to the base URL's path; must be empty or start with `/`. Encode path segments yourself. */
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string | Buffer | Uint8Array;
  /** Whether the call may be repeated. Default: true for GET, HEAD, OPTIONS, PUT, DELETE; false for POST, PATCH. */
  idempotent?: boolean;
  /** Statuses the caller handles itself. Default 2xx; anything else is a `bad_status` error. */
  expectStatus?: (status: number) => boolean;
  /** Aborts the call (and any retry); the signal's reason is thrown. */
  signal?: AbortSignal;
}

export interface UpstreamPingResult {
  ok: boolean;
  latencyMs: number;
  /** `HTTP <status>` when reachable, the failure otherwise. */
  detail?: string;
}

const DEFAULTS = {
  connectTimeoutMs: 5_000,
  timeoutMs: 30_000,
  maxAttempts: 3,
  baseDelayMs: 100,
  maxDelayMs: 2_000,
  failureThreshold: 5,
  resetTimeoutMs: 30_000,
  maxResponseBytes: 50 * 1024 * 1024,
} as const;

/** Attempt outcomes as they appear in the `outcome` label of `upstreamDuration`. */
type AttemptOutcome = "ok" | "aborted" | UpstreamErrorKind;

type AttemptResult =
  | { ok: true; response: UpstreamResponse }
  | { ok: false; error: UpstreamError; retryable: boolean; retryAfterMs?: number };

type Exchange =
  | { type: "answer"; status: number; headers: Record<string, string | string[]>; body: Buffer }
  | { type: "too-large"; status: number };

interface PreparedRequest {
  method: string;
  path: string;
  headers: Record<string, string> | undefined;
  body: string | Buffer | Uint8Array | undefined;
  expectStatus: (status: number) => boolean;
  signal: AbortSignal | undefined;
}

const isSuccessStatus = (status: number): boolean => status >= 200 && status < 300;
const realSleep = (ms: number): Promise<void> => sleepFor(ms);

function positiveInteger(name: string, value: number | undefined, fallback: number, minimum = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < minimum) {
    throw new TypeError(`${name} must be an integer ≥ ${minimum}, got ${String(value)}`);
  }
  return value;
}

function flattenHeaders(headers: Dispatcher.ResponseData["headers"]): Record<string, string | string[]> {
  const flat: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = value;
  }
  return flat;
}

/**
 * Reads the body, giving up as soon as it is known to exceed `maxBytes`
 * (from `content-length`, or while streaming when the length is not
 * declared). Leaving the loop early destroys the stream and its socket.
 */
async function readBoundedBody(
  body: Dispatcher.ResponseData["body"],
  declaredLength: string | string[] | undefined,
  maxBytes: number,
): Promise<Buffer | undefined> {
  const declared = typeof declaredLength === "string" ? Number(declaredLength) : Number.NaN;
  if (declared > maxBytes) {
    // undici's stream reports its own destruction as an AbortError; nobody else is listening.
    body.on("error", () => {});
    body.destroy();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > maxBytes) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

/** Private marker for the per-attempt deadline, so it is told apart from the caller's own abort. */
class AttemptDeadline extends Error {
  constructor(ms: number) {
    super(`attempt deadline of ${ms} ms reached`);
    this.name = "AttemptDeadline";
  }
}

export class UpstreamClient {
  readonly name: string;
  readonly #origin: string;
  readonly #basePath: string;
  readonly #pool: Pool;
  readonly #breaker: CircuitBreaker;
  readonly #metrics: GatewayMetrics | undefined;
  readonly #connectTimeoutMs: number;
  readonly #timeoutMs: number;
  readonly #maxAttempts: number;
  readonly #backoff: { baseDelayMs: number; maxDelayMs: number };
  readonly #maxResponseBytes: number;
  readonly #presentsClientCertificate: boolean;
  readonly #random: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  #closed = false;

  constructor(options: UpstreamOptions) {
    if (typeof options.name !== "string" || options.name.trim() === "") {
      throw new TypeError("UpstreamClient needs a non-empty name");
    }
    this.name = options.name;
    const base = new URL(options.baseUrl);
    if (base.protocol !== "http:" && base.protocol !== "https:") {
      throw new TypeError(`Upstream ${this.name}: baseUrl must be http(s), got ${base.protocol}`);
    }
    if (base.username !== "" || base.password !== "") {
      // URLs end up in logs and traces; credentials belong in the vault.
      throw new TypeError(`Upstream ${this.name}: baseUrl must not contain credentials`);
    }
    if (base.search !== "" || base.hash !== "") {
      throw new TypeError(`Upstream ${this.name}: baseUrl must not contain a query or fragment`);
    }
    if (options.tls !== undefined && base.protocol !== "https:") {
      throw new TypeError(`Upstream ${this.name}: tls options given but baseUrl is not https`);
    }
    this.#origin = base.origin;
    this.#basePath = base.pathname.replace(/\/+$/, "");

    this.#connectTimeoutMs = positiveInteger("connectTimeoutMs", options.connectTimeoutMs, DEFAULTS.connectTimeoutMs);
    this.#timeoutMs = positiveInteger("timeoutMs", options.timeoutMs, DEFAULTS.timeoutMs);
    this.#maxAttempts = positiveInteger("retry.maxAttempts", options.retry?.maxAttempts, DEFAULTS.maxAttempts);
    this.#backoff = {
      baseDelayMs: positiveInteger("retry.baseDelayMs", options.retry?.baseDelayMs, DEFAULTS.baseDelayMs, 0),
      maxDelayMs: positiveInteger("retry.maxDelayMs", options.retry?.maxDelayMs, DEFAULTS.maxDelayMs, 0),
    };
    this.#maxResponseBytes = positiveInteger("maxResponseBytes", options.maxResponseBytes, DEFAULTS.maxResponseBytes);
    this.#metrics = options.metrics;
    this.#random = options.random ?? Math.random;
    this.#sleep = options.sleep ?? realSleep;

    const metrics = this.#metrics;
    const upstream = this.name;
    this.#breaker = new CircuitBreaker({
      failureThreshold: positiveInteger(
        "breaker.failureThreshold",
        options.breaker?.failureThreshold,
        DEFAULTS.failureThreshold,
      ),
      resetTimeoutMs: positiveInteger("breaker.resetTimeoutMs", options.breaker?.resetTimeoutMs, DEFAULTS.resetTimeoutMs, 0),
      now: options.now ?? Date.now,
      onOpen: () => metrics?.upstreamCircuitOpen.inc({ upstream }),
    });

    const tls = options.tls ?? {};
    if (tls.secureContext !== undefined) {
      const mixed = (["ca", "cert", "key", "pfx", "passphrase"] as const).filter((name) => tls[name] !== undefined);
      // Node ignores ca/cert/key when a secureContext is given: refuse rather than silently drop them.
      if (mixed.length > 0) throw new TypeError(`Upstream ${this.name}: tls.secureContext excludes tls.${mixed.join(", tls.")} (put them in the context)`);
    }
    this.#presentsClientCertificate = tls.cert !== undefined || tls.pfx !== undefined || tls.secureContext !== undefined;
    // One pool per upstream: connections are kept alive between calls (undici's
    // default), and the TLS identity is bound to this origin only.
    this.#pool = new Pool(this.#origin, {
      connect: buildUpstreamConnector({
        timeout: this.#connectTimeoutMs,
        ...(tls.ca === undefined ? {} : { ca: tls.ca }),
        ...(tls.cert === undefined ? {} : { cert: tls.cert }),
        ...(tls.key === undefined ? {} : { key: tls.key }),
        ...(tls.pfx === undefined ? {} : { pfx: tls.pfx }),
        ...(tls.passphrase === undefined ? {} : { passphrase: tls.passphrase }),
        ...(tls.servername === undefined ? {} : { servername: tls.servername }),
        ...(tls.secureContext === undefined ? {} : { secureContext: tls.secureContext }),
        rejectUnauthorized: tls.rejectUnauthorized ?? true,
      }),
      headersTimeout: this.#timeoutMs,
      bodyTimeout: this.#timeoutMs,
    });
  }

  get circuitState(): CircuitState {
    return this.#breaker.state;
  }

  /**
   * Calls the upstream. Resolves with the answer when its status is expected
   * (2xx by default); otherwise rejects with an `UpstreamError`. Idempotent
   * calls are retried on connection errors, timeouts and 502/503/504.
   */
  async request(request: UpstreamRequest): Promise<UpstreamResponse> {
    const prepared = this.#prepare(request);
    const idempotent = request.idempotent ?? isIdempotentMethod(prepared.method);
    const maxAttempts = idempotent ? this.#maxAttempts : 1;

    let lastError: UpstreamError | undefined;
    for (let attempt = 1; ; attempt += 1) {
      prepared.signal?.throwIfAborted();
      const permit = this.#breaker.acquire();
      if (permit === undefined) {
        // If our own failures just opened the circuit, the caller learns more from the last real error.
        throw lastError ?? this.#circuitOpenError();
      }
      const result = await this.#attempt(prepared, permit);
      if (result.ok) return result.response;
      lastError = result.error;
      if (!result.retryable || attempt >= maxAttempts) throw result.error;

      let delayMs = backoffDelayMs(attempt, this.#backoff, this.#random);
      if (result.retryAfterMs !== undefined) {
        // The upstream asked for a longer pause than we are willing to hold our caller for.
        if (result.retryAfterMs > this.#backoff.maxDelayMs) throw result.error;
        delayMs = result.retryAfterMs;
      }
      await this.#sleep(delayMs);
    }
  }

  /**
   * Whether the upstream answers at all: a HEAD on the base URL, where any
   * HTTP status counts as reachable. Bypasses the circuit breaker (a probe
   * must see the upstream, not our opinion of it) and never throws.
   */
  async ping(): Promise<UpstreamPingResult> {
    const started = performance.now();
    const elapsed = (): number => Math.round((performance.now() - started) * 1000) / 1000;
    if (this.#closed) return { ok: false, latencyMs: 0, detail: `Upstream client ${this.name} is closed` };
    const deadline = AbortSignal.timeout(this.#timeoutMs);
    try {
      const answer = await this.#pool.request({
        method: "HEAD",
        path: this.#basePath === "" ? "/" : this.#basePath,
        signal: deadline,
      });
      await answer.body.dump();
      return { ok: true, latencyMs: elapsed(), detail: `HTTP ${answer.statusCode}` };
    } catch (error) {
      const detail = deadline.aborted
        ? `Upstream ${this.name} timed out after ${this.#timeoutMs} ms`
        : this.#describeNetworkFailure(error).detail;
      return { ok: false, latencyMs: elapsed(), detail };
    }
  }

  /** Closes the pool once in-flight calls have finished. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.close();
  }

  #prepare(request: UpstreamRequest): PreparedRequest {
    if (this.#closed) throw new Error(`Upstream client ${this.name} is closed`);
    const method = request.method.toUpperCase();
    if (!/^[A-Z]+$/.test(method)) throw new TypeError(`Invalid HTTP method: ${request.method}`);
    if (request.path !== "" && !request.path.startsWith("/")) {
      throw new TypeError(`Upstream path must be empty or start with "/": ${request.path}`);
    }
    // RFC 9112 §3.2: the request-target is visible ASCII; anything else must be percent-encoded by the caller.
    if (!/^[\x21-\x7e]*$/.test(request.path) || request.path.includes("#")) {
      throw new TypeError(`Upstream path must be percent-encoded and have no fragment: ${JSON.stringify(request.path)}`);
    }
    let path = this.#basePath + request.path;
    if (path === "") path = "/";
    if (request.query !== undefined) {
      const query = new URLSearchParams(request.query).toString();
      if (query !== "") path += (path.includes("?") ? "&" : "?") + query;
    }
    return {
      method,
      path,
      headers: request.headers,
      body: request.body,
      expectStatus: request.expectStatus ?? isSuccessStatus,
      signal: request.signal,
    };
  }

  /** One attempt: sends, reads the answer, records the verdict with the breaker and the metrics. */
  async #attempt(request: PreparedRequest, permit: CircuitPermit): Promise<AttemptResult> {
    const started = performance.now();
    const finish = (outcome: AttemptOutcome, errorKind?: UpstreamErrorKind): void => {
      this.#metrics?.upstreamDuration.observe(
        { upstream: this.name, method: request.method, outcome },
        (performance.now() - started) / 1000,
      );
      if (errorKind !== undefined) this.#metrics?.upstreamErrors.inc({ upstream: this.name, kind: errorKind });
    };

    let exchange: Exchange;
    try {
      exchange = await this.#exchange(request);
    } catch (error) {
      if (request.signal?.aborted) {
        // Our caller gave up: no verdict on the upstream's health.
        this.#breaker.release(permit);
        finish("aborted");
        throw request.signal.reason;
      }
      const failure =
        error instanceof AttemptDeadline
          ? {
              kind: "timeout" as const,
              transient: true,
              detail: `Upstream ${this.name} timed out after ${this.#timeoutMs} ms`,
            }
          : this.#describeNetworkFailure(error);
      this.#breaker.recordFailure(permit);
      finish(failure.kind, failure.kind);
      return {
        ok: false,
        retryable: failure.transient,
        error: new UpstreamError({ upstream: this.name, kind: failure.kind, detail: failure.detail, cause: error }),
      };
    }

    if (exchange.type === "too-large") {
      // The upstream did answer: a bad answer, not an outage.
      this.#breaker.recordSuccess(permit);
      finish("bad_response", "bad_response");
      return {
        ok: false,
        retryable: false,
        error: new UpstreamError({
          upstream: this.name,
          kind: "bad_response",
          detail: `Upstream ${this.name} answer exceeds ${this.#maxResponseBytes} bytes`,
          upstreamStatus: exchange.status,
        }),
      };
    }

    const { status, headers, body } = exchange;
    const expected = request.expectStatus(status);
    // A 5xx the caller did not ask for says the upstream is failing; a 4xx
    // says our request was wrong, which is no reason to stop calling it.
    if (status >= 500 && !expected) this.#breaker.recordFailure(permit);
    else this.#breaker.recordSuccess(permit);

    if (expected) {
      finish("ok");
      return {
        ok: true,
        response: createUpstreamResponse({
          upstream: this.name,
          status,
          headers,
          body,
          onBadResponse: (error) => this.#metrics?.upstreamErrors.inc({ upstream: this.name, kind: error.kind }),
        }),
      };
    }

    finish("bad_status", "bad_status");
    const retryAfterMs = status === 503 ? parseRetryAfterMs(headers["retry-after"], Date.now()) : undefined;
    return {
      ok: false,
      retryable: isRetryableStatus(status),
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      error: new UpstreamError({
        upstream: this.name,
        kind: "bad_status",
        detail: `Upstream ${this.name} answered with unexpected status ${status}`,
        upstreamStatus: status,
        upstreamBody: body,
        ...(retryAfterMs === undefined ? {} : { headers: { "retry-after": String(Math.ceil(retryAfterMs / 1000)) } }),
      }),
    };
  }

  /** Sends the request and reads the whole answer within the per-attempt deadline. */
  async #exchange(request: PreparedRequest): Promise<Exchange> {
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new AttemptDeadline(this.#timeoutMs)), this.#timeoutMs);
    const signal = request.signal === undefined ? deadline.signal : AbortSignal.any([request.signal, deadline.signal]);
    try {
      const answer = await this.#pool.request({
        method: request.method as Dispatcher.HttpMethod,
        path: request.path,
        headers: request.headers,
        body: request.body,
        signal,
      });
      const body = await readBoundedBody(answer.body, answer.headers["content-length"], this.#maxResponseBytes);
      if (body === undefined) return { type: "too-large", status: answer.statusCode };
      return { type: "answer", status: answer.statusCode, headers: flattenHeaders(answer.headers), body };
    } catch (error) {
      // undici rethrows the abort reason, but the body stream may surface its own error instead.
      if (deadline.signal.aborted && !request.signal?.aborted) throw new AttemptDeadline(this.#timeoutMs);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  #describeNetworkFailure(error: unknown): ReturnType<typeof describeNetworkFailure> {
    return describeNetworkFailure(error, {
      upstream: this.name,
      connectTimeoutMs: this.#connectTimeoutMs,
      timeoutMs: this.#timeoutMs,
      presentsClientCertificate: this.#presentsClientCertificate,
    });
  }

  #circuitOpenError(): UpstreamError {
    this.#metrics?.upstreamErrors.inc({ upstream: this.name, kind: "circuit_open" });
    const retryAfterSeconds = Math.max(1, Math.ceil(this.#breaker.msUntilTrial / 1000));
    return new UpstreamError({
      upstream: this.name,
      kind: "circuit_open",
      detail: `Upstream ${this.name} is unavailable: calls suspended after ${this.#breaker.consecutiveFailures} consecutive failures`,
      headers: { "retry-after": String(retryAfterSeconds) },
    });
  }
}
