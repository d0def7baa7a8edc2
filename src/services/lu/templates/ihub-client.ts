/**
 * The iHub client: downloads template packages from the CNS update service
 * (`IHUB_URL`, e.g. https://ihub.cns.secu.lu/ws/rest/ihub/v1) through the
 * gateway's one outbound HTTP client (src/transport), so timeouts, retries,
 * the circuit breaker and the upstream metrics apply.
 *
 * Resources (relative to the base URL):
 * - `GET /templates/packages` → `{ "latest": "1.1.0", "packages": [ { "version", "digest", "size", "publishedAt" } ] }`
 * - `GET /templates/packages/latest` and `GET /templates/packages/{version}` → the bundle
 *   (./package-format.ts), with `ETag: "<manifest SHA-256>"`; `If-None-Match`
 *   with the active package's digest answers 304 when nothing changed, so
 *   a periodic sync costs one small exchange.
 */
import type { GatewayMetrics } from "../../../observability/metrics.js";
import { UpstreamClient, type UpstreamTlsOptions } from "../../../transport/index.js";

export const IHUB_UPSTREAM_NAME = "lu-ihub";
export const IHUB_LATEST_PACKAGE_PATH = "/templates/packages/latest";
export const IHUB_PACKAGE_INDEX_PATH = "/templates/packages";

export interface IhubClientOptions {
  /** IHUB_URL. */
  baseUrl: string;
  /** Trust anchors for iHub's TLS certificate, client identity if iHub asks for one. */
  tls?: UpstreamTlsOptions;
  metrics?: GatewayMetrics;
  /** Per attempt; default 30 s (a package with fonts is a few megabytes). */
  timeoutMs?: number;
}

export type PackageDownload = { notModified: true } | { notModified: false; bundle: Buffer; etag: string | undefined };

export interface PackageIndexEntry {
  version: string;
  digest: string;
  size: number;
  publishedAt: string;
}

/** `"abc"` or `W/"abc"` → `abc` (RFC 9110 §8.8.3). */
function entityTag(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const match = value === undefined ? null : /^(?:W\/)?"([^"]*)"$/.exec(value.trim());
  return match?.[1];
}

export class IhubClient {
  readonly #upstream: UpstreamClient;
  readonly #owned: boolean;

  /** With options, builds its own UpstreamClient (closed by `close()`); or uses the one given. */
  constructor(options: IhubClientOptions | { upstream: UpstreamClient }) {
    if ("upstream" in options) {
      if (!(options.upstream instanceof UpstreamClient)) throw new TypeError("upstream must be an UpstreamClient");
      this.#upstream = options.upstream;
      this.#owned = false;
    } else {
      if (typeof options?.baseUrl !== "string") throw new TypeError("IhubClient needs a baseUrl (IHUB_URL)");
      this.#upstream = new UpstreamClient({
        name: IHUB_UPSTREAM_NAME,
        baseUrl: options.baseUrl,
        timeoutMs: options.timeoutMs ?? 30_000,
        ...(options.tls === undefined ? {} : { tls: options.tls }),
        ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
      });
      this.#owned = true;
    }
  }

  get name(): string {
    return this.#upstream.name;
  }

  /** The latest package, unless its digest is `ifNoneMatch` (then `notModified`). */
  async fetchLatestPackage(options: { ifNoneMatch?: string; signal?: AbortSignal } = {}): Promise<PackageDownload> {
    const answer = await this.#upstream.request({
      method: "GET",
      path: IHUB_LATEST_PACKAGE_PATH,
      headers: {
        accept: "application/json",
        ...(options.ifNoneMatch === undefined ? {} : { "if-none-match": `"${options.ifNoneMatch}"` }),
      },
      expectStatus: (status) => status === 200 || status === 304,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    if (answer.status === 304) return { notModified: true };
    return { notModified: false, bundle: answer.body, etag: entityTag(answer.headers.etag) };
  }

  /** The versions iHub publishes (informative: a sync always verifies the package itself). */
  async listPackages(options: { signal?: AbortSignal } = {}): Promise<{ latest: string; packages: PackageIndexEntry[] }> {
    const answer = await this.#upstream.request({
      method: "GET",
      path: IHUB_PACKAGE_INDEX_PATH,
      headers: { accept: "application/json" },
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    return answer.json<{ latest: string; packages: PackageIndexEntry[] }>();
  }

  /** Whether iHub answers (for readiness checks). */
  ping(): ReturnType<UpstreamClient["ping"]> {
    return this.#upstream.ping();
  }

  async close(): Promise<void> {
    if (this.#owned) await this.#upstream.close();
  }
}
