import { Type, type TSchema } from "typebox";
import { PROBLEM_TYPE_BASE } from "../errors/index.js";

/** RFC 9457 problem details as documented in the OpenAPI document. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String({ format: "uri", description: `Stable problem type, under ${PROBLEM_TYPE_BASE}` }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.String(),
    code: Type.String({ description: "Stable error code (PASSERELLE_*), also in docs/errors.md" }),
    requestId: Type.String(),
    errors: Type.Optional(
      Type.Array(
        Type.Object({
          in: Type.Union([Type.Literal("body"), Type.Literal("query"), Type.Literal("path"), Type.Literal("header")]),
          pointer: Type.String(),
          detail: Type.String(),
        }),
      ),
    ),
  },
  {
    additionalProperties: true,
    description: "RFC 9457 problem details (application/problem+json)",
    examples: [
      {
        type: `${PROBLEM_TYPE_BASE}validation`,
        title: "Request validation failed",
        status: 400,
        detail: "Invalid query at /limit: must be <= 500",
        instance: "/v1/audit",
        code: "PASSERELLE_VALIDATION",
        requestId: "6f1c2b9e-3f1e-4c55-9a53-0c8f1a3b7d10",
        errors: [{ in: "query", pointer: "/limit", detail: "must be <= 500" }],
      },
    ],
  },
);

const DESCRIPTIONS: Record<number, string> = {
  400: "Invalid request (problem+json lists the offending fields)",
  401: "Missing or invalid caller credentials",
  403: "The caller may not use this operation",
  404: "Not found",
  413: "Body too large",
  415: "Unsupported content type",
  422: "Well-formed but unprocessable",
  429: "Rate limit exceeded",
  500: "Internal error",
  502: "An upstream service answered badly",
  503: "Unavailable (upstream, vault, timeout or shutdown)",
  504: "An upstream service timed out",
};

/** Problem responses for the given statuses, to spread into a route's `response`. */
export function problemResponses(...statuses: number[]): Record<number, TSchema> {
  const out: Record<number, TSchema> = {};
  for (const s of statuses) out[s] = { ...ProblemSchema, description: DESCRIPTIONS[s] ?? "Error" };
  return out;
}

/** The statuses every authenticated /v1 operation can answer with. */
export const V1_PROBLEMS = [400, 401, 403, 429, 500, 503] as const;
