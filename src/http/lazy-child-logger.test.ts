import Fastify, { LogController } from "fastify";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { lazyChildLoggerFactory } from "./lazy-child-logger.js";

/** `children()` counts the child loggers made after the app is ready (Fastify makes its own at start). */
async function appWithCountedChildren(): Promise<{ app: ReturnType<typeof Fastify>; lines: string[]; children: () => number }> {
  const lines: string[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(line) });
  let made = 0;
  const child = logger.child.bind(logger);
  logger.child = ((...args: Parameters<typeof child>) => {
    made += 1;
    return child(...args);
  }) as typeof logger.child;
  const app = Fastify({ loggerInstance: logger, logController: new LogController({ disableRequestLogging: true }), childLoggerFactory: lazyChildLoggerFactory });
  app.get("/quiet", async () => ({ ok: true }));
  app.get("/talks", async (request) => {
    request.log.info({ step: 1 }, "talking");
    request.log.warn("twice");
    return { level: request.log.level };
  });
  await app.ready();
  const atStart = made;
  return { app, lines, children: () => made - atStart };
}

describe("lazyChildLoggerFactory", () => {
  it("makes no child logger for a request that does not log", async () => {
    const { app, children } = await appWithCountedChildren();
    expect((await app.inject({ url: "/quiet" })).json()).toEqual({ ok: true });
    expect(children()).toBe(0);
    await app.close();
  });

  it("makes one, bound to the request id, for a request that logs", async () => {
    const { app, lines, children } = await appWithCountedChildren();
    const response = await app.inject({ url: "/talks", headers: { "request-id": "r-1" } });
    expect(response.json()).toEqual({ level: "info" });
    expect(children()).toBe(1);
    const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logged).toEqual([
      expect.objectContaining({ level: 30, reqId: response.headers["request-id"] ?? expect.any(String), step: 1, msg: "talking" }),
      expect.objectContaining({ level: 40, msg: "twice" }),
    ]);
    expect(logged[0]?.reqId).toBe(logged[1]?.reqId);
    await app.close();
  });
});
