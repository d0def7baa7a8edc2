/**
 * The audit trail: every access to patient data appends one record. Every
 * implementation of {@link AuditSink} passes the same contract suite
 * (./audit-sink.contract.ts).
 *
 * A record never holds a patient identifier in clear: the caller passes the
 * national identifier (INS/NIR, NISS, matricule) in {@link AuditEvent.patientId}
 * and the sink stores only a keyed pseudonym of it
 * ({@link AuditRecord.patientRef}, see ./patient-ref.ts). The trail can still
 * answer "who accessed this patient's data" because a query's `patientId` is
 * pseudonymised with the same key before matching.
 */

export type AuditOutcome = "success" | "failure" | "denied";

/** Who made the access: the calling software and, when known, the practitioner acting through it. */
export interface AuditCaller {
  /** The calling software: API key id or client certificate identity. */
  software: string;
  /** The practitioner's professional identifier (RPPS, INAMI, matricule…), not a patient's. */
  practitioner?: string;
}

/** What a caller passes to {@link AuditSink.append}. */
export interface AuditEvent {
  /** Dotted name of the operation, e.g. `fr-dmp.document.read` (letters, digits, `.`, `_`, `:`, `-`). */
  action: string;
  caller: AuditCaller;
  /** The clear national identifier of the patient concerned. Never stored: only its pseudonym is. */
  patientId?: string;
  outcome: AuditOutcome;
  /** The gateway request id, to join the trail with the logs. */
  requestId: string;
  /** Short free text (≤ 1000 characters). Must not contain patient data; one containing `patientId` is refused. */
  detail?: string;
}

/** What is stored and returned by {@link AuditSink.query}. */
export interface AuditRecord {
  /**
   * Monotonic, sortable id (see ./record-id.ts): ids compare as strings in the
   * order the records were appended, across restarts. Usable as a cursor.
   */
  id: string;
  /** ISO 8601 UTC time of the append, millisecond precision. */
  time: string;
  action: string;
  caller: AuditCaller;
  /** `hmac-sha256:<64 hex>` pseudonym of the patient identifier, when the event had one. */
  patientRef?: string;
  outcome: AuditOutcome;
  requestId: string;
  detail?: string;
}

export interface AuditQuery {
  /** Cursor: only records with an id strictly greater than this one (a previous page's `next`). */
  after?: string;
  /** Page size, an integer in 1..500. */
  limit: number;
  /** Exact action name. */
  action?: string;
  /** Clear patient identifier, matched through the same keyed pseudonym as at append time. */
  patientId?: string;
  /** ISO 8601 time with a zone; records with `time >= from`. */
  from?: string;
  /** ISO 8601 time with a zone; records with `time < to` (half-open, so adjacent windows never overlap). */
  to?: string;
}

export interface AuditPage {
  /** Matching records in ascending id order. */
  records: AuditRecord[];
  /** Present when more matching records remain: pass it as `after` to get the next page. */
  next?: string;
}

export interface AuditSink {
  /**
   * Stores one record. When the promise resolves the record is durable (for a
   * persistent sink: on disk). Caller mistakes (missing fields, patient id in
   * `detail`) reject with a `TypeError`; a closed or failed sink rejects with
   * `PASSERELLE_AUDIT_UNAVAILABLE`.
   */
  append(event: AuditEvent): Promise<AuditRecord>;
  /** One page of matching records. A malformed query rejects with a `TypeError`. */
  query(q: AuditQuery): Promise<AuditPage>;
  /** Waits for accepted appends to be stored, then releases resources. Idempotent. */
  close(): Promise<void>;
}
