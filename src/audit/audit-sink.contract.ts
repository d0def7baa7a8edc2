/**
 * The contract every {@link AuditSink} passes. A backend's test file calls
 * `describeAuditSinkContract("FileAuditSink", makeFixture, { persistent: true })`.
 */
import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PasserelleError } from "../errors/index.js";
import { GatewayMetrics } from "../observability/metrics.js";
import { PatientPseudonymiser } from "./patient-ref.js";
import { isAuditRecordId } from "./record-id.js";
import type { AuditEvent, AuditRecord, AuditSink } from "./types.js";

export interface AuditSinkFixtureDeps {
  pseudonymiser: PatientPseudonymiser;
  now: () => Date;
  metrics: GatewayMetrics;
}

export interface AuditSinkStorage {
  /** Every byte the backend holds (for a file: the file). */
  raw: Buffer;
  /** The records as parsed from `raw`, in storage order; throws if any entry is not a valid record. */
  records: AuditRecord[];
}

export interface AuditSinkFixture {
  sink: AuditSink;
  readStorage(): Promise<AuditSinkStorage>;
  /**
   * Persistent backends: close the current sink and open a new one on the
   * same storage with the same deps. With `tornWrite`, first leave a partial
   * record at the end of the storage, as a crash in the middle of a write does.
   */
  reopen?(options: { tornWrite: boolean }): Promise<AuditSink>;
  /** Closes whichever sink is current and removes the storage. */
  cleanup(): Promise<void>;
}

export type AuditSinkFixtureFactory = (deps: AuditSinkFixtureDeps) => Promise<AuditSinkFixture>;

// Realistic shapes: a NIR written with spaces as on a carte Vitale, a NISS with its usual separators.
const NIR_SPACED = "2 84 06 75 123 456";
const NIR_COMPACT = "284067512345 6";
const NIR_DIGITS = "2840675123456";
const NISS = "85.07.30-033.28";
const NISS_DIGITS = "85073003328";

const START = Date.parse("2025-03-01T10:00:00.000Z");

function event(overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    action: "fr-dmp.document.read",
    caller: { software: "key-lgc-1", practitioner: "10003456789" },
    outcome: "success",
    requestId: "req-1",
    ...overrides,
  };
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PasserelleError);
  expect((error as PasserelleError).code).toBe(code);
}

export function describeAuditSinkContract(
  name: string,
  make: AuditSinkFixtureFactory,
  options: { persistent?: boolean } = {},
): void {
  describe(`AuditSink contract: ${name}`, () => {
    let clock: number;
    let deps: AuditSinkFixtureDeps;
    let fixture: AuditSinkFixture;
    let sink: AuditSink;

    beforeEach(async () => {
      clock = START;
      deps = {
        pseudonymiser: new PatientPseudonymiser(randomBytes(32)),
        now: () => new Date(clock),
        metrics: new GatewayMetrics({ processMetrics: false }),
      };
      fixture = await make(deps);
      sink = fixture.sink;
    });

    afterEach(async () => {
      await fixture.cleanup();
    });

    async function allRecords(): Promise<AuditRecord[]> {
      const all: AuditRecord[] = [];
      let after: string | undefined;
      do {
        const page = await sink.query({ limit: 500, ...(after === undefined ? {} : { after }) });
        all.push(...page.records);
        after = page.next;
      } while (after !== undefined);
      return all;
    }

    describe("append", () => {
      it("returns the stored record, with a keyed pseudonym and no clear identifier", async () => {
        const extraCaller = { software: "key-lgc-1", practitioner: "10003456789", secret: "x" };
        const record = await sink.append(
          event({ caller: extraCaller, patientId: NIR_SPACED, outcome: "denied", detail: "consent missing" }),
        );

        expect(isAuditRecordId(record.id)).toBe(true);
        expect(record).toEqual({
          id: record.id,
          time: "2025-03-01T10:00:00.000Z",
          action: "fr-dmp.document.read",
          caller: { software: "key-lgc-1", practitioner: "10003456789" },
          patientRef: deps.pseudonymiser.ref(NIR_DIGITS),
          outcome: "denied",
          requestId: "req-1",
          detail: "consent missing",
        });
        expect(record.patientRef).toMatch(/^hmac-sha256:[0-9a-f]{64}$/u);

        const storage = await fixture.readStorage();
        expect(storage.records).toEqual([record]);
        const text = storage.raw.toString("utf8");
        for (const clear of [NIR_SPACED, NIR_DIGITS, NIR_DIGITS.slice(0, 10)]) {
          expect(text).not.toContain(clear);
        }
        expect(text).not.toContain("secret");
      });

      it("omits absent optional fields", async () => {
        const record = await sink.append({
          action: "lu-mycareto.login",
          caller: { software: "key-2" },
          outcome: "failure",
          requestId: "req-2",
        });
        expect(Object.keys(record).sort()).toEqual(["action", "caller", "id", "outcome", "requestId", "time"]);
        expect(record.caller).toEqual({ software: "key-2" });
      });

      it("maps every written form of one identifier to one pseudonym", async () => {
        const a = await sink.append(event({ patientId: NIR_SPACED }));
        const b = await sink.append(event({ patientId: ` ${NIR_COMPACT} ` }));
        const c = await sink.append(event({ patientId: NISS }));
        expect(a.patientRef).toBe(b.patientRef);
        expect(c.patientRef).toBe(deps.pseudonymiser.ref(NISS_DIGITS));
        expect(c.patientRef).not.toBe(a.patientRef);
      });

      it.each<[string, Partial<AuditEvent>]>([
        ["an empty action", { action: "" }],
        ["an action with free text", { action: "read document of 2840675123456" }],
        ["an unknown outcome", { outcome: "ok" as AuditEvent["outcome"] }],
        ["an empty request id", { requestId: "" }],
        ["a missing caller software", { caller: { software: "" } }],
        ["an empty patient id", { patientId: "  " }],
        ["a detail quoting the patient id", { patientId: NIR_DIGITS, detail: `no consent for ${NIR_SPACED}` }],
        ["a detail over 1000 characters", { detail: "x".repeat(1001) }],
      ])("rejects %s with a TypeError and stores nothing", async (_label, overrides) => {
        await expect(sink.append(event(overrides))).rejects.toThrow(TypeError);
        expect((await fixture.readStorage()).records).toEqual([]);
      });

      it("counts records in passerelle_audit_records_total{action,outcome}", async () => {
        await sink.append(event());
        await sink.append(event());
        await sink.append(event({ action: "be-ehbox.message.send", outcome: "failure" }));
        await expect(sink.append(event({ outcome: "bogus" as AuditEvent["outcome"] }))).rejects.toThrow(TypeError);

        const { values } = await deps.metrics.auditRecords.get();
        const count = (action: string, outcome: string): number | undefined =>
          values.find((v) => v.labels.action === action && v.labels.outcome === outcome)?.value;
        expect(count("fr-dmp.document.read", "success")).toBe(2);
        expect(count("be-ehbox.message.send", "failure")).toBe(1);
        expect(values).toHaveLength(2);
      });
    });

    describe("ordering", () => {
      it("gives strictly increasing ids in append order, even within one millisecond and when the clock steps back", async () => {
        const ids: string[] = [];
        for (const step of [0, 0, 0, -60_000, 5, 0]) {
          clock += step;
          ids.push((await sink.append(event({ requestId: `r${ids.length}` }))).id);
        }
        expect([...ids].sort()).toEqual(ids);
        expect(new Set(ids).size).toBe(ids.length);
        expect((await allRecords()).map((r) => r.id)).toEqual(ids);
        expect((await fixture.readStorage()).records.map((r) => r.id)).toEqual(ids);
      });

      it("stores the clock's time, not the id's, when the clock steps back", async () => {
        await sink.append(event());
        clock -= 60_000;
        const second = await sink.append(event());
        expect(second.time).toBe("2025-03-01T09:59:00.000Z");
      });
    });

    describe("query", () => {
      it("returns an empty page on an empty trail", async () => {
        expect(await sink.query({ limit: 10 })).toEqual({ records: [] });
      });

      it("pages with cursors across three pages", async () => {
        const appended: AuditRecord[] = [];
        for (let i = 0; i < 7; i++) {
          clock += 1000;
          appended.push(await sink.append(event({ requestId: `req-${i}` })));
        }

        const first = await sink.query({ limit: 3 });
        expect(first.records).toEqual(appended.slice(0, 3));
        expect(first.next).toBe(appended[2]?.id);

        const second = await sink.query({ limit: 3, after: first.next as string });
        expect(second.records).toEqual(appended.slice(3, 6));
        expect(second.next).toBe(appended[5]?.id);

        const third = await sink.query({ limit: 3, after: second.next as string });
        expect(third).toEqual({ records: appended.slice(6) });
      });

      it("gives no cursor when a page is exactly the rest", async () => {
        for (let i = 0; i < 6; i++) await sink.append(event());
        const first = await sink.query({ limit: 3 });
        const second = await sink.query({ limit: 3, after: first.next as string });
        expect(second.records).toHaveLength(3);
        expect(second.next).toBeUndefined();
      });

      it("takes any id as a cursor, including one past the end", async () => {
        const records = [await sink.append(event()), await sink.append(event()), await sink.append(event())];
        expect((await sink.query({ limit: 10, after: records[0]?.id as string })).records).toEqual(records.slice(1));
        expect(await sink.query({ limit: 10, after: "999999999999999-999999" })).toEqual({ records: [] });
        expect((await sink.query({ limit: 10, after: "000000000000000-000000" })).records).toEqual(records);
      });

      it("filters by action, by patient (through the pseudonym) and by time, and pages the filtered set", async () => {
        const at = (iso: string): void => {
          clock = Date.parse(iso);
        };
        at("2025-03-01T08:00:00.000Z");
        const r0 = await sink.append(event({ patientId: NIR_SPACED }));
        at("2025-03-01T09:00:00.000Z");
        const r1 = await sink.append(event({ action: "fr-dmp.document.submit", patientId: NIR_SPACED }));
        at("2025-03-01T10:00:00.000Z");
        const r2 = await sink.append(event({ patientId: NISS }));
        at("2025-03-01T11:00:00.000Z");
        const r3 = await sink.append(event({ action: "fr-dmp.document.submit" }));
        at("2025-03-01T12:00:00.000Z");
        const r4 = await sink.append(event({ patientId: NIR_DIGITS }));

        expect((await sink.query({ limit: 10, action: "fr-dmp.document.submit" })).records).toEqual([r1, r3]);
        expect((await sink.query({ limit: 10, patientId: "2840675123456" })).records).toEqual([r0, r1, r4]);
        expect((await sink.query({ limit: 10, patientId: "85 07 30 033 28" })).records).toEqual([r2]);
        expect((await sink.query({ limit: 10, patientId: "1111111111111" })).records).toEqual([]);
        // from inclusive, to exclusive.
        expect(
          (await sink.query({ limit: 10, from: "2025-03-01T09:00:00.000Z", to: "2025-03-01T11:00:00.000Z" })).records,
        ).toEqual([r1, r2]);
        // Zone offsets are honoured: 12:00+02:00 is 10:00Z.
        expect((await sink.query({ limit: 10, to: "2025-03-01T12:00:00+02:00" })).records).toEqual([r0, r1]);
        expect(
          (await sink.query({ limit: 10, action: "fr-dmp.document.read", from: "2025-03-01T08:30:00Z" })).records,
        ).toEqual([r2, r4]);

        const page1 = await sink.query({ limit: 2, action: "fr-dmp.document.read" });
        expect(page1).toEqual({ records: [r0, r2], next: r2.id });
        expect(await sink.query({ limit: 2, action: "fr-dmp.document.read", after: r2.id })).toEqual({
          records: [r4],
        });
      });

      it.each([0, -1, 501, 1.5, Number.NaN, Number.POSITIVE_INFINITY])("rejects limit %s with a TypeError", async (limit) => {
        await sink.append(event());
        await expect(sink.query({ limit })).rejects.toThrow(TypeError);
      });

      it("accepts limits 1 and 500", async () => {
        await sink.append(event());
        await sink.append(event());
        expect((await sink.query({ limit: 1 })).records).toHaveLength(1);
        expect((await sink.query({ limit: 500 })).records).toHaveLength(2);
      });

      it.each([
        ["a malformed cursor", { after: "abc" }],
        ["a date-only from", { from: "2025-03-01" }],
        ["a time without zone", { to: "2025-03-01T10:00:00" }],
        ["an unparseable time", { from: "2025-13-45T99:00:00Z" }],
        ["an empty patient id", { patientId: " " }],
      ])("rejects %s with a TypeError", async (_label, q) => {
        await expect(sink.query({ limit: 10, ...q })).rejects.toThrow(TypeError);
      });
    });

    describe("concurrency", () => {
      it("stores 200 concurrent appends as 200 distinct valid records in id order", async () => {
        const returned = await Promise.all(
          Array.from({ length: 200 }, (_, i) =>
            sink.append(event({ requestId: `req-${i}`, patientId: `1 ${String(i).padStart(12, "0")}`, detail: "x".repeat(i) })),
          ),
        );
        const ids = returned.map((r) => r.id);
        expect(new Set(ids).size).toBe(200);
        // Promise.all keeps call order: ids follow the order of the calls.
        expect([...ids].sort()).toEqual(ids);

        const storage = await fixture.readStorage();
        expect(storage.records).toHaveLength(200);
        for (let i = 1; i < storage.records.length; i++) {
          expect((storage.records[i] as AuditRecord).id > (storage.records[i - 1] as AuditRecord).id).toBe(true);
        }
        expect(storage.records).toEqual(returned);
        expect(storage.records.map((r) => r.requestId)).toEqual(returned.map((_, i) => `req-${i}`));
        expect(await allRecords()).toEqual(returned);
      });
    });

    describe("lifecycle", () => {
      it("commits appends accepted before close(), then refuses with PASSERELLE_AUDIT_UNAVAILABLE", async () => {
        const inFlight = sink.append(event({ requestId: "before-close" }));
        const closing = sink.close();
        await expectCode(sink.append(event({ requestId: "after-close" })), "PASSERELLE_AUDIT_UNAVAILABLE");
        await closing;
        await expect(inFlight).resolves.toMatchObject({ requestId: "before-close" });
        await sink.close(); // idempotent
        await expectCode(sink.append(event()), "PASSERELLE_AUDIT_UNAVAILABLE");
        await expectCode(sink.query({ limit: 10 }), "PASSERELLE_AUDIT_UNAVAILABLE");
        expect((await fixture.readStorage()).records.map((r) => r.requestId)).toEqual(["before-close"]);
      });
    });

    describe.runIf(options.persistent === true)("persistence", () => {
      function reopen(tornWrite: boolean): Promise<AuditSink> {
        if (fixture.reopen === undefined) throw new Error(`${name} is declared persistent but its fixture has no reopen()`);
        return fixture.reopen({ tornWrite });
      }

      it("keeps records and continues the id sequence after a reopen, even if the clock went back", async () => {
        const before = [await sink.append(event()), await sink.append(event()), await sink.append(event())];
        sink = await reopen(false);
        clock = START - 3_600_000;
        const after = await sink.append(event({ requestId: "after-reopen" }));
        expect(after.id > (before[2] as AuditRecord).id).toBe(true);
        expect(await allRecords()).toEqual([...before, after]);
        expect(after.time).toBe(new Date(START - 3_600_000).toISOString());
      });

      it("tolerates a torn last record from a crash: drops it and keeps a valid store", async () => {
        const before = [await sink.append(event()), await sink.append(event())];
        sink = await reopen(true);
        expect(await allRecords()).toEqual(before);
        const after = await sink.append(event({ requestId: "after-crash" }));
        expect(after.id > (before[1] as AuditRecord).id).toBe(true);
        const storage = await fixture.readStorage(); // throws on any invalid entry
        expect(storage.records).toEqual([...before, after]);
      });

      it("tolerates a torn write on an otherwise empty store", async () => {
        sink = await reopen(true);
        expect(await sink.query({ limit: 10 })).toEqual({ records: [] });
        const record = await sink.append(event());
        expect((await fixture.readStorage()).records).toEqual([record]);
      });
    });
  });
}
