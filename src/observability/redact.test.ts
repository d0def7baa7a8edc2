import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "./logger.js";
import { REDACTED, redactDeep, redactString } from "./redact.js";

const JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiI4MTAwMDAwMDAwMSJ9.c2lnbmF0dXJlLWJ5dGVz";

describe("redactDeep", () => {
  it("redacts secrets and national identifiers by key at any depth", () => {
    const out = redactDeep({
      headers: { authorization: "Bearer abc", cookie: "sid=1", "x-api-key": "k", accept: "json" },
      body: { patient: { ins: "1840512345678", niss: "85073003328", matricule: "1985073012345", name: "Martin" } },
      grants: [{ access_token: "t", refresh_token: "r", expires_in: 300 }],
      tokens: ["a", "b"],
      vaultKey: "0".repeat(64),
      clientSecret: "s",
      password: "p",
      pin: "1234",
      cardPin: "0000",
      ping: "pong",
    }) as Record<string, Record<string, unknown>>;
    expect(out.headers).toEqual({ authorization: REDACTED, cookie: REDACTED, "x-api-key": REDACTED, accept: "json" });
    expect(out.body).toEqual({ patient: { ins: REDACTED, niss: REDACTED, matricule: REDACTED, name: "Martin" } });
    expect(out.grants).toEqual([{ access_token: REDACTED, refresh_token: REDACTED, expires_in: 300 }]);
    expect(out.tokens).toBe(REDACTED);
    expect([out.vaultKey, out.clientSecret, out.password, out.pin, out.cardPin]).toEqual([REDACTED, REDACTED, REDACTED, REDACTED, REDACTED]);
    expect(out.ping).toBe("pong");
  });

  it("redacts identifier and token shapes inside free text", () => {
    expect(redactString(`GET /v1/fr/dmp/patients/2840512345678 12/documents`)).not.toContain("284051234567812");
    expect(redactString("INS 1 84 05 12 345 678 90 unknown")).toBe("INS [REDACTED:nir] unknown");
    expect(redactString(`token ${JWT} refused`)).toBe("token [REDACTED:jwt] refused");
    expect(redactString("Authorization: Bearer abc.def-ghi")).toBe("Authorization: Bearer [REDACTED]");
    expect(redactString("NISS 85.07.30-033.28 here")).toBe("NISS [REDACTED:niss] here");
    expect(redactString("matricule 1985073012345")).toMatch(/^matricule \[REDACTED:(matricule|nir)\]$/);
    expect(redactString("request 42 took 17 ms")).toBe("request 42 took 17 ms");
  });

  it("handles errors, buffers and cycles", () => {
    const err = new Error(`bad token ${JWT}`);
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const out = redactDeep({ err, buf: Buffer.from("secret"), cyclic }) as Record<string, Record<string, unknown>>;
    expect(out.err?.message).toBe("bad token [REDACTED:jwt]");
    expect(out.buf).toBe("[6 bytes]");
    expect(out.cyclic?.self).toBe("[Circular]");
  });
});

describe("createLogger", () => {
  it("never writes a secret or an identifier, whatever the call shape", () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    const logger = createLogger({ level: "debug", destination });
    logger.info({ req: { method: "GET", url: "/v1/x?ins=1840512345678", headers: { authorization: "Bearer k" } } }, "in");
    logger.warn({ err: new Error(`upstream said ${JWT}`), patientId: "1840512345678" }, "failed for 1840512345678");
    logger.debug({ config: { VAULT_KEY: "ab".repeat(32), apiKeys: [{ id: "a" }] } }, "config");
    const all = lines.join("");
    expect(all).not.toContain("1840512345678");
    expect(all).not.toContain(JWT);
    expect(all).not.toContain("ab".repeat(32));
    expect(all).not.toContain("Bearer k");
    const first = JSON.parse(lines[0] ?? "{}") as { req: { path: string }; level: string };
    expect(first.req.path).toBe("/v1/x");
    expect(first.level).toBe("info");
  });
});
