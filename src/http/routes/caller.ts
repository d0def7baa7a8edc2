import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import { unauthenticated } from "../../errors/index.js";
import { V1_PROBLEMS, problemResponses } from "../schemas.js";

const CallerSchema = Type.Object(
  {
    id: Type.String(),
    roles: Type.Array(Type.String()),
    via: Type.Union([Type.Literal("api-key"), Type.Literal("client-certificate")]),
  },
  { examples: [{ id: "acme-pms", roles: [], via: "api-key" }] },
);

/** GET /v1/caller: who the gateway thinks is calling — the cheapest authenticated route. */
export async function callerRoutes(app: FastifyInstance): Promise<void> {
  app.get(
    "/caller",
    {
      schema: {
        tags: ["callers"],
        summary: "The authenticated calling software",
        security: [{ apiKey: [] }, { bearer: [] }],
        response: { 200: CallerSchema, ...problemResponses(...V1_PROBLEMS) },
      },
    },
    async (request) => {
      if (!request.caller) throw unauthenticated("Authentication required");
      return { id: request.caller.id, roles: [...request.caller.roles], via: request.caller.via };
    },
  );
}
