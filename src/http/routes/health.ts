import type { FastifyInstance } from "fastify";
import { Type, type Static } from "typebox";
import type { Vault } from "../../vault/types.js";
import type { UpstreamRegistry } from "../../gateway/upstreams.js";
import { problemResponses } from "../schemas.js";

const Check = Type.Object({
  name: Type.String({ description: "vault, audit, or upstream:<name>" }),
  status: Type.Union([Type.Literal("pass"), Type.Literal("fail")]),
  latencyMs: Type.Number(),
  detail: Type.Optional(Type.String()),
});
const Readiness = Type.Object(
  {
    status: Type.Union([Type.Literal("pass"), Type.Literal("fail")]),
    checks: Type.Array(Check),
  },
  {
    examples: [
      {
        status: "pass",
        checks: [
          { name: "vault", status: "pass", latencyMs: 0.1 },
          { name: "audit", status: "pass", latencyMs: 0 },
          { name: "upstream:sandbox-ca", status: "pass", latencyMs: 2.3 },
        ],
      },
    ],
  },
);
type ReadinessBody = Static<typeof Readiness>;

const StatusBody = Type.Object(
  {
    status: Type.Union([Type.Literal("UP"), Type.Literal("DOWN")]),
    version: Type.String(),
    profile: Type.String(),
    uptimeSeconds: Type.Number(),
    reasons: Type.Array(Type.String(), { description: "Why the gateway is not usable (empty when UP)" }),
    checks: Type.Array(Check),
  },
  {
    examples: [{ status: "UP", version: "0.1.0", profile: "sandbox", uptimeSeconds: 12.5, reasons: [], checks: [{ name: "vault", status: "pass", latencyMs: 0.1 }] }],
  },
);

export interface HealthDeps {
  vault: Vault;
  upstreams: UpstreamRegistry;
  /** Extra readiness checks (e.g. the audit sink). */
  checks: Array<{ name: string; run(): Promise<void> }>;
  version: string;
  profile: string;
  startedAt: number;
  isShuttingDown(): boolean;
}

async function timed(name: string, run: () => Promise<void>): Promise<ReadinessBody["checks"][number]> {
  const t0 = performance.now();
  try {
    await run();
    return { name, status: "pass", latencyMs: round(performance.now() - t0) };
  } catch (err) {
    return { name, status: "fail", latencyMs: round(performance.now() - t0), detail: err instanceof Error ? err.message : "failed" };
  }
}

const round = (ms: number) => Math.round(ms * 100) / 100;

export async function runReadinessChecks(deps: HealthDeps): Promise<ReadinessBody> {
  const local = await Promise.all([timed("vault", () => deps.vault.ping()), ...deps.checks.map((c) => timed(c.name, c.run))]);
  const upstream = (await deps.upstreams.checkAll()).map(
    (u): ReadinessBody["checks"][number] => ({
      name: `upstream:${u.name}`,
      status: u.ok ? "pass" : "fail",
      latencyMs: round(u.latencyMs),
      ...(u.detail ? { detail: u.detail } : {}),
    }),
  );
  const checks = [...local, ...upstream];
  if (deps.isShuttingDown()) checks.push({ name: "shutdown", status: "fail", latencyMs: 0, detail: "the gateway is shutting down" });
  return { status: checks.every((c) => c.status === "pass") ? "pass" : "fail", checks };
}

/** Liveness, readiness, and the eConnector-style status. Unauthenticated: probes have no key. */
export async function healthRoutes(app: FastifyInstance, deps: HealthDeps): Promise<void> {
  app.get(
    "/health/live",
    {
      schema: {
        tags: ["health"],
        summary: "Liveness: the process runs and its event loop answers",
        response: { 200: Type.Object({ status: Type.Literal("pass") }, { examples: [{ status: "pass" }] }) },
      },
    },
    async () => ({ status: "pass" as const }),
  );

  app.get(
    "/health/ready",
    {
      schema: {
        tags: ["health"],
        summary: "Readiness: the vault, the audit trail and every configured upstream answer",
        response: { 200: Readiness, 503: Readiness },
      },
    },
    async (_request, reply) => {
      const body = await runReadinessChecks(deps);
      return reply.code(body.status === "pass" ? 200 : 503).send(body);
    },
  );

  // `/econnector/status` is the CNS eConnector's path: a monitoring set up for it keeps working.
  for (const [url, summary] of [
    ["/status", "Whether the gateway is usable (200) or not (503, with reasons)"],
    ["/econnector/status", "The same as /status, at the path of the CNS eConnector (compatibility)"],
  ] as const) app.get(
    url,
    {
      schema: {
        tags: ["health"],
        summary,
        response: { 200: StatusBody, 503: StatusBody, ...problemResponses(500) },
      },
    },
    async (_request, reply) => {
      const ready = await runReadinessChecks(deps);
      const reasons = ready.checks.filter((c) => c.status === "fail").map((c) => `${c.name}: ${c.detail ?? "failed"}`);
      return reply.code(reasons.length === 0 ? 200 : 503).send({
        status: reasons.length === 0 ? "UP" : "DOWN",
        version: deps.version,
        profile: deps.profile,
        uptimeSeconds: round((Date.now() - deps.startedAt) / 1000),
        reasons,
        checks: ready.checks,
      });
    },
  );
}
