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
 * The child reports twice over the IPC channel: when every simulator's port is
 * bound (it has opened the PKI, so the CAs exist, and the URLs are final; no
 * simulator is loaded yet, see registry.ts), then when every simulator is
 * created. `startSandboxProcess` resolves at the first report, so that the
 * gateway configures its modules while the simulators load, and `ready` at
 * the second. Both processes may then ask the PKI for the same identity (an
 * OIDC client, a practitioner): the PKI issues each one once, under a lock
 * file (PkiStore.withPairLock). The child exits when the parent asks (SIGTERM)
 * or when the IPC channel closes, so a gateway killed with SIGKILL leaves no
 * simulator behind.
 */
import { fork, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import type { Logger } from "pino";
import type { RunningSimulator, SimulatorEndpoint } from "./simulator.js";
import type { RunningSandbox, SandboxEndpoints } from "./start-sandbox.js";

/** Set in the child's environment: `passerelle sandbox` reports to its parent instead of printing. */
export const SANDBOX_CHILD_ENV = "PASSERELLE_SANDBOX_CHILD";

/** What the child sends over IPC: listening then ready, or failed. */
export type SandboxChildMessage =
  | { type: "passerelle-sandbox-listening"; simulators: SimulatorEndpoint[] }
  | { type: "passerelle-sandbox-ready"; simulators: RunningSimulator[] }
  | { type: "passerelle-sandbox-failed"; message: string };

export interface SandboxProcessOptions {
  /** The `passerelle` command's script (dist/bin/passerelle.js, or dist/cli.js unbundled) to run as `sandbox`. */
  cliPath: string;
  /** The child's environment (the gateway's own: same DATA_DIR, SANDBOX_HOST, LOG_LEVEL). */
  env: NodeJS.ProcessEnv;
  dataDir: string;
  logger: Logger;
  /** How long the child may take to report its simulators ready (default 60 s). */
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

/** The sandbox process once its ports are bound. */
export interface SandboxProcess extends SandboxEndpoints {
  readonly pid: number;
  /** The running sandbox, once every simulator is created; rejects if the child fails or times out first. */
  readonly ready: Promise<RunningSandbox>;
  /** Stops the child (SIGTERM, then SIGKILL past closeTimeoutMs); idempotent. */
  close(): Promise<void>;
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

  const reports = watchReports(child, exited, readyTimeoutMs);
  let endpoints: SimulatorEndpoint[];
  try {
    if (pid === undefined) throw new SandboxProcessError("The sandbox process could not be started");
    endpoints = await reports.listening;
  } catch (err) {
    await stop(child, exited, closeTimeoutMs);
    throw err;
  }

  // Loaded after the fork, not before: the child starts a little earlier.
  const pki = await import("../trust/pki/index.js").then(({ SandboxPki }) => SandboxPki.open(options.dataDir)).catch(async (err: unknown) => {
    await stop(child, exited, closeTimeoutMs);
    throw err;
  });
  const urls = new Map(endpoints.map((s) => [s.id, s.url]));
  const url = (id: string): string => {
    const found = urls.get(id);
    if (found === undefined) throw new TypeError(`No simulator "${id}" in this sandbox (have: ${[...urls.keys()].join(", ")})`);
    return found;
  };
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => (closing ??= stop(child, exited, closeTimeoutMs));
  const ready = reports.ready.then((simulators): RunningSandbox => {
    options.logger.info({ pid, simulators: simulators.length }, "sandbox process ready");
    return { pki, simulators, url, close };
  });
  ready.catch(() => undefined); // awaited by whoever uses the sandbox; the child is stopped by its close()
  return { pid, exited, pki, simulators: endpoints, url, ready, close };
}

/** The child's two reports, each rejecting if the child fails, exits or is late before sending it. */
function watchReports(
  child: ChildProcess,
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
  timeoutMs: number,
): { listening: Promise<SimulatorEndpoint[]>; ready: Promise<RunningSimulator[]> } {
  let failure: string | undefined;
  const listening = Promise.withResolvers<SimulatorEndpoint[]>();
  const ready = Promise.withResolvers<RunningSimulator[]>();
  ready.promise.catch(() => undefined); // the caller may stop at `listening`
  // Settling a settled promise does nothing: a failure after "listening" rejects only `ready`.
  const fail = (err: SandboxProcessError): void => {
    clearTimeout(timer);
    listening.reject(err);
    ready.reject(err);
  };
  const timer = setTimeout(() => fail(new SandboxProcessError(`The sandbox process did not report its simulators within ${timeoutMs} ms`)), timeoutMs);
  const onMessage = (message: unknown): void => {
    if (!isChildMessage(message)) return;
    if (message.type === "passerelle-sandbox-failed") {
      failure = message.message;
      return; // the exit follows and rejects
    }
    listening.resolve(message.simulators);
    if (message.type === "passerelle-sandbox-listening") return;
    clearTimeout(timer);
    child.off("message", onMessage);
    ready.resolve(message.simulators);
  };
  child.on("message", onMessage);
  child.once("error", (err) => fail(new SandboxProcessError(`The sandbox process could not be started: ${err.message}`, { cause: err })));
  void exited.then(({ code, signal }) => {
    const how = signal !== null ? `was killed by ${signal}` : `exited with code ${String(code)}`;
    fail(new SandboxProcessError(failure !== undefined ? `The sandbox failed to start: ${failure}` : `The sandbox process ${how} before it was ready`));
  });
  return { listening: listening.promise, ready: ready.promise };
}


function isChildMessage(message: unknown): message is SandboxChildMessage {
  if (typeof message !== "object" || message === null) return false;
  const m = message as { type?: unknown; simulators?: unknown; message?: unknown };
  return (
    ((m.type === "passerelle-sandbox-listening" || m.type === "passerelle-sandbox-ready") && Array.isArray(m.simulators)) ||
    (m.type === "passerelle-sandbox-failed" && typeof m.message === "string")
  );
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

/** The child's side, first report: every port is bound (StartSandboxOptions.onListening). */
export function reportListeningToParent(simulators: SimulatorEndpoint[]): void {
  const send = process.send?.bind(process);
  if (send === undefined || !process.connected) return; // the disconnect handler stops this process
  const message: SandboxChildMessage = { type: "passerelle-sandbox-listening", simulators };
  send(message, undefined, {}, () => undefined); // a closed channel means the gateway is gone: same handler
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
