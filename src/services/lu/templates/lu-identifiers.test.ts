import { describe, expect, it } from "vitest";
import { completeLuxembourgMatricule, isCnsProviderCode, isLuxembourgMatricule, luhnCheckDigit, verhoeffCheckDigit } from "./lu-identifiers.js";

describe("Luxembourg matricule", () => {
  it("accepts the published example and numbers completed with both check digits", () => {
    // The example of the national identification number (13 digits) used in the OECD TIN sheet for Luxembourg.
    expect(isLuxembourgMatricule("1893120105732")).toBe(true);
    expect(isLuxembourgMatricule(completeLuxembourgMatricule("19850615123"))).toBe(true);
    expect(isLuxembourgMatricule(completeLuxembourgMatricule("20230000017"))).toBe(true); // birth month and day unknown
  });

  it("refuses a wrong Luhn or Verhoeff digit, a bad length or an impossible date", () => {
    expect(isLuxembourgMatricule("1893120105742")).toBe(false); // 12th digit
    expect(isLuxembourgMatricule("1893120105733")).toBe(false); // 13th digit
    expect(isLuxembourgMatricule("189312010573")).toBe(false);
    expect(isLuxembourgMatricule("18931201057321")).toBe(false);
    expect(isLuxembourgMatricule("189312010573a")).toBe(false);
    expect(isLuxembourgMatricule(completeLuxembourgMatricule("19850230123"))).toBe(false); // 30 February
    expect(isLuxembourgMatricule(completeLuxembourgMatricule("19851315123"))).toBe(false); // month 13
  });

  it("computes the check digits of the reference algorithms", () => {
    expect(luhnCheckDigit("7992739871")).toBe(3); // the classic Luhn example
    expect(verhoeffCheckDigit("236")).toBe(3); // the classic Verhoeff example
    expect(() => completeLuxembourgMatricule("123")).toThrow(TypeError);
  });

  it("recognises CNS provider codes", () => {
    expect(isCnsProviderCode("101234-56")).toBe(true);
    expect(isCnsProviderCode("10123456")).toBe(false);
  });
});
