import { connect } from "node:net";
import Fastify, { type FastifyInstance } from "fastify";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { GatewayMetrics } from "../observability/metrics.js";
import type { AccessLogEntry } from "../observability/logger.js";
import { RequestLifecycle } from "./request-lifecycle.js";

const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function serve(handlerTimeoutMs: number) {
  const lines: AccessLogEntry[] = [];
  const lifecycle = new RequestLifecycle({ metrics: new GatewayMetrics({ processMetrics: false }), accessLog: (e) => lines.push(e), handlerTimeoutMs });
  // Fastify reports completions only when it has a logger (or onResponse hooks): the gateway always gives it one.
  const app = Fastify({ loggerInstance: pino({ level: "silent" }), logController: lifecycle }) as unknown as FastifyInstance;
  apps.push(app);
  lifecycle.register(app);
  app.get("/wait", async () => {
    await new Promise((resolve) => setTimeout(resolve, 400));
    return { done: true };
  });
  app.get("/quick", async () => ({ done: true }));
  const url = new URL(await app.listen({ host: "127.0.0.1", port: 0 }));
  return { lifecycle, lines, url };
}

describe("RequestLifecycle", () => {
  it("frees the slot of every request that completes", async () => {
    const { lifecycle, lines, url } = await serve(5_000);
    const answers = await Promise.all(Array.from({ length: 50 }, () => fetch(new URL("/quick", url))));
    expect(answers.every((a) => a.ok)).toBe(true);
    expect(lifecycle.inFlight).toBe(0);
    expect(lines).toHaveLength(50);
  });

  it("lets go of a request whose caller went away within a sweep, long before its deadline", async () => {
    // Budget 2 s: the sweep runs every 100 ms. Fastify reports no completion for an aborted request.
    const { lifecycle, url } = await serve(2_000);
    const socket = connect(Number(url.port), url.hostname);
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.write(`GET /wait HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`);
    await expect.poll(() => lifecycle.inFlight).toBe(1);
    socket.destroy();
    // The handler ends at 400 ms and its response cannot be written; the slot goes at the first sweep after that.
    await expect.poll(() => lifecycle.inFlight, { timeout: 1_500 }).toBe(0);
  });
});
