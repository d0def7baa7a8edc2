/**
 * The one error raised for anything that goes wrong between Passerelle and an
 * upstream (a national service or its simulator).
 *
 * The problem document the caller sees names the upstream and, at most, the
 * HTTP status it answered with. The upstream's body never goes into `detail`
 * or `extensions`: it may carry patient data or internal diagnostics, and it
 * is not ours to relay. It stays on the error as the non-enumerable
 * `upstreamBody`, so a service can still parse it (a SOAP fault, an
 * OperationOutcome) while JSON serialisation and pino's error serializer —
 * both of which walk enumerable properties only — leave it out.
 */
import { PasserelleError } from "../errors/index.js";
import type { ErrorCode } from "../errors/index.js";

export type UpstreamErrorKind = "timeout" | "unreachable" | "bad_status" | "bad_response" | "circuit_open" | "tls";

export interface UpstreamErrorOptions {
  /** The upstream's configured name, e.g. `fr-dmp`. */
  upstream: string;
  kind: UpstreamErrorKind;
  /** Shown to the caller: must name the upstream and must not quote its body. */
  detail: string;
  /** The HTTP status the upstream answered with, when it answered. */
  upstreamStatus?: number;
  /** The upstream's raw answer, for the service to parse; never serialised. */
  upstreamBody?: Buffer;
  /** The underlying network or parse error; goes to the log only. */
  cause?: unknown;
  /** Headers for the gateway's own answer (e.g. `retry-after`). */
  headers?: Record<string, string>;
}

/**
 * Which catalogue code a failure maps to. An upstream 503 is relayed as
 * "unavailable" rather than "bad response": RFC 9110 §15.6.4 makes 503 a
 * well-formed answer meaning "try later", and our client deserves the same
 * advice (with the upstream's `Retry-After`, when it gave one).
 */
function codeFor(kind: UpstreamErrorKind, upstreamStatus: number | undefined): ErrorCode {
  switch (kind) {
    case "timeout":
      return "PASSERELLE_UPSTREAM_TIMEOUT";
    case "unreachable":
    case "circuit_open":
    case "tls":
      return "PASSERELLE_UPSTREAM_UNAVAILABLE";
    case "bad_status":
      return upstreamStatus === 503 ? "PASSERELLE_UPSTREAM_UNAVAILABLE" : "PASSERELLE_UPSTREAM_BAD_RESPONSE";
    case "bad_response":
      return "PASSERELLE_UPSTREAM_BAD_RESPONSE";
  }
}

export class UpstreamError extends PasserelleError {
  readonly upstream: string;
  readonly kind: UpstreamErrorKind;
  readonly upstreamStatus: number | undefined;
  /**
   * The upstream's raw answer (bad_status, bad_response). Internal: defined
   * non-enumerable so it never reaches a problem document or a log line.
   */
  declare readonly upstreamBody: Buffer | undefined;

  constructor(options: UpstreamErrorOptions) {
    super(codeFor(options.kind, options.upstreamStatus), {
      detail: options.detail,
      cause: options.cause,
      extensions: {
        upstream: options.upstream,
        ...(options.upstreamStatus === undefined ? {} : { upstreamStatus: options.upstreamStatus }),
      },
      ...(options.headers ? { headers: options.headers } : {}),
    });
    this.name = "UpstreamError";
    this.upstream = options.upstream;
    this.kind = options.kind;
    this.upstreamStatus = options.upstreamStatus;
    Object.defineProperty(this, "upstreamBody", { value: options.upstreamBody, enumerable: false });
  }
}
