/**
 * Fetch semantics over the gateway's one outbound client (src/transport).
 *
 * `openid-client` and `jose` both accept a custom `fetch` (their
 * `customFetch` symbol). This module gives them one that sends every request
 * through an {@link UpstreamClient}: the same timeouts, idempotent retries,
 * circuit breaker and metrics as any other upstream call, and — what OIDC
 * needs most — the TLS options of the provider: the trust anchors (the
 * sandbox root, or a national CA) and, for `tls_client_auth` (RFC 8705 §2),
 * the client certificate presented in the handshake.
 *
 * An `UpstreamClient` is bound to one origin; a provider may publish
 * endpoints on several (RFC 8705 §5 `mtls_endpoint_aliases` usually live on a
 * separate host), so one client is created per origin, lazily, all sharing
 * the same TLS options.
 *
 * @example
 * ```ts
 * const http = new OidcHttpClient({ name: "fr-psc", tls: { ca: rootPem, cert, key }, metrics });
 * config[client.customFetch] = http.fetch;        // openid-client
 * createRemoteJWKSet(url, { [jose.customFetch]: http.fetch }); // jose
 * await http.close();
 * ```
 */
import type { GatewayMetrics } from "../../observability/metrics.js";
import { UpstreamClient, type UpstreamTlsOptions } from "../../transport/index.js";

/** The request options openid-client and jose hand to a custom fetch. */
export interface OidcFetchInit {
  method?: string;
  headers?: Headers | Record<string, string> | Array<[string, string]>;
  body?: URLSearchParams | string | Uint8Array | ArrayBuffer | null;
  signal?: AbortSignal | null;
  redirect?: string;
}

export type OidcFetch = (url: string, init?: OidcFetchInit) => Promise<Response>;

export interface OidcHttpClientOptions {
  /** Upstream name in errors, logs and metrics, e.g. `fr-psc`. */
  name: string;
  /** Trust anchors and, for mutual TLS, the client identity. */
  tls?: UpstreamTlsOptions;
  metrics?: GatewayMetrics;
  /** Per attempt (connect + answer). Default 10 000 ms: a login must not hang for the transport's 30 s default. */
  timeoutMs?: number;
  connectTimeoutMs?: number;
  /** Discovery documents, JWKS and token responses are small. Default 1 MiB. */
  maxResponseBytes?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;
/** Statuses without a body (Fetch Standard "null body status"). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

export class OidcHttpClient {
  readonly name: string;
  /** Bound: pass it around as a plain function. */
  readonly fetch: OidcFetch;
  readonly #options: OidcHttpClientOptions;
  readonly #clients = new Map<string, UpstreamClient>();
  #closed = false;

  constructor(options: OidcHttpClientOptions) {
    if (typeof options?.name !== "string" || options.name.trim() === "") {
      throw new TypeError("OidcHttpClient needs a non-empty name");
    }
    this.name = options.name;
    this.#options = options;
    this.fetch = (url, init) => this.#fetch(url, init ?? {});
  }

  /** Closes every connection pool. Idempotent; later fetches fail. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const clients = [...this.#clients.values()];
    this.#clients.clear();
    await Promise.allSettled(clients.map((c) => c.close()));
  }

  async #fetch(input: string, init: OidcFetchInit): Promise<Response> {
    if (this.#closed) throw new Error(`OIDC HTTP client ${this.name} is closed`);
    const url = new URL(input);
    const headers = new Headers(init.headers ?? undefined);
    const body = encodeBody(init.body, headers);
    const method = (init.method ?? "GET").toUpperCase();
    const answer = await this.#clientFor(url).request({
      method,
      path: url.pathname + url.search,
      headers: headersRecord(headers),
      ...(body === undefined ? {} : { body }),
      ...(init.signal ? { signal: init.signal } : {}),
      // OAuth errors come as 4xx JSON bodies that openid-client parses
      // (RFC 6749 §5.2); a 5xx is the provider failing, which the transport
      // turns into the 502/503 problem and counts against the breaker.
      expectStatus: (status) => status < 500,
    });
    const responseHeaders = new Headers();
    for (const [name, value] of Object.entries(answer.headers)) {
      for (const v of Array.isArray(value) ? value : [value]) responseHeaders.append(name, v);
    }
    return new Response(NULL_BODY_STATUSES.has(answer.status) ? null : new Uint8Array(answer.body), {
      status: answer.status,
      headers: responseHeaders,
    });
  }

  #clientFor(url: URL): UpstreamClient {
    let client = this.#clients.get(url.origin);
    if (client === undefined) {
      const https = url.protocol === "https:";
      client = new UpstreamClient({
        name: this.name,
        baseUrl: url.origin,
        timeoutMs: this.#options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        maxResponseBytes: this.#options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
        ...(this.#options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: this.#options.connectTimeoutMs }),
        ...(https && this.#options.tls ? { tls: this.#options.tls } : {}),
        ...(this.#options.metrics ? { metrics: this.#options.metrics } : {}),
      });
      this.#clients.set(url.origin, client);
    }
    return client;
  }
}

function headersRecord(headers: Headers): Record<string, string> {
  const record: Record<string, string> = {};
  headers.forEach((value, name) => {
    record[name] = value;
  });
  return record;
}

function encodeBody(body: OidcFetchInit["body"], headers: Headers): string | Uint8Array | undefined {
  if (body === undefined || body === null) return undefined;
  if (body instanceof URLSearchParams) {
    // What fetch itself would add for a URLSearchParams body (Fetch Standard "extract a body").
    if (!headers.has("content-type")) headers.set("content-type", "application/x-www-form-urlencoded;charset=UTF-8");
    return body.toString();
  }
  if (typeof body === "string" || body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  throw new TypeError("OidcHttpClient: unsupported request body type (streams are not used by OIDC requests)");
}
