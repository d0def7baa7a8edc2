import { PasserelleError } from "../errors/index.js";

/**
 * The sink cannot take records (closed, or a write to its storage failed).
 * A 503: access to patient data must not go on unaudited, so the request
 * that needed the record fails rather than proceeding.
 */
export function auditUnavailable(detail: string, cause?: unknown): PasserelleError {
  return new PasserelleError("PASSERELLE_AUDIT_UNAVAILABLE", { detail, ...(cause === undefined ? {} : { cause }) });
}
