import { spawn, spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { CoalescingDestination, FileDescriptorWriter, type FlushableDestination } from "./log-destination.js";

class RecordingTarget implements FlushableDestination {
  readonly writes: string[] = [];
  flushes = 0;
  write(text: string): void {
    this.writes.push(text);
  }
  flushSync(): void {
    this.flushes += 1;
  }
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("CoalescingDestination", () => {
  it("hands the lines of one turn to its target as one write, in order, at the end of the turn", async () => {
    const target = new RecordingTarget();
    const destination = new CoalescingDestination(target);
    destination.write("a\n");
    destination.write("b\n");
    destination.write("c\n");
    expect(target.writes).toEqual([]);
    await nextTurn();
    expect(target.writes).toEqual(["a\nb\nc\n"]);
    destination.write("d\n");
    await nextTurn();
    expect(target.writes).toEqual(["a\nb\nc\n", "d\n"]);
  });

  it("writes nothing for a turn without lines", async () => {
    const target = new RecordingTarget();
    const destination = new CoalescingDestination(target);
    await nextTurn();
    destination.flushSync();
    expect(target.writes).toEqual([]);
    expect(target.flushes).toBe(1);
  });

  it("flushSync writes what is pending, then flushes the target, and the turn's end then has nothing left", async () => {
    const target = new RecordingTarget();
    const destination = new CoalescingDestination(target);
    destination.write("last words\n");
    destination.flushSync();
    expect([target.writes, target.flushes]).toEqual([["last words\n"], 1]);
    await nextTurn();
    expect(target.writes).toEqual(["last words\n"]);
  });

  it("writeThrough flushes what is pending, then hands each later line to the target at once", () => {
    const target = new RecordingTarget();
    const destination = new CoalescingDestination(target);
    destination.write("pending\n");
    destination.writeThrough();
    expect([target.writes, target.flushes]).toEqual([["pending\n"], 1]);
    destination.write("after\n");
    expect(target.writes).toEqual(["pending\n", "after\n"]);
  });

  it("stdout writes the lines other exit listeners log, whether they run before or after its own", () => {
    const logger = fileURLToPath(new URL("../../dist/observability/logger.js", import.meta.url));
    const script = [
      `let log;`,
      `process.on("exit", () => log.info("from an exit listener registered before the logger"));`,
      `const { createLogger } = await import(${JSON.stringify(logger)});`,
      `log = createLogger({ level: "info" });`,
      `process.on("exit", () => log.info("from an exit listener registered after it"));`,
      `log.info("stopped");`,
      `process.exit(0);`,
    ].join("\n");
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    const messages = run.stdout.split("\n").filter(Boolean).map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(messages).toEqual(["stopped", "from an exit listener registered before the logger", "from an exit listener registered after it"]);
  });

  it("stdout loses no line logged just before process.exit", () => {
    // A real process, with stdout a pipe: the line logged in the same turn as exit() is written at exit.
    // It runs the built module (the test setup builds dist/ first).
    const logger = fileURLToPath(new URL("../../dist/observability/logger.js", import.meta.url));
    const script = [
      `const { createLogger } = await import(${JSON.stringify(logger)});`,
      `const log = createLogger({ level: "info" });`,
      `for (let i = 0; i < 500; i++) log.info({ i }, "line");`,
      `log.info("stopped");`,
      `process.exit(0);`,
    ].join("\n");
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    const lines = run.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l) as { msg: string; i?: number });
    expect(lines).toHaveLength(501);
    expect(lines.map((l) => l.i).slice(0, 500)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(lines.at(-1)?.msg).toBe("stopped");
  });
});

describe("FileDescriptorWriter", () => {
  const destinationModule = fileURLToPath(new URL("../../dist/observability/log-destination.js", import.meta.url));

  it("writes each text whole, multi-byte characters included", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "passerelle-fd-writer-"));
    try {
      const file = path.join(dir, "log");
      const fd = openSync(file, "w");
      const writer = new FileDescriptorWriter(fd);
      writer.write('{"msg":"première ligne — é"}\n');
      writer.write("");
      writer.write('{"msg":"second"}\n');
      closeSync(fd);
      expect(readFileSync(file, "utf8")).toBe('{"msg":"première ligne — é"}\n{"msg":"second"}\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("waits for a full non-blocking pipe to drain (EAGAIN) and loses nothing", async () => {
    // A real process writes 1 MB to its stdout, a pipe its parent starts reading only after 300 ms: the pipe
    // (64 kB) fills, and libuv made it non-blocking when the child touched process.stdout.
    const text = `${"x".repeat(1023)}\n`.repeat(1024);
    const script = [
      `const { FileDescriptorWriter } = await import(${JSON.stringify(destinationModule)});`,
      `void process.stdout.fd;`,
      `new FileDescriptorWriter(1).write(${JSON.stringify("x".repeat(1023) + "\n")}.repeat(1024));`,
    ].join("\n");
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.pause();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const chunks: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
    child.stdout.resume();
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(code, stderr).toBe(0);
    expect(Buffer.concat(chunks).toString("utf8")).toBe(text);
  });

  it("drops lines without an error once the reader is gone (EPIPE)", async () => {
    const script = [
      `const { FileDescriptorWriter } = await import(${JSON.stringify(destinationModule)});`,
      `const writer = new FileDescriptorWriter(1);`,
      `await new Promise((resolve) => setTimeout(resolve, 200));`,
      `for (let i = 0; i < 100; i++) writer.write("line after the reader left\\n");`,
      `process.stderr.write("still running");`,
    ].join("\n");
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.destroy();
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect([code, stderr]).toEqual([0, "still running"]);
  });
});
