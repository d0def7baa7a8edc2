import { createHmac, randomBytes } from "node:crypto";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { PatientPseudonymiser, normalisePatientId } from "./patient-ref.js";

describe("PatientPseudonymiser", () => {
  const key = Buffer.from("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "hex");

  it("is HMAC-SHA256 of the normalised identifier under the key, prefixed", () => {
    const expected = createHmac("sha256", key).update("2840675123456").digest("hex");
    expect(new PatientPseudonymiser(key).ref("2840675123456")).toBe(`hmac-sha256:${expected}`);
  });

  it("maps the written forms of one identifier to one pseudonym", () => {
    const p = new PatientPseudonymiser(key);
    const ref = p.ref("2840675123456");
    for (const form of [" 2 84 06 75 123 456 ", "2840675123456\n", "2\t84 06 75\u00a0123 456", "2-84-06.75.123.456"]) {
      expect(p.ref(form)).toBe(ref);
    }
    expect(p.ref("1 84 2a 12 345 678")).toBe(p.ref("1842A12345678"));
    expect(p.ref("2840675123457")).not.toBe(ref);
  });

  it("depends on the key: another key gives another pseudonym", () => {
    expect(new PatientPseudonymiser(randomBytes(32)).ref("2840675123456")).not.toBe(
      new PatientPseudonymiser(key).ref("2840675123456"),
    );
  });

  it("copies the key: wiping the caller's buffer changes nothing", () => {
    const mine = Buffer.from(key);
    const p = new PatientPseudonymiser(mine);
    const before = p.ref("2840675123456");
    mine.fill(0);
    expect(p.ref("2840675123456")).toBe(before);
  });

  it("does not show its key when inspected or serialised", () => {
    const p = new PatientPseudonymiser(key);
    expect(inspect(p, { showHidden: true, depth: 5 })).not.toContain("0a0b0c");
    expect(JSON.stringify(p)).toBe("{}");
  });

  it("refuses a key shorter than 32 bytes (RFC 2104 §3) with a TypeError", () => {
    expect(() => new PatientPseudonymiser(Buffer.alloc(31))).toThrow(TypeError);
    expect(() => new PatientPseudonymiser("secret" as unknown as Buffer)).toThrow(TypeError);
  });

  it("refuses an identifier that is empty once normalised", () => {
    const p = new PatientPseudonymiser(key);
    expect(() => p.ref("  - . ")).toThrow(TypeError);
    expect(() => normalisePatientId(42 as unknown as string)).toThrow(TypeError);
  });
});
