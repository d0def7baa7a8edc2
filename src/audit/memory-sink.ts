import type { GatewayMetrics } from "../observability/metrics.js";
import { compileAuditQuery } from "./audit-query.js";
import { buildAuditRecord } from "./audit-record.js";
import { auditUnavailable } from "./errors.js";
import type { PatientPseudonymiser } from "./patient-ref.js";
import { AuditRecordIdSequence } from "./record-id.js";
import type { AuditEvent, AuditPage, AuditQuery, AuditRecord, AuditSink } from "./types.js";

export interface MemoryAuditSinkOptions {
  pseudonymiser: PatientPseudonymiser;
  /** Clock, for tests. */
  now?: () => Date;
  metrics?: GatewayMetrics;
}

/**
 * An audit sink held in memory: for tests, and for embedding the gateway
 * where the host application reads the trail itself. Nothing survives the
 * process and nothing is ever evicted, so a long-running gateway must use a
 * persistent sink (./file-sink.ts).
 *
 * @example
 * const sink = new MemoryAuditSink({ pseudonymiser: new PatientPseudonymiser(key) });
 * await sink.append({ action: "fr-dmp.document.read", caller: { software: "lgc-1" }, outcome: "success", requestId });
 */
export class MemoryAuditSink implements AuditSink {
  readonly #pseudonymiser: PatientPseudonymiser;
  readonly #now: () => Date;
  readonly #metrics: GatewayMetrics | undefined;
  readonly #ids = new AuditRecordIdSequence();
  // Ascending id order, since ids only grow.
  readonly #records: AuditRecord[] = [];
  #closed = false;

  constructor(options: MemoryAuditSinkOptions) {
    this.#pseudonymiser = options.pseudonymiser;
    this.#now = options.now ?? (() => new Date());
    this.#metrics = options.metrics;
  }

  async append(event: AuditEvent): Promise<AuditRecord> {
    if (this.#closed) throw auditUnavailable("the audit sink is closed");
    const time = this.#now();
    const record = buildAuditRecord(event, this.#ids.next(time), time, this.#pseudonymiser);
    this.#records.push(record);
    this.#metrics?.auditRecords.inc({ action: record.action, outcome: record.outcome });
    // Copies in and out: a caller mutating what it got back cannot rewrite the trail.
    return structuredClone(record);
  }

  async query(q: AuditQuery): Promise<AuditPage> {
    if (this.#closed) throw auditUnavailable("the audit sink is closed");
    const query = compileAuditQuery(q, this.#pseudonymiser);
    const records: AuditRecord[] = [];
    for (let i = query.after === undefined ? 0 : this.#firstIndexAfter(query.after); i < this.#records.length; i++) {
      const record = this.#records[i] as AuditRecord;
      if (!query.matches(record)) continue;
      if (records.length === query.limit) {
        return { records, next: (records.at(-1) as AuditRecord).id };
      }
      records.push(structuredClone(record));
    }
    return { records };
  }

  /**
   * A copy of every record in id order, also after close(): for a host that
   * exports the trail at shutdown, and for tests.
   */
  snapshot(): AuditRecord[] {
    return structuredClone(this.#records);
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  /** Binary search: index of the first record whose id is greater than `after`. */
  #firstIndexAfter(after: string): number {
    let low = 0;
    let high = this.#records.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((this.#records[mid] as AuditRecord).id <= after) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}
