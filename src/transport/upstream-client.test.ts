import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { GatewayMetrics } from "../observability/metrics.js";
import { UpstreamClient, UpstreamError } from "./index.js";
import type { UpstreamOptions } from "./index.js";

type Handler = (req: IncomingMessage, res: ServerResponse, hit: number, body: string) => void;

interface TestUpstream {
  url: string;
  /** Requests the server has seen. */
  readonly hits: number;
  /** Request lines the server has seen, e.g. `GET /api/x?y=1`. */
  readonly seen: string[];
  close(): Promise<void>;
}

const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startUpstream(handler: Handler): Promise<TestUpstream> {
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(`${req.method ?? ""} ${req.url ?? ""}`);
    const hit = seen.length;
    // Read the request body before answering, as a real service would.
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => handler(req, res, hit, Buffer.concat(chunks).toString()));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const upstream: TestUpstream = {
    url: `http://127.0.0.1:${port}`,
    get hits() {
      return seen.length;
    },
    seen,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  cleanups.push(upstream.close);
  return upstream;
}

function client(options: Partial<UpstreamOptions> & { baseUrl: string }): UpstreamClient {
  const created = new UpstreamClient({
    name: "test-up",
    timeoutMs: 2_000,
    connectTimeoutMs: 1_000,
    sleep: async () => {},
    ...options,
  });
  cleanups.push(() => created.close());
  return created;
}

async function rejectionOf(promise: Promise<unknown>): Promise<UpstreamError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof UpstreamError) return error;
    throw error;
  }
  throw new Error("expected the call to fail");
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("UpstreamClient — answers", () => {
  it("joins base path, path and query, and parses a JSON answer", async () => {
    const upstream = await startUpstream((req, res) => json(res, 200, { method: req.method, url: req.url }));
    const dmp = client({ baseUrl: `${upstream.url}/si-dmp/v2/` });

    const answer = await dmp.request({ method: "get", path: "/patients/123", query: { kind: "a b", n: "1" } });

    expect(answer.status).toBe(200);
    expect(answer.headers["content-type"]).toBe("application/json");
    expect(answer.json()).toEqual({ method: "GET", url: "/si-dmp/v2/patients/123?kind=a+b&n=1" });
    expect(answer.text()).toBe(JSON.stringify({ method: "GET", url: "/si-dmp/v2/patients/123?kind=a+b&n=1" }));
  });

  it("sends the body and headers of a POST", async () => {
    const upstream = await startUpstream((req, res, _hit, body) =>
      json(res, 201, { contentType: req.headers["content-type"], body }),
    );
    const answer = await client({ baseUrl: upstream.url }).request({
      method: "POST",
      path: "/documents",
      headers: { "content-type": "application/xml" },
      body: "<doc/>",
    });
    expect(answer.status).toBe(201);
    expect(answer.json()).toEqual({ contentType: "application/xml", body: "<doc/>" });
  });

  it("decodes text with the charset the upstream declares", async () => {
    const upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain; charset=iso-8859-1" });
      res.end(Buffer.from([0x63, 0x61, 0x66, 0xe9])); // "café" in Latin-1
    });
    const answer = await client({ baseUrl: upstream.url }).request({ method: "GET", path: "/" });
    expect(answer.text()).toBe("café");
  });

  it("returns a status the caller declared as expected instead of failing", async () => {
    const upstream = await startUpstream((_req, res) => json(res, 404, { found: false }));
    const answer = await client({ baseUrl: upstream.url }).request({
      method: "GET",
      path: "/x",
      expectStatus: (status) => status === 200 || status === 404,
    });
    expect(answer.status).toBe(404);
    expect(answer.json()).toEqual({ found: false });
  });

  it("fails a 4xx with a 502 that keeps the upstream body internal", async () => {
    const upstream = await startUpstream((_req, res) => {
      res.writeHead(400, { "content-type": "text/plain" });
      res.end("INS 1234567890123 of DUPONT Jeanne is invalid");
    });
    const error = await rejectionOf(client({ baseUrl: upstream.url }).request({ method: "GET", path: "/x" }));

    expect(error.code).toBe("PASSERELLE_UPSTREAM_BAD_RESPONSE");
    expect(error.status).toBe(502);
    expect(error.kind).toBe("bad_status");
    expect(error.detail).toBe("Upstream test-up answered with unexpected status 400");
    expect(error.extensions).toEqual({ upstream: "test-up", upstreamStatus: 400 });
    expect(error.upstreamBody?.toString()).toBe("INS 1234567890123 of DUPONT Jeanne is invalid");
    // Neither serialisation nor key enumeration (pino's error serializer) may reveal it.
    expect(Object.keys(error)).not.toContain("upstreamBody");
    expect(JSON.stringify(error)).not.toContain("DUPONT");
    expect(error.message).not.toContain("DUPONT");
    expect(upstream.hits).toBe(1); // 4xx is never retried
  });

  it("fails invalid JSON with a 502 bad_response that does not quote the body", async () => {
    const metrics = new GatewayMetrics({ processMetrics: false });
    const upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end("<html>DUPONT Jeanne</html>");
    });
    const answer = await client({ baseUrl: upstream.url, metrics }).request({ method: "GET", path: "/x" });

    let error: unknown;
    try {
      answer.json();
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UpstreamError);
    const upstreamError = error as UpstreamError;
    expect(upstreamError.code).toBe("PASSERELLE_UPSTREAM_BAD_RESPONSE");
    expect(upstreamError.kind).toBe("bad_response");
    expect(upstreamError.detail).toBe("Upstream test-up answered with invalid JSON");
    expect(upstreamError.cause).toBeUndefined();
    expect(JSON.stringify(upstreamError)).not.toContain("DUPONT");
    expect(upstreamError.upstreamBody?.toString()).toBe("<html>DUPONT Jeanne</html>");
    const errors = await metrics.upstreamErrors.get();
    expect(errors.values).toContainEqual({ labels: { upstream: "test-up", kind: "bad_response" }, value: 1 });
  });

  it("fails an answer larger than maxResponseBytes with a 502, declared or streamed", async () => {
    const upstream = await startUpstream((req, res) => {
      if (req.url === "/declared") {
        res.writeHead(200, { "content-length": "4096" });
        res.end(Buffer.alloc(4096));
      } else {
        res.writeHead(200); // chunked: the size is only known while reading
        res.write(Buffer.alloc(700));
        res.end(Buffer.alloc(700));
      }
    });
    const small = client({ baseUrl: upstream.url, maxResponseBytes: 1024 });

    for (const path of ["/declared", "/streamed"]) {
      const error = await rejectionOf(small.request({ method: "GET", path }));
      expect(error.code).toBe("PASSERELLE_UPSTREAM_BAD_RESPONSE");
      expect(error.status).toBe(502);
      expect(error.kind).toBe("bad_response");
      expect(error.detail).toBe("Upstream test-up answer exceeds 1024 bytes");
    }
    expect(upstream.hits).toBe(2); // not retried: the answer would be just as large
    expect(small.circuitState).toBe("closed");
  });
});

describe("UpstreamClient — retries", () => {
  it("retries a GET on 503 with jittered exponential backoff until it succeeds", async () => {
    const upstream = await startUpstream((_req, res, hit) =>
      hit < 3 ? json(res, 503, { busy: true }) : json(res, 200, { hit }),
    );
    const delays: number[] = [];
    const dmp = client({
      baseUrl: upstream.url,
      retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 2_000 },
      random: () => 0.5,
      sleep: async (ms) => {
        delays.push(ms);
      },
    });

    const answer = await dmp.request({ method: "GET", path: "/x" });

    expect(answer.json()).toEqual({ hit: 3 });
    expect(upstream.hits).toBe(3);
    expect(delays).toEqual([50, 100]); // half of 100·2⁰, then half of 100·2¹
  });

  it("caps the backoff at maxDelayMs", async () => {
    const upstream = await startUpstream((_req, res) => json(res, 502, {}));
    const delays: number[] = [];
    const dmp = client({
      baseUrl: upstream.url,
      retry: { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 250 },
      random: () => 0.999,
      sleep: async (ms) => {
        delays.push(ms);
      },
    });
    const error = await rejectionOf(dmp.request({ method: "GET", path: "/x" }));
    expect(error.kind).toBe("bad_status");
    expect(error.upstreamStatus).toBe(502);
    expect(upstream.hits).toBe(5);
    expect(delays).toEqual([99, 199, 249, 249]);
  });

  it("gives up after maxAttempts and relays an upstream 503 as unavailable", async () => {
    const upstream = await startUpstream((_req, res) => json(res, 503, {}));
    const error = await rejectionOf(client({ baseUrl: upstream.url }).request({ method: "GET", path: "/x" }));
    expect(upstream.hits).toBe(3);
    expect(error.code).toBe("PASSERELLE_UPSTREAM_UNAVAILABLE");
    expect(error.status).toBe(503);
    expect(error.upstreamStatus).toBe(503);
  });

  it("does not retry a 500", async () => {
    const upstream = await startUpstream((_req, res) => json(res, 500, {}));
    const error = await rejectionOf(client({ baseUrl: upstream.url }).request({ method: "GET", path: "/x" }));
    expect(upstream.hits).toBe(1);
    expect(error.code).toBe("PASSERELLE_UPSTREAM_BAD_RESPONSE");
  });

  it("never retries a POST on 503", async () => {
    const upstream = await startUpstream((_req, res) => json(res, 503, {}));
    const error = await rejectionOf(
      client({ baseUrl: upstream.url }).request({ method: "POST", path: "/documents", body: "{}" }),
    );
    expect(upstream.hits).toBe(1);
    expect(error.upstreamStatus).toBe(503);
  });

  it("never retries a POST that timed out, since it may have been executed", async () => {
    const upstream = await startUpstream(() => {
      // Never answers.
    });
    const error = await rejectionOf(
      client({ baseUrl: upstream.url, timeoutMs: 150 }).request({ method: "POST", path: "/documents", body: "{}" }),
    );
    expect(error.kind).toBe("timeout");
    expect(upstream.hits).toBe(1);
  });

  it("retries a POST the caller declares idempotent", async () => {
    const upstream = await startUpstream((_req, res, hit) => (hit === 1 ? json(res, 503, {}) : json(res, 200, {})));
    const answer = await client({ baseUrl: upstream.url }).request({
      method: "POST",
      path: "/search",
      body: "{}",
      idempotent: true,
    });
    expect(answer.status).toBe(200);
    expect(upstream.hits).toBe(2);
  });

  it("waits as long as Retry-After asks when it is within maxDelayMs", async () => {
    const upstream = await startUpstream((_req, res, hit) =>
      hit === 1 ? json(res, 503, {}, { "retry-after": "1" }) : json(res, 200, { hit }),
    );
    const delays: number[] = [];
    const dmp = client({
      baseUrl: upstream.url,
      retry: { maxDelayMs: 2_000 },
      random: () => 0,
      sleep: async (ms) => {
        delays.push(ms);
      },
    });
    const answer = await dmp.request({ method: "GET", path: "/x" });
    expect(answer.json()).toEqual({ hit: 2 });
    expect(delays).toEqual([1_000]);
  });

  it("stops at once, relaying Retry-After, when the upstream asks for a longer pause than maxDelayMs", async () => {
    const upstream = await startUpstream((_req, res) => json(res, 503, {}, { "retry-after": "120" }));
    const delays: number[] = [];
    const dmp = client({
      baseUrl: upstream.url,
      sleep: async (ms) => {
        delays.push(ms);
      },
    });
    const error = await rejectionOf(dmp.request({ method: "GET", path: "/x" }));
    expect(upstream.hits).toBe(1);
    expect(delays).toEqual([]);
    expect(error.code).toBe("PASSERELLE_UPSTREAM_UNAVAILABLE");
    expect(error.headers).toEqual({ "retry-after": "120" });
  });
});

describe("UpstreamClient — network failures", () => {
  it("fails a slow upstream with a 504 naming it, after retrying a GET", async () => {
    const upstream = await startUpstream((_req, res) => {
      const timer = setTimeout(() => json(res, 200, {}), 2_000);
      res.on("close", () => clearTimeout(timer));
    });
    const started = performance.now();
    const error = await rejectionOf(
      client({ baseUrl: upstream.url, timeoutMs: 100 }).request({ method: "GET", path: "/slow" }),
    );
    expect(error.code).toBe("PASSERELLE_UPSTREAM_TIMEOUT");
    expect(error.status).toBe(504);
    expect(error.kind).toBe("timeout");
    expect(error.detail).toBe("Upstream test-up timed out after 100 ms");
    expect(error.extensions).toEqual({ upstream: "test-up" });
    expect(upstream.hits).toBe(3);
    expect(performance.now() - started).toBeLessThan(1_500);
  });

  it("times out a body that stalls after the headers", async () => {
    const upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write("{");
    });
    const error = await rejectionOf(
      client({ baseUrl: upstream.url, timeoutMs: 150, retry: { maxAttempts: 1 } }).request({ method: "GET", path: "/" }),
    );
    expect(error.kind).toBe("timeout");
    expect(error.status).toBe(504);
  });

  it("fails a refused connection with a 503", async () => {
    const port = await closedPort();
    const error = await rejectionOf(
      client({ baseUrl: `http://127.0.0.1:${port}` }).request({ method: "GET", path: "/x" }),
    );
    expect(error.code).toBe("PASSERELLE_UPSTREAM_UNAVAILABLE");
    expect(error.status).toBe(503);
    expect(error.kind).toBe("unreachable");
    expect(error.detail).toBe("Upstream test-up unreachable: connection refused");
    expect(error.cause).toBeDefined();
  });

  it("rethrows the caller's abort without retrying or blaming the upstream", async () => {
    const upstream = await startUpstream(() => {
      // Never answers.
    });
    const dmp = client({ baseUrl: upstream.url, breaker: { failureThreshold: 1 } });
    const controller = new AbortController();
    const reason = new Error("client went away");
    setTimeout(() => controller.abort(reason), 50);
    await expect(dmp.request({ method: "GET", path: "/x", signal: controller.signal })).rejects.toBe(reason);
    expect(upstream.hits).toBe(1);
    expect(dmp.circuitState).toBe("closed");
  });
});

describe("UpstreamClient — circuit breaker", () => {
  it("opens after N consecutive failures, fails fast, then lets one trial through after the reset timeout", async () => {
    let healthy = false;
    const upstream = await startUpstream((_req, res) => (healthy ? json(res, 200, { ok: true }) : json(res, 500, {})));
    const metrics = new GatewayMetrics({ processMetrics: false });
    let clock = 1_000_000;
    const dmp = client({
      baseUrl: upstream.url,
      metrics,
      now: () => clock,
      breaker: { failureThreshold: 3, resetTimeoutMs: 10_000 },
    });

    for (let call = 0; call < 3; call += 1) {
      expect((await rejectionOf(dmp.request({ method: "GET", path: "/x" }))).kind).toBe("bad_status");
    }
    expect(dmp.circuitState).toBe("open");
    expect(upstream.hits).toBe(3);

    const fastFail = await rejectionOf(dmp.request({ method: "GET", path: "/x" }));
    expect(fastFail.kind).toBe("circuit_open");
    expect(fastFail.code).toBe("PASSERELLE_UPSTREAM_UNAVAILABLE");
    expect(fastFail.status).toBe(503);
    expect(fastFail.detail).toBe("Upstream test-up is unavailable: calls suspended after 3 consecutive failures");
    expect(fastFail.headers).toEqual({ "retry-after": "10" });
    expect(upstream.hits).toBe(3); // the network was not touched

    clock += 9_999;
    expect(dmp.circuitState).toBe("open");
    clock += 1;
    expect(dmp.circuitState).toBe("half-open");

    healthy = true;
    const answer = await dmp.request({ method: "GET", path: "/x" });
    expect(answer.json()).toEqual({ ok: true });
    expect(upstream.hits).toBe(4);
    expect(dmp.circuitState).toBe("closed");

    const opened = await metrics.upstreamCircuitOpen.get();
    expect(opened.values).toEqual([{ labels: { upstream: "test-up" }, value: 1 }]);
    const errors = await metrics.upstreamErrors.get();
    expect(errors.values).toContainEqual({ labels: { upstream: "test-up", kind: "circuit_open" }, value: 1 });
  });

  it("re-opens when the half-open trial fails", async () => {
    const upstream = await startUpstream((_req, res) => json(res, 500, {}));
    const metrics = new GatewayMetrics({ processMetrics: false });
    let clock = 0;
    const dmp = client({
      baseUrl: upstream.url,
      metrics,
      now: () => clock,
      breaker: { failureThreshold: 2, resetTimeoutMs: 1_000 },
    });
    await rejectionOf(dmp.request({ method: "GET", path: "/x" }));
    await rejectionOf(dmp.request({ method: "GET", path: "/x" }));
    clock = 1_000;
    expect(dmp.circuitState).toBe("half-open");

    expect((await rejectionOf(dmp.request({ method: "GET", path: "/x" }))).kind).toBe("bad_status");
    expect(upstream.hits).toBe(3);
    expect(dmp.circuitState).toBe("open");
    expect((await rejectionOf(dmp.request({ method: "GET", path: "/x" }))).kind).toBe("circuit_open");
    expect(upstream.hits).toBe(3);
    expect((await metrics.upstreamCircuitOpen.get()).values[0]?.value).toBe(2);
  });

  it("lets only one trial through while half-open", async () => {
    let release: () => void = () => {};
    let failing = true;
    const upstream = await startUpstream((_req, res) => {
      if (failing) return json(res, 500, {});
      release = () => json(res, 200, {});
    });
    let clock = 0;
    const dmp = client({ baseUrl: upstream.url, now: () => clock, breaker: { failureThreshold: 1, resetTimeoutMs: 100 } });
    await rejectionOf(dmp.request({ method: "GET", path: "/x" }));
    clock = 100;
    failing = false;

    const trial = dmp.request({ method: "GET", path: "/x" });
    const concurrent = await rejectionOf(dmp.request({ method: "GET", path: "/x" }));
    expect(concurrent.kind).toBe("circuit_open");
    await expect.poll(() => upstream.hits).toBe(2);
    release();
    expect((await trial).status).toBe(200);
    expect(dmp.circuitState).toBe("closed");
  });

  it("does not count 4xx answers as failures", async () => {
    const upstream = await startUpstream((_req, res) => json(res, 404, {}));
    const dmp = client({ baseUrl: upstream.url, breaker: { failureThreshold: 2 } });
    for (let call = 0; call < 5; call += 1) await rejectionOf(dmp.request({ method: "GET", path: "/x" }));
    expect(dmp.circuitState).toBe("closed");
    expect(upstream.hits).toBe(5);
  });

  it("counts each failed attempt, stopping retries once its own failures open the circuit", async () => {
    const upstream = await startUpstream((_req, res) => json(res, 503, {}));
    const dmp = client({ baseUrl: upstream.url, breaker: { failureThreshold: 2 }, retry: { maxAttempts: 5 } });
    const error = await rejectionOf(dmp.request({ method: "GET", path: "/x" }));
    expect(upstream.hits).toBe(2);
    expect(error.kind).toBe("bad_status"); // the real failure, not "circuit_open"
    expect(dmp.circuitState).toBe("open");
  });

  it("opens on connection failures too", async () => {
    const port = await closedPort();
    const dmp = client({ baseUrl: `http://127.0.0.1:${port}`, breaker: { failureThreshold: 3 } });
    expect((await rejectionOf(dmp.request({ method: "GET", path: "/x" }))).kind).toBe("unreachable");
    expect(dmp.circuitState).toBe("open");
  });
});

describe("UpstreamClient — metrics", () => {
  it("observes every attempt by outcome and counts failures by kind", async () => {
    const upstream = await startUpstream((_req, res, hit) => (hit === 1 ? json(res, 503, {}) : json(res, 200, {})));
    const metrics = new GatewayMetrics({ processMetrics: false });
    const dmp = client({ baseUrl: upstream.url, metrics });
    await dmp.request({ method: "GET", path: "/x" });

    const exposition = await metrics.registry.metrics();
    expect(exposition).toContain(
      'passerelle_upstream_request_duration_seconds_count{upstream="test-up",method="GET",outcome="bad_status"} 1',
    );
    expect(exposition).toContain(
      'passerelle_upstream_request_duration_seconds_count{upstream="test-up",method="GET",outcome="ok"} 1',
    );
    expect(exposition).toContain('passerelle_upstream_errors_total{upstream="test-up",kind="bad_status"} 1');
  });

  it("labels timeouts and unreachable upstreams", async () => {
    const port = await closedPort();
    const metrics = new GatewayMetrics({ processMetrics: false });
    await rejectionOf(
      client({ baseUrl: `http://127.0.0.1:${port}`, metrics, retry: { maxAttempts: 1 } }).request({
        method: "DELETE",
        path: "/x",
      }),
    );
    const exposition = await metrics.registry.metrics();
    expect(exposition).toContain(
      'passerelle_upstream_request_duration_seconds_count{upstream="test-up",method="DELETE",outcome="unreachable"} 1',
    );
    expect(exposition).toContain('passerelle_upstream_errors_total{upstream="test-up",kind="unreachable"} 1');
  });
});

describe("UpstreamClient — ping", () => {
  it("counts any HTTP answer as reachable, without going through the breaker", async () => {
    const upstream = await startUpstream((req, res) => json(res, req.method === "HEAD" ? 405 : 500, {}));
    const dmp = client({ baseUrl: `${upstream.url}/base`, breaker: { failureThreshold: 1 } });
    await rejectionOf(dmp.request({ method: "GET", path: "/x" }));
    expect(dmp.circuitState).toBe("open");

    const result = await dmp.ping();
    expect(result.ok).toBe(true);
    expect(result.detail).toBe("HTTP 405");
    expect(result.latencyMs).toBeGreaterThan(0);
    expect(upstream.seen.at(-1)).toBe("HEAD /base");
  });

  it("reports an unreachable upstream without throwing", async () => {
    const port = await closedPort();
    const result = await client({ baseUrl: `http://127.0.0.1:${port}` }).ping();
    expect(result).toMatchObject({ ok: false, detail: "Upstream test-up unreachable: connection refused" });
  });

  it("reports a closed client without throwing", async () => {
    const dmp = client({ baseUrl: "http://127.0.0.1:9" });
    await dmp.close();
    expect(await dmp.ping()).toMatchObject({ ok: false, detail: "Upstream client test-up is closed" });
  });
});

describe("UpstreamClient — misuse", () => {
  it("rejects bad options at construction", () => {
    expect(() => new UpstreamClient({ name: "x", baseUrl: "ftp://example.org" })).toThrow(TypeError);
    expect(() => new UpstreamClient({ name: "x", baseUrl: "https://user:secret@example.org" })).toThrow(
      /must not contain credentials/,
    );
    expect(() => new UpstreamClient({ name: "x", baseUrl: "http://example.org", tls: { ca: "pem" } })).toThrow(
      /not https/,
    );
    expect(() => new UpstreamClient({ name: "", baseUrl: "http://example.org" })).toThrow(TypeError);
    expect(() => new UpstreamClient({ name: "x", baseUrl: "http://example.org", timeoutMs: 0 })).toThrow(TypeError);
  });

  it("rejects paths that are not percent-encoded request targets", async () => {
    const dmp = client({ baseUrl: "http://127.0.0.1:9" });
    await expect(dmp.request({ method: "GET", path: "relative" })).rejects.toThrow(TypeError);
    await expect(dmp.request({ method: "GET", path: "/a b" })).rejects.toThrow(TypeError);
    await expect(dmp.request({ method: "GET", path: "/a\r\nx: y" })).rejects.toThrow(TypeError);
  });
});
