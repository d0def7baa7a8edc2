/**
 * A gateway app with the identity routes for tests: `buildApp` (the real
 * Fastify app: problem+json, caller authentication, OpenAPI) with
 * `identityRoutes` in the authenticated /v1 scope and `identityBrowserRoutes`
 * under /v1 outside it — the wiring the composition root does — plus helpers
 * that play the calling software and the practitioner's browser.
 */
import type { FastifyInstance } from "fastify";
import { Writable } from "node:stream";
import { MemoryAuditSink, PatientPseudonymiser } from "../../../audit/index.js";
import { hashApiKey, loadConfig } from "../../../config/index.js";
import { UpstreamRegistry } from "../../../gateway/upstreams.js";
import { buildApp } from "../../../http/app.js";
import { CallerDirectory } from "../../../http/auth/callers.js";
import { createLogger } from "../../../observability/logger.js";
import { GatewayMetrics } from "../../../observability/metrics.js";
import { MemoryVault, VaultCipher, type Vault } from "../../../vault/index.js";
import type { IdentityConfig } from "../config.js";
import { identityBrowserRoutes, identityRoutes } from "../routes.js";
import { IdentityService, type IdentityServiceOptions } from "../service.js";

export const ADMIN_KEY = "test-admin-key-0123456789";
export const PMS_KEY = "test-pms-key-0123456789";
export const OTHER_KEY = "test-other-key-0123456789";
export const CALLERS = { admin: "ops", pms: "acme-pms", other: "rival-pms" } as const;
export const RETURN_URL = "https://pms.example/after-login";

export interface IdentityHarness {
  app: FastifyInstance;
  service: IdentityService;
  vault: Vault;
  audit: MemoryAuditSink;
  logs: string[];
  /** Session keys the vault holds for a caller. */
  sessionKeys(caller: string): Promise<string[]>;
  close(): Promise<void>;
}

export async function startIdentityHarness(
  config: IdentityConfig,
  options: { vault?: Vault; service?: Partial<IdentityServiceOptions> } = {},
): Promise<IdentityHarness> {
  const gatewayConfig = loadConfig({ env: { RATE_LIMIT_PER_MINUTE: "0" } });
  const vault = options.vault ?? new MemoryVault({ cipher: new VaultCipher(gatewayConfig.vaultKey), maxEntries: 10_000 });
  const audit = new MemoryAuditSink({ pseudonymiser: new PatientPseudonymiser(gatewayConfig.auditKey) });
  const logs: string[] = [];
  const logger = createLogger({
    level: "info",
    destination: new Writable({
      write(chunk: Buffer, _encoding, callback) {
        logs.push(chunk.toString());
        callback();
      },
    }),
  });
  const service = new IdentityService({ config, vault, audit, logger, ...options.service });
  const app = await buildApp(gatewayConfig, {
    logger,
    metrics: new GatewayMetrics({ processMetrics: false }),
    vault,
    audit,
    upstreams: new UpstreamRegistry(),
    callers: new CallerDirectory(
      [
        { id: CALLERS.admin, sha256: hashApiKey(ADMIN_KEY), roles: ["admin"] },
        { id: CALLERS.pms, sha256: hashApiKey(PMS_KEY), roles: [] },
        { id: CALLERS.other, sha256: hashApiKey(OTHER_KEY), roles: [] },
      ],
      [],
    ),
    version: "0.0.0-test",
    v1Plugins: [identityRoutes(service)],
  });
  // What the composition root is asked to do (see the report): the browser's pages, under /v1, without caller authentication.
  await app.register(identityBrowserRoutes(service), { prefix: "/v1" });
  await app.ready();
  return {
    app,
    service,
    vault,
    audit,
    logs,
    async sessionKeys(caller) {
      return (await vault.listByOwner(caller)).filter((key) => key.startsWith("identity:session:"));
    },
    async close() {
      await app.close();
      await service.close();
      if (options.vault === undefined) await vault.close();
    },
  };
}

export interface BrowserLeg {
  /** Where the gateway sent the browser (the provider's authorization URL). */
  authorizationUrl: URL;
  /** The binding cookie, as the browser would send it back. */
  cookie: string;
}

/** The browser opens loginUrl: gets the provider URL and the binding cookie. */
export async function openLoginUrl(app: FastifyInstance, loginUrl: string): Promise<BrowserLeg> {
  const url = new URL(loginUrl);
  const answer = await app.inject({ method: "GET", url: url.pathname + url.search });
  if (answer.statusCode !== 302) throw new Error(`login page answered ${answer.statusCode}: ${answer.body}`);
  const setCookie = String(answer.headers["set-cookie"] ?? "");
  return { authorizationUrl: new URL(String(answer.headers.location)), cookie: setCookie.split(";")[0] ?? "" };
}

/** The browser comes back from the provider: returns where the gateway sends it (the caller's return URL) or the problem. */
export async function deliverCallback(app: FastifyInstance, response: URLSearchParams, cookie: string | undefined): Promise<{ status: number; location: URL | undefined; body: string }> {
  const answer = await app.inject({ method: "GET", url: `/v1/auth/callback?${response.toString()}`, headers: cookie === undefined ? {} : { cookie } });
  return {
    status: answer.statusCode,
    location: typeof answer.headers.location === "string" ? new URL(answer.headers.location) : undefined,
    body: answer.body,
  };
}
