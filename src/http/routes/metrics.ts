import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import type { GatewayMetrics } from "../../observability/metrics.js";

/**
 * Prometheus exposition. Unauthenticated like the health probes: bind the
 * gateway to a private interface or filter /metrics at the proxy when it is
 * exposed (the figures carry no secret and no patient data).
 */
export async function metricsRoutes(app: FastifyInstance, deps: { metrics: GatewayMetrics }): Promise<void> {
  app.get(
    "/metrics",
    {
      schema: {
        tags: ["health"],
        summary: "Prometheus metrics (text exposition format 0.0.4)",
        produces: ["text/plain"],
        response: {
          200: Type.String({
            description: "Prometheus text format",
            examples: ['# HELP passerelle_http_requests_total HTTP requests served\npasserelle_http_requests_total{method="GET",route="/health/live",status="200"} 3\n'],
          }),
        },
      },
    },
    async (_request, reply) => {
      const text = await deps.metrics.registry.metrics();
      return reply.type(deps.metrics.registry.contentType).send(text);
    },
  );
}
