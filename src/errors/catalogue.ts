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
  PASSERELLE_CMS_INVALID: { status: 422, title: "CMS signature rejected" },
  PASSERELLE_PDF_INVALID: { status: 422, title: "Not a usable PDF" },
  PASSERELLE_PDF_ENCRYPTED: { status: 422, title: "Encrypted PDF refused" },
  PASSERELLE_XML_MALFORMED: { status: 400, title: "Malformed XML" },
  PASSERELLE_XML_FORBIDDEN: { status: 400, title: "Forbidden XML construct" },
  PASSERELLE_XML_SIGNATURE_INVALID: { status: 422, title: "XML signature rejected" },
  PASSERELLE_JOSE_INVALID: { status: 400, title: "Invalid JOSE object" },
  PASSERELLE_CERTIFICATE_INVALID: { status: 422, title: "Certificate rejected" },
  PASSERELLE_KEYSTORE_INVALID: { status: 422, title: "Key store rejected" },
  PASSERELLE_KEYSTORE_PASSWORD_INCORRECT: { status: 422, title: "Wrong key store password" },
  PASSERELLE_CARD_PIN_INCORRECT: { status: 403, title: "Smart card PIN incorrect" },
  PASSERELLE_CARD_PIN_LOCKED: { status: 403, title: "Smart card PIN locked" },
  // Identity (practitioner login, sessions, tokens): see src/services/identity/
  PASSERELLE_AUTH_UNKNOWN_CLIENT: { status: 404, title: "Unknown identity client" },
  PASSERELLE_AUTH_LOGIN_INVALID: { status: 400, title: "Login ticket or login code invalid" },
  PASSERELLE_AUTH_STATE_INVALID: { status: 400, title: "Authorization response does not match a login in progress" },
  PASSERELLE_AUTH_CODE_REJECTED: { status: 400, title: "Authorization code rejected by the identity provider" },
  PASSERELLE_AUTH_DENIED: { status: 403, title: "Authentication denied" },
  PASSERELLE_AUTH_EXPIRED: { status: 410, title: "Authentication request expired" },
  PASSERELLE_AUTH_UNKNOWN_USER: { status: 422, title: "User unknown to the identity provider" },
  PASSERELLE_AUTH_SESSION_INVALID: { status: 401, title: "Session invalid or expired" },
  PASSERELLE_AUTH_TOKEN_INVALID: { status: 401, title: "Access token rejected" },
  PASSERELLE_AUTH_ID_TOKEN_INVALID: { status: 502, title: "Identity provider sent an invalid ID token" },
  PASSERELLE_AUTH_PROVIDER_ERROR: { status: 502, title: "Identity provider refused the request or answered badly" },
  // Generic trust endpoints (sign, verify, time-stamp): see src/services/trust/
  PASSERELLE_SIGNER_UNKNOWN: { status: 404, title: "Unknown signer" },
  PASSERELLE_TSA_NOT_CONFIGURED: { status: 503, title: "No time-stamping authority configured" },
  PASSERELLE_SERVICE_NOT_CONFIGURED: { status: 503, title: "National service not configured" },
  // Luxembourg document templates and iHub packages: see src/services/lu/templates/
  PASSERELLE_TEMPLATE_UNKNOWN: { status: 404, title: "Unknown document template" },
  PASSERELLE_TEMPLATE_PACKAGE_REJECTED: { status: 502, title: "Template package rejected" },
  PASSERELLE_TEMPLATE_STORE_INVALID: { status: 500, title: "Template store could not be loaded" },
  // Our faults (5xx)
  PASSERELLE_INTERNAL: { status: 500, title: "Internal error" },
  PASSERELLE_NOT_READY: { status: 503, title: "Service not ready" },
  PASSERELLE_PROCESSING_TIMEOUT: { status: 503, title: "Request processing timed out" },
  PASSERELLE_SHUTTING_DOWN: { status: 503, title: "Gateway shutting down" },
  PASSERELLE_VAULT_UNAVAILABLE: { status: 503, title: "Vault unavailable" },
  PASSERELLE_AUDIT_UNAVAILABLE: { status: 503, title: "Audit trail unavailable" },
  PASSERELLE_TRUST_STORE_INVALID: { status: 500, title: "Trust store could not be loaded" },
  PASSERELLE_REVOCATION_UNAVAILABLE: { status: 503, title: "Certificate revocation status unavailable" },
  PASSERELLE_CARD_UNAVAILABLE: { status: 503, title: "Smart card unavailable" },
  // Upstream (national service) faults
  PASSERELLE_UPSTREAM_BAD_RESPONSE: { status: 502, title: "Upstream service answered badly" },
  PASSERELLE_UPSTREAM_UNAVAILABLE: { status: 503, title: "Upstream service unavailable" },
  PASSERELLE_UPSTREAM_TIMEOUT: { status: 504, title: "Upstream service timed out" },
  // RFC 3161 time-stamps: see src/protocols/tsp/
  PASSERELLE_TIMESTAMP_REJECTED: { status: 502, title: "Time-stamping authority refused the request" },
  PASSERELLE_TIMESTAMP_INVALID: { status: 502, title: "Time-stamping authority answered with an invalid token" },
  PASSERELLE_TIMESTAMP_TOKEN_INVALID: { status: 422, title: "Time-stamp token rejected" },
  // Luxembourg remote signature service (KMS): see src/services/lu/kms/
  PASSERELLE_KMS_TOKEN_REJECTED: { status: 401, title: "Remote signature service rejected the access token" },
  PASSERELLE_KMS_FORBIDDEN: { status: 403, title: "Remote signature service refuses to sign for this practitioner" },
  PASSERELLE_KMS_CERTIFICATE_UNTRUSTED: { status: 502, title: "Remote signature service returned an untrusted certificate" },
  // Luxembourg mySecu deposits: see src/services/lu/mysecu/
  PASSERELLE_MYSECU_NOT_ENROLLED: { status: 422, title: "Practitioner not enrolled on mySecu" },
  PASSERELLE_MYSECU_DEPOSIT_REFUSED: { status: 422, title: "mySecu refused the document" },
  PASSERELLE_MYSECU_STS_REFUSED: { status: 502, title: "mySecu authentication service refused the gateway" },
  PASSERELLE_MYSECU_FAULT: { status: 502, title: "mySecu answered with a fault" },
  // Idempotent operations (Idempotency-Key)
  PASSERELLE_IDEMPOTENCY_KEY_REUSED: { status: 422, title: "Idempotency key reused for another request" },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** `PASSERELLE_UPSTREAM_TIMEOUT` → `https://passerelle.dev/problems/upstream-timeout` */
export function problemTypeFor(code: ErrorCode): string {
  return PROBLEM_TYPE_BASE + code.replace(/^PASSERELLE_/, "").toLowerCase().replaceAll("_", "-");
}
