import type { FastifyInstance } from "fastify";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";

/**
 * The OpenAPI 3.1 document, generated from the routes' own schemas (one
 * schema drives validation, serialisation and documentation), served at
 * /openapi.json, with Swagger UI at /docs.
 */
export async function registerOpenApi(app: FastifyInstance, info: { version: string; profile: string }): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Passerelle",
        version: info.version,
        summary: "eHealth integration gateway for France, Luxembourg and Belgium",
        description:
          "One REST/JSON API in front of the national eHealth services. Errors are RFC 9457 problem details " +
          "(application/problem+json) with a stable `type` and `code`; see docs/errors.md.",
        license: { name: "Apache-2.0", identifier: "Apache-2.0" },
      },
      tags: [
        { name: "health", description: "Probes, status and metrics (unauthenticated)" },
        { name: "callers", description: "Calling software" },
        { name: "audit", description: "Audit trail of patient-data accesses" },
        { name: "sandbox", description: "The embedded sandbox (sandbox profile only)" },
        { name: "identity", description: "Practitioner login (code + PKCE, CIBA), sessions, tokens brought by callers, system clients" },
        { name: "trust", description: "Sign, verify and time-stamp documents; signers and trust anchors" },
        { name: "luxembourg", description: "CNS documents from templates, signed through the remote signature service; mySecu deposits" },
      ],
      components: {
        securitySchemes: {
          apiKey: { type: "apiKey", in: "header", name: "X-Api-Key", description: "The calling software's API key" },
          bearer: { type: "http", scheme: "bearer", description: "The same API key as a bearer token" },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs", uiConfig: { deepLinking: true }, staticCSP: true });

  app.get("/openapi.json", { schema: { hide: true } }, async (_request, reply) => reply.type("application/json").send(app.swagger()));
}
