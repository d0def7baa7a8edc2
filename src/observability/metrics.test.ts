import { Counter, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { GatewayMetrics } from "./metrics.js";

const OBSERVATIONS: Array<[string, string, number, number]> = [
  ["GET", "/v1/caller", 200, 0.0004],
  ["GET", "/v1/caller", 200, 0.003],
  ["GET", "/v1/caller", 200, 42],
  ["GET", "/v1/caller", 401, 0.0007],
  ["POST", "/v1/lu/documents", 201, 0.12],
  ["GET", "unmatched", 404, 0.0001],
];

/** The same series as prom-client's own Counter and Histogram write them. */
async function reference(): Promise<string> {
  const registry = new Registry();
  const labelNames = ["method", "route", "status"] as const;
  const counter = new Counter({ name: "passerelle_http_requests_total", help: "HTTP requests served, by route template and status", labelNames, registers: [registry] });
  const histogram = new Histogram({
    name: "passerelle_http_request_duration_seconds",
    help: "HTTP request latency, by route template and status",
    labelNames,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  for (const [method, route, status, seconds] of OBSERVATIONS) {
    counter.inc({ method, route, status: String(status) });
    histogram.observe({ method, route, status: String(status) }, seconds);
  }
  return registry.metrics();
}

describe("GatewayMetrics HTTP series", () => {
  it("expose exactly what prom-client's Counter and Histogram expose for the same requests", async () => {
    const metrics = new GatewayMetrics({ processMetrics: false });
    for (const [method, route, status, seconds] of OBSERVATIONS) metrics.observeHttpRequest(method, route, status, seconds);
    const ours = (await metrics.registry.metrics()).split("\n").filter((line) => line.includes("passerelle_http_"));
    expect(ours.join("\n")).toBe((await reference()).split("\n").filter((line) => line.includes("passerelle_http_")).join("\n"));
    expect(ours).toContain('passerelle_http_requests_total{method="GET",route="/v1/caller",status="200"} 3');
  });

  it("answer as JSON and reset with the registry", async () => {
    const metrics = new GatewayMetrics({ processMetrics: false });
    metrics.observeHttpRequest("GET", "/health/live", 200, 0.001);
    const json = await metrics.registry.getMetricsAsJSON();
    expect(json.find((m) => m.name === "passerelle_http_requests_total")?.values).toEqual([{ labels: { method: "GET", route: "/health/live", status: "200" }, value: 1 }]);
    metrics.registry.resetMetrics();
    expect(await metrics.registry.metrics()).not.toContain('route="/health/live"');
  });
});

describe("GatewayMetrics process series", () => {
  it("see the event loop blocked for longer than their sampling period", async () => {
    const metrics = new GatewayMetrics();
    await new Promise((resolve) => setTimeout(resolve, 60));
    const until = performance.now() + 120;
    while (performance.now() < until) {
      // the loop is blocked: a sample falls due meanwhile and fires ~70 ms late
    }
    await new Promise((resolve) => setTimeout(resolve, 60));
    const text = await metrics.registry.metrics();
    const max = Number(/^passerelle_nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(text)?.[1]);
    expect(max).toBeGreaterThanOrEqual(0.05);
    expect(max).toBeLessThan(5);
  });
});
