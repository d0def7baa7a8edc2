import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTimestampRequest, parseTimestampRequest } from "./index.js";

const run = promisify(execFile);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "passerelle-tsq-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** `openssl ts -query -text` of a DER request. */
async function opensslText(der: Uint8Array): Promise<string> {
  const path = join(dir, `q-${Math.random().toString(36).slice(2)}.tsq`);
  await writeFile(path, der);
  const { stdout } = await run("openssl", ["ts", "-query", "-in", path, "-text"]);
  return stdout;
}

describe("buildTimestampRequest", () => {
  it("builds a DER TimeStampReq that openssl reads back field by field", async () => {
    const digest = createHash("sha384").update("hello").digest();
    const request = buildTimestampRequest(digest, { hashAlgorithm: "SHA-384", nonce: 0x0123456789abcdefn, policy: "1.3.6.1.4.1.32473.1" });
    const text = await opensslText(request.der);
    expect(text).toContain("Version: 1");
    expect(text).toContain("Hash Algorithm: sha384");
    expect(text).toContain("Policy OID: 1.3.6.1.4.1.32473.1");
    expect(text).toContain("Nonce: 0x0123456789ABCDEF");
    expect(text).toContain("Certificate required: yes");
    // openssl dumps the imprint as "0000 - 2c f2 4d ba 5f b0 a3 0e-26 …": the first eight bytes, space-separated.
    expect(text).toContain(digest.subarray(0, 8).toString("hex").match(/../g)?.join(" "));
    expect(request).toMatchObject({ hashAlgorithm: "SHA-384", nonce: 0x0123456789abcdefn, certReq: true, policy: "1.3.6.1.4.1.32473.1" });
    expect(request.digest).toEqual(digest);
  });

  it("omits certReq when false (DER: DEFAULT FALSE is absent) and the policy when none is asked", async () => {
    const request = buildTimestampRequest(Buffer.alloc(32, 7), { hashAlgorithm: "SHA-256", certReq: false });
    const text = await opensslText(request.der);
    expect(text).toContain("Certificate required: no");
    expect(text).toContain("Policy OID: unspecified");
    const parsed = parseTimestampRequest(request.der);
    expect(parsed).toMatchObject({ version: 1, certReq: false, policy: undefined, hashAlgorithm: "SHA-256", extensions: [] });
    // No BOOLEAN FALSE in the encoding: DER leaves a DEFAULT value out.
    expect(request.der.includes(Buffer.from([0x01, 0x01, 0x00]))).toBe(false);
  });

  it("draws a fresh 64-bit nonce per request unless one is given, as a bigint or as bytes", () => {
    const digest = Buffer.alloc(64, 1);
    const nonces = new Set(Array.from({ length: 20 }, () => buildTimestampRequest(digest, { hashAlgorithm: "SHA-512" }).nonce));
    expect(nonces.size).toBe(20);
    for (const nonce of nonces) expect(nonce < 1n << 64n).toBe(true);
    const fromBytes = buildTimestampRequest(digest, { hashAlgorithm: "SHA-512", nonce: Buffer.from([0x80, 0, 0, 1]) });
    expect(fromBytes.nonce).toBe(0x80000001n);
    // A nonce with the high bit set is still a positive INTEGER once parsed.
    expect(parseTimestampRequest(fromBytes.der)?.nonce).toBe(0x80000001n);
  });

  it("throws TypeError on caller mistakes", () => {
    const digest = Buffer.alloc(32);
    expect(() => buildTimestampRequest(digest, { hashAlgorithm: "SHA-1" as never })).toThrow(TypeError);
    expect(() => buildTimestampRequest(Buffer.alloc(31), { hashAlgorithm: "SHA-256" })).toThrow(/32-byte SHA-256/);
    expect(() => buildTimestampRequest(digest, { hashAlgorithm: "SHA-256", policy: "not.an.oid" })).toThrow(TypeError);
    expect(() => buildTimestampRequest(digest, { hashAlgorithm: "SHA-256", nonce: -1n })).toThrow(TypeError);
    expect(() => buildTimestampRequest(digest, { hashAlgorithm: "SHA-256", nonce: new Uint8Array(0) })).toThrow(TypeError);
    expect(() => buildTimestampRequest("abc" as never, { hashAlgorithm: "SHA-256" })).toThrow(TypeError);
  });
});

describe("parseTimestampRequest", () => {
  it("reads a request made by openssl ts -query, keeping the imprint bytes to echo", async () => {
    const data = join(dir, "data.txt");
    const query = join(dir, "openssl.tsq");
    await writeFile(data, "compte rendu");
    await run("openssl", ["ts", "-query", "-data", data, "-sha256", "-cert", "-tspolicy", "1.2.3.4", "-out", query]);
    const der = await readFile(query);
    const parsed = parseTimestampRequest(der);
    expect(parsed).toMatchObject({ version: 1, hashAlgorithm: "SHA-256", certReq: true, policy: "1.2.3.4" });
    expect(parsed?.hashedMessage).toEqual(createHash("sha256").update("compte rendu").digest());
    expect(parsed?.nonce).toBeTypeOf("bigint");
    expect(der.includes(parsed?.messageImprintDer ?? Buffer.alloc(1, 0xff))).toBe(true);
  });

  it("reads policies with arcs beyond 2^53 exactly (2.25.<UUID> OIDs)", () => {
    const policy = "2.25.8888202736267528462877072140334340318.1.1";
    const request = buildTimestampRequest(Buffer.alloc(32), { hashAlgorithm: "SHA-256", policy });
    expect(parseTimestampRequest(request.der)?.policy).toBe(policy);
  });

  it("returns undefined for bytes that are not one DER TimeStampReq", () => {
    const valid = buildTimestampRequest(Buffer.alloc(32), { hashAlgorithm: "SHA-256" }).der;
    expect(parseTimestampRequest(Buffer.alloc(0))).toBeUndefined();
    expect(parseTimestampRequest(Buffer.from("garbage"))).toBeUndefined();
    expect(parseTimestampRequest(valid.subarray(0, 10))).toBeUndefined();
    expect(parseTimestampRequest(Buffer.concat([valid, Buffer.from([0x00])]))).toBeUndefined();
    expect(parseTimestampRequest(Buffer.from([0x30, 0x00]))).toBeUndefined();
    // Deeply nested input is cut short by the parser limits rather than walked.
    const deep = Buffer.concat([...Array.from({ length: 200 }, () => Buffer.from([0x30, 0x80])), ...Array.from({ length: 200 }, () => Buffer.from([0, 0]))]);
    expect(parseTimestampRequest(deep)).toBeUndefined();
  });
});
