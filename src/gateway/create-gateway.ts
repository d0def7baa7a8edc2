import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { ServerOptions as HttpsServerOptions } from "node:https";
import type { AddressInfo } from "node:net";
import type { FastifyInstance, FastifyPluginAsync } from "fastify";
import type { DestinationStream, Logger } from "pino";
import { FileAuditSink, PatientPseudonymiser, type AuditSink } from "../audit/index.js";
import { ConfigError, hashApiKey, loadConfig, type ConfigIssue, type GatewayConfig } from "../config/index.js";
import { buildApp } from "../http/app.js";
import { CallerDirectory } from "../http/auth/callers.js";
import type { SandboxDescription } from "../http/routes/sandbox.js";
import { createLogger } from "../observability/logger.js";
import { GatewayMetrics } from "../observability/metrics.js";
import type { RunningSandbox, SandboxEndpoints, SimulatorDefinition } from "../sandbox/index.js";
import { SANDBOX_COUNTRIES, type SandboxCountry } from "../trust/pki/index.js";
import { UpstreamClient } from "../transport/index.js";
import { createVault } from "../vault/create-vault.js";
import type { Vault } from "../vault/types.js";
import { packageVersion } from "../version.js";
import { builtInModules } from "./built-in-modules.js";
import type { GatewayContext, ReadinessCheck, ServiceModule, StartedModule } from "./modules.js";
import { settingFileReader } from "../config/setting-files.js";
import { loadPkcs12 } from "../trust/signers/index.js";
import { UpstreamRegistry } from "./upstreams.js";

export interface CreateGatewayOptions {
  /** A validated configuration; when absent it is loaded from `env` (default process.env). */
  config?: GatewayConfig;
  env?: Record<string, string | undefined>;
  /** Use this logger instead of creating one (embedding). */
  logger?: Logger;
  /** Where the created logger writes (default stdout). */
  logDestination?: DestinationStream;
  /** Sandbox profile: the simulators to start in-process (default: all built-in ones). */
  simulators?: SimulatorDefinition[];
  /**
   * Sandbox profile: a sandbox the caller is starting elsewhere (`passerelle
   * start` runs it in a child process, see sandbox/child-process.ts) instead of
   * in-process simulators. It resolves once the simulators' URLs are known;
   * the gateway configures its modules then, awaits `ready` before it
   * returns, and closes it on close() (or if its own start fails).
   */
  sandbox?: Promise<StartingSandbox>;
  /** The service modules to start (default: every built-in one, see built-in-modules.ts). */
  modules?: ServiceModule[];
  /** Extra service routes mounted under /v1 (after caller authentication). */
  v1Plugins?: FastifyPluginAsync[];
}

/** A sandbox whose simulators' ports are bound, and that is ready once they are created. */
export interface StartingSandbox extends SandboxEndpoints {
  readonly ready: Promise<RunningSandbox>;
  close(): Promise<void>;
}

export interface SandboxHandle {
  readonly demoApiKey: string;
  readonly sandbox: RunningSandbox;
  describe(): SandboxDescription;
}

export interface Gateway {
  readonly app: FastifyInstance;
  readonly config: GatewayConfig;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  readonly vault: Vault;
  readonly audit: AuditSink;
  readonly upstreams: UpstreamRegistry;
  /** Present in the sandbox profile. */
  readonly sandbox: SandboxHandle | undefined;
  /** The started service modules, by name. */
  readonly modules: ReadonlyMap<string, StartedModule>;
  /** Starts listening on config.host:config.port; resolves to the base URL. */
  listen(): Promise<string>;
  /** Graceful: stops accepting, lets in-flight requests finish (bounded by SHUTDOWN_TIMEOUT_MS), closes the vault. */
  close(): Promise<void>;
}

/**
 * The composition root: builds every part from the configuration, in order,
 * and tears down what was started if a later part fails.
 *
 * @example
 * ```ts
 * import { createGateway } from "passerelle";
 * const gateway = await createGateway({ env: { PORT: "0" } });
 * const url = await gateway.listen();
 * // ... later
 * await gateway.close();
 * ```
 */
export async function createGateway(options: CreateGatewayOptions = {}): Promise<Gateway> {
  // A sandbox handed in is ours to close on every failure path, the earliest included.
  const closeGivenSandbox = async (): Promise<void> => {
    if (options.sandbox !== undefined) await options.sandbox.then((s) => s.close(), () => undefined);
  };
  let config: GatewayConfig;
  try {
    config = options.config ?? loadConfig(options.env ? { env: options.env } : {});
    if (options.sandbox !== undefined && config.profile !== "sandbox") {
      throw new TypeError(`options.sandbox is for the sandbox profile, not "${config.profile}"`);
    }
  } catch (err) {
    await closeGivenSandbox();
    throw err;
  }
  const logger =
    options.logger ??
    createLogger({ level: config.effectiveLogLevel, ...(options.logDestination ? { destination: options.logDestination } : {}) });
  const metrics = new GatewayMetrics();
  const version = packageVersion();
  const cleanups: Array<() => Promise<void>> = [closeGivenSandbox];
  const undo = async () => {
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => logger.warn({ err }, "cleanup failed"));
  };

  try {
    const modules = options.modules ?? builtInModules();
    for (const module of modules) module.prepare?.(config, logger.child({ module: module.name }));

    const https = await readHttpsOptions(config);

    // The simulators' URLs and PKI (what modules configure themselves with), then the running sandbox.
    let endpoints: SandboxEndpoints | undefined;
    let sandbox: RunningSandbox | undefined;
    if (options.sandbox === undefined && config.profile === "sandbox") {
      // Loaded only here: the simulators (three OpenID Providers among them) are no part of a real deployment's memory.
      const { builtInSimulators, startSandbox } = await import("../sandbox/index.js");
      sandbox = await startSandbox({
        dataDir: config.dataDir,
        simulators: options.simulators ?? builtInSimulators(),
        host: config.sandboxHost,
        logger: logger.child({ component: "sandbox" }),
      });
      const started = sandbox;
      endpoints = started;
      cleanups.push(() => started.close());
    }

    const vault = await createVault({ url: config.vaultUrl, key: config.vaultKey, maxEntries: config.vaultMaxEntries, metrics });
    cleanups.push(() => vault.close());

    const audit = await FileAuditSink.open({ path: config.auditFile, pseudonymiser: new PatientPseudonymiser(config.auditKey), metrics });
    cleanups.push(() => audit.close());

    const upstreams = new UpstreamRegistry();
    cleanups.push(() => upstreams.close());
    // Awaited as late as possible: the sandbox process starts while this one loads.
    const starting = options.sandbox === undefined ? undefined : await options.sandbox;
    if (starting !== undefined) endpoints = starting;
    if (endpoints) {
      const { pki } = endpoints;
      for (const sim of endpoints.simulators) {
        // A simulator that asks for a client certificate (fr-psc and lu-kms, like the real services) gets the gateway's own sandbox identity.
        const country: SandboxCountry = (SANDBOX_COUNTRIES as readonly string[]).includes(sim.country) ? (sim.country as SandboxCountry) : "FR";
        const identity = sim.mutualTls
          ? await pki.clientIdentity(`passerelle-gateway-${country.toLowerCase()}`, {
              country,
              subject: { CN: "Passerelle gateway (sandbox)", O: "Passerelle Sandbox" },
            })
          : undefined;
        const tls = identity
          ? { ca: pki.rootCertPem, cert: [identity.certPem, ...identity.chainPem].join(""), key: identity.keyPem }
          : { ca: pki.rootCertPem };
        upstreams.add(new UpstreamClient({ name: sim.id, baseUrl: sim.url, tls, metrics }));
      }
    }

    const apiKeys = [...config.apiKeys];
    const demoApiKey = endpoints ? (config.sandboxApiKey ?? `psk_sandbox_${randomBytes(24).toString("base64url")}`) : undefined;
    if (demoApiKey !== undefined) apiKeys.push({ id: "sandbox-demo", sha256: hashApiKey(demoApiKey), roles: ["admin"] });
    const callers = new CallerDirectory(apiKeys, config.clientCertCallers);

    // The base URL is known once listening (PORT=0 in tests); modules ask for it per request.
    let publicUrl: string | undefined;
    const startedModules = new Map<string, StartedModule>();
    const context: GatewayContext = {
      config,
      logger,
      metrics,
      vault,
      audit,
      upstreams,
      sandbox: endpoints,
      publicUrl: () => {
        if (publicUrl === undefined) throw new TypeError("The gateway is not listening yet: publicUrl() is known after listen()");
        return publicUrl;
      },
      modules: startedModules,
    };
    const v1Plugins: FastifyPluginAsync[] = [];
    const publicV1Plugins: FastifyPluginAsync[] = [];
    const readinessChecks: ReadinessCheck[] = [];
    for (const module of modules) {
      if (startedModules.has(module.name)) throw new TypeError(`Two modules are named "${module.name}"`);
      const started = await module.start({ ...context, logger: logger.child({ module: module.name }) });
      startedModules.set(module.name, started);
      const close = started.close?.bind(started);
      if (close) cleanups.push(close);
      v1Plugins.push(...(started.v1Plugins ?? []));
      publicV1Plugins.push(...(started.publicV1Plugins ?? []));
      readinessChecks.push(...(started.readinessChecks ?? []));
    }
    v1Plugins.push(...(options.v1Plugins ?? []));

    let shuttingDown = false;
    let sandboxHandle: SandboxHandle | undefined;
    const app = await buildApp(config, {
      logger,
      metrics,
      vault,
      audit,
      upstreams,
      callers,
      version,
      ...(demoApiKey !== undefined ? { sandbox: () => describeSandbox(sandboxHandle) } : {}),
      v1Plugins,
      publicV1Plugins,
      readinessChecks,
      ...(https ? { https } : {}),
      isShuttingDown: () => shuttingDown,
    });
    cleanups.push(() => app.close());
    await app.ready();
    // Returned (and listening) only once every simulator is created.
    if (starting !== undefined) sandbox = await starting.ready;
    // The upstream checks (a HEAD and, the first time, a TLS handshake each) start now, while the caller starts
    // listening: the first /health/ready reads their result (UpstreamRegistry keeps it 5 s) instead of starting
    // them, and the first calls to each upstream find a connection open. Failures are results, never rejections.
    void upstreams.checkAll();
    if (sandbox !== undefined && demoApiKey !== undefined) sandboxHandle = sandboxHandleOf(sandbox, demoApiKey);

    let closing: Promise<void> | undefined;
    return {
      app,
      config,
      logger,
      metrics,
      vault,
      audit,
      upstreams,
      sandbox: sandboxHandle,
      modules: startedModules,
      async listen() {
        await app.listen({ host: config.host, port: config.port });
        const address = app.server.address() as AddressInfo;
        const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
        publicUrl = `${https ? "https" : "http"}://${host}:${address.port}`;
        return publicUrl;
      },
      close() {
        closing ??= (async () => {
          shuttingDown = true;
          const drained = await closeWithin(app, config.shutdownTimeoutMs);
          if (!drained) logger.warn({ timeoutMs: config.shutdownTimeoutMs }, "shutdown timeout: closed remaining connections");
          cleanups.pop(); // app.close() already done
          await undo();
        })();
        return closing;
      },
    };
  } catch (err) {
    await undo();
    throw err;
  }
}

/** app.close() waits for in-flight requests; past the budget, cut the remaining connections. */
async function closeWithin(app: FastifyInstance, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const closed = app.close().then(() => true as const);
  const drained = await Promise.race([closed, timedOut]);
  clearTimeout(timer);
  if (!drained) {
    app.server.closeAllConnections();
    await closed;
  }
  return drained;
}

async function readHttpsOptions(config: GatewayConfig): Promise<HttpsServerOptions | undefined> {
  if (config.saasKeystore !== undefined) return readSaasKeystore(config);
  if (config.tlsCertFile === undefined || config.tlsKeyFile === undefined) return undefined;
  const issues: ConfigIssue[] = [];
  const read = settingFileReader(issues, (file) => readFileSync(file));
  const cert = read("TLS_CERT_FILE", config.tlsCertFile);
  const key = read("TLS_KEY_FILE", config.tlsKeyFile);
  const ca = read("TLS_CLIENT_CA_FILE", config.tlsClientCaFile);
  if (issues.length > 0) throw new ConfigError(issues);
  return {
    cert,
    key,
    ...(config.tlsKeyPassword !== undefined ? { passphrase: config.tlsKeyPassword } : {}),
    ...(ca ? { ca } : {}),
    minVersion: "TLSv1.2",
    requestCert: config.tlsClientAuth !== "none",
    rejectUnauthorized: config.tlsClientAuth === "required",
  };
}

/**
 * The CNS eConnector's way: the server certificate and key in a PKCS#12
 * keystore (SAAS_KEYSTORE), read with the project's own PKCS#12 reader so
 * that keystores written by older keytool/openssl (RC2, 3DES) open too.
 */
async function readSaasKeystore(config: GatewayConfig): Promise<HttpsServerOptions> {
  const issues: ConfigIssue[] = [];
  if (config.tlsCertFile !== undefined || config.tlsKeyFile !== undefined) {
    issues.push({ name: "SAAS_KEYSTORE", received: JSON.stringify(config.saasKeystore), expected: "either SAAS_KEYSTORE or TLS_CERT_FILE/TLS_KEY_FILE, not both" });
  }
  const password = config.saasKeystorePassword ?? "";
  const keyPassword = config.saasKeystoreKeyPassword;
  if (keyPassword !== undefined && keyPassword !== password) {
    issues.push({
      name: "SAAS_KEYSTORE_KEY_PASSWORD",
      received: "<secret>",
      expected: "the same password as SAAS_KEYSTORE_PASSWORD (re-export the keystore with one password: keytool -importkeystore -deststoretype PKCS12)",
    });
  }
  const read = settingFileReader(issues, (file) => readFileSync(file));
  const pfx = read("SAAS_KEYSTORE", config.saasKeystore);
  const ca = read("TLS_CLIENT_CA_FILE", config.tlsClientCaFile);
  let identity: { cert: string; key: string } | undefined;
  if (pfx !== undefined && issues.length === 0) {
    try {
      const entry = await loadPkcs12(pfx, password);
      identity = {
        cert: [entry.certificate, ...entry.chain].map((certificate) => certificate.toString()).join(""),
        key: entry.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
      };
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      issues.push({ name: "SAAS_KEYSTORE", received: JSON.stringify(config.saasKeystore), expected: `a PKCS#12 keystore that opens with SAAS_KEYSTORE_PASSWORD (${reason})` });
    }
  }
  if (issues.length > 0 || identity === undefined) throw new ConfigError(issues);
  return {
    ...identity,
    ...(ca ? { ca } : {}),
    minVersion: "TLSv1.2",
    requestCert: config.tlsClientAuth !== "none",
    rejectUnauthorized: config.tlsClientAuth === "required",
  };
}

function sandboxHandleOf(running: RunningSandbox, demoApiKey: string): SandboxHandle {
  return {
    demoApiKey,
    sandbox: running,
    describe: () => ({
      profile: "sandbox",
      demoApiKey,
      trustAnchorPem: running.pki.rootCertPem,
      simulators: running.simulators.map((s) => ({
        id: s.id,
        title: s.title,
        country: s.country,
        url: s.url,
        testUsers: s.testUsers.map((u) => ({ ...u })),
      })),
    }),
  };
}

/** GET /sandbox is served once the gateway is listening, which is after the sandbox is ready. */
function describeSandbox(handle: SandboxHandle | undefined): SandboxDescription {
  if (handle === undefined) throw new TypeError("The sandbox is not ready yet");
  return handle.describe();
}
