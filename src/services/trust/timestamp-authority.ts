/**
 * The time-stamping authority behind PAdES-B-T signatures and
 * POST /v1/timestamp: an RFC 3161 {@link TimestampClient} over the
 * gateway's UpstreamClient, whose tokens are accepted only when the TSA
 * certificate validates against the trust material for the `timestamping`
 * purpose (RFC 3161 §2.3: critical id-kp-timeStamping EKU only) at the
 * token's genTime.
 *
 * Each call has a time budget (TSA_TIMEOUT_MS), retries included: a signing
 * request must not hang on a TSA for the upstream client's full 30 s per
 * attempt. Past it the call is abandoned and fails as an upstream timeout
 * (504) naming the TSA, like the transport's own timeouts.
 */
import type { X509Certificate } from "node:crypto";
import { TimestampClient, type TimestampChainVerifier, type TimestampHashAlgorithm, type TimestampToken } from "../../protocols/tsp/index.js";
import { UpstreamError, type UpstreamClient } from "../../transport/index.js";
import type { TrustMaterial } from "./trust-material.js";

export interface TimestampAuthorityOptions {
  upstream: UpstreamClient;
  /** Path of the RFC 3161 endpoint below the upstream's base URL ("" for the base URL itself). */
  path?: string;
  trust: TrustMaterial;
  policy?: string;
  timeoutMs: number;
}

export class GatewayTimestampAuthority {
  readonly upstream: string;
  readonly #client: TimestampClient;
  readonly #timeoutMs: number;

  constructor(options: TimestampAuthorityOptions) {
    if (!Number.isInteger(options.timeoutMs) || options.timeoutMs <= 0) throw new TypeError("timeoutMs must be a positive integer");
    this.upstream = options.upstream.name;
    this.#timeoutMs = options.timeoutMs;
    this.#client = new TimestampClient({
      upstream: options.upstream,
      ...(options.path === undefined ? {} : { path: options.path }),
      trust: { verifyChain: timestampingChainVerifier(options.trust) },
      ...(options.policy === undefined ? {} : { policy: options.policy }),
    });
  }

  /**
   * A verified token over `digest`. Rejects with the TSA's problems
   * (PASSERELLE_TIMESTAMP_REJECTED / _INVALID, 502), the transport's
   * (502/503/504 naming the upstream), or the caller's abort reason.
   */
  async timestamp(digest: Uint8Array, hashAlgorithm: TimestampHashAlgorithm, signal?: AbortSignal): Promise<TimestampToken> {
    const deadline = AbortSignal.timeout(this.#timeoutMs);
    const combined = signal === undefined ? deadline : AbortSignal.any([signal, deadline]);
    try {
      return await this.#client.timestamp(digest, hashAlgorithm, { signal: combined });
    } catch (error) {
      if (deadline.aborted && signal?.aborted !== true) {
        throw new UpstreamError({
          upstream: this.upstream,
          kind: "timeout",
          detail: `Time-stamping authority ${this.upstream} did not answer within ${this.#timeoutMs} ms`,
          cause: error,
        });
      }
      throw error;
    }
  }
}

/** The TSA certificate must validate for time-stamping at genTime, with the token's other certificates as intermediates. */
export function timestampingChainVerifier(trust: TrustMaterial): TimestampChainVerifier {
  return async (chain: X509Certificate[], { at }) => {
    const [leaf, ...others] = chain;
    if (leaf === undefined) throw new TypeError("The chain must start with the TSA certificate");
    const result = await trust.validate(leaf, { purpose: "timestamping", intermediates: others, at });
    if (!result.valid) throw result.error;
  };
}
