import { randomBytes } from "node:crypto";
import { type FileHandle, appendFile, mkdtemp, open, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { PasserelleError } from "../errors/index.js";
import { isAuditRecord } from "./audit-record.js";
import { describeAuditSinkContract } from "./audit-sink.contract.js";
import { FileAuditSink } from "./file-sink.js";
import { PatientPseudonymiser } from "./patient-ref.js";
import type { AuditEvent, AuditRecord } from "./types.js";

/** Strict JSON Lines reader: every line complete, every line a valid record. */
function parseAuditFile(raw: Buffer): AuditRecord[] {
  const text = raw.toString("utf8");
  if (text === "") return [];
  if (!text.endsWith("\n")) throw new Error("audit file does not end with a newline");
  return text
    .slice(0, -1)
    .split("\n")
    .map((line, i) => {
      const value: unknown = JSON.parse(line);
      if (!isAuditRecord(value)) throw new Error(`line ${i + 1} is not an audit record`);
      return value;
    });
}

describeAuditSinkContract(
  "FileAuditSink",
  async (deps) => {
    const dir = await mkdtemp(join(tmpdir(), "passerelle-audit-"));
    const path = join(dir, "audit", "trail.jsonl");
    let sink = await FileAuditSink.open({ path, ...deps });
    return {
      get sink() {
        return sink;
      },
      async readStorage() {
        const raw = await readFile(path);
        return { raw, records: parseAuditFile(raw) };
      },
      async reopen({ tornWrite }) {
        await sink.close();
        if (tornWrite) {
          // What a crash between write(2) and its completion leaves: a record's first bytes, no newline.
          await appendFile(path, '{"id":"999999999999999-000000","time":"2025-03-01T1');
        }
        sink = await FileAuditSink.open({ path, ...deps });
        return sink;
      },
      async cleanup() {
        await sink.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
  { persistent: true },
);

describe("FileAuditSink", () => {
  const pseudonymiser = new PatientPseudonymiser(randomBytes(32));
  let dir: string;
  let path: string;
  let fileHandlePrototype: FileHandle;

  function event(requestId: string, overrides: Partial<AuditEvent> = {}): AuditEvent {
    return { action: "fr-dmp.document.read", caller: { software: "key-1" }, outcome: "success", requestId, ...overrides };
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "passerelle-audit-"));
    path = join(dir, "var", "audit", "trail.jsonl");
    // FileHandle is not exported by node:fs/promises; its prototype is reachable from any handle.
    const probe = await open(tmpdir(), "r");
    fileHandlePrototype = Object.getPrototypeOf(probe) as FileHandle;
    await probe.close();
  });

  afterEach(async () => {
    vi.restoreAllMocks();
    await rm(dir, { recursive: true, force: true });
  });

  it("creates its directory with mode 0700 and its file with mode 0600", async () => {
    const sink = await FileAuditSink.open({ path, pseudonymiser });
    try {
      expect((await stat(join(dir, "var", "audit"))).mode & 0o777).toBe(0o700);
      expect((await stat(join(dir, "var"))).mode & 0o777).toBe(0o700);
      expect((await stat(path)).mode & 0o777).toBe(0o600);
    } finally {
      await sink.close();
    }
  });

  it("writes one JSON line per record and keeps the clear identifier out of the file", async () => {
    const sink = await FileAuditSink.open({ path, pseudonymiser });
    const record = await sink.append(event("r1", { patientId: "1 85 07 99 123 456 21" }));
    await sink.close();
    const text = await readFile(path, "utf8");
    expect(text).toBe(JSON.stringify(record) + "\n");
    expect(text.startsWith('{"id":"')).toBe(true);
    expect(text).not.toMatch(/1850799123456/u);
    expect(text).not.toContain("1 85 07");
  });

  it("fsyncs the record before append() resolves", async () => {
    const sink = await FileAuditSink.open({ path, pseudonymiser });
    const steps: string[] = [];
    const { write, sync } = fileHandlePrototype;
    vi.spyOn(fileHandlePrototype, "write").mockImplementation(function (this: FileHandle, ...args: unknown[]) {
      steps.push("write");
      return (write as (...a: unknown[]) => ReturnType<FileHandle["write"]>).apply(this, args);
    } as FileHandle["write"]);
    vi.spyOn(fileHandlePrototype, "sync").mockImplementation(async function (this: FileHandle) {
      steps.push("sync start");
      await sync.call(this);
      steps.push("sync done");
    });
    await sink.append(event("r1")).then(() => steps.push("resolved"));
    expect(steps).toEqual(["write", "sync start", "sync done", "resolved"]);
    await sink.close();
  });

  it("commits concurrent appends in a few write+fsync batches (group commit)", async () => {
    const sink = await FileAuditSink.open({ path, pseudonymiser });
    const syncSpy = vi.spyOn(fileHandlePrototype, "sync");
    await Promise.all(Array.from({ length: 200 }, (_, i) => sink.append(event(`r${i}`))));
    // The first append's write is in flight while the other 199 queue: they share the second fsync.
    expect(syncSpy.mock.calls.length).toBeLessThanOrEqual(2);
    await sink.close();
    expect(parseAuditFile(await readFile(path))).toHaveLength(200);
  });

  it("shows a query only acknowledged records, never one still being synced", async () => {
    const sink = await FileAuditSink.open({ path, pseudonymiser });
    const first = await sink.append(event("r1"));

    const { sync } = fileHandlePrototype;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let signalSyncStarted!: () => void;
    const syncStarted = new Promise<void>((resolve) => (signalSyncStarted = resolve));
    vi.spyOn(fileHandlePrototype, "sync").mockImplementationOnce(async function (this: FileHandle) {
      signalSyncStarted();
      await gate;
      await sync.call(this);
    });

    const second = sink.append(event("r2"));
    await syncStarted;
    expect(parseAuditFile(await readFile(path))).toHaveLength(2); // written, not yet acknowledged
    expect((await sink.query({ limit: 10 })).records).toEqual([first]);

    release();
    const secondRecord = await second;
    expect((await sink.query({ limit: 10 })).records).toEqual([first, secondRecord]);
    await sink.close();
  });

  it("fails closed when a write fails: that append and later ones reject, earlier records stay readable", async () => {
    const sink = await FileAuditSink.open({ path, pseudonymiser });
    const first = await sink.append(event("r1"));
    const diskFull = Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" });
    vi.spyOn(fileHandlePrototype, "write").mockRejectedValueOnce(diskFull);

    const failed: unknown = await sink.append(event("r2")).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(PasserelleError);
    expect((failed as PasserelleError).code).toBe("PASSERELLE_AUDIT_UNAVAILABLE");
    expect((failed as PasserelleError).status).toBe(503);
    expect((failed as PasserelleError).cause).toBe(diskFull);

    await expect(sink.append(event("r3"))).rejects.toMatchObject({ code: "PASSERELLE_AUDIT_UNAVAILABLE" });
    expect((await sink.query({ limit: 10 })).records).toEqual([first]);
    await sink.close();

    // A restart recovers.
    const reopened = await FileAuditSink.open({ path, pseudonymiser });
    const later = await reopened.append(event("r4"));
    expect((await reopened.query({ limit: 10 })).records).toEqual([first, later]);
    await reopened.close();
  });

  it("rejects every append queued behind a failed write", async () => {
    const sink = await FileAuditSink.open({ path, pseudonymiser });
    vi.spyOn(fileHandlePrototype, "sync").mockRejectedValueOnce(Object.assign(new Error("EIO"), { code: "EIO" }));
    const results = await Promise.allSettled([sink.append(event("a")), sink.append(event("b")), sink.append(event("c"))]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected", "rejected"]);
    await sink.close();
  });

  it("refuses to open a file whose last complete line is not a record", async () => {
    const sink = await FileAuditSink.open({ path, pseudonymiser });
    await sink.append(event("r1"));
    await sink.close();
    await appendFile(path, "not json\n");
    await expect(FileAuditSink.open({ path, pseudonymiser })).rejects.toThrow(/last complete line is not a valid audit record/u);
  });

  it("reports a corrupt line in the middle of the file instead of skipping it", async () => {
    const sink = await FileAuditSink.open({ path, pseudonymiser });
    const first = await sink.append(event("r1"));
    await sink.close();
    const good = await readFile(path, "utf8");
    await writeFile(path, good + "{broken\n" + good.replace(first.id, first.id.replace(/-\d{6}$/u, "-000009")));
    const reopened = await FileAuditSink.open({ path, pseudonymiser });
    await expect(reopened.query({ limit: 10 })).rejects.toThrow(/corrupt at line 2/u);
    await reopened.close();
  });

  it("recovers a torn line longer than one read chunk", async () => {
    const sink = await FileAuditSink.open({ path, pseudonymiser });
    const kept = await sink.append(event("r1"));
    await sink.close();
    await appendFile(path, '{"id":"' + "9".repeat(200_000));
    const reopened = await FileAuditSink.open({ path, pseudonymiser });
    const next = await reopened.append(event("r2"));
    await reopened.close();
    expect(parseAuditFile(await readFile(path))).toEqual([kept, next]);
  });

  it("pages through thousands of records with cursors", async () => {
    const sink = await FileAuditSink.open({ path, pseudonymiser });
    const appended = await Promise.all(
      Array.from({ length: 3000 }, (_, i) => sink.append(event(`r${i}`, { action: i % 3 === 0 ? "x.read" : "x.write" }))),
    );
    const seen: AuditRecord[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const page = await sink.query({ limit: 500, action: "x.read", ...(after === undefined ? {} : { after }) });
      seen.push(...page.records);
      after = page.next;
      pages += 1;
    } while (after !== undefined);
    expect(pages).toBe(2);
    expect(seen).toEqual(appended.filter((r) => r.action === "x.read"));
    await sink.close();
  });

  it("rejects an empty path with a TypeError", async () => {
    await expect(FileAuditSink.open({ path: "", pseudonymiser })).rejects.toThrow(TypeError);
  });
});
