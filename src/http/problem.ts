import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { ERROR_CATALOGUE, PasserelleError, problemTypeFor, type InvalidParam } from "../errors/index.js";

export const PROBLEM_CONTENT_TYPE = "application/problem+json; charset=utf-8";

/** RFC 9457 problem details, as every error response carries them. */
export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: string;
  requestId: string;
  errors?: InvalidParam[];
  [extension: string]: unknown;
}

interface AjvError {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

const CONTEXT_TO_IN: Record<string, InvalidParam["in"]> = {
  body: "body",
  querystring: "query",
  params: "path",
  headers: "header",
};

function invalidParamsFrom(validation: AjvError[], context: string | undefined): InvalidParam[] {
  const where = CONTEXT_TO_IN[context ?? "body"] ?? "body";
  return validation.map((v) => {
    let pointer = v.instancePath ?? "";
    // Ajv reports a missing or extra property on its parent: point at the property itself.
    const missing = v.params?.missingProperty;
    const extra = v.params?.additionalProperty;
    if (typeof missing === "string") pointer = `${pointer}/${missing}`;
    if (typeof extra === "string") pointer = `${pointer}/${extra}`;
    const detail =
      typeof extra === "string" ? "is not an accepted property" : typeof missing === "string" ? "is required" : (v.message ?? "is invalid");
    return { in: where, pointer, detail };
  });
}

/**
 * Turns anything thrown into a PasserelleError. Fastify's own errors map by
 * code; unknown errors become PASSERELLE_INTERNAL and keep their cause for the
 * log only.
 */
export function toPasserelleError(err: unknown): PasserelleError {
  if (err instanceof PasserelleError) return err;
  const fe = err as Partial<FastifyError> & { validation?: AjvError[]; validationContext?: string };
  if (Array.isArray(fe.validation)) {
    const errors = invalidParamsFrom(fe.validation, fe.validationContext);
    const first = errors[0];
    return new PasserelleError("PASSERELLE_VALIDATION", {
      detail: first
        ? `Invalid ${first.in}${first.pointer ? ` at ${first.pointer}` : ""}: ${first.detail}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ""}`
        : "The request does not match the schema",
      invalidParams: errors,
      cause: err,
    });
  }
  switch (fe.code) {
    case "FST_ERR_CTP_INVALID_JSON_BODY":
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return new PasserelleError("PASSERELLE_MALFORMED_BODY", { detail: sanitize(fe.message, "The body is not valid JSON"), cause: err });
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new PasserelleError("PASSERELLE_PAYLOAD_TOO_LARGE", { detail: "The request body exceeds the configured limit (BODY_LIMIT_BYTES)", cause: err });
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new PasserelleError("PASSERELLE_UNSUPPORTED_MEDIA_TYPE", {
        detail: "This content type is not accepted here; see the operation's request body in /openapi.json",
        cause: err,
      });
    case "FST_ERR_BAD_URL":
    case "FST_ERR_ASYNC_CONSTRAINT":
      return new PasserelleError("PASSERELLE_VALIDATION", { detail: "The request URL is malformed", cause: err });
    case "FST_ERR_MAX_PARAM_LENGTH":
      return new PasserelleError("PASSERELLE_VALIDATION", { detail: "A path parameter of the request URL is too long", cause: err });
    default:
      break;
  }
  // Any other 4xx raised by a Fastify plugin (e.g. a parser) is the caller's fault.
  const status = typeof fe.statusCode === "number" ? fe.statusCode : 500;
  if (status >= 400 && status < 500) {
    const code =
      status === 413 ? "PASSERELLE_PAYLOAD_TOO_LARGE" : status === 415 ? "PASSERELLE_UNSUPPORTED_MEDIA_TYPE" : status === 429 ? "PASSERELLE_RATE_LIMITED" : "PASSERELLE_VALIDATION";
    return new PasserelleError(code, { detail: sanitize(fe.message, ERROR_CATALOGUE[code].title), cause: err });
  }
  return new PasserelleError("PASSERELLE_INTERNAL", { detail: "An unexpected error occurred; the request id identifies it in the gateway's log", cause: err });
}

/** Fastify messages may echo input; keep them short and single-line. */
function sanitize(message: string | undefined, fallback: string): string {
  if (!message) return fallback;
  const line = message.split("\n")[0] ?? fallback;
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

export function problemDocument(err: PasserelleError, request: FastifyRequest): ProblemDocument {
  const entry = ERROR_CATALOGUE[err.code];
  const doc: ProblemDocument = {
    type: problemTypeFor(err.code),
    title: entry.title,
    status: err.status,
    detail: err.expose ? err.detail : ERROR_CATALOGUE.PASSERELLE_INTERNAL.title,
    instance: request.url.split("?")[0] ?? "/",
    code: err.code,
    requestId: request.id,
  };
  if (err.invalidParams && err.invalidParams.length > 0) doc.errors = err.invalidParams;
  if (err.expose && err.extensions) {
    for (const [k, v] of Object.entries(err.extensions)) if (!(k in doc)) doc[k] = v;
  }
  return doc;
}

export function sendProblem(err: PasserelleError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (err.headers) for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
  return reply.code(err.status).type(PROBLEM_CONTENT_TYPE).send(problemDocument(err, request));
}
