import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { lazySerializerFactory, lazyValidatorFactory } from "./lazy-compilers.js";

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

describe("lazyValidatorFactory", () => {
  const AJV = { customOptions: { removeAdditional: false, coerceTypes: "array", useDefaults: true, allErrors: true } } as const;
  const build = (factory: boolean) =>
    Fastify({ ajv: AJV, ...(factory ? { schemaController: { compilersFactory: { buildValidator: lazyValidatorFactory() } } } : {}) });

  it("validates, coerces and fills defaults exactly like Fastify's own compiler", async () => {
    for (const lazy of [true, false]) {
      const app = build(lazy);
      app.post(
        "/v",
        {
          schema: {
            querystring: { type: "object", properties: { tag: { type: "array", items: { type: "string" } }, n: { type: "integer", default: 7 } } },
            headers: { type: "object", properties: { "x-session": { type: "string", minLength: 3 } } },
            body: { type: "object", required: ["name"], properties: { name: { type: "string", maxLength: 4 } } },
          },
        },
        async (request) => ({ query: request.query, body: request.body }),
      );
      const ok = await app.inject({ method: "POST", url: "/v?tag=a", headers: { "X-Session": "abcd" }, payload: { name: "ab" } });
      expect(ok.json(), `lazy=${lazy}`).toEqual({ query: { tag: ["a"], n: 7 }, body: { name: "ab" } });
      const bad = await app.inject({ method: "POST", url: "/v", headers: { "x-session": "a" }, payload: { name: "abc" } });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().message, `lazy=${lazy}`).toBe("headers/x-session must NOT have fewer than 3 characters");
      const badBody = await app.inject({ method: "POST", url: "/v", payload: { name: "abcdef" } });
      expect(badBody.json().message, `lazy=${lazy}`).toBe("body/name must NOT have more than 4 characters");
      await app.close();
    }
  });

  it("compiles on the first request, not when the route is registered", () => {
    const compile = lazyValidatorFactory()({}, AJV);
    const validate = compile({ method: "POST", url: "/b", httpPart: "body", schema: { $ref: "#/definitions/missing" } });
    expect(() => validate({})).toThrow();
  });

  it("refuses a headers schema that names a header in upper case (Fastify lower-cases only for its own compiler)", async () => {
    const app = build(true);
    app.get("/h", { schema: { headers: { type: "object", properties: { "X-Session": { type: "string" } } } } }, async () => ({}));
    await expect(app.ready()).rejects.toThrow(/name headers in lower case.*X-Session/);
  });
});
