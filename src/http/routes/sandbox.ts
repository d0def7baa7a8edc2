import type { FastifyInstance } from "fastify";
import { Type, type Static } from "typebox";

export const SandboxDescriptionSchema = Type.Object(
  {
    profile: Type.Literal("sandbox"),
    demoApiKey: Type.String({ description: "Generated per run unless SANDBOX_API_KEY is set; has the admin role" }),
    trustAnchorPem: Type.String({ description: "The sandbox root CA: trust it to call the simulators directly" }),
    simulators: Type.Array(
      Type.Object({
        id: Type.String(),
        title: Type.String(),
        country: Type.String(),
        url: Type.String({ format: "uri" }),
        testUsers: Type.Array(Type.Object({ id: Type.String(), label: Type.String() }, { additionalProperties: true })),
      }),
    ),
  },
  {
    examples: [
      {
        profile: "sandbox",
        demoApiKey: "psk_sandbox_3q2p1J8k...",
        trustAnchorPem: "-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----\n",
        simulators: [{ id: "sandbox-ca", title: "Sandbox certificate authority", country: "EU", url: "https://127.0.0.1:40123", testUsers: [] }],
      },
    ],
  },
);
export type SandboxDescription = Static<typeof SandboxDescriptionSchema>;

/**
 * GET /sandbox: what an integrator needs to start (sandbox profile only; the
 * route does not exist in other profiles). Unauthenticated on purpose: it is
 * how one learns the demo key, and the gateway listens on loopback by default.
 */
export async function sandboxRoutes(app: FastifyInstance, deps: { describe(): SandboxDescription }): Promise<void> {
  app.get(
    "/sandbox",
    {
      schema: {
        tags: ["sandbox"],
        summary: "Simulators, their URLs and test users, and the demo API key (sandbox profile only)",
        response: { 200: SandboxDescriptionSchema },
      },
    },
    async () => deps.describe(),
  );
}
