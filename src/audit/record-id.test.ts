import { describe, expect, it } from "vitest";
import { AUDIT_RECORD_ID_PATTERN, AuditRecordIdSequence, isAuditRecordId } from "./record-id.js";

describe("AuditRecordIdSequence", () => {
  const t = new Date("2025-03-01T10:00:00.000Z");
  const millis = String(t.getTime()).padStart(15, "0");

  it("encodes the time and a counter in fixed width", () => {
    const ids = new AuditRecordIdSequence();
    expect(ids.next(t)).toBe(`${millis}-000000`);
    expect(ids.next(t)).toBe(`${millis}-000001`);
    expect(ids.next(new Date(t.getTime() + 1))).toBe(`${String(t.getTime() + 1).padStart(15, "0")}-000000`);
    expect(new RegExp(AUDIT_RECORD_ID_PATTERN, "u").test(`${millis}-000001`)).toBe(true);
  });

  it("never goes back when the clock does", () => {
    const ids = new AuditRecordIdSequence();
    const a = ids.next(t);
    const b = ids.next(new Date(t.getTime() - 10_000));
    expect(b > a).toBe(true);
    expect(b).toBe(`${millis}-000001`);
  });

  it("continues after a seed id, even one ahead of the clock", () => {
    const ids = new AuditRecordIdSequence(`${millis}-000041`);
    expect(ids.next(new Date(t.getTime() - 1))).toBe(`${millis}-000042`);
  });

  it("moves the time part on when the counter is exhausted within one millisecond", () => {
    const ids = new AuditRecordIdSequence(`${millis}-999999`);
    const next = ids.next(t);
    expect(next).toBe(`${String(t.getTime() + 1).padStart(15, "0")}-000000`);
    expect(next > `${millis}-999999`).toBe(true);
  });

  it("rejects a malformed seed and an invalid clock with a TypeError", () => {
    expect(() => new AuditRecordIdSequence("01HZX3")).toThrow(TypeError);
    expect(() => new AuditRecordIdSequence().next(new Date(Number.NaN))).toThrow(TypeError);
  });

  it("recognises ids", () => {
    expect(isAuditRecordId(`${millis}-000000`)).toBe(true);
    expect(isAuditRecordId(`${millis}-00000`)).toBe(false);
    expect(isAuditRecordId(`${millis}-000000\n`)).toBe(false);
    expect(isAuditRecordId(42)).toBe(false);
  });
});
