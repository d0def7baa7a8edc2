import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import {
  ConfigError,
  LICENSE_TERMS,
  LicenseNotAcceptedError,
  SETTINGS,
  formatIssue,
  hashApiKey,
  loadConfig,
  type GatewayConfig,
} from "./config/index.js";
import { stdoutDestination } from "./observability/log-destination.js";
import { createLogger } from "./observability/logger.js";
import type { SandboxProcess } from "./sandbox/child-process.js";
import { packageVersion } from "./version.js";

const EXIT_CONFIG = 2;

const HELP = `passerelle — eHealth integration gateway

Usage:
  passerelle start        start the gateway (sandbox profile: with its embedded simulators)
  passerelle sandbox      start only the simulators of the national services
  passerelle hash-key [KEY]
                          print the API_KEYS entry for KEY (a new random key if omitted)
  passerelle --version
  passerelle --help

Configuration comes from environment variables (and CONFIG_FILE, a JSON object
of the same names). Secrets may be given as NAME_FILE. Settings:
`;

function settingsHelp(): string {
  return (Object.values(SETTINGS) as Array<{ env: string; aliases?: readonly string[]; description: string; secret?: boolean; default?: unknown }>)
    .map((s) => {
      const names = [s.env, ...(s.aliases ?? [])].join(", ") + (s.secret ? " (secret: also NAME_FILE)" : "");
      const def = s.default !== undefined && typeof s.default !== "function" && !Array.isArray(s.default) ? ` [default: ${String(s.default)}]` : "";
      return `  ${names}\n      ${s.description}${def}`;
    })
    .join("\n");
}

function loadOrExit(): GatewayConfig {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const issue of err.issues) process.stderr.write(`${formatIssue(issue)}\n`);
      process.stderr.write(`passerelle: ${err.issues.length} configuration error(s); see \`passerelle --help\`\n`);
      process.exit(EXIT_CONFIG);
    }
    if (err instanceof LicenseNotAcceptedError) {
      process.stderr.write(`${LICENSE_TERMS}\n\npasserelle: the ${err.profile} profile requires ACCEPT_LICENSE=true\n`);
      process.exit(EXIT_CONFIG);
    }
    throw err;
  }
}

function onSignals(stop: (signal: string) => Promise<void>, signals: readonly NodeJS.Signals[] = ["SIGTERM", "SIGINT"]): void {
  let stopping = false;
  for (const signal of signals) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      stop(signal).then(
        () => process.exit(0),
        (err: unknown) => {
          process.stderr.write(`passerelle: shutdown failed: ${err instanceof Error ? err.message : String(err)}\n`);
          process.exit(1);
        },
      );
    });
  }
}

async function start(entry: string): Promise<void> {
  const config = loadOrExit();
  const t0 = performance.now();
  // One stdout writer for both processes: the sandbox's lines are written through the gateway's destination.
  const destination = stdoutDestination();
  const logger = createLogger({ level: config.effectiveLogLevel, destination });
  // The simulators run in a child process (see sandbox/child-process.ts), started first so that it issues the
  // PKI and starts the simulators while this process loads the gateway's code.
  let sandboxProcess: Promise<SandboxProcess> | undefined;
  if (config.profile === "sandbox") {
    const { startSandboxProcess } = await import("./sandbox/child-process.js");
    sandboxProcess = startSandboxProcess({
      cliPath: entry,
      env: process.env,
      dataDir: config.dataDir,
      logger: logger.child({ component: "sandbox" }),
      logLine: (line) => destination.write(line),
    });
    sandboxProcess.catch(() => undefined); // awaited (and reported) by createGateway
  }
  const { createGateway } = await import("./gateway/create-gateway.js");
  let gateway;
  try {
    gateway = await createGateway({ config, logger, ...(sandboxProcess ? { sandbox: sandboxProcess } : {}) });
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const issue of err.issues) process.stderr.write(`${formatIssue(issue)}\n`);
      process.exit(EXIT_CONFIG);
    }
    throw err;
  }
  let stopping = false;
  const running = gateway;
  onSignals(async (signal) => {
    stopping = true;
    running.logger.info({ signal }, "shutting down");
    await running.close();
    running.logger.info("stopped");
  });
  if (sandboxProcess) {
    // Without its simulators the sandbox gateway is useless: stop too, with an error, rather than answer 503s.
    void (await sandboxProcess).exited.then(async ({ code, signal }) => {
      if (stopping) return;
      stopping = true;
      running.logger.error({ code, signal }, "the sandbox process stopped: stopping the gateway");
      await running.close().catch(() => undefined);
      process.exit(1);
    });
  }
  const url = await gateway.listen();
  gateway.logger.info({ url, profile: config.profile, startupMs: Math.round(performance.now() - t0) }, "gateway ready");
  const lines = [`Passerelle ${packageVersion()} (${config.profile} profile) listening on ${url}`, `  API docs:  ${url}/docs`, `  OpenAPI:   ${url}/openapi.json`];
  if (gateway.sandbox) {
    lines.push(`  Sandbox:   ${url}/sandbox`, `  Demo API key (admin): ${gateway.sandbox.demoApiKey}`, "  Simulators:");
    for (const s of gateway.sandbox.sandbox.simulators) lines.push(`    ${s.id.padEnd(12)} ${s.url}  ${s.title}`);
    if (config.vaultKeyGenerated) lines.push("  (vault key generated for this run: sessions end with the process)");
  }
  process.stderr.write(`${lines.join("\n")}\n`);
}

async function sandboxOnly(): Promise<void> {
  const config = loadOrExit();
  // Not ./sandbox/index.js: the simulators load after the ports are bound (sandbox/registry.ts), not with this import.
  const [{ startSandbox }, { builtInSimulators }, { reportFailureToParent, reportListeningToParent, reportToParent, SANDBOX_CHILD_ENV }] = await Promise.all([
    import("./sandbox/start-sandbox.js"),
    import("./sandbox/registry.js"),
    import("./sandbox/child-process.js"),
  ]);
  const underGateway = process.env[SANDBOX_CHILD_ENV] === "1" && process.send !== undefined;
  // Under a gateway, both processes write to the same stdout: whole lines, one write each (see LoggerSettings.sync).
  const logger = createLogger({ level: config.effectiveLogLevel, ...(underGateway ? { name: "passerelle-sandbox" } : {}) });
  // A gateway that dies (or fails its own start) before this sandbox is up: nothing to report to, stop now.
  const parentGone = (): never => process.exit(0);
  if (underGateway) process.once("disconnect", parentGone);
  let sandbox;
  try {
    sandbox = await startSandbox({
      dataDir: config.dataDir,
      simulators: builtInSimulators(),
      host: config.sandboxHost,
      logger,
      ...(underGateway ? { onListening: reportListeningToParent } : {}),
    });
  } catch (err) {
    if (underGateway) await reportFailureToParent(err instanceof Error ? err.message : String(err));
    throw err;
  }
  const running = sandbox;
  if (underGateway) {
    // The gateway decides when the sandbox stops (SIGTERM, or its IPC channel closing): a Ctrl-C in the terminal,
    // which reaches the whole process group, must not take the simulators away from a gateway still draining.
    process.on("SIGINT", () => undefined);
    onSignals(() => running.close(), ["SIGTERM"]);
    process.off("disconnect", parentGone);
    reportToParent(running, logger);
    return;
  }
  onSignals(() => running.close());
  const lines = ["Passerelle sandbox simulators:"];
  for (const s of running.simulators) lines.push(`  ${s.id.padEnd(12)} ${s.url}  ${s.title}`);
  lines.push(`Trust anchor (sandbox root CA): ${running.pki.directory}/root-ca.cert.pem`);
  process.stderr.write(`${lines.join("\n")}\n`);
}

function hashKey(key: string | undefined): void {
  const value = key ?? `psk_${randomBytes(32).toString("base64url")}`;
  if (key === undefined) process.stdout.write(`API key (give it to the calling software): ${value}\n`);
  process.stdout.write(`API_KEYS entry: <caller-id>:${hashApiKey(value)}\n`);
}

async function main(entry: string, argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { help: { type: "boolean", short: "h" }, version: { type: "boolean", short: "v" } },
  });
  if (values.version) {
    process.stdout.write(`${packageVersion()}\n`);
    return;
  }
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === "help") {
    process.stdout.write(`${HELP}${settingsHelp()}\n`);
    return;
  }
  switch (command) {
    case "start":
      return start(entry);
    case "sandbox":
      return sandboxOnly();
    case "hash-key":
      return hashKey(rest[0]);
    default:
      process.stderr.write(`passerelle: unknown command "${command}"; see passerelle --help\n`);
      process.exit(EXIT_CONFIG);
  }
}

/** Runs the command line `argv`; `entry` is the command's own script (the sandbox process runs it too). */
export function runCli(entry: string, argv: string[]): void {
  main(entry, argv).catch((err: unknown) => {
    process.stderr.write(`passerelle: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
