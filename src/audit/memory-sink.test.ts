import { Buffer } from "node:buffer";
import { describe, expect, it } from "vitest";
import { describeAuditSinkContract } from "./audit-sink.contract.js";
import { MemoryAuditSink } from "./memory-sink.js";
import { PatientPseudonymiser } from "./patient-ref.js";

describeAuditSinkContract("MemoryAuditSink", async (deps) => {
  const sink = new MemoryAuditSink(deps);
  return {
    sink,
    async readStorage() {
      const records = sink.snapshot();
      return { raw: Buffer.from(JSON.stringify(records), "utf8"), records };
    },
    async cleanup() {
      await sink.close();
    },
  };
});

describe("MemoryAuditSink", () => {
  const pseudonymiser = new PatientPseudonymiser(Buffer.alloc(32, 7));
  const event = { action: "a.b", caller: { software: "s" }, outcome: "success", requestId: "r" } as const;

  it("returns copies: mutating a returned or queried record does not rewrite the trail", async () => {
    const sink = new MemoryAuditSink({ pseudonymiser });
    const record = await sink.append({ ...event, caller: { ...event.caller } });
    record.outcome = "denied";
    record.caller.software = "forged";
    const [queried] = (await sink.query({ limit: 1 })).records;
    if (queried) queried.requestId = "forged";
    expect(sink.snapshot()).toEqual([{ ...record, outcome: "success", caller: { software: "s" }, requestId: "r" }]);
  });

  it("keeps its records readable through snapshot() after close()", async () => {
    const sink = new MemoryAuditSink({ pseudonymiser });
    const record = await sink.append({ ...event, caller: { ...event.caller } });
    await sink.close();
    expect(sink.snapshot()).toEqual([record]);
  });
});
