import { describe, expect, it } from "vitest";
import { belgianPractitioners } from "./be-idp-practitioners.js";
import { frenchPractitioners } from "./fr-psc-practitioners.js";
import { luxembourgPractitioners } from "./lu-aes-practitioners.js";
import { PractitionerDirectory, type SandboxPractitioner } from "./practitioners.js";

/** Luhn (ISO/IEC 7812-1 annex B) over all digits, check digit included. */
function luhnValid(digits: string): boolean {
  let sum = 0;
  [...digits].reverse().forEach((char, i) => {
    let value = Number(char);
    if (i % 2 === 1) value = value * 2 > 9 ? value * 2 - 9 : value * 2;
    sum += value;
  });
  return sum % 10 === 0;
}

/** Two-digit key = 97 − (base modulo 97). */
function mod97Key(base: string): string {
  return String(97 - Number(BigInt(base) % 97n)).padStart(2, "0");
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function assertCommon(practitioners: SandboxPractitioner[]): void {
  expect(practitioners.length).toBeGreaterThanOrEqual(5);
  for (const practitioner of practitioners) {
    expect(practitioner.sub).toMatch(UUID);
    expect(practitioner.password.length).toBeGreaterThanOrEqual(8);
    expect(practitioner.claims).toMatchObject({ given_name: expect.any(String), family_name: expect.any(String) });
  }
  // The directory refuses duplicates: building it is the uniqueness check.
  expect(() => new PractitionerDirectory(practitioners)).not.toThrow();
}

describe("sandbox practitioners", () => {
  it("French ones have valid RPPS numbers and PSC's IdNat_PS (8 + RPPS) as SubjectNameID", () => {
    const practitioners = frenchPractitioners();
    assertCommon(practitioners);
    for (const { login, aliases, claims } of practitioners) {
      const rpps = aliases[0] ?? "";
      expect(rpps).toMatch(/^10\d{9}$/);
      expect(luhnValid(rpps), rpps).toBe(true);
      expect(login).toBe(`8${rpps}`);
      expect(claims).toMatchObject({ SubjectNameID: login, preferred_username: login });
      expect(claims.SubjectRefPro).toMatchObject({ exercices: [expect.objectContaining({ codeProfession: expect.stringMatching(/^\d{2}$/) })] });
    }
  });

  it("Luxembourg ones have a CNS provider code of six digits and two", () => {
    const practitioners = luxembourgPractitioners();
    assertCommon(practitioners);
    for (const { login, claims } of practitioners) {
      expect(login).toMatch(/^\d{6}-\d{2}$/);
      expect(claims).toMatchObject({ provider_code: login, preferred_username: login, profession: expect.any(String) });
    }
  });

  it("Belgian ones have NIHII and SSIN numbers with valid keys", () => {
    const practitioners = belgianPractitioners();
    assertCommon(practitioners);
    for (const { login, aliases, claims } of practitioners) {
      expect(login).toMatch(/^1\d{10}$/);
      expect(login.slice(6, 8), login).toBe(mod97Key(login.slice(0, 6)));
      const ssin = aliases[0] ?? "";
      expect(ssin).toMatch(/^\d{11}$/);
      expect(ssin.slice(9), ssin).toBe(mod97Key(ssin.slice(0, 9)));
      expect(claims).toMatchObject({ nihii: login, ssin });
    }
  });
});

describe("PractitionerDirectory", () => {
  const directory = new PractitionerDirectory(luxembourgPractitioners());

  it("finds a practitioner by login whatever the separators and case", () => {
    expect(directory.byIdentifier("101234-56")?.displayName).toBe("Dr Anne Weber");
    expect(directory.byIdentifier(" 10123456 ")?.displayName).toBe("Dr Anne Weber");
    expect(directory.byIdentifier("999999-99")).toBeUndefined();
  });

  it("authenticates only with the right password", () => {
    expect(directory.authenticate("101234-56", "anne-7314")?.sub).toBe("ebc623f8-4521-4026-a56e-037ccf7a5a0b");
    expect(directory.authenticate("101234-56", "anne-7315")).toBeUndefined();
    expect(directory.authenticate("101234-56", "")).toBeUndefined();
    expect(directory.authenticate("999999-99", "")).toBeUndefined();
    expect(directory.authenticate("999999-99", "anne-7314")).toBeUndefined();
  });

  it("refuses two practitioners sharing an identifier", () => {
    const [anne] = luxembourgPractitioners();
    if (anne === undefined) throw new Error("no practitioner");
    expect(() => new PractitionerDirectory([anne, { ...anne, sub: "other" }])).toThrow(TypeError);
  });

  it("describes test users for GET /sandbox", () => {
    expect(directory.testUsers()[0]).toEqual({
      id: "101234-56",
      label: "Dr Anne Weber (médecin généraliste)",
      password: "anne-7314",
      sub: "ebc623f8-4521-4026-a56e-037ccf7a5a0b",
      aliases: [],
      claims: expect.objectContaining({ provider_code: "101234-56" }),
    });
  });
});
