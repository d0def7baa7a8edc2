/**
 * The sandbox in its own process. `passerelle start` in the sandbox profile
 * runs the simulators as `passerelle sandbox` in a child process rather than
 * in the gateway's event loop:
 *
 * - the gateway's process then holds only the gateway, so its memory and CPU
 *   are those a real deployment would see (the simulators stand in for
 *   national services, which never share a process with a connector);
 * - the two start in parallel (the child issues the PKI and starts the
 *   simulators while the parent loads the gateway's code);
 * - the simulators' RSA signatures (KMS, TSA, IdPs) run on another core.
 *
 * The child reports its simulators over the IPC channel; the parent then opens
 * the PKI the child has written to `<dataDir>/pki` (every identity a simulator
 * shares with the gateway, such as the OIDC clients, exists by then). The
 * child exits when the parent asks (SIGTERM) or when the IPC channel closes,
 * so a gateway killed with SIGKILL leaves no simulator behind.
 */
import { fork, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import type { Logger } from "pino";
import { SandboxPki } from "../trust/pki/index.js";
import type { RunningSimulator } from "./simulator.js";
import type { RunningSandbox } from "./start-sandbox.js";

/** Set in the child's environment: `passerelle sandbox` reports to its parent instead of printing. */
export const SANDBOX_CHILD_ENV = "PASSERELLE_SANDBOX_CHILD";

/** What the child sends over IPC, once. */
export type SandboxChildMessage =
  | { type: "passerelle-sandbox-ready"; simulators: RunningSimulator[] }
  | { type: "passerelle-sandbox-failed"; message: string };

export interface SandboxProcessOptions {
  /** The `passerelle` command's script (dist/bin/passerelle.js, or dist/cli.js unbundled) to run as `sandbox`. */
  cliPath: string;
  /** The child's environment (the gateway's own: same DATA_DIR, SANDBOX_HOST, LOG_LEVEL). */
  env: NodeJS.ProcessEnv;
  dataDir: string;
  logger: Logger;
  /** How long the child may take to report its simulators (default 60 s). */
  readyTimeoutMs?: number;
  /** How long close() waits for the child to exit before SIGKILL (default 5 s). */
  closeTimeoutMs?: number;
  /**
   * Where the child's log lines go, one whole line (with its newline) per
   * call — the gateway's own log destination, so that the two processes'
   * lines never interleave mid-line (writes to a shared pipe above 4 kB are
   * not atomic). Absent: the child writes to this process's stdout itself.
   */
  logLine?: (line: string) => void;
}

export interface SandboxProcess extends RunningSandbox {
  readonly pid: number;
  /** Settles when the child exits, for whatever reason (close() included). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The child failed to start its simulators, died, or did not report in time. */
export class SandboxProcessError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SandboxProcessError";
  }
}

const DEFAULT_READY_TIMEOUT_MS = 60_000;
const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;

export async function startSandboxProcess(options: SandboxProcessOptions): Promise<SandboxProcess> {
  const readyTimeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  const closeTimeoutMs = options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
  const logLine = options.logLine;
  const child = fork(options.cliPath, ["sandbox"], {
    env: { ...options.env, [SANDBOX_CHILD_ENV]: "1" },
    // Logs join the gateway's (one JSON stream, through logLine when given); errors go to its stderr.
    stdio: ["ignore", logLine === undefined ? "inherit" : "pipe", "inherit", "ipc"],
  });
  if (logLine !== undefined && child.stdout !== null) {
    createInterface({ input: child.stdout, crlfDelay: Infinity }).on("line", (line) => logLine(`${line}\n`));
  }
  const pid = child.pid;
  // A failed kill or IPC send emits 'error' at any time: logged, never an unhandled 'error' event.
  child.on("error", (err) => options.logger.warn({ err }, "sandbox process error"));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });

  let simulators: RunningSimulator[];
  try {
    if (pid === undefined) throw new SandboxProcessError("The sandbox process could not be started");
    simulators = await waitForReport(child, exited, readyTimeoutMs);
  } catch (err) {
    await stop(child, exited, closeTimeoutMs);
    throw err;
  }

  const pki = await SandboxPki.open(options.dataDir).catch(async (err: unknown) => {
    await stop(child, exited, closeTimeoutMs);
    throw err;
  });
  const urls = new Map(simulators.map((s) => [s.id, s.url]));
  let closing: Promise<void> | undefined;
  options.logger.info({ pid, simulators: simulators.length }, "sandbox process ready");
  return {
    pid,
    exited,
    pki,
    simulators,
    url(id: string): string {
      const url = urls.get(id);
      if (url === undefined) throw new TypeError(`No simulator "${id}" in this sandbox (have: ${[...urls.keys()].join(", ")})`);
      return url;
    },
    close() {
      closing ??= stop(child, exited, closeTimeoutMs);
      return closing;
    },
  };
}

function waitForReport(
  child: ChildProcess,
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
  timeoutMs: number,
): Promise<RunningSimulator[]> {
  return new Promise<RunningSimulator[]>((resolve, reject) => {
    let failure: string | undefined;
    const timer = setTimeout(() => {
      reject(new SandboxProcessError(`The sandbox process did not report its simulators within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (message: unknown): void => {
      if (!isChildMessage(message)) return;
      if (message.type === "passerelle-sandbox-failed") {
        failure = message.message;
        return; // the exit follows and rejects
      }
      clearTimeout(timer);
      child.off("message", onMessage);
      resolve(message.simulators);
    };
    child.on("message", onMessage);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(new SandboxProcessError(`The sandbox process could not be started: ${err.message}`, { cause: err }));
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      const how = signal !== null ? `was killed by ${signal}` : `exited with code ${String(code)}`;
      reject(new SandboxProcessError(failure !== undefined ? `The sandbox failed to start: ${failure}` : `The sandbox process ${how} before it was ready`));
    });
  });
}

function isChildMessage(message: unknown): message is SandboxChildMessage {
  if (typeof message !== "object" || message === null) return false;
  const m = message as { type?: unknown; simulators?: unknown; message?: unknown };
  return (m.type === "passerelle-sandbox-ready" && Array.isArray(m.simulators)) || (m.type === "passerelle-sandbox-failed" && typeof m.message === "string");
}

/** SIGTERM (the child closes its simulators gracefully), then SIGKILL past the budget. */
async function stop(child: ChildProcess, exited: Promise<unknown>, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), timeoutMs);
  });
  const outcome = await Promise.race([exited, late]);
  clearTimeout(timer);
  if (outcome === "late") {
    child.kill("SIGKILL");
    await exited;
  }
}

/**
 * The child's side: called by `passerelle sandbox` when it runs under a
 * gateway. Reports the simulators, and closes them when the parent goes away.
 */
export function reportToParent(sandbox: RunningSandbox, logger: Logger): void {
  const send = process.send?.bind(process);
  if (send === undefined) throw new TypeError("reportToParent() needs an IPC channel (started by startSandboxProcess)");
  let closing = false;
  const closeAndExit = (why: string): void => {
    if (closing) return;
    closing = true;
    logger.info(`${why}: closing the sandbox`);
    sandbox.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("disconnect", () => closeAndExit("gateway gone"));
  if (!process.connected) return closeAndExit("gateway gone before the sandbox was ready");
  const message: SandboxChildMessage = { type: "passerelle-sandbox-ready", simulators: sandbox.simulators };
  // A channel that closes meanwhile is an error for this send (never an unhandled 'error' event): same outcome.
  send(message, undefined, {}, (err) => {
    if (err !== null) closeAndExit("gateway gone before the sandbox was ready");
  });
}

/** The child's side when its start failed: the parent gets the reason before the exit. */
export function reportFailureToParent(message: string): Promise<void> {
  const send = process.send?.bind(process);
  if (send === undefined || !process.connected) return Promise.resolve();
  const failed: SandboxChildMessage = { type: "passerelle-sandbox-failed", message };
  return new Promise((resolve) => {
    send(failed, undefined, {}, () => resolve());
  });
}
