import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { CallerDirectory } from "./callers.js";

const sha256 = (value: string): string => createHash("sha256").update(value).digest("hex");

describe("CallerDirectory", () => {
  const directory = new CallerDirectory(
    [
      { id: "pms", sha256: sha256("psk_pms_key"), roles: ["admin"] },
      { id: "his", sha256: sha256("psk_his_key").toUpperCase(), roles: [] },
    ],
    [{ id: "lab", sha256: "ab".repeat(32), roles: [] }],
  );

  it("recognises each configured key, and only those", () => {
    expect(directory.authenticateApiKey("psk_pms_key")).toEqual({ id: "pms", roles: ["admin"], via: "api-key" });
    expect(directory.authenticateApiKey("psk_his_key")).toEqual({ id: "his", roles: [], via: "api-key" });
    for (const wrong of ["psk_pms_ke", "psk_pms_key ", "", "x".repeat(513), sha256("psk_pms_key")]) {
      expect(directory.authenticateApiKey(wrong), wrong).toBeUndefined();
    }
  });

  it("answers a key it recognised again with the same frozen caller (no hashing), and still refuses others", () => {
    const first = directory.authenticateApiKey("psk_pms_key");
    const again = directory.authenticateApiKey("psk_pms_key");
    expect(again).toBe(first);
    expect(Object.isFrozen(again)).toBe(true);
    expect(Object.isFrozen(again?.roles)).toBe(true);
    expect(directory.authenticateApiKey("psk_pms_key2")).toBeUndefined();
  });

  it("recognises a registered client certificate by its fingerprint, with or without colons", () => {
    const colons = "AB:".repeat(31) + "AB";
    expect(directory.authenticateCertificate(colons)).toEqual({ id: "lab", roles: [], via: "client-certificate" });
    expect(directory.authenticateCertificate("ab".repeat(32))?.id).toBe("lab");
    expect(directory.authenticateCertificate("cd".repeat(32))).toBeUndefined();
    expect(directory.authenticateCertificate("not hex")).toBeUndefined();
  });
});
