/**
 * Starts the simulators of the national services, each on its own HTTPS port
 * with a certificate from the sandbox PKI.
 *
 * Start happens in two parallel phases: every server binds its port (so that
 * every URL is known), then every simulator's `create` runs with those URLs in
 * its context. If anything fails, everything already started is closed and
 * the returned promise rejects with a `SandboxStartError` naming the culprits.
 *
 * @example
 * ```ts
 * const sandbox = await startSandbox({ dataDir: ".passerelle", simulators: builtInSimulators(), logger });
 * const caUrl = sandbox.url("sandbox-ca"); // https://127.0.0.1:40123
 * await sandbox.close();
 * ```
 */
import { mkdir } from "node:fs/promises";
import { isIP } from "node:net";
import { join } from "node:path";
import type { Logger } from "pino";
import { SANDBOX_COUNTRIES, SandboxPki } from "../trust/pki/index.js";
import type { RunningSimulator, SimulatorContext, SimulatorDefinition, SimulatorEndpoint } from "./simulator.js";
import { SimulatorServer } from "./simulator-server.js";

export interface StartSandboxOptions {
  /** Holds `pki/` and each simulator's `sandbox/<id>/` directory. */
  dataDir: string;
  simulators: SimulatorDefinition[];
  /** Bind address of every simulator (default `127.0.0.1`). */
  host?: string;
  /** Port per simulator id; absent or 0 = a free port. */
  ports?: Record<string, number>;
  logger: Logger;
  /** An already opened PKI; by default `<dataDir>/pki` is opened. */
  pki?: SandboxPki;
  /** How long `close()` lets requests in flight finish before cutting connections (default 3000 ms). */
  shutdownGraceMs?: number;
  /**
   * Called once every port is bound, before any simulator is created: from
   * then on the URLs are final (a request that arrives before its simulator
   * is created gets a 503 with Retry-After). The sandbox process reports them
   * to the gateway at that point (child-process.ts).
   */
  onListening?(simulators: SimulatorEndpoint[]): void;
}

/** Where the simulators of a sandbox answer, and its PKI: what the gateway's modules need to configure themselves. */
export interface SandboxEndpoints {
  pki: SandboxPki;
  /** In the order of `options.simulators`. */
  simulators: readonly SimulatorEndpoint[];
  /** Base URL of a simulator; throws `TypeError` for an unknown id. */
  url(id: string): string;
}

export interface RunningSandbox extends SandboxEndpoints {
  simulators: RunningSimulator[];
  /** Closes every simulator (bounded by `shutdownGraceMs`); idempotent. */
  close(): Promise<void>;
}

/** Start failed; `simulatorIds` are the simulators that failed, `cause` the first failure. */
export class SandboxStartError extends Error {
  readonly simulatorIds: string[];

  constructor(failures: Array<{ id: string; error: unknown }>) {
    const described = failures.map(({ id, error }) => `"${id}" (${error instanceof Error ? error.message : String(error)})`);
    super(`Sandbox failed to start: simulator ${described.join(", ")}`, { cause: failures[0]?.error });
    this.name = "SandboxStartError";
    this.simulatorIds = failures.map(({ id }) => id);
  }
}

const SIMULATOR_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
const LOOPBACK_OR_WILDCARD = new Set(["127.0.0.1", "::1", "localhost", "0.0.0.0", "::"]);
const DEFAULT_SHUTDOWN_GRACE_MS = 3000;

export async function startSandbox(options: StartSandboxOptions): Promise<RunningSandbox> {
  const host = options.host ?? "127.0.0.1";
  const graceMs = options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS;
  assertValidOptions(options, host, graceMs);

  const pki = options.pki ?? (await SandboxPki.open(options.dataDir));
  const servers = options.simulators.map(
    (definition) => new SimulatorServer(definition, options.logger.child({ simulator: definition.id })),
  );
  const closeAll = async (): Promise<void> => {
    const errors = (await Promise.all(servers.map((server) => server.close(graceMs)))).flat();
    for (const err of errors) options.logger.warn({ err }, "simulator close failed");
    if (errors.length > 0) throw new AggregateError(errors, "Some sandbox simulators failed to close");
  };
  const runPhase = async (step: (server: SimulatorServer) => Promise<void>): Promise<void> => {
    const outcomes = await Promise.allSettled(servers.map(step));
    const failures = outcomes.flatMap((outcome, i) =>
      outcome.status === "rejected" ? [{ id: servers[i]?.definition.id ?? "?", error: outcome.reason as unknown }] : [],
    );
    if (failures.length === 0) return;
    await closeAll().catch(() => undefined); // already logged; the start failure is the error to report
    throw new SandboxStartError(failures);
  };

  const listenOptions = {
    pki,
    host,
    extraHostnames: LOOPBACK_OR_WILDCARD.has(host) ? [] : [host],
    clientCa: [pki.rootCertPem, ...SANDBOX_COUNTRIES.map((country) => pki.caCertPem(country))],
  };
  await runPhase((server) => server.listen({ ...listenOptions, port: options.ports?.[server.definition.id] ?? 0 }));

  const urls = new Map(servers.map((server) => [server.definition.id, server.url]));
  options.onListening?.(servers.map((server) => server.endpoint()));
  const urlOf = (id: string): string => {
    const url = urls.get(id);
    if (url === undefined) throw new TypeError(`No simulator "${id}" in this sandbox (have: ${[...urls.keys()].join(", ")})`);
    return url;
  };
  await runPhase(async (server) => {
    const id = server.definition.id;
    const dataDir = join(options.dataDir, "sandbox", id);
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const ctx: SimulatorContext = {
      pki,
      logger: options.logger.child({ simulator: id }),
      dataDir,
      url: server.url,
      simulatorUrl: urlOf,
    };
    await server.attach(ctx);
  });

  let closing: Promise<void> | undefined;
  return {
    pki,
    simulators: servers.map((server) => server.describe()),
    url: urlOf,
    close() {
      closing ??= closeAll();
      return closing;
    },
  };
}

/** Misuse fails loudly, before any port is bound. */
function assertValidOptions(options: StartSandboxOptions, host: string, graceMs: number): void {
  if (!Array.isArray(options.simulators)) throw new TypeError("simulators must be an array");
  const ids = new Set<string>();
  for (const definition of options.simulators) {
    if (!SIMULATOR_ID.test(definition.id)) {
      throw new TypeError(`Invalid simulator id ${JSON.stringify(definition.id)} (lower-case letters, digits and '-')`);
    }
    if (ids.has(definition.id)) throw new TypeError(`Two simulators have the id "${definition.id}"`);
    if (typeof definition.create !== "function") throw new TypeError(`Simulator "${definition.id}" has no create()`);
    ids.add(definition.id);
  }
  for (const [id, port] of Object.entries(options.ports ?? {})) {
    if (!ids.has(id)) throw new TypeError(`ports names "${id}", which is not a simulator of this sandbox`);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError(`Invalid port ${port} for simulator "${id}"`);
  }
  if (typeof host !== "string" || host.length === 0 || (isIP(host) === 0 && !/^[A-Za-z0-9.-]+$/.test(host))) {
    throw new TypeError(`Invalid sandbox host ${JSON.stringify(host)}`);
  }
  if (!Number.isFinite(graceMs) || graceMs < 0) throw new TypeError("shutdownGraceMs must be a non-negative number");
}
