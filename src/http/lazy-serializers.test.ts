import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { lazySerializerFactory } from "./lazy-serializers.js";

describe("lazySerializerFactory", () => {
  it("serialises like Fastify's own compiler: properties outside the schema are dropped", async () => {
    const app = Fastify({ schemaController: { compilersFactory: { buildSerializer: lazySerializerFactory() } } });
    app.get(
      "/a",
      { schema: { response: { 200: { type: "object", properties: { ok: { type: "boolean" } } } } } },
      async () => ({ ok: true, secret: "never serialised" }),
    );
    const res = await app.inject({ method: "GET", url: "/a" });
    expect(res.body).toBe('{"ok":true}');
    await app.close();
  });

  it("compiles on the first answer, not when the route is registered", () => {
    const compile = lazySerializerFactory()(undefined, {});
    const broken = { method: "GET", url: "/b", httpStatus: "200", schema: { $ref: "#/definitions/missing" } };
    // Registering the route does not compile (which is what keeps the gateway's start short)...
    const serialize = compile(broken);
    // ...its first answer does, and a broken schema fails there (test/e2e/gateway.e2e.test.ts compiles every route's eagerly).
    expect(() => serialize({})).toThrow();
  });
});
