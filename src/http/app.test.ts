import { Agent, get as httpGet } from "node:http";
import { Writable } from "node:stream";
import type { FastifyInstance, FastifyPluginAsync } from "fastify";
import { Type } from "typebox";
import { afterEach, describe, expect, it } from "vitest";
import { Validator } from "@seriousme/openapi-schema-validator";
import { MemoryAuditSink, PatientPseudonymiser } from "../audit/index.js";
import { hashApiKey, loadConfig } from "../config/index.js";
import { UpstreamRegistry } from "../gateway/upstreams.js";
import { createLogger } from "../observability/logger.js";
import { GatewayMetrics } from "../observability/metrics.js";
import { MemoryVault, VaultCipher } from "../vault/index.js";
import { buildApp } from "./app.js";
import { callerGoneSignal } from "./caller-gone.js";
import { CallerDirectory } from "./auth/callers.js";

const ADMIN_KEY = "admin-key-0123456789";
const USER_KEY = "user-key-0123456789";

interface Built {
  app: FastifyInstance;
  logs: string[];
  audit: MemoryAuditSink;
}
const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
});

/** The paths of testRoutes below, which are not the gateway's (the OpenAPI test skips them). */
const TEST_ROUTES = ["/v1/echo", "/v1/slow", "/v1/ip", "/v1/cached", "/v1/items/", "/v1/a-while", "/v1/boom"];

/** What /v1/slow-upstream's signal said, in order. */
const upstreamAborts: string[] = [];

const testRoutes: FastifyPluginAsync = async (v1) => {
  v1.post(
    "/echo",
    {
      schema: {
        body: Type.Object(
          { name: Type.String({ minLength: 1 }), age: Type.Integer({ minimum: 0 }), nested: Type.Optional(Type.Object({ ok: Type.Boolean() })) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ name: Type.String() }) },
      },
    },
    async (request) => ({ name: (request.body as { name: string }).name }),
  );
  v1.get("/slow", async (request) => {
    await new Promise((resolve) => setTimeout(resolve, 2_000).unref());
    return { aborted: request.signal.aborted };
  });
  v1.get("/ip", async (request) => ({ ip: request.ip }));
  v1.get("/cached", async (_request, reply) => reply.header("cache-control", "private, max-age=60").send({ cached: true }));
  v1.get("/items/:id", async (request) => ({ id: (request.params as { id: string }).id }));
  v1.get("/slow-upstream", async (_request, reply) => {
    // What a service does with callerGoneSignal: its upstream call is cut when nobody waits for the answer any more.
    const signal = callerGoneSignal(reply);
    const reason = await new Promise<unknown>((resolve) => {
      signal.addEventListener("abort", () => resolve(signal.reason));
      setTimeout(() => resolve("not aborted"), 2_000).unref();
    });
    upstreamAborts.push(reason instanceof Error ? reason.message : String(reason));
    return { done: true };
  });
  v1.get("/a-while", async () => {
    await new Promise((resolve) => setTimeout(resolve, 150));
    return { done: true };
  });
  v1.get("/boom", async () => {
    throw new Error("database password=hunter2 leaked in message");
  });
};

async function build(env: Record<string, string> = {}): Promise<Built> {
  const config = loadConfig({ env: { RATE_LIMIT_PER_MINUTE: "0", REQUEST_TIMEOUT_MS: "300", ...env } });
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(chunk.toString());
      cb();
    },
  });
  const metrics = new GatewayMetrics({ processMetrics: false });
  const audit = new MemoryAuditSink({ pseudonymiser: new PatientPseudonymiser(config.auditKey) });
  const app = await buildApp(config, {
    logger: createLogger({ level: "info", destination }),
    metrics,
    vault: new MemoryVault({ cipher: new VaultCipher(config.vaultKey), maxEntries: 1000 }),
    audit,
    upstreams: new UpstreamRegistry(),
    callers: new CallerDirectory(
      [
        { id: "ops", sha256: hashApiKey(ADMIN_KEY), roles: ["admin"] },
        { id: "acme-pms", sha256: hashApiKey(USER_KEY), roles: [] },
      ],
      [],
    ),
    version: "0.0.0-test",
    v1Plugins: [testRoutes],
  });
  apps.push(app);
  return { app, logs, audit };
}

function expectProblem(res: { statusCode: number; headers: Record<string, unknown>; json(): unknown }, status: number, code: string) {
  expect(res.statusCode).toBe(status);
  expect(res.headers["content-type"]).toBe("application/problem+json; charset=utf-8");
  const body = res.json() as Record<string, unknown>;
  expect(body.status).toBe(status);
  expect(body.code).toBe(code);
  expect(body.type).toBe(`https://passerelle.dev/problems/${code.replace("PASSERELLE_", "").toLowerCase().replaceAll("_", "-")}`);
  expect(typeof body.title).toBe("string");
  expect(typeof body.detail).toBe("string");
  expect(body.requestId).toBe(res.headers["x-request-id"]);
  return body;
}

const auth = { "x-api-key": USER_KEY };

describe("problem+json for every failure", () => {
  it("malformed JSON → 400 PASSERELLE_MALFORMED_BODY", async () => {
    const { app } = await build();
    const res = await app.inject({ method: "POST", url: "/v1/echo", headers: { ...auth, "content-type": "application/json" }, payload: '{"name":' });
    expectProblem(res, 400, "PASSERELLE_MALFORMED_BODY");
  });

  it("wrong content type → 415", async () => {
    const { app } = await build();
    const res = await app.inject({ method: "POST", url: "/v1/echo", headers: { ...auth, "content-type": "text/csv" }, payload: "a,b" });
    expectProblem(res, 415, "PASSERELLE_UNSUPPORTED_MEDIA_TYPE");
  });

  it("body over BODY_LIMIT_BYTES → 413", async () => {
    const { app } = await build({ BODY_LIMIT_BYTES: "1024" });
    const res = await app.inject({ method: "POST", url: "/v1/echo", headers: auth, payload: { name: "x".repeat(2000), age: 1 } });
    expectProblem(res, 413, "PASSERELLE_PAYLOAD_TOO_LARGE");
  });

  it("unknown route → 404; known path with another method → 405 with Allow", async () => {
    const { app } = await build();
    const nf = await app.inject({ method: "GET", url: "/v1/nothing-here" });
    expectProblem(nf, 404, "PASSERELLE_NOT_FOUND");
    const na = await app.inject({ method: "DELETE", url: "/health/live" });
    const body = expectProblem(na, 405, "PASSERELLE_METHOD_NOT_ALLOWED");
    expect(na.headers.allow).toBe("GET, HEAD");
    expect(body.detail).toContain("DELETE is not allowed on /health/live");
  });

  it("schema violations list every offending field with a JSON pointer", async () => {
    const { app } = await build();
    const res = await app.inject({ method: "POST", url: "/v1/echo", headers: auth, payload: { name: "", age: -1, extra: 1, nested: { ok: "yes" } } });
    const body = expectProblem(res, 400, "PASSERELLE_VALIDATION");
    const errors = body.errors as Array<{ in: string; pointer: string; detail: string }>;
    expect(errors.map((e) => `${e.in}:${e.pointer}`).sort()).toEqual(["body:/age", "body:/extra", "body:/name", "body:/nested/ok"]);
    expect(errors.find((e) => e.pointer === "/extra")?.detail).toBe("is not an accepted property");
    const missing = await app.inject({ method: "POST", url: "/v1/echo", headers: auth, payload: { age: 3 } });
    expect((expectProblem(missing, 400, "PASSERELLE_VALIDATION").errors as unknown[])).toEqual([{ in: "body", pointer: "/name", detail: "is required" }]);
    const query = await app.inject({ method: "GET", url: "/v1/audit?limit=1000", headers: { "x-api-key": ADMIN_KEY } });
    expect((expectProblem(query, 400, "PASSERELLE_VALIDATION").errors as unknown[])).toEqual([{ in: "query", pointer: "/limit", detail: "must be <= 500" }]);
  });

  it("a handler slower than REQUEST_TIMEOUT_MS → 503 PASSERELLE_PROCESSING_TIMEOUT", async () => {
    const { app, logs } = await build();
    const started = performance.now();
    const res = await app.inject({ method: "GET", url: "/v1/slow", headers: { ...auth, "x-request-id": "req-slow-0001" } });
    const elapsed = performance.now() - started;
    expectProblem(res, 503, "PASSERELLE_PROCESSING_TIMEOUT");
    // The budget is 300 ms; one sweep of the deadlines runs every 15 ms (a twentieth of it).
    expect(elapsed).toBeGreaterThanOrEqual(300);
    expect(elapsed).toBeLessThan(1_000);
    const line = logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === "request completed" && l.reqId === "req-slow-0001");
    expect(line).toMatchObject({ status: 503, path: "/v1/slow" });
  });

  it("past REQUEST_TIMEOUT_MS, the request's upstream calls are cut too (callerGoneSignal)", async () => {
    const { app } = await build();
    upstreamAborts.length = 0;
    const res = await app.inject({ method: "GET", url: "/v1/slow-upstream", headers: auth });
    expectProblem(res, 503, "PASSERELLE_PROCESSING_TIMEOUT");
    await expect.poll(() => upstreamAborts).toEqual(["The request took longer than REQUEST_TIMEOUT_MS"]);
  });

  it("a request within its budget is not cut, however many sweeps it sees", async () => {
    const { app } = await build();
    const answers = await Promise.all(Array.from({ length: 20 }, () => app.inject({ method: "GET", url: "/v1/a-while", headers: auth })));
    expect(answers.map((a) => a.statusCode)).toEqual(Array.from({ length: 20 }, () => 200));
  });

  it("a malformed percent-encoding or an over-long path parameter → 400 problem, before any route", async () => {
    const { app, logs } = await build();
    const res = await app.inject({ method: "GET", url: "/v1/ca%zzller", headers: auth });
    expect(expectProblem(res, 400, "PASSERELLE_VALIDATION").detail).toBe("The request URL is malformed");
    // Answered outside Fastify's response listeners, it still gets its one access line.
    const lines = logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === "request completed" && l.path === "/v1/ca%zzller");
    expect(lines).toEqual([expect.objectContaining({ status: 400, reqId: res.headers["x-request-id"] })]);
    const long = await app.inject({ method: "GET", url: `/v1/items/${"a".repeat(300)}`, headers: auth });
    expect(expectProblem(long, 400, "PASSERELLE_VALIDATION").detail).toBe("A path parameter of the request URL is too long");
    expect((await app.inject({ method: "GET", url: `/v1/items/${"a".repeat(200)}`, headers: auth })).statusCode).toBe(200);
  });

  it("an unexpected exception → 500 with no internals; the cause goes to the log only", async () => {
    const { app, logs } = await build();
    const res = await app.inject({ method: "GET", url: "/v1/boom", headers: { ...auth, "x-request-id": "req-boom-0001" } });
    const body = expectProblem(res, 500, "PASSERELLE_INTERNAL");
    expect(body.detail).toBe("Internal error");
    expect(res.body).not.toContain("hunter2");
    expect(res.body).not.toContain("at ");
    expect(body.requestId).toBe("req-boom-0001");
    const logged = logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === "request failed");
    expect(JSON.stringify(logged)).toContain("database password=hunter2");
    expect(logged?.reqId).toBe("req-boom-0001");
  });

  it("every answer says x-request-id, nosniff and no-store, unless its handler sets its own cache-control", async () => {
    const { app } = await build();
    const answers = await Promise.all([
      app.inject({ method: "GET", url: "/v1/caller", headers: auth }),
      app.inject({ method: "GET", url: "/v1/caller" }),
      app.inject({ method: "GET", url: "/v1/nothing-here", headers: auth }),
      app.inject({ method: "GET", url: "/health/live" }),
    ]);
    expect(answers.map((a) => a.statusCode)).toEqual([200, 401, 404, 200]);
    for (const answer of answers) {
      expect(answer.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
      expect(answer.headers["x-content-type-options"]).toBe("nosniff");
      expect(answer.headers["cache-control"]).toBe("no-store");
    }
    const cached = await app.inject({ method: "GET", url: "/v1/cached", headers: auth });
    expect([cached.headers["cache-control"], cached.headers["x-content-type-options"]]).toEqual(["private, max-age=60", "nosniff"]);
  });

  it("on close, an answer still being prepared says connection: close, so its keep-alive socket ends with it", async () => {
    const { app } = await build();
    const url = await app.listen({ host: "127.0.0.1", port: 0 });
    const agent = new Agent({ keepAlive: true });
    const answer = new Promise<{ status: number | undefined; connection: string | undefined }>((resolve, reject) => {
      httpGet(`${url}/v1/a-while`, { agent, headers: auth }, (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode, connection: res.headers.connection }));
      }).on("error", reject);
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const closed = app.close();
    expect(await answer).toEqual({ status: 200, connection: "close" });
    await closed;
    agent.destroy();
  });

  it("refuses an unsafe incoming request id and generates one", async () => {
    const { app } = await build();
    const res = await app.inject({ method: "GET", url: "/health/live", headers: { "x-request-id": "bad id\n<script>" } });
    expect(res.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("callers", () => {
  it("401 without credentials, with an unknown key; 200 with X-Api-Key or Bearer", async () => {
    const { app } = await build();
    const none = await app.inject({ method: "GET", url: "/v1/caller" });
    expectProblem(none, 401, "PASSERELLE_UNAUTHENTICATED");
    expect(none.headers["www-authenticate"]).toBe('Bearer realm="passerelle"');
    expectProblem(await app.inject({ method: "GET", url: "/v1/caller", headers: { "x-api-key": "nope" } }), 401, "PASSERELLE_UNAUTHENTICATED");
    const viaHeader = await app.inject({ method: "GET", url: "/v1/caller", headers: auth });
    expect(viaHeader.json()).toEqual({ id: "acme-pms", roles: [], via: "api-key" });
    const viaBearer = await app.inject({ method: "GET", url: "/v1/caller", headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(viaBearer.json()).toEqual({ id: "ops", roles: ["admin"], via: "api-key" });
  });

  it("rate-limits per caller with a 429 problem and Retry-After", async () => {
    const { app } = await build({ RATE_LIMIT_PER_MINUTE: "3" });
    for (let i = 0; i < 3; i++) expect((await app.inject({ method: "GET", url: "/v1/caller", headers: auth })).statusCode).toBe(200);
    const limited = await app.inject({ method: "GET", url: "/v1/caller", headers: auth });
    expectProblem(limited, 429, "PASSERELLE_RATE_LIMITED");
    expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
    // Another caller has its own budget.
    expect((await app.inject({ method: "GET", url: "/v1/caller", headers: { "x-api-key": ADMIN_KEY } })).statusCode).toBe(200);
  });

  it("counts failed authentications per address: past the limit, 429 with Retry-After, a right key included", async () => {
    const { app } = await build({ RATE_LIMIT_PER_MINUTE: "3" });
    const from = (remoteAddress: string, headers: Record<string, string>) => app.inject({ method: "GET", url: "/v1/caller", headers, remoteAddress });
    expectProblem(await from("203.0.113.7", {}), 401, "PASSERELLE_UNAUTHENTICATED");
    for (let i = 0; i < 2; i++) expectProblem(await from("203.0.113.7", { "x-api-key": `wrong-${i}` }), 401, "PASSERELLE_UNAUTHENTICATED");
    const locked = await from("203.0.113.7", auth);
    expectProblem(locked, 429, "PASSERELLE_RATE_LIMITED");
    expect(Number(locked.headers["retry-after"])).toBeGreaterThan(0);
    expect(locked.json<{ detail: string }>().detail).toMatch(/failed authentications from this address/);
    // Other addresses are not affected, and successes never count.
    for (let i = 0; i < 3; i++) expect((await from("203.0.113.8", auth)).statusCode).toBe(200);
  });
});

describe("GET /v1/audit", () => {
  it("is admin only and paginates with cursors, filtering by patient through the HMAC", async () => {
    const { app, audit } = await build();
    for (let i = 0; i < 5; i++) {
      await audit.append({
        action: "fr-dmp.document.read",
        caller: { software: "acme-pms", practitioner: "810000000001" },
        patientId: i % 2 === 0 ? "1840512345678" : "2900699999999",
        outcome: "success",
        requestId: `r${i}`,
      });
    }
    expectProblem(await app.inject({ method: "GET", url: "/v1/audit", headers: auth }), 403, "PASSERELLE_FORBIDDEN");
    const admin = { "x-api-key": ADMIN_KEY };
    const page1 = (await app.inject({ method: "GET", url: "/v1/audit?limit=2", headers: admin })).json() as { records: Array<{ requestId: string; patientRef: string }>; next: string };
    expect(page1.records.map((r) => r.requestId)).toEqual(["r0", "r1"]);
    expect(page1.records[0]?.patientRef).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    const page2 = (await app.inject({ method: "GET", url: `/v1/audit?limit=2&after=${page1.next}`, headers: admin })).json() as { records: Array<{ requestId: string }> };
    expect(page2.records.map((r) => r.requestId)).toEqual(["r2", "r3"]);
    const byPatient = (await app.inject({ method: "GET", url: "/v1/audit?patient=1840512345678", headers: admin })).json() as { records: Array<{ requestId: string }> };
    expect(byPatient.records.map((r) => r.requestId)).toEqual(["r0", "r2", "r4"]);
  });
});

describe("health, metrics and OpenAPI", () => {
  it("answers liveness, readiness and status", async () => {
    const { app } = await build();
    expect((await app.inject({ method: "GET", url: "/health/live" })).json()).toEqual({ status: "pass" });
    const ready = await app.inject({ method: "GET", url: "/health/ready" });
    expect(ready.statusCode).toBe(200);
    expect((ready.json() as { checks: Array<{ name: string; status: string }> }).checks.map((c) => [c.name, c.status])).toEqual([
      ["vault", "pass"],
      ["audit", "pass"],
    ]);
    const status = await app.inject({ method: "GET", url: "/status" });
    expect(status.json()).toMatchObject({ status: "UP", version: "0.0.0-test", profile: "sandbox", reasons: [] });
    const alias = await app.inject({ method: "GET", url: "/econnector/status" });
    expect([alias.statusCode, alias.json().status]).toEqual([200, "UP"]);
  });

  it("exposes Prometheus metrics labelled by route template and status", async () => {
    const { app } = await build();
    await app.inject({ method: "GET", url: "/v1/caller", headers: auth });
    await app.inject({ method: "GET", url: "/v1/caller" });
    const res = await app.inject({ method: "GET", url: "/metrics" });
    expect(res.headers["content-type"]).toContain("text/plain");
    expect(res.body).toContain('passerelle_http_requests_total{method="GET",route="/v1/caller",status="200"} 1');
    expect(res.body).toContain('passerelle_http_requests_total{method="GET",route="/v1/caller",status="401"} 1');
    expect(res.body).toContain("passerelle_http_request_duration_seconds_bucket");
  });

  it("serves a valid OpenAPI 3.1 document where every operation has response schemas and examples", async () => {
    const { app } = await build();
    const res = await app.inject({ method: "GET", url: "/openapi.json" });
    const doc = res.json() as { openapi: string; paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema?: unknown; examples?: unknown; example?: unknown }> }> }>> };
    expect(doc.openapi).toBe("3.1.0");
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    for (const [p, ops] of Object.entries(doc.paths)) {
      if (TEST_ROUTES.some((testRoute) => p.startsWith(testRoute))) continue;
      for (const [method, op] of Object.entries(ops)) {
        const ok = op.responses["200"];
        expect(ok, `${method} ${p} documents 200`).toBeDefined();
        const media = Object.values(ok?.content ?? {})[0];
        expect(media?.schema, `${method} ${p} has a response schema`).toBeDefined();
        expect(JSON.stringify(media), `${method} ${p} has an example`).toMatch(/"examples?"/);
      }
    }
    const docs = await app.inject({ method: "GET", url: "/docs/" });
    expect(docs.statusCode).toBe(200);
    expect(docs.body).toContain("swagger");
  });
});

describe("client address behind a proxy (TRUST_PROXY)", () => {
  const ipOf = async (app: Built["app"], remoteAddress: string): Promise<string> => {
    const res = await app.inject({ method: "GET", url: "/v1/ip", remoteAddress, headers: { ...auth, "x-forwarded-for": "203.0.113.7" } });
    return (res.json() as { ip: string }).ip;
  };

  it("ignores X-Forwarded-For by default", async () => {
    const { app } = await build();
    expect(await ipOf(app, "10.0.0.5")).toBe("10.0.0.5");
  });

  it("believes X-Forwarded-For from a listed proxy only", async () => {
    const { app } = await build({ TRUST_PROXY: "10.0.0.0/8, 192.168.1.10" });
    expect(await ipOf(app, "10.0.0.5")).toBe("203.0.113.7");
    expect(await ipOf(app, "192.168.1.10")).toBe("203.0.113.7");
    expect(await ipOf(app, "198.51.100.1")).toBe("198.51.100.1");
  });

  it("takes a hop count", async () => {
    const { app } = await build({ TRUST_PROXY: "1" });
    expect(await ipOf(app, "198.51.100.1")).toBe("203.0.113.7");
  });

  it.each(["true", "0", "11", "10.0.0.0/33", "proxy.internal", "10.0.0.1/8/1", "10.0.0.1,"])("refuses TRUST_PROXY=%j at start", (value) => {
    expect(() => loadConfig({ env: { TRUST_PROXY: value } })).toThrow(/TRUST_PROXY/);
  });
});
