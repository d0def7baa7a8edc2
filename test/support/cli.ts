import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** The command as shipped (package.json "bin"): the bundle of dist/cli.js. */
export const CLI = path.join(ROOT, "dist/bin/passerelle.js");

export interface RunningCli {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  dataDir: string;
  cleanup(): void;
}

/** Spawns the built CLI with a clean environment (no inherited settings) and a temp DATA_DIR. */
export function spawnCli(args: string[], env: Record<string, string> = {}): RunningCli {
  const dataDir = mkdtempSync(path.join(tmpdir(), "passerelle-cli-"));
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? "", DATA_DIR: dataDir, PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    dataDir,
    cleanup() {
      if (child.exitCode === null) child.kill("SIGKILL");
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Waits until `predicate` holds on the process output, or throws with what was printed. */
export async function waitForOutput(cli: RunningCli, predicate: (all: string) => boolean, timeoutMs = 15_000): Promise<string> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    const all = cli.stdout() + cli.stderr();
    if (predicate(all)) return all;
    if (cli.child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for output; got:\n${cli.stdout()}\n${cli.stderr()}`);
}
