import { generateKeyPairSync, sign, verify } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ecdsaDerToJose, ecdsaJoseToDer, type EcdsaCurve } from "./index.js";

const CURVES: Array<[EcdsaCurve, string]> = [
  ["P-256", "prime256v1"],
  ["P-384", "secp384r1"],
  ["P-521", "secp521r1"],
];

describe("ECDSA signature encodings", () => {
  it.each(CURVES)("%s: DER → r||s gives what OpenSSL gives in IEEE P1363 form, and back", (curve, namedCurve) => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve });
    // Many signatures, so that r or s with a leading zero byte or a high bit (DER padding) both occur.
    for (let i = 0; i < 32; i += 1) {
      const data = Buffer.from(`message ${i}`);
      const der = sign("sha256", data, { key: privateKey, dsaEncoding: "der" });
      const joined = ecdsaDerToJose(der, curve);
      expect(verify("sha256", data, { key: publicKey, dsaEncoding: "ieee-p1363" }, joined)).toBe(true);
      expect(Buffer.from(ecdsaJoseToDer(joined, curve))).toEqual(der);
    }
  });

  it("refuses anything but strict DER", () => {
    const good = ecdsaJoseToDer(new Uint8Array(64).fill(1), "P-256");
    expect(() => ecdsaDerToJose(good.subarray(0, good.length - 1), "P-256")).toThrow(TypeError);
    expect(() => ecdsaDerToJose(Uint8Array.from([...good, 0]), "P-256")).toThrow(/length/);
    expect(() => ecdsaDerToJose(Uint8Array.from([0x31, ...good.subarray(1)]), "P-256")).toThrow(/SEQUENCE/);
    // r = 0x00 0x01: a leading zero that is not needed for the sign.
    expect(() => ecdsaDerToJose(Uint8Array.from([0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01]), "P-256")).toThrow(/non-minimal/);
    // r = 0x80: a negative INTEGER.
    expect(() => ecdsaDerToJose(Uint8Array.from([0x30, 0x06, 0x02, 0x01, 0x80, 0x02, 0x01, 0x01]), "P-256")).toThrow(/negative/);
    // A P-384-sized r does not fit P-256.
    expect(() => ecdsaDerToJose(ecdsaJoseToDer(new Uint8Array(96).fill(1), "P-384"), "P-256")).toThrow(/longer/);
    expect(() => ecdsaJoseToDer(new Uint8Array(63), "P-256")).toThrow(TypeError);
  });
});
