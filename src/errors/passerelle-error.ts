import { ERROR_CATALOGUE, type ErrorCode } from "./catalogue.js";

/**
 * One offending input field, as listed in a validation problem's `errors`
 * member (the shape of RFC 9457 §3's example: `detail` + JSON `pointer`).
 */
export interface InvalidParam {
  in: "body" | "query" | "path" | "header";
  /** JSON Pointer (RFC 6901) into that part, e.g. `/patient/ins`; "" for the whole part. */
  pointer: string;
  detail: string;
}

export interface PasserelleErrorOptions {
  detail?: string;
  cause?: unknown;
  invalidParams?: InvalidParam[];
  /** Extra members added to the problem document (must not contain secrets). */
  extensions?: Record<string, unknown>;
  /** Response headers to add (e.g. `Allow`, `Retry-After`). */
  headers?: Record<string, string>;
}

/**
 * The base of every error Passerelle raises on purpose. `expose` follows
 * node-oidc-provider: details of 4xx and upstream errors are shown to the
 * caller; a 500 says only "internal error" and the cause goes to the log.
 */
export class PasserelleError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly expose: boolean;
  readonly detail: string;
  readonly invalidParams: InvalidParam[] | undefined;
  readonly extensions: Record<string, unknown> | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, options: PasserelleErrorOptions = {}) {
    const entry = ERROR_CATALOGUE[code];
    super(options.detail ?? entry.title, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "PasserelleError";
    this.code = code;
    this.status = entry.status;
    this.expose = entry.status !== 500;
    this.detail = options.detail ?? entry.title;
    this.invalidParams = options.invalidParams;
    this.extensions = options.extensions;
    this.headers = options.headers;
  }
}

export function badRequest(detail: string, invalidParams?: InvalidParam[]): PasserelleError {
  return new PasserelleError("PASSERELLE_VALIDATION", { detail, ...(invalidParams ? { invalidParams } : {}) });
}

export function notFound(detail: string): PasserelleError {
  return new PasserelleError("PASSERELLE_NOT_FOUND", { detail });
}

export function forbidden(detail: string): PasserelleError {
  return new PasserelleError("PASSERELLE_FORBIDDEN", { detail });
}

export function unauthenticated(detail: string): PasserelleError {
  return new PasserelleError("PASSERELLE_UNAUTHENTICATED", {
    detail,
    headers: { "www-authenticate": 'Bearer realm="passerelle"' },
  });
}
