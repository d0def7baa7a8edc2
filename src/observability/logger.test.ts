import pino from "pino";
import { describe, expect, it } from "vitest";
import { accessLogWriter, createLogger, type AccessLogEntry } from "./logger.js";

function capture(): { lines: string[]; destination: { write(line: string): void } } {
  const lines: string[] = [];
  return { lines, destination: { write: (line: string) => void lines.push(line) } };
}

const ENTRY: AccessLogEntry = {
  reqId: "668e8daf-4ff8-43f6-b2bc-179f1b3836aa",
  method: "GET",
  path: '/v1/caller/"quoted"\\path',
  status: 200,
  responseTimeMs: 0.42,
  caller: "sandbox-demo",
  remoteAddress: "127.0.0.1",
};

describe("accessLogWriter", () => {
  it("writes the line the logger would write for the same entry, field for field and in the same order", () => {
    const { lines, destination } = capture();
    const logger = createLogger({ level: "info", destination });
    accessLogWriter(logger)(ENTRY);
    const { reqId, ...fields } = ENTRY;
    logger.child({ reqId }).info(fields, "request completed");
    expect(lines).toHaveLength(2);
    const [fast, generic] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines[0]?.endsWith("}\n")).toBe(true);
    expect(Object.keys(fast ?? {})).toEqual(Object.keys(generic ?? {}));
    expect({ ...fast, time: undefined }).toEqual({ ...generic, time: undefined });
    expect(fast?.path).toBe('/v1/caller/"quoted"\\path');
  });

  it("leaves out an absent caller and address, as the generic line does", () => {
    const { lines, destination } = capture();
    const logger = createLogger({ level: "info", destination });
    accessLogWriter(logger)({ ...ENTRY, caller: undefined, remoteAddress: undefined });
    expect(JSON.parse(lines[0] ?? "{}")).not.toHaveProperty("caller");
    expect(JSON.parse(lines[0] ?? "{}")).not.toHaveProperty("remoteAddress");
  });

  it("redacts a national identifier in the path", () => {
    const { lines, destination } = capture();
    accessLogWriter(createLogger({ level: "info", destination }))({ ...ENTRY, path: "/v1/patients/85073003328/documents" });
    expect(lines[0]).not.toContain("85073003328");
    expect(JSON.parse(lines[0] ?? "{}")).toMatchObject({ path: "/v1/patients/[REDACTED:niss]/documents" });
  });

  it("writes nothing below the logger's level", () => {
    const { lines, destination } = capture();
    accessLogWriter(createLogger({ level: "warn", destination }))(ENTRY);
    expect(lines).toEqual([]);
  });

  it("logs through an embedder's own logger with its own format", () => {
    const { lines, destination } = capture();
    const theirs = pino({ level: "info", base: undefined, timestamp: false }, destination);
    accessLogWriter(theirs)(ENTRY);
    expect(JSON.parse(lines[0] ?? "{}")).toEqual({ level: 30, reqId: ENTRY.reqId, method: "GET", path: ENTRY.path, status: 200, responseTimeMs: 0.42, caller: "sandbox-demo", remoteAddress: "127.0.0.1", msg: "request completed" });
  });
});
