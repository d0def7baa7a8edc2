/**
 * Service modules: how a national service (identity, trust, Luxembourg…)
 * plugs into the gateway. The composition root builds the shared parts
 * (configuration, vault, audit, upstreams, sandbox), then starts each module
 * with them, mounts the routes it returns and closes it on shutdown.
 *
 * A module reads its settings from the one typed configuration (its setting
 * specs are merged into src/config/settings.ts), so a bad value still fails
 * start-up with the other bad values, exit code 2.
 */
import type { FastifyPluginAsync } from "fastify";
import type { Logger } from "pino";
import type { AuditSink } from "../audit/index.js";
import type { GatewayConfig } from "../config/index.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import type { SandboxEndpoints } from "../sandbox/index.js";
import type { Vault } from "../vault/index.js";
import type { UpstreamRegistry } from "./upstreams.js";

export interface GatewayContext {
  readonly config: GatewayConfig;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  readonly vault: Vault;
  readonly audit: AuditSink;
  /** Register every upstream client here so readiness probes and /status see it. */
  readonly upstreams: UpstreamRegistry;
  /** The sandbox profile: the simulators' URLs and the test PKI (the simulators may still be starting: modules do not call them while they start). */
  readonly sandbox: SandboxEndpoints | undefined;
  /**
   * The gateway's own base URL (`http://127.0.0.1:8080`), known once it
   * listens; call it per request, not at start. Throws before listen().
   */
  publicUrl(): string;
  /** The modules started before this one, by name (the LU module uses the identity service, for example). */
  readonly modules: ReadonlyMap<string, StartedModule>;
}

/** A readiness check a module adds to `/health/ready` and `/status`. */
export interface ReadinessCheck {
  name: string;
  /** Resolves when ready; rejects with an Error whose message says why not. */
  run(): Promise<void>;
}

export interface StartedModule {
  /** Routes mounted under /v1 after caller authentication and rate limiting. */
  v1Plugins?: FastifyPluginAsync[];
  /**
   * Routes mounted under /v1 *without* caller authentication: pages a
   * practitioner's browser visits (login redirects, callbacks). Rate-limited
   * by client address.
   */
  publicV1Plugins?: FastifyPluginAsync[];
  readinessChecks?: ReadinessCheck[];
  /** Releases what the module holds (timers, clients, tokens); called once on shutdown. */
  close?(): Promise<void>;
}

export interface ServiceModule<T extends StartedModule = StartedModule> {
  /** Short id used in logs (`identity`, `trust`, `lu`). */
  readonly name: string;
  /**
   * Optional: start the work that needs nothing but the configuration
   * (reading and preparing files) before the rest of the gateway exists. The
   * composition root calls it first, so that it runs while the sandbox
   * process starts; start() then picks its result up. Must not throw or hold
   * resources that start() would have to release: a start that fails before
   * start() runs never closes anything of the module.
   */
  prepare?(config: GatewayConfig, logger: Logger): void;
  start(ctx: GatewayContext): Promise<T>;
}
