/**
 * The catalogue of every error Passerelle answers with. Each code has one HTTP
 * status and one stable problem `type` URI (RFC 9457 §3.1.1); the codes are
 * documented in docs/errors.md, and a test keeps both lists in step.
 */
export const PROBLEM_TYPE_BASE = "https://passerelle.dev/problems/";

export const ERROR_CATALOGUE = {
  // Caller mistakes (4xx)
  PASSERELLE_VALIDATION: { status: 400, title: "Request validation failed" },
  PASSERELLE_MALFORMED_BODY: { status: 400, title: "Malformed request body" },
  PASSERELLE_UNAUTHENTICATED: { status: 401, title: "Authentication required" },
  PASSERELLE_FORBIDDEN: { status: 403, title: "Forbidden" },
  PASSERELLE_NOT_FOUND: { status: 404, title: "Resource not found" },
  PASSERELLE_METHOD_NOT_ALLOWED: { status: 405, title: "Method not allowed" },
  PASSERELLE_NOT_ACCEPTABLE: { status: 406, title: "Not acceptable" },
  PASSERELLE_REQUEST_TIMEOUT: { status: 408, title: "Request timeout" },
  PASSERELLE_CONFLICT: { status: 409, title: "Conflict" },
  PASSERELLE_PAYLOAD_TOO_LARGE: { status: 413, title: "Payload too large" },
  PASSERELLE_HEADERS_TOO_LARGE: { status: 431, title: "Request header fields too large" },
  PASSERELLE_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: "Unsupported media type" },
  PASSERELLE_UNPROCESSABLE: { status: 422, title: "Unprocessable content" },
  PASSERELLE_RATE_LIMITED: { status: 429, title: "Too many requests" },
  // Our faults (5xx)
  PASSERELLE_INTERNAL: { status: 500, title: "Internal error" },
  PASSERELLE_NOT_READY: { status: 503, title: "Service not ready" },
  PASSERELLE_PROCESSING_TIMEOUT: { status: 503, title: "Request processing timed out" },
  PASSERELLE_SHUTTING_DOWN: { status: 503, title: "Gateway shutting down" },
  PASSERELLE_VAULT_UNAVAILABLE: { status: 503, title: "Vault unavailable" },
  PASSERELLE_AUDIT_UNAVAILABLE: { status: 503, title: "Audit trail unavailable" },
  // Upstream (national service) faults
  PASSERELLE_UPSTREAM_BAD_RESPONSE: { status: 502, title: "Upstream service answered badly" },
  PASSERELLE_UPSTREAM_UNAVAILABLE: { status: 503, title: "Upstream service unavailable" },
  PASSERELLE_UPSTREAM_TIMEOUT: { status: 504, title: "Upstream service timed out" },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** `PASSERELLE_UPSTREAM_TIMEOUT` → `https://passerelle.dev/problems/upstream-timeout` */
export function problemTypeFor(code: ErrorCode): string {
  return PROBLEM_TYPE_BASE + code.replace(/^PASSERELLE_/, "").toLowerCase().replaceAll("_", "-");
}
