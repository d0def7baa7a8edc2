import { createReadStream } from "node:fs";
import { type FileHandle, mkdir, open } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { createInterface } from "node:readline";
import type { GatewayMetrics } from "../observability/metrics.js";
import { compileAuditQuery } from "./audit-query.js";
import { buildAuditRecord, isAuditRecord } from "./audit-record.js";
import { auditUnavailable } from "./errors.js";
import type { PatientPseudonymiser } from "./patient-ref.js";
import { AuditRecordIdSequence } from "./record-id.js";
import type { AuditEvent, AuditPage, AuditQuery, AuditRecord, AuditSink } from "./types.js";

export interface FileAuditSinkOptions {
  /** The JSON Lines file. Its directory is created (mode 0700) if missing. */
  path: string;
  pseudonymiser: PatientPseudonymiser;
  /** Clock, for tests. */
  now?: () => Date;
  metrics?: GatewayMetrics;
}

interface PendingAppend {
  record: AuditRecord;
  resolve: (record: AuditRecord) => void;
  reject: (error: unknown) => void;
}

const NEWLINE = 0x0a;
const TAIL_CHUNK_BYTES = 64 * 1024;
// Every stored line starts with this, then the fixed-width id (./audit-record.ts
// writes `id` first): enough to skip a line before the cursor without parsing it.
const LINE_PREFIX = '{"id":"';
const ID_LENGTH = 22;

/**
 * An append-only JSON Lines audit file, one record per line.
 *
 * Durability: `append()` resolves only once its line is written and fsynced,
 * so an acknowledged record survives a crash or power loss. Appends arriving
 * while a write is in flight are queued and committed together by the next
 * write + fsync (group commit), so 200 concurrent appends cost a few fsyncs,
 * not 200, and lines never interleave. If a write or fsync fails the sink
 * stops accepting records: after a failed fsync Linux may have dropped the
 * dirty pages and a retry can falsely succeed (the PostgreSQL "fsyncgate"
 * lesson), so the only safe continuation is a restart, whose recovery
 * removes any torn line.
 *
 * Recovery on open: a line without its final newline can only come from a
 * write that never completed, hence never acknowledged; it is cut off so the
 * file stays valid JSON Lines, and ids continue after the last complete line.
 *
 * One process writes a file: two sinks appending to the same path would
 * produce duplicate ids.
 *
 * @example
 * const sink = await FileAuditSink.open({ path: "/var/lib/passerelle/audit/audit.jsonl", pseudonymiser });
 * await sink.append({ action: "fr-dmp.document.read", caller: { software: "lgc-1" }, patientId: ins, outcome: "success", requestId });
 */
export class FileAuditSink implements AuditSink {
  readonly #path: string;
  readonly #handle: FileHandle;
  readonly #pseudonymiser: PatientPseudonymiser;
  readonly #now: () => Date;
  readonly #metrics: GatewayMetrics | undefined;
  readonly #ids: AuditRecordIdSequence;
  /** Bytes acknowledged (written and fsynced): queries read up to here, never a line being written. */
  #committedSize: number;
  #pending: PendingAppend[] = [];
  #draining: Promise<void> | undefined;
  #failure: unknown;
  #failed = false;
  #closing: Promise<void> | undefined;

  private constructor(
    path: string,
    handle: FileHandle,
    committedSize: number,
    lastId: string | undefined,
    options: FileAuditSinkOptions,
  ) {
    this.#path = path;
    this.#handle = handle;
    this.#committedSize = committedSize;
    this.#ids = new AuditRecordIdSequence(lastId);
    this.#pseudonymiser = options.pseudonymiser;
    this.#now = options.now ?? (() => new Date());
    this.#metrics = options.metrics;
  }

  /** Creates the directory and file if missing, recovers from a torn last line, and opens for appending. */
  static async open(options: FileAuditSinkOptions): Promise<FileAuditSink> {
    if (typeof options.path !== "string" || options.path.length === 0) {
      throw new TypeError("FileAuditSink: path must be a non-empty string");
    }
    const path = resolve(options.path);
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const tail = await recoverTail(path);
    const handle = await open(path, "a", 0o600);
    try {
      if (!tail.existed) await syncDirectory(dirname(path));
      return new FileAuditSink(path, handle, tail.size, tail.lastId, options);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  append(event: AuditEvent): Promise<AuditRecord> {
    if (this.#closing !== undefined) return Promise.reject(auditUnavailable("the audit sink is closed"));
    if (this.#failed) return Promise.reject(auditUnavailable("the audit file could not be written", this.#failure));
    let record: AuditRecord;
    try {
      // Id and time are taken now, in call order, and the queue is written in
      // that order: file order is id order.
      const time = this.#now();
      record = buildAuditRecord(event, this.#ids.next(time), time, this.#pseudonymiser);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      this.#pending.push({ record, resolve, reject });
      this.#draining ??= this.#drain();
    });
  }

  async query(q: AuditQuery): Promise<AuditPage> {
    if (this.#closing !== undefined) throw auditUnavailable("the audit sink is closed");
    const query = compileAuditQuery(q, this.#pseudonymiser);
    const end = this.#committedSize;
    if (end === 0) return { records: [] };

    // Streamed line by line: the file may hold years of records.
    const stream = createReadStream(this.#path, { start: 0, end: end - 1 });
    const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
    const records: AuditRecord[] = [];
    let lineNumber = 0;
    try {
      for await (const line of lines) {
        lineNumber += 1;
        if (query.after !== undefined && line.startsWith(LINE_PREFIX)) {
          const id = line.slice(LINE_PREFIX.length, LINE_PREFIX.length + ID_LENGTH);
          if (id <= query.after) continue;
        }
        const record = parseRecordLine(line);
        if (record === undefined) {
          throw new Error(`audit file ${this.#path} is corrupt at line ${lineNumber}`);
        }
        if (query.after !== undefined && record.id <= query.after) continue;
        if (!query.matches(record)) continue;
        if (records.length === query.limit) {
          return { records, next: (records.at(-1) as AuditRecord).id };
        }
        records.push(record);
      }
      return { records };
    } finally {
      lines.close();
      stream.destroy();
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      // Appends already accepted are committed before the file is closed.
      await this.#draining;
      await this.#handle.close();
    })();
    return this.#closing;
  }

  /** Writes queued records until the queue is empty; one write + fsync per batch. */
  async #drain(): Promise<void> {
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending;
        this.#pending = [];
        const bytes = Buffer.from(batch.map((p) => JSON.stringify(p.record) + "\n").join(""), "utf8");
        try {
          await writeFully(this.#handle, bytes);
          await this.#handle.sync();
        } catch (error) {
          this.#failed = true;
          this.#failure = error;
          const rejected = auditUnavailable("the audit file could not be written", error);
          for (const p of [...batch, ...this.#pending]) p.reject(rejected);
          this.#pending = [];
          return;
        }
        this.#committedSize += bytes.length;
        for (const p of batch) {
          this.#metrics?.auditRecords.inc({ action: p.record.action, outcome: p.record.outcome });
          p.resolve(p.record);
        }
      }
    } finally {
      // Same synchronous step as the emptiness check above: no append can
      // slip in between and be left waiting.
      this.#draining = undefined;
    }
  }
}

function parseRecordLine(line: string): AuditRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  return isAuditRecord(value) ? value : undefined;
}

async function writeFully(handle: FileHandle, bytes: Buffer): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset);
    offset += bytesWritten;
  }
}

/** A new directory entry is durable only once its directory is fsynced (fsync(2), NOTES). */
async function syncDirectory(path: string): Promise<void> {
  if (process.platform === "win32") return;
  const dir = await open(path, "r");
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

interface RecoveredTail {
  existed: boolean;
  /** Size of the valid part of the file, in bytes. */
  size: number;
  /** Id of the last complete record, if any. */
  lastId: string | undefined;
}

/**
 * Cuts off a torn last line and reads the id of the last complete one, reading
 * backwards from the end so a large file is not scanned.
 */
async function recoverTail(path: string): Promise<RecoveredTail> {
  let handle: FileHandle;
  try {
    handle = await open(path, "r+");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { existed: false, size: 0, lastId: undefined };
    throw error;
  }
  try {
    let size = (await handle.stat()).size;
    const lastNewline = await lastIndexOfNewline(handle, size);
    if (lastNewline !== size - 1) {
      // The last write did not complete, so its append never resolved.
      size = lastNewline + 1;
      await handle.truncate(size);
      await handle.sync();
    }
    if (size === 0) return { existed: true, size, lastId: undefined };
    const lineStart = (await lastIndexOfNewline(handle, size - 1)) + 1;
    const line = Buffer.alloc(size - 1 - lineStart);
    await handle.read(line, 0, line.length, lineStart);
    const record = parseRecordLine(line.toString("utf8"));
    if (record === undefined) {
      // A complete line we cannot read is damage, not a crash: refuse to write
      // after it rather than guess where the id sequence stands.
      throw new Error(`audit file ${path}: the last complete line is not a valid audit record`);
    }
    return { existed: true, size, lastId: record.id };
  } finally {
    await handle.close();
  }
}

/** Offset of the last `\n` in the first `end` bytes, or -1. */
async function lastIndexOfNewline(handle: FileHandle, end: number): Promise<number> {
  const chunk = Buffer.alloc(Math.min(TAIL_CHUNK_BYTES, Math.max(end, 1)));
  let chunkEnd = end;
  while (chunkEnd > 0) {
    const start = Math.max(0, chunkEnd - chunk.length);
    const { bytesRead } = await handle.read(chunk, 0, chunkEnd - start, start);
    const found = chunk.subarray(0, bytesRead).lastIndexOf(NEWLINE);
    if (found !== -1) return start + found;
    chunkEnd = start;
  }
  return -1;
}
