/**
 * Checking an {@link AuditQuery} and compiling it to a record predicate,
 * shared by every sink so they page and filter identically.
 */
import type { PatientPseudonymiser } from "./patient-ref.js";
import { isAuditRecordId } from "./record-id.js";
import type { AuditQuery, AuditRecord } from "./types.js";

export const MAX_AUDIT_PAGE_SIZE = 500;

// ISO 8601 / RFC 3339 §5.6 date-time; the zone is required because a time
// without one means a different instant on every server.
const ISO_TIME_REGEX = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/u;

export interface CompiledAuditQuery {
  /** Records with an id less than or equal to this are skipped. */
  after: string | undefined;
  limit: number;
  matches(record: AuditRecord): boolean;
}

/** Throws a `TypeError` on a malformed query. */
export function compileAuditQuery(q: AuditQuery, pseudonymiser: PatientPseudonymiser): CompiledAuditQuery {
  if (typeof q !== "object" || q === null) {
    throw new TypeError("audit query must be an object");
  }
  if (!Number.isInteger(q.limit) || q.limit < 1 || q.limit > MAX_AUDIT_PAGE_SIZE) {
    throw new TypeError(`audit query limit must be an integer in 1..${MAX_AUDIT_PAGE_SIZE}, got ${String(q.limit)}`);
  }
  if (q.after !== undefined && !isAuditRecordId(q.after)) {
    throw new TypeError("audit query cursor `after` is not a record id");
  }
  if (q.action !== undefined && (typeof q.action !== "string" || q.action.length === 0)) {
    throw new TypeError("audit query action must be a non-empty string");
  }
  const patientRef = q.patientId === undefined ? undefined : pseudonymiser.ref(q.patientId);
  const from = q.from === undefined ? undefined : parseIsoTime(q.from, "from");
  const to = q.to === undefined ? undefined : parseIsoTime(q.to, "to");
  const action = q.action;

  return {
    after: q.after,
    limit: q.limit,
    matches(record) {
      if (action !== undefined && record.action !== action) return false;
      if (patientRef !== undefined && record.patientRef !== patientRef) return false;
      if (from !== undefined || to !== undefined) {
        const time = Date.parse(record.time);
        if (from !== undefined && time < from) return false;
        if (to !== undefined && time >= to) return false;
      }
      return true;
    },
  };
}

function parseIsoTime(value: string, name: string): number {
  const millis = typeof value === "string" && ISO_TIME_REGEX.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(millis)) {
    throw new TypeError(`audit query ${name} must be an ISO 8601 time with a zone, e.g. 2025-01-31T00:00:00Z`);
  }
  return millis;
}
