import { createSecretKey, generateKeyPairSync, randomBytes } from "node:crypto";
import { CompactEncrypt } from "jose";
import { describe, expect, it } from "vitest";
import {
  JWE_ASYMMETRIC_KEY_MANAGEMENT_ALGS,
  JWE_CONTENT_ENCRYPTION_ALGS,
  JoseError,
  decryptJwe,
  encryptJwe,
  encryptJweForRecipients,
  type JweKeyManagementAlgorithm,
} from "./index.js";

const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const otherRsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
const aes256 = createSecretKey(randomBytes(32));

const asymmetric = {
  keyManagementAlgorithms: JWE_ASYMMETRIC_KEY_MANAGEMENT_ALGS,
  contentEncryptionAlgorithms: JWE_CONTENT_ENCRYPTION_ALGS,
};

async function rejection(promise: Promise<unknown>): Promise<JoseError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof JoseError) return error;
    throw error;
  }
  throw new Error("expected a JoseError");
}

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString("utf8");

describe("encryptJwe / decryptJwe", () => {
  it.each([
    ["RSA-OAEP-256", rsa],
    ["ECDH-ES", ec],
    ["ECDH-ES+A256KW", ec],
  ] as const)("round-trips %s with the recipient's key pair", async (alg, pair) => {
    const jwe = await encryptJwe("secret note", pair.publicKey, { alg, enc: "A256GCM", kid: "r1", typ: "JWT" });
    const decrypted = await decryptJwe(jwe, pair.privateKey, { ...asymmetric, typ: "JWT" });
    expect(text(decrypted.plaintext)).toBe("secret note");
    expect(decrypted.protectedHeader).toMatchObject({ alg, enc: "A256GCM", kid: "r1", typ: "JWT" });
  });

  it("round-trips direct encryption and PBES2 (default iteration count within the decryption ceiling)", async () => {
    const dir = await encryptJwe("d", aes256, { alg: "dir", enc: "A256GCM", serialization: "flattened" });
    expect(text((await decryptJwe(dir, aes256, { keyManagementAlgorithms: ["dir"], contentEncryptionAlgorithms: ["A256GCM"] })).plaintext)).toBe("d");
    const password = new TextEncoder().encode("correct horse battery staple");
    const pbes2 = await encryptJwe("p", password, { alg: "PBES2-HS256+A128KW", enc: "A128GCM" });
    const header = JSON.parse(Buffer.from(pbes2.split(".")[0]!, "base64url").toString()) as Record<string, unknown>;
    expect(Object.keys(header)).toEqual(["alg", "p2s", "p2c", "enc"]);
    expect(header.p2c).toBe(10_000);
    expect(text((await decryptJwe(pbes2, password, { keyManagementAlgorithms: ["PBES2-HS256+A128KW"], contentEncryptionAlgorithms: ["A128GCM"] })).plaintext)).toBe("p");
  });

  it("refuses algorithms outside the use's lists, and a key of another recipient", async () => {
    const jwe = await encryptJwe("x", rsa.publicKey, { alg: "RSA-OAEP", enc: "A128CBC-HS256" });
    expect((await rejection(decryptJwe(jwe, rsa.privateKey, asymmetric))).reason).toBe("algorithm_not_allowed");
    const allowedAlg = { keyManagementAlgorithms: ["RSA-OAEP"], contentEncryptionAlgorithms: ["A256GCM"] } as const;
    expect((await rejection(decryptJwe(jwe, rsa.privateKey, allowedAlg))).reason).toBe("algorithm_not_allowed");
    const forOther = await encryptJwe("x", otherRsa.publicKey, { alg: "RSA-OAEP-256", enc: "A256GCM" });
    expect((await rejection(decryptJwe(forOther, rsa.privateKey, asymmetric))).reason).toBe("decryption_failed");
  });

  it("detects any change to the protected header, IV, ciphertext or tag", async () => {
    const jwe = await encryptJwe("x".repeat(100), rsa.publicKey, { alg: "RSA-OAEP-256", enc: "A256GCM", kid: "a" });
    const parts = jwe.split(".");
    const changedHeader = Buffer.from(JSON.stringify({ alg: "RSA-OAEP-256", kid: "b", enc: "A256GCM" })).toString("base64url");
    for (const [index, replacement] of [[0, changedHeader], [2, Buffer.alloc(12).toString("base64url")], [4, Buffer.alloc(16).toString("base64url")]] as const) {
      const tampered = parts.map((part, i) => (i === index ? replacement : part)).join(".");
      expect((await rejection(decryptJwe(tampered, rsa.privateKey, asymmetric))).reason).toBe("decryption_failed");
    }
  });

  it("needs a double opt-in for RSA1_5, and never produces it", async () => {
    await expect(decryptJwe("a.b.c.d.e", rsa.privateKey, { keyManagementAlgorithms: ["RSA1_5"], contentEncryptionAlgorithms: ["A128GCM"] })).rejects.toThrow(
      /allowLegacyRsa1_5/,
    );
    await expect(encryptJwe("x", rsa.publicKey, { alg: "RSA1_5" as JweKeyManagementAlgorithm, enc: "A128GCM" })).rejects.toThrow(/RSA-OAEP-256/);
  });

  it("decrypts a compressed JWE from a partner but refuses a zip member outside the protected header", async () => {
    const compressed = await new CompactEncrypt(new TextEncoder().encode("a".repeat(5000)))
      .setProtectedHeader({ alg: "dir", enc: "A256GCM", zip: "DEF" })
      .encrypt(aes256);
    expect(compressed.length).toBeLessThan(500);
    const options = { keyManagementAlgorithms: ["dir"], contentEncryptionAlgorithms: ["A256GCM"] } as const;
    expect(text((await decryptJwe(compressed, aes256, options)).plaintext)).toBe("a".repeat(5000));
    expect((await rejection(decryptJwe(compressed, aes256, { ...options, maxDecompressedBytes: 4000 }))).reason).toBe("malformed");
  });

  it("says malformed for things that are not a JWE, and header_invalid for a critical extension not understood", async () => {
    for (const input of ["a.b.c", "", { ciphertext: 3 }] as const) {
      expect((await rejection(decryptJwe(input as never, rsa.privateKey, asymmetric))).reason).toBe("malformed");
    }
    const jwe = await encryptJwe("x", rsa.publicKey, { alg: "RSA-OAEP-256", enc: "A256GCM", header: { exp: 1 }, crit: ["exp"] });
    expect((await rejection(decryptJwe(jwe, rsa.privateKey, asymmetric))).reason).toBe("header_invalid");
    expect(text((await decryptJwe(jwe, rsa.privateKey, { ...asymmetric, crit: ["exp"] })).plaintext)).toBe("x");
  });

  it("refuses caller mistakes with TypeError", async () => {
    await expect(encryptJwe("x", rsa.publicKey, { alg: "ECDH-ES", enc: "A256GCM" })).rejects.toThrow(TypeError);
    await expect(encryptJwe("x", rsa.publicKey, { alg: "RSA-OAEP-256", enc: "A256GCM", header: { enc: "A128GCM" } })).rejects.toThrow(/dedicated option/);
    await expect(encryptJwe("x", rsa.publicKey, { alg: "RSA-OAEP-256", enc: "A256GCM", aad: new Uint8Array(1) })).rejects.toThrow(/compact/);
    await expect(decryptJwe("a.b.c.d.e", rsa.privateKey, { keyManagementAlgorithms: ["A256KW"], contentEncryptionAlgorithms: ["A256GCM"] })).rejects.toThrow(
      /can be used with this rsa key/,
    );
  });
});

describe("encryptJweForRecipients", () => {
  it("encrypts once for an RSA, an EC and a symmetric recipient, each of whom decrypts it", async () => {
    const jwe = await encryptJweForRecipients(
      "for three",
      [
        { key: rsa.publicKey, alg: "RSA-OAEP-256", kid: "rsa" },
        { key: ec.publicKey, alg: "ECDH-ES+A256KW", kid: "ec" },
        { key: aes256, alg: "A256GCMKW", kid: "aes" },
      ],
      { enc: "A256GCM", cty: "text/plain" },
    );
    expect(jwe.recipients.map((r) => r.header?.kid)).toEqual(["rsa", "ec", "aes"]);
    const contentAlgorithms = { contentEncryptionAlgorithms: ["A256GCM"] } as const;
    const byRsa = await decryptJwe(jwe, rsa.privateKey, { keyManagementAlgorithms: ["RSA-OAEP-256"], ...contentAlgorithms });
    const byEc = await decryptJwe(jwe, ec.privateKey, { keyManagementAlgorithms: ["ECDH-ES+A256KW"], ...contentAlgorithms });
    const byAes = await decryptJwe(jwe, aes256, { keyManagementAlgorithms: ["A256GCMKW"], ...contentAlgorithms });
    expect([byRsa, byEc, byAes].map((d) => [text(d.plaintext), d.recipientIndex])).toEqual([
      ["for three", 0],
      ["for three", 1],
      ["for three", 2],
    ]);
    expect((await rejection(decryptJwe(jwe, otherRsa.privateKey, { keyManagementAlgorithms: ["RSA-OAEP-256"], ...contentAlgorithms }))).reason).toBe(
      "decryption_failed",
    );
  });

  it("refuses key agreement without key wrapping, which cannot serve several recipients", async () => {
    await expect(encryptJweForRecipients("x", [{ key: ec.publicKey, alg: "ECDH-ES" }], { enc: "A256GCM" })).rejects.toThrow(/several recipients/);
  });
});
