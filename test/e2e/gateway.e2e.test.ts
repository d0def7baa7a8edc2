import { X509Certificate, createHash, createPrivateKey } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import path from "node:path";
import type { FastifyPluginAsync } from "fastify";
import { SerializerSelector } from "@fastify/fast-json-stringify-compiler";
import { Validator } from "@seriousme/openapi-schema-validator";
import { afterEach, describe, expect, it } from "vitest";
import { createGateway, type Gateway } from "../../src/index.js";
import { startRedisServer, type RedisServerHandle } from "../../src/test-support/redis-server.js";
import { encodePkcs12KeyStore } from "../../src/sandbox/lu-kms/index.js";
import { SandboxPki } from "../../src/trust/pki/index.js";
import { UpstreamClient } from "../../src/transport/index.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), "passerelle-gw-"));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

async function start(env: Record<string, string>, extra: { v1Plugins?: FastifyPluginAsync[] } = {}): Promise<{ gateway: Gateway; url: string }> {
  const gateway = await createGateway({ env: { PORT: "0", DATA_DIR: tempDir(), LOG_LEVEL: "warn", ...env }, ...extra });
  cleanups.push(() => gateway.close());
  return { gateway, url: await gateway.listen() };
}

describe("createGateway (library mode)", () => {
  it("starts the sandbox, reports every simulator ready, and closes cleanly", async () => {
    const { gateway, url } = await start({});
    expect(gateway.sandbox).toBeDefined();
    const ready = (await (await fetch(`${url}/health/ready`)).json()) as { status: string; checks: Array<{ name: string; status: string }> };
    expect(ready.status).toBe("pass");
    const names = ready.checks.map((c) => c.name);
    // fr-psc asks every client for a certificate, like the real Pro Santé Connect: the probe presents the gateway's.
    expect(names).toEqual(expect.arrayContaining(["vault", "audit", "upstream:sandbox-ca", "upstream:sandbox-tsa", "upstream:fr-psc", "upstream:lu-aes", "upstream:be-idp"]));
    const sandbox = (await (await fetch(`${url}/sandbox`)).json()) as { simulators: Array<{ id: string; url: string }>; trustAnchorPem: string };
    const ca = sandbox.simulators.find((s) => s.id === "sandbox-ca");
    expect(ca?.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    // The simulator really speaks TLS with a certificate from the sandbox root.
    const client = new UpstreamClient({ name: "probe", baseUrl: ca?.url ?? "", tls: { ca: sandbox.trustAnchorPem } });
    const root = await client.request({ method: "GET", path: "/ca/root.pem" });
    expect(root.text()).toBe(sandbox.trustAnchorPem);
    await client.close();
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/passerelle_vault_operation_duration_seconds_count\{backend="memory",operation="ping",outcome="ok"\} \d+/);
    expect(metrics).toContain("passerelle_process_resident_memory_bytes");
    expect(metrics).toContain('passerelle_http_requests_total{method="GET",route="/health/ready",status="200"} 1');
    await gateway.close();
    await expect(fetch(`${url}/health/live`)).rejects.toThrow();
  });

  it("has a response serializer that compiles for every documented response (they are compiled lazily, on first use)", async () => {
    const { url } = await start({});
    type Media = { schema?: unknown };
    const doc = (await (await fetch(`${url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, Media> }> }>>;
    };
    // The compiler Fastify uses (src/http/lazy-compilers.ts), run eagerly on every JSON response schema.
    const compile = SerializerSelector()(undefined, {});
    let compiled = 0;
    for (const [route, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        for (const [status, response] of Object.entries(operation.responses)) {
          for (const [mediaType, media] of Object.entries(response.content ?? {})) {
            if (!mediaType.includes("json") || media.schema === undefined) continue;
            expect(() => compile({ schema: media.schema, method, url: route, httpStatus: status }), `${method} ${route} ${status}`).not.toThrow();
            compiled += 1;
          }
        }
      }
    }
    expect(compiled).toBeGreaterThan(50);
  });

  it("compiles the request validators of every route (they are compiled lazily, on a route's first request)", async () => {
    const { gateway, url } = await start({ SANDBOX_API_KEY: "psk_e2e_validators_0123456789abcdef" });
    const doc = (await (await fetch(`${url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    let requests = 0;
    for (const [route, operations] of Object.entries(doc.paths)) {
      for (const method of Object.keys(operations)) {
        if (!["get", "post", "put", "patch", "delete"].includes(method)) continue;
        // An authenticated request with an empty JSON body reaches validation on every route (src/http/lazy-compilers.ts);
        // a schema that does not compile answers 500 there.
        const response = await gateway.app.inject({
          method: method.toUpperCase() as "GET",
          url: route.replace(/\{[^}]+\}/g, "x"),
          headers: { "x-api-key": "psk_e2e_validators_0123456789abcdef", ...(method === "get" || method === "delete" ? {} : { "content-type": "application/json" }) },
          ...(method === "get" || method === "delete" ? {} : { payload: "{}" }),
        });
        expect(response.statusCode, `${method.toUpperCase()} ${route}: ${response.body}`).not.toBe(500);
        requests += 1;
      }
    }
    expect(requests).toBeGreaterThanOrEqual(30);
  });

  it("documents every route of every built-in module in a valid OpenAPI 3.1 document, with schemas and examples", async () => {
    const { url } = await start({});
    type Media = { schema?: unknown; example?: unknown; examples?: unknown };
    type Operation = { tags?: string[]; summary?: string; responses: Record<string, { content?: Record<string, Media> }> };
    const doc = (await (await fetch(`${url}/openapi.json`)).json()) as { paths: Record<string, Record<string, Operation>> };
    const result = await new Validator().validate(doc as never);
    expect(result.errors ?? []).toEqual([]);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/v1/auth/login", "/v1/auth/callback", "/v1/auth/ciba/{id}"]));
    for (const [route, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const where = `${method.toUpperCase()} ${route}`;
        expect(operation.summary, `${where} has a summary`).toBeTruthy();
        const successes = Object.entries(operation.responses).filter(([status]) => /^[23]\d\d$/.test(status));
        expect(successes.length, `${where} documents a success`).toBeGreaterThan(0);
        for (const [status, response] of successes) {
          if (status === "204" || status.startsWith("3")) continue;
          const media = Object.values(response.content ?? {})[0];
          expect(media?.schema, `${where} ${status} has a schema`).toBeDefined();
          if (/"(contentMediaType|format)":"(application\/|binary)/.test(JSON.stringify(media?.schema))) continue; // a PDF or XML body (OpenAPI 3.1 §4.8.14.3)
          expect(media?.example ?? media?.examples, `${where} ${status} has an example`).toBeDefined();
        }
      }
    }
  });

  it("lets in-flight requests finish on close, then refuses new connections", async () => {
    const slow: FastifyPluginAsync = async (v1) => {
      v1.get("/slow-ok", async () => {
        await new Promise((r) => setTimeout(r, 400));
        return { done: true };
      });
    };
    const { gateway, url } = await start({ SANDBOX_API_KEY: "k-1234567890" }, { v1Plugins: [slow] });
    const inflight = fetch(`${url}/v1/slow-ok`, { headers: { "x-api-key": "k-1234567890" } });
    await new Promise((r) => setTimeout(r, 100));
    const closing = gateway.close();
    const res = await inflight;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ done: true });
    await closing;
    await expect(fetch(`${url}/health/live`)).rejects.toThrow();
  });

  it("maps an unreachable upstream to a 503 problem naming it, without leaking internals", async () => {
    const wiring: { dead?: UpstreamClient } = {};
    const plugin: FastifyPluginAsync = async (v1) => {
      v1.get("/probe-dmp", async () => {
        if (!wiring.dead) throw new Error("not wired");
        return (await wiring.dead.request({ method: "GET", path: "/" })).json();
      });
    };
    const { gateway, url } = await start({ SANDBOX_API_KEY: "k-1234567890" }, { v1Plugins: [plugin] });
    const client = new UpstreamClient({
      name: "fr-dmp",
      baseUrl: "http://127.0.0.1:9",
      connectTimeoutMs: 500,
      retry: { maxAttempts: 1 },
      metrics: gateway.metrics,
    });
    wiring.dead = client;
    cleanups.push(() => client.close());
    const res = await fetch(`${url}/v1/probe-dmp`, { headers: { "x-api-key": "k-1234567890" } });
    expect(res.status).toBe(503);
    expect(res.headers.get("content-type")).toBe("application/problem+json; charset=utf-8");
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ code: "PASSERELLE_UPSTREAM_UNAVAILABLE", upstream: "fr-dmp", status: 503 });
    expect(String(body.detail)).toContain("fr-dmp");
    expect(JSON.stringify(body)).not.toMatch(/ECONNREFUSED|at .*\.js/);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/passerelle_upstream_errors_total\{upstream="fr-dmp",kind="unreachable"\} 1/);
  });
});

describe("Redis vault", () => {
  let redis: RedisServerHandle | undefined;
  it("uses Redis through VAULT_URL and reports the vault down in readiness and status", async () => {
    redis = await startRedisServer();
    const server = redis;
    cleanups.push(() => server.stop());
    const { gateway, url } = await start({ VAULT_URL: server.url, VAULT_KEY: "ab".repeat(32) });
    expect(gateway.vault.backend).toBe("redis");
    await gateway.vault.set("session:1", "token-value", { ttlSeconds: 60, owner: "acme" });
    expect((await gateway.vault.get("session:1"))?.value).toBe("token-value");
    expect((await fetch(`${url}/health/ready`)).status).toBe(200);
    await server.stop();
    const ready = await fetch(`${url}/health/ready`);
    expect(ready.status).toBe(503);
    const body = (await ready.json()) as { checks: Array<{ name: string; status: string }> };
    expect(body.checks.find((c) => c.name === "vault")?.status).toBe("fail");
    const status = await fetch(`${url}/status`);
    expect(status.status).toBe(503);
    expect(((await status.json()) as { reasons: string[] }).reasons[0]).toMatch(/^vault: /);
  });
});

describe("HTTPS from the CNS eConnector's PKCS#12 keystore (SAAS_KEYSTORE)", () => {
  it("serves HTTPS with the keystore's certificate, and refuses a wrong password at start with exit-code-2 errors", async () => {
    const dir = tempDir();
    const pki = await SandboxPki.open(path.join(dir, "pki-data"));
    const server = await pki.serverIdentity("gateway-under-test");
    const keystore = await encodePkcs12KeyStore({
      privateKey: createPrivateKey(server.keyPem),
      certificate: new X509Certificate(server.certPem),
      chain: server.chainPem.map((pem) => new X509Certificate(pem)),
      alias: "saas",
      password: "saas-pass-1",
    });
    const file = path.join(dir, "saas-keystore.p12");
    writeFileSync(file, keystore, { mode: 0o600 });
    const caFile = path.join(dir, "callers-ca.pem");
    writeFileSync(caFile, pki.rootCertPem);
    // With caller certificates accepted too, as TLS_CERT_FILE allows.
    const { url } = await start({
      SAAS_KEYSTORE: file,
      SAAS_KEYSTORE_PASSWORD: "saas-pass-1",
      SAAS_KEYSTORE_KEY_PASSWORD: "saas-pass-1",
      TLS_CLIENT_AUTH: "optional",
      TLS_CLIENT_CA_FILE: caFile,
    });
    expect(url).toMatch(/^https:/);
    const status = await new Promise<number>((resolve, reject) => {
      https.get(`${url}/health/live`, { ca: pki.rootCertPem, servername: "localhost" }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on("error", reject);
    });
    expect(status).toBe(200);
    await expect(createGateway({ env: { PORT: "0", DATA_DIR: tempDir(), SAAS_KEYSTORE: file, SAAS_KEYSTORE_PASSWORD: "wrong" } })).rejects.toThrow(
      /SAAS_KEYSTORE: .*expected a PKCS#12 keystore that opens with SAAS_KEYSTORE_PASSWORD/,
    );
  });
});

describe("HTTPS with client-certificate callers", () => {
  it("authenticates a registered client certificate and refuses an unregistered one", async () => {
    const dir = tempDir();
    const pki = await SandboxPki.open(path.join(dir, "pki-data"));
    const server = await pki.serverIdentity("gateway-under-test");
    const hospital = await pki.clientIdentity("hospital-his", { country: "FR", subject: { CN: "Hopital Test HIS", O: "Hopital Test" } });
    const stranger = await pki.clientIdentity("stranger", { country: "BE", subject: { CN: "Stranger" } });
    const write = (name: string, content: string) => {
      const f = path.join(dir, name);
      writeFileSync(f, content, { mode: 0o600 });
      return f;
    };
    const fingerprint = (pem: string) => {
      const der = Buffer.from(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
      return createHash("sha256").update(der).digest("hex");
    };
    const { url } = await start({
      TLS_CERT_FILE: write("server.pem", [server.certPem, ...server.chainPem].join("\n")),
      TLS_KEY_FILE: write("server.key", server.keyPem),
      TLS_CLIENT_AUTH: "optional",
      TLS_CLIENT_CA_FILE: write("ca.pem", pki.rootCertPem),
      CLIENT_CERT_CALLERS: `hospital-his:${fingerprint(hospital.certPem)}`,
      SANDBOX_API_KEY: "k-1234567890",
    });
    expect(url).toMatch(/^https:/);
    const get = (identity?: { certPem: string; keyPem: string; chainPem: string[] }, headers: Record<string, string> = {}) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = https.request(
          `${url}/v1/caller`,
          {
            ca: pki.rootCertPem,
            servername: "localhost",
            headers,
            ...(identity ? { cert: [identity.certPem, ...identity.chainPem].join("\n"), key: identity.keyPem } : {}),
          },
          (res) => {
            let body = "";
            res.on("data", (d: Buffer) => (body += d.toString()));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on("error", reject);
        req.end();
      });
    const ok = await get(hospital);
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ id: "hospital-his", roles: [], via: "client-certificate" });
    const unknown = await get(stranger);
    expect(unknown.status).toBe(401);
    expect(JSON.parse(unknown.body).detail).toContain("not registered");
    const none = await get(undefined);
    expect(none.status).toBe(401);
    const byKey = await get(undefined, { "x-api-key": "k-1234567890" });
    expect(JSON.parse(byKey.body).via).toBe("api-key");
  });
});
