export type {
  AuditCaller,
  AuditEvent,
  AuditOutcome,
  AuditPage,
  AuditQuery,
  AuditRecord,
  AuditSink,
} from "./types.js";
export { MAX_AUDIT_PAGE_SIZE } from "./audit-query.js";
export { FileAuditSink, type FileAuditSinkOptions } from "./file-sink.js";
export { MemoryAuditSink, type MemoryAuditSinkOptions } from "./memory-sink.js";
export { PATIENT_REF_PREFIX, PatientPseudonymiser, normalisePatientId } from "./patient-ref.js";
export { AUDIT_RECORD_ID_PATTERN, AuditRecordIdSequence, isAuditRecordId } from "./record-id.js";
