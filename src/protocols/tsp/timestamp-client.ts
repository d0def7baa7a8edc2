/**
 * An RFC 3161 client over HTTP (§3.4): POSTs a TimeStampReq through the
 * gateway's `UpstreamClient` and returns the token only once it is verified
 * — granted status, our imprint and nonce echoed, a valid signature by a
 * time-stamping certificate that chains to the configured anchors, and a
 * genTime close to our clock.
 *
 * @example
 * ```ts
 * const tsa = new TimestampClient({
 *   upstream: new UpstreamClient({ name: "lu-tsa", baseUrl: "https://tsa.example/tsa", metrics }),
 *   trust: { anchors: [tsaRoot] },
 * });
 * const token = await tsa.timestamp(createHash("sha256").update(signature).digest(), "SHA-256");
 * ```
 */
import type { X509Certificate } from "node:crypto";
import { UpstreamError, type UpstreamClient } from "../../transport/index.js";
import { TimestampError } from "./errors.js";
import { assertTimestampHashAlgorithm, type TimestampHashAlgorithm } from "./hash-algorithms.js";
import { TIMESTAMP_QUERY_CONTENT_TYPE, TIMESTAMP_REPLY_CONTENT_TYPE } from "./media-types.js";
import { isGrantedStatus } from "./pki-status.js";
import { buildTimestampRequest, isDottedOid } from "./timestamp-request.js";
import { parseTimestampResponse } from "./timestamp-response.js";
import { chainVerifierFor, type TimestampTrust } from "./tsa-trust.js";
import { verifyTimestampToken, type TimestampToken } from "./verify-timestamp-token.js";


export interface TimestampCallOptions {
  signal?: AbortSignal;
}

/**
 * Anything that time-stamps a digest: an RFC 3161 TSA over HTTP
 * (`TimestampClient`), or a remote signature service's time-stamp operation.
 */
export interface TimestampAuthority {
  timestamp(digest: Uint8Array, hashAlgorithm: TimestampHashAlgorithm, options?: TimestampCallOptions): Promise<TimestampToken>;
}

export interface TimestampClientOptions {
  /** The TSA's upstream (base URL, TLS, timeouts, retries, circuit breaker, metrics). */
  upstream: UpstreamClient;
  /** Path of the TSA endpoint below the upstream's base URL (default "": the base URL itself). */
  path?: string;
  /** Anchors (or a chain verifier) the TSA certificate must chain to. */
  trust: TimestampTrust;
  /** The TSA certificate and intermediates, for TSAs that do not put them in tokens. */
  certificates?: readonly X509Certificate[];
  /** Request tokens under this policy, and refuse tokens under another. */
  policy?: string;
  /** Ask the TSA to include its certificate (default true). */
  certReq?: boolean;
  /** How far genTime may stray from our clock around the exchange, on top of the token's accuracy. Default 60 s. */
  clockToleranceMs?: number;
  /** Default `() => new Date()`. */
  now?: () => Date;
}

const DEFAULT_CLOCK_TOLERANCE_MS = 60_000;

function mediaTypeOf(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  return value?.split(";")[0]?.trim().toLowerCase();
}

export class TimestampClient implements TimestampAuthority {
  readonly #upstream: UpstreamClient;
  readonly #path: string;
  readonly #trust: TimestampTrust;
  readonly #certificates: readonly X509Certificate[];
  readonly #policy: string | undefined;
  readonly #certReq: boolean;
  readonly #toleranceMs: number;
  readonly #now: () => Date;

  constructor(options: TimestampClientOptions) {
    if (options === null || typeof options !== "object") throw new TypeError("TimestampClient needs options");
    if (options.upstream === undefined || typeof options.upstream.request !== "function") {
      throw new TypeError("TimestampClient needs an UpstreamClient as `upstream`");
    }
    chainVerifierFor(options.trust); // fails now, not at the first call, on a malformed trust setting
    if (options.policy !== undefined && !isDottedOid(options.policy)) throw new TypeError("policy must be a dotted OID");
    const tolerance = options.clockToleranceMs ?? DEFAULT_CLOCK_TOLERANCE_MS;
    if (!Number.isFinite(tolerance) || tolerance < 0) throw new TypeError("clockToleranceMs must be a number ≥ 0");
    this.#upstream = options.upstream;
    this.#path = options.path ?? "";
    this.#trust = options.trust;
    this.#certificates = options.certificates ?? [];
    this.#policy = options.policy;
    this.#certReq = options.certReq ?? true;
    this.#toleranceMs = tolerance;
    this.#now = options.now ?? (() => new Date());
  }

  /**
   * Time-stamps `digest`. Rejects with `TimestampError` (502: the TSA refused
   * or its token does not verify) or the transport's `UpstreamError` (503
   * unreachable, 504 too slow, 502 bad HTTP answer).
   */
  async timestamp(
    digest: Uint8Array,
    hashAlgorithm: TimestampHashAlgorithm,
    options: TimestampCallOptions = {},
  ): Promise<TimestampToken> {
    assertTimestampHashAlgorithm(hashAlgorithm);
    const request = buildTimestampRequest(digest, {
      hashAlgorithm,
      certReq: this.#certReq,
      ...(this.#policy === undefined ? {} : { policy: this.#policy }),
    });
    const upstream = this.#upstream.name;
    const sentAt = this.#now();
    const answer = await this.#upstream.request({
      method: "POST",
      path: this.#path,
      headers: { "content-type": TIMESTAMP_QUERY_CONTENT_TYPE, accept: TIMESTAMP_REPLY_CONTENT_TYPE },
      body: request.der,
      // A time-stamp request changes nothing at the TSA that matters to us: a
      // repeated request yields another token for the same imprint and nonce,
      // and only the answer we receive is used. So transient failures
      // (connection reset, 502/503/504) are worth retrying, like a GET.
      idempotent: true,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    const receivedAt = this.#now();

    if (mediaTypeOf(answer.headers["content-type"]) !== TIMESTAMP_REPLY_CONTENT_TYPE) {
      throw new UpstreamError({
        upstream,
        kind: "bad_response",
        detail: `Time-stamping authority ${upstream} answered with ${mediaTypeOf(answer.headers["content-type"]) ?? "no content type"}, not ${TIMESTAMP_REPLY_CONTENT_TYPE}`,
        upstreamStatus: answer.status,
        upstreamBody: answer.body,
      });
    }
    try {
      const response = parseTimestampResponse(answer.body);
      if (!isGrantedStatus(response.status) || response.token === undefined) {
        throw new TimestampError({
          reason: "status-rejection",
          detail: `Time-stamping authority ${upstream} answered "${response.status}"${
            response.failInfo.length > 0 ? ` (${response.failInfo.join(", ")})` : ""
          }`,
          source: "upstream",
          upstream,
          pkiStatus: response.status,
          failInfo: response.failInfo,
          statusStrings: response.statusStrings,
        });
      }
      return await verifyTimestampToken(response.token, {
        digest: request.digest,
        hashAlgorithm,
        nonce: request.nonce,
        ...(this.#policy === undefined ? {} : { policy: this.#policy }),
        trust: this.#trust,
        certificates: this.#certificates,
        genTimeWindow: {
          notBefore: new Date(sentAt.getTime() - this.#toleranceMs),
          notAfter: new Date(receivedAt.getTime() + this.#toleranceMs),
        },
      });
    } catch (error) {
      if (error instanceof TimestampError && error.source === "document") throw TimestampError.fromUpstream(error, upstream);
      throw error;
    }
  }
}
