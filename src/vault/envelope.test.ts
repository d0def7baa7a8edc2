import { webcrypto } from "node:crypto";

import { describe, expect, it } from "vitest";

import { PasserelleError } from "../errors/index.js";
import { VaultCipher, generateVaultKey, parseVaultKey } from "./envelope.js";

function expectIntegrityError(run: () => unknown, message: RegExp): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(PasserelleError);
  expect((caught as PasserelleError).code).toBe("PASSERELLE_INTERNAL");
  expect((caught as PasserelleError).message).toMatch(message);
}

/** Flips one bit of the decoded body at `offset` and re-encodes. */
function flipBit(sealed: string, offset: number): string {
  const bytes = Buffer.from(sealed.slice(3), "base64url");
  bytes[offset] = (bytes[offset] ?? 0) ^ 0x01;
  return `v1.${bytes.toString("base64url")}`;
}

describe("VaultCipher", () => {
  const key = generateVaultKey();
  const cipher = new VaultCipher(key);

  it("round-trips a value under the same key name", () => {
    const sealed = cipher.seal("token-é🙂", "session:1");
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
    expect(cipher.open(sealed, "session:1")).toBe("token-é🙂");
  });

  it("writes iv(12) | tag(16) | ciphertext, AAD = 'v1.' + key name, as documented (checked with WebCrypto)", async () => {
    const sealed = cipher.seal("interop", "k");
    const body = Buffer.from(sealed.slice(3), "base64url");
    expect(body.length).toBe(12 + 16 + Buffer.byteLength("interop"));
    const iv = body.subarray(0, 12);
    const tag = body.subarray(12, 28);
    const ciphertext = body.subarray(28);
    const webKey = await webcrypto.subtle.importKey("raw", key, "AES-GCM", false, ["decrypt"]);
    const plaintext = await webcrypto.subtle.decrypt(
      { name: "AES-GCM", iv, additionalData: Buffer.from("v1.k"), tagLength: 128 },
      webKey,
      Buffer.concat([ciphertext, tag]),
    );
    expect(Buffer.from(plaintext).toString("utf8")).toBe("interop");
  });

  it("uses a fresh IV for every seal", () => {
    const ivs = new Set(
      Array.from({ length: 200 }, () => Buffer.from(cipher.seal("same", "k").slice(3), "base64url").subarray(0, 12).toString("hex")),
    );
    expect(ivs.size).toBe(200);
  });

  it.each([
    ["the IV", 0],
    ["the tag", 20],
    ["the ciphertext", 30],
  ])("rejects a bit flipped in %s", (_part, offset) => {
    const sealed = cipher.seal("a value long enough to have byte 30", "k");
    expectIntegrityError(() => cipher.open(flipBit(sealed, offset), "k"), /failed authentication/);
  });

  it("rejects a value sealed under another master key", () => {
    const sealed = new VaultCipher(generateVaultKey()).seal("secret", "k");
    expectIntegrityError(() => cipher.open(sealed, "k"), /wrong vault key/);
  });

  it("rejects a value moved to another vault key (AAD swap)", () => {
    const sealed = cipher.seal("alice's token", "session:alice");
    expectIntegrityError(() => cipher.open(sealed, "session:mallory"), /moved to another key/);
  });

  it("rejects unknown formats, non-base64url bodies and truncated values", () => {
    const sealed = cipher.seal("a few bytes of ciphertext", "k");
    expectIntegrityError(() => cipher.open(sealed.replace("v1.", "v2."), "k"), /unknown sealed value format/);
    expectIntegrityError(() => cipher.open("plain text", "k"), /unknown sealed value format/);
    expectIntegrityError(() => cipher.open("v1.abc+def", "k"), /not base64url/);
    expectIntegrityError(() => cipher.open(`v1.${Buffer.alloc(27).toString("base64url")}`, "k"), /truncated/);
    expectIntegrityError(() => cipher.open(sealed.slice(0, -2), "k"), /failed authentication/);
  });

  it("refuses a plaintext with a lone surrogate instead of altering it", () => {
    expect(() => cipher.seal("a\uDC00b", "k")).toThrow(TypeError);
    expect(cipher.open(cipher.seal("pair 🙂 ok", "k"), "k")).toBe("pair 🙂 ok");
  });

  it("needs a 32-byte key", () => {
    expect(() => new VaultCipher(Buffer.alloc(16))).toThrow(TypeError);
    expect(() => new VaultCipher(Buffer.alloc(33))).toThrow(/32-byte key/);
  });

  it("keeps its own copy of the key", () => {
    const material = generateVaultKey();
    const own = new VaultCipher(material);
    const sealed = own.seal("v", "k");
    material.fill(0);
    expect(own.open(sealed, "k")).toBe("v");
  });
});

describe("parseVaultKey", () => {
  const key = Buffer.from("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "hex");

  it.each([
    ["lower-case hex", key.toString("hex")],
    ["upper-case hex", key.toString("hex").toUpperCase()],
    ["base64 with padding", key.toString("base64")],
    ["base64 without padding", key.toString("base64").replace(/=+$/, "")],
    ["base64url", key.toString("base64url")],
    ["with surrounding whitespace", `  ${key.toString("base64url")}\n`],
  ])("accepts %s", (_form, text) => {
    expect(parseVaultKey(text).equals(key)).toBe(true);
  });

  it("decodes keys whose base64 and base64url forms differ", () => {
    const awkward = Buffer.alloc(32, 0xfb);
    expect(awkward.toString("base64")).toMatch(/[+/]/);
    expect(parseVaultKey(awkward.toString("base64")).equals(awkward)).toBe(true);
    expect(parseVaultKey(awkward.toString("base64url")).equals(awkward)).toBe(true);
  });

  it.each([
    ["empty", ""],
    ["63 hex characters", key.toString("hex").slice(1)],
    ["31 bytes of base64", key.subarray(1).toString("base64")],
    ["33 bytes of base64", Buffer.concat([key, Buffer.from([1])]).toString("base64")],
    ["a passphrase", "correct horse battery staple correct horse"],
    ["non-canonical trailing bits", `${key.toString("base64url").slice(0, -1)}9`],
  ])("rejects %s with a TypeError that does not echo the input", (_form, text) => {
    let caught: unknown;
    try {
      parseVaultKey(text);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TypeError);
    const message = (caught as TypeError).message;
    expect(message).toMatch(/64 hexadecimal characters or as base64\/base64url/);
    if (text.trim().length > 0) {
      expect(message).not.toContain(text.trim());
    }
  });
});

describe("generateVaultKey", () => {
  it("returns 32 random bytes usable by VaultCipher", () => {
    const first = generateVaultKey();
    expect(first.length).toBe(32);
    expect(first.equals(generateVaultKey())).toBe(false);
    expect(parseVaultKey(first.toString("base64url")).equals(first)).toBe(true);
  });
});
