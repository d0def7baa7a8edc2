import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { CoalescingDestination, type FlushableDestination } from "./log-destination.js";

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
