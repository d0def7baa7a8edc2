import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import type { AuditSink } from "../../audit/types.js";
import { requireRole } from "../auth/authenticate.js";
import { V1_PROBLEMS, problemResponses } from "../schemas.js";

const AuditRecordSchema = Type.Object({
  id: Type.String(),
  time: Type.String({ format: "date-time" }),
  action: Type.String(),
  caller: Type.Object({ software: Type.String(), practitioner: Type.Optional(Type.String()) }),
  patientRef: Type.Optional(Type.String({ description: "Keyed HMAC-SHA256 of the patient identifier; the identifier itself is never stored" })),
  outcome: Type.Union([Type.Literal("success"), Type.Literal("failure"), Type.Literal("denied")]),
  requestId: Type.String(),
  detail: Type.Optional(Type.String()),
});

const AuditPageSchema = Type.Object(
  {
    records: Type.Array(AuditRecordSchema),
    next: Type.Optional(Type.String({ description: "Cursor for the next page (pass as `after`)" })),
  },
  {
    examples: [
      {
        records: [
          {
            id: "0000000000000042",
            time: "2026-11-23T09:14:03.120Z",
            action: "fr-dmp.document.read",
            caller: { software: "acme-pms", practitioner: "810000000001" },
            patientRef: "hmac-sha256:5b1c0e2a6f9d3e4b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a",
            outcome: "success",
            requestId: "a1b2c3d4-e5f6-4711-8899-aabbccddeeff",
          },
        ],
        next: "0000000000000042",
      },
    ],
  },
);

const AuditQuerySchema = Type.Object(
  {
    after: Type.Optional(Type.String({ maxLength: 64, description: "Cursor: the id of the last record of the previous page" })),
    limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
    action: Type.Optional(Type.String({ maxLength: 128 })),
    patient: Type.Optional(Type.String({ maxLength: 64, description: "A patient identifier: matched through its HMAC, never stored" })),
    from: Type.Optional(Type.String({ format: "date-time" })),
    to: Type.Optional(Type.String({ format: "date-time" })),
  },
  { additionalProperties: false },
);

/** GET /v1/audit: the audit trail, admin callers only, cursor-paginated. */
export async function auditRoutes(app: FastifyInstance, deps: { audit: AuditSink }): Promise<void> {
  app.get(
    "/audit",
    {
      schema: {
        tags: ["audit"],
        summary: "Read the audit trail of patient-data accesses (admin callers only)",
        security: [{ apiKey: [] }, { bearer: [] }],
        querystring: AuditQuerySchema,
        response: { 200: AuditPageSchema, ...problemResponses(...V1_PROBLEMS) },
      },
    },
    async (request) => {
      requireRole(request, "admin");
      const q = request.query as { after?: string; limit: number; action?: string; patient?: string; from?: string; to?: string };
      return deps.audit.query({
        limit: q.limit,
        ...(q.after !== undefined ? { after: q.after } : {}),
        ...(q.action !== undefined ? { action: q.action } : {}),
        ...(q.patient !== undefined ? { patientId: q.patient } : {}),
        ...(q.from !== undefined ? { from: q.from } : {}),
        ...(q.to !== undefined ? { to: q.to } : {}),
      });
    },
  );
}
