import { randomUUID } from "node:crypto";
import type { ServerOptions as HttpsServerOptions } from "node:https";
import type { Socket } from "node:net";
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from "fastify";
import rateLimit from "@fastify/rate-limit";
import FindMyWay, { type HTTPMethod } from "find-my-way";
import type { Logger } from "pino";
import type { GatewayConfig } from "../config/index.js";
import { ERROR_CATALOGUE, PasserelleError, problemTypeFor, type ErrorCode } from "../errors/index.js";
import { accessLogWriter } from "../observability/logger.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import type { AuditSink } from "../audit/types.js";
import type { Vault } from "../vault/types.js";
import type { UpstreamRegistry } from "../gateway/upstreams.js";
import { makeAuthenticateCaller } from "./auth/authenticate.js";
import type { CallerDirectory } from "./auth/callers.js";
import { FailedAuthLimiter } from "./auth/failed-auth-limiter.js";
import { lazyChildLoggerFactory } from "./lazy-child-logger.js";
import { lazySerializerFactory, lazyValidatorFactory } from "./lazy-compilers.js";
import { registerOpenApi } from "./openapi.js";
import { RequestLifecycle } from "./request-lifecycle.js";
import { PROBLEM_CONTENT_TYPE, sendProblem, toPasserelleError } from "./problem.js";
import { auditRoutes } from "./routes/audit.js";
import { callerRoutes } from "./routes/caller.js";
import { healthRoutes } from "./routes/health.js";
import { metricsRoutes } from "./routes/metrics.js";
import { sandboxRoutes, type SandboxDescription } from "./routes/sandbox.js";

export interface AppDeps {
  logger: Logger;
  metrics: GatewayMetrics;
  vault: Vault;
  audit: AuditSink;
  upstreams: UpstreamRegistry;
  callers: CallerDirectory;
  version: string;
  /** Present in the sandbox profile: describes the running simulators. */
  sandbox?: () => SandboxDescription;
  /** Service plugins mounted under /v1, after caller authentication. */
  v1Plugins?: FastifyPluginAsync[];
  /** Service plugins mounted under /v1 without caller authentication (browser pages), rate-limited by client address. */
  publicV1Plugins?: FastifyPluginAsync[];
  /** Readiness checks contributed by service modules. */
  readinessChecks?: Array<{ name: string; run(): Promise<void> }>;
  /** HTTPS options (key, cert, ca, requestCert...) when TLS is configured. */
  https?: HttpsServerOptions;
  isShuttingDown?: () => boolean;
}

/** A hop count as Fastify's documented function form (`hop < hops`: the n nearest proxies); a list as is. */
function trustProxyOption(trust: string[] | number): string[] | ((address: string, hop: number) => boolean) {
  if (typeof trust !== "number") return trust;
  return (_address, hop) => hop < trust;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{8,128}$/;
const METHODS: HTTPMethod[] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/**
 * Builds the gateway's Fastify application: problem+json errors for every
 * failure, request ids, metrics, OpenAPI, health probes, and the
 * authenticated /v1 scope into which services mount their routes.
 */
export async function buildApp(config: GatewayConfig, deps: AppDeps): Promise<FastifyInstance> {
  const lifecycle = new RequestLifecycle({ metrics: deps.metrics, accessLog: accessLogWriter(deps.logger), handlerTimeoutMs: config.requestTimeoutMs });
  const options: FastifyServerOptions = {
    loggerInstance: deps.logger,
    // request.log is made when first used: most requests log only their access line (below).
    childLoggerFactory: lazyChildLoggerFactory,
    // One log line per request, with the caller, instead of Fastify's two; the default response headers; the deadlines.
    logController: lifecycle,
    bodyLimit: config.bodyLimitBytes,
    // A client that has not sent its whole request in time gets a 408 (clientErrorHandler below).
    requestTimeout: config.requestTimeoutMs,
    connectionTimeout: 0,
    keepAliveTimeout: 5_000,
    forceCloseConnections: "idle",
    return503OnClosing: true,
    genReqId: (req) => {
      const incoming = req.headers["x-request-id"];
      return typeof incoming === "string" && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 256 },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: "array", useDefaults: true, allErrors: true } },
    clientErrorHandler: writeClientErrorProblem,
    // Errors Fastify meets before routing (a malformed percent-encoding, an over-long path parameter) get a problem too.
    frameworkErrors: (error, request, reply) => {
      lifecycle.completeOnFinish(request, reply);
      answerError(error, request, reply);
    },
    schemaController: { compilersFactory: { buildValidator: lazyValidatorFactory(), buildSerializer: lazySerializerFactory() } },
    // request.ip (per-address rate limits of the public pages, logs) from X-Forwarded-For, for the listed proxies only.
    ...(config.trustProxy === undefined ? {} : { trustProxy: trustProxyOption(config.trustProxy) }),
  };
  if (deps.https) (options as { https: unknown }).https = deps.https;
  const app = Fastify(options) as unknown as FastifyInstance;

  // A second router that only knows which methods exist for which paths, so an
  // unknown method on a known path is a 405 with Allow, not a 404.
  const allowRouter = FindMyWay({ ignoreTrailingSlash: false, maxParamLength: 256 });
  app.addHook("onRoute", (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const m of methods) {
      if (!METHODS.includes(m as HTTPMethod)) continue;
      try {
        allowRouter.on(m as HTTPMethod, route.url, () => undefined);
      } catch {
        // The same method/path twice (e.g. HEAD auto-exposed): already known.
      }
    }
  });

  const isShuttingDown = deps.isShuttingDown ?? (() => false);
  // Response headers, deadlines, metrics and the access line, without per-request hooks: see request-lifecycle.ts.
  lifecycle.register(app);

  app.setErrorHandler(async (error, request, reply) => answerError(error, request, reply));

  app.setNotFoundHandler(async (request, reply) => {
    const path = request.url.split("?")[0] ?? "/";
    const allowed = METHODS.filter((m) => allowRouter.find(m, path) !== null);
    if (allowed.length > 0) {
      return sendProblem(
        new PasserelleError("PASSERELLE_METHOD_NOT_ALLOWED", {
          detail: `${request.method} is not allowed on ${path}; allowed: ${allowed.join(", ")}`,
          headers: { allow: allowed.join(", ") },
        }),
        request,
        reply,
      );
    }
    return sendProblem(
      new PasserelleError("PASSERELLE_NOT_FOUND", { detail: `No route ${request.method} ${path}; see /openapi.json` }),
      request,
      reply,
    );
  });

  await registerOpenApi(app, { version: deps.version, profile: config.profile });

  await app.register(async (scope) => {
    await healthRoutes(scope, {
      vault: deps.vault,
      upstreams: deps.upstreams,
      checks: [{ name: "audit", run: () => deps.audit.query({ limit: 1 }).then(() => undefined) }, ...(deps.readinessChecks ?? [])],
      version: deps.version,
      profile: config.profile,
      startedAt: Date.now(),
      isShuttingDown,
    });
    await metricsRoutes(scope, { metrics: deps.metrics });
    const describeSandbox = deps.sandbox;
    if (config.profile === "sandbox" && describeSandbox) await sandboxRoutes(scope, { describe: describeSandbox });
  });

  await app.register(
    async (v1) => {
      // Failed authentications count per address against the same budget (they never reach the per-caller limit).
      const failures = config.rateLimitPerMinute > 0 ? new FailedAuthLimiter({ max: config.rateLimitPerMinute }) : undefined;
      v1.addHook("onRequest", makeAuthenticateCaller(deps.callers, failures));
      if (config.rateLimitPerMinute > 0) await v1.register(rateLimit, rateLimitOptions(config.rateLimitPerMinute));
      await callerRoutes(v1);
      await auditRoutes(v1, { audit: deps.audit });
      for (const plugin of deps.v1Plugins ?? []) await v1.register(plugin);
    },
    { prefix: "/v1" },
  );

  const publicPlugins = deps.publicV1Plugins ?? [];
  if (publicPlugins.length > 0) {
    await app.register(
      async (pages) => {
        // No caller here: a practitioner's browser. Limited per address instead.
        if (config.rateLimitPerMinute > 0) await pages.register(rateLimit, rateLimitOptions(config.rateLimitPerMinute));
        for (const plugin of publicPlugins) await pages.register(plugin);
      },
      { prefix: "/v1" },
    );
  }

  return app;
}

/** Every error answer: logged (5xx with its cause, 4xx as a refusal), then written as a problem. */
function answerError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const err = toPasserelleError(error);
  if (err.status >= 500) {
    request.log.error({ err: err.cause ?? err, code: err.code }, "request failed");
  } else {
    request.log.info({ code: err.code, detail: err.detail }, "request refused");
  }
  return sendProblem(err, request, reply);
}

/** Per caller when authenticated, else per client address. */
function rateLimitOptions(max: number) {
  return {
    max,
    timeWindow: 60_000,
    hook: "preHandler" as const,
    keyGenerator: (request: FastifyRequest) => request.caller?.id ?? request.ip,
    errorResponseBuilder: (_request: FastifyRequest, context: { max: number; ttl: number }) =>
      new PasserelleError("PASSERELLE_RATE_LIMITED", {
        detail: `Rate limit of ${context.max} requests per minute exceeded; retry in ${Math.ceil(context.ttl / 1000)} s`,
        headers: { "retry-after": String(Math.ceil(context.ttl / 1000)) },
      }),
  };
}

/**
 * Errors Node's HTTP parser raises before Fastify sees a request (header
 * overflow, request timeout, garbage): answer with problem+json when the
 * socket can still be written, then close it.
 */
function writeClientErrorProblem(error: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const code: ErrorCode =
    error.code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? "PASSERELLE_REQUEST_TIMEOUT"
      : error.code === "HPE_HEADER_OVERFLOW"
        ? "PASSERELLE_HEADERS_TOO_LARGE"
        : "PASSERELLE_MALFORMED_BODY";
  const { status, title } = ERROR_CATALOGUE[code];
  const body = JSON.stringify({ type: problemTypeFor(code), title, status, detail: title, code });
  socket.end(
    `HTTP/1.1 ${status} ${title}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
