/**
 * A fully read upstream answer. The body is buffered (bounded by the client's
 * `maxResponseBytes`) so the connection goes back to the pool at once and a
 * service can read the body more than once.
 */
import { UpstreamError } from "./errors.js";

export interface UpstreamResponse {
  readonly status: number;
  /** Lower-case header names, as received. */
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer;
  /** Parses the body as JSON (RFC 8259 §8.1: UTF-8). Throws an `UpstreamError` of kind `bad_response` if it is not. */
  json<T = unknown>(): T;
  /** Decodes the body with the charset of its `content-type` (UTF-8 when none or unknown). */
  text(): string;
}

export interface UpstreamResponseInit {
  upstream: string;
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
  /** Told of every `bad_response` error raised by `json()`, for metrics. */
  onBadResponse: (error: UpstreamError) => void;
}

function charsetOf(contentType: string | string[] | undefined): string | undefined {
  const value = Array.isArray(contentType) ? contentType[0] : contentType;
  const match = value === undefined ? null : /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(value);
  return match?.[1];
}

function decode(body: Buffer, charset: string | undefined): string {
  if (charset !== undefined) {
    try {
      return new TextDecoder(charset).decode(body);
    } catch {
      // Unknown label (RangeError): fall back to UTF-8 rather than fail a readable answer.
    }
  }
  return new TextDecoder("utf-8").decode(body);
}

export function createUpstreamResponse(init: UpstreamResponseInit): UpstreamResponse {
  const { upstream, status, headers, body, onBadResponse } = init;
  return {
    status,
    headers,
    body,
    json<T = unknown>(): T {
      try {
        // TextDecoder drops a leading BOM, which RFC 8259 §8.1 lets parsers ignore.
        return JSON.parse(new TextDecoder("utf-8").decode(body)) as T;
      } catch {
        // No `cause`: V8's SyntaxError quotes the offending text, and the
        // body may hold patient data that must not reach the log.
        const error = new UpstreamError({
          upstream,
          kind: "bad_response",
          detail: `Upstream ${upstream} answered with invalid JSON`,
          upstreamStatus: status,
          upstreamBody: body,
        });
        onBadResponse(error);
        throw error;
      }
    },
    text(): string {
      return decode(body, charsetOf(headers["content-type"]));
    },
  };
}
