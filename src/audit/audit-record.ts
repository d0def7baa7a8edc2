/**
 * Turning an {@link AuditEvent} into the {@link AuditRecord} that is stored,
 * shared by every sink so they validate and pseudonymise identically.
 */
import { PATIENT_REF_PREFIX, type PatientPseudonymiser, normalisePatientId } from "./patient-ref.js";
import { isAuditRecordId } from "./record-id.js";
import type { AuditCaller, AuditEvent, AuditOutcome, AuditRecord } from "./types.js";

const OUTCOMES: ReadonlySet<string> = new Set<AuditOutcome>(["success", "failure", "denied"]);
// A closed alphabet keeps free text (and so patient data) out of the action,
// which is also a metric label.
const ACTION_REGEX = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/u;
const MAX_ID_LENGTH = 256;
const MAX_DETAIL_LENGTH = 1000;
const PATIENT_REF_REGEX = new RegExp(`^${PATIENT_REF_PREFIX}[0-9a-f]{64}$`, "u");

/**
 * Checks an event (caller mistakes throw a `TypeError`) and builds its record.
 * Only the known fields are copied, so an extra property on the event or the
 * caller can never carry data into the trail.
 */
export function buildAuditRecord(
  event: AuditEvent,
  id: string,
  time: Date,
  pseudonymiser: PatientPseudonymiser,
): AuditRecord {
  assertAuditEvent(event);
  const caller: AuditCaller = { software: event.caller.software };
  if (event.caller.practitioner !== undefined) caller.practitioner = event.caller.practitioner;
  // Key order is the stored order: `id` first lets a reader skip a line by its
  // prefix without parsing it (see ./file-sink.ts).
  return {
    id,
    time: time.toISOString(),
    action: event.action,
    caller,
    ...(event.patientId === undefined ? {} : { patientRef: pseudonymiser.ref(event.patientId) }),
    outcome: event.outcome,
    requestId: event.requestId,
    ...(event.detail === undefined ? {} : { detail: event.detail }),
  };
}

function assertAuditEvent(event: AuditEvent): void {
  if (typeof event !== "object" || event === null) {
    throw new TypeError("audit event must be an object");
  }
  if (typeof event.action !== "string" || !ACTION_REGEX.test(event.action)) {
    throw new TypeError("audit event action must match " + String(ACTION_REGEX));
  }
  if (typeof event.caller !== "object" || event.caller === null) {
    throw new TypeError("audit event caller must be an object");
  }
  assertShortText(event.caller.software, "caller.software");
  if (event.caller.practitioner !== undefined) assertShortText(event.caller.practitioner, "caller.practitioner");
  if (typeof event.outcome !== "string" || !OUTCOMES.has(event.outcome)) {
    throw new TypeError(`audit event outcome must be one of ${[...OUTCOMES].join(", ")}`);
  }
  assertShortText(event.requestId, "requestId");
  if (event.patientId !== undefined) normalisePatientId(event.patientId);
  if (event.detail !== undefined) {
    if (typeof event.detail !== "string" || event.detail.length > MAX_DETAIL_LENGTH) {
      throw new TypeError(`audit event detail must be a string of at most ${MAX_DETAIL_LENGTH} characters`);
    }
    // The one leak we can detect for sure: the very identifier being
    // pseudonymised, copied into the free text. Failing loudly finds the
    // offending call in tests instead of leaking in production.
    if (event.patientId !== undefined && containsPatientId(event.detail, event.patientId)) {
      throw new TypeError("audit event detail must not contain the patient identifier");
    }
  }
}

function assertShortText(value: unknown, name: string): void {
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_ID_LENGTH) {
    throw new TypeError(`audit event ${name} must be a non-empty string of at most ${MAX_ID_LENGTH} characters`);
  }
}

function containsPatientId(text: string, patientId: string): boolean {
  const id = normalisePatientId(patientId);
  const flattened = text.replace(/[\s.-]+/gu, "").toUpperCase();
  return flattened.includes(id);
}

/** Shape check for a record read back from storage. */
export function isAuditRecord(value: unknown): value is AuditRecord {
  if (typeof value !== "object" || value === null) return false;
  const r = value as Record<string, unknown>;
  const caller = r["caller"] as Record<string, unknown> | null | undefined;
  return (
    isAuditRecordId(r["id"]) &&
    typeof r["time"] === "string" &&
    !Number.isNaN(Date.parse(r["time"])) &&
    typeof r["action"] === "string" &&
    typeof caller === "object" &&
    caller !== null &&
    typeof caller["software"] === "string" &&
    (caller["practitioner"] === undefined || typeof caller["practitioner"] === "string") &&
    (r["patientRef"] === undefined || (typeof r["patientRef"] === "string" && PATIENT_REF_REGEX.test(r["patientRef"]))) &&
    typeof r["outcome"] === "string" &&
    OUTCOMES.has(r["outcome"]) &&
    typeof r["requestId"] === "string" &&
    (r["detail"] === undefined || typeof r["detail"] === "string")
  );
}
