/**
 * The Luxembourg routes, a Fastify plugin for the authenticated /v1 scope —
 * the eConnector SaaS's functions behind the gateway's API:
 *
 * - `GET /v1/lu/templates`: the active CNS templates, versions and data schemas;
 * - `POST /v1/lu/templates/sync` (admin): apply the latest iHub package now;
 *   `POST /v1/lu/templates/rollback` (admin): back to the previous package;
 * - `POST /v1/lu/documents`: render + sign PAdES-B-T in the practitioner's
 *   name (+ deposit on mySecu); JSON with the PDF in base64 and its metadata,
 *   or the PDF itself with `Accept: application/pdf`;
 * - `POST /v1/lu/mysecu/deposits`: deposit a signed PDF (the body), idempotent
 *   on the `Idempotency-Key` header.
 *
 * The practitioner is named by `X-Practitioner-Token` (their AeS access
 * token) or `X-Session` (a gateway login with AeS); the calling software by
 * its API key, as everywhere under /v1.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { PasserelleError, unauthenticated } from "../../errors/index.js";
import { callerGoneSignal } from "../../http/caller-gone.js";
import { requireRole } from "../../http/auth/authenticate.js";
import { V1_PROBLEMS, problemResponses } from "../../http/schemas.js";
import { PDF_MEDIA_TYPE, binaryBody } from "../trust/schemas.js";
import { prefersPdf } from "./accept.js";
import {
  CreateDocumentBodySchema,
  DepositHeadersSchema,
  DepositQuerySchema,
  DepositResponseSchema,
  DOCUMENT_RESPONSE_EXAMPLE,
  DocumentResponseSchema,
  PractitionerHeadersSchema,
  RollbackReportSchema,
  SyncReportSchema,
  TemplatesResponseSchema,
  type CreateDocumentBody,
  type DepositHeaders,
  type DepositQuery,
  type PractitionerHeaders,
} from "./schemas.js";
import type { LuCallContext, LuService, PractitionerCredential } from "./service.js";

const TAGS = ["luxembourg"];
const SECURITY: Array<Record<string, string[]>> = [{ apiKey: [] }, { bearer: [] }];

function contextOf(request: FastifyRequest, reply: FastifyReply): LuCallContext {
  const caller = request.caller;
  if (!caller) throw unauthenticated("Authentication required");
  return { caller: caller.id, requestId: request.id, signal: callerGoneSignal(reply) };
}

function credentialOf(headers: PractitionerHeaders): PractitionerCredential {
  const token = headers["x-practitioner-token"];
  const session = headers["x-session"];
  if (token !== undefined && session !== undefined) {
    throw new PasserelleError("PASSERELLE_VALIDATION", {
      detail: "Send the practitioner's AeS access token (X-Practitioner-Token) or a session (X-Session), not both",
      invalidParams: [{ in: "header", pointer: "/x-session", detail: "must not be sent with X-Practitioner-Token" }],
    });
  }
  if (token !== undefined) return { accessToken: token.replace(/^Bearer\s+/i, "") };
  if (session !== undefined) return { session };
  throw new PasserelleError("PASSERELLE_AUTH_TOKEN_INVALID", {
    detail: "This operation acts for a practitioner: send their AeS access token in X-Practitioner-Token, or X-Session",
    invalidParams: [{ in: "header", pointer: "/x-practitioner-token", detail: "required (or X-Session)" }],
  });
}


export function luRoutes(service: LuService, options: { bodyLimit: number }): FastifyPluginAsync {
  return async (v1) => {
    v1.addContentTypeParser(PDF_MEDIA_TYPE, { parseAs: "buffer", bodyLimit: options.bodyLimit }, (_request, body, done) => done(null, body));

    v1.get(
      "/lu/templates",
      {
        schema: {
          tags: TAGS,
          summary: "The CNS document templates in use: ids, versions and the JSON Schema of each one's data",
          security: SECURITY,
          response: { 200: TemplatesResponseSchema, ...problemResponses(...V1_PROBLEMS) },
        },
      },
      async () => {
        const active = service.templates.snapshot();
        return { packageVersion: active.packageVersion, origin: active.origin, templates: service.listTemplates() };
      },
    );

    v1.post(
      "/lu/templates/sync",
      {
        schema: {
          tags: TAGS,
          summary: "Download, verify and apply the latest iHub template package now (admin)",
          description:
            "The package's signature and every file's hash are verified before anything is applied; it then replaces the active " +
            "templates atomically (requests in flight finish with the version they started with). A corrupt, unsigned or older " +
            "package is refused (502, PASSERELLE_TEMPLATE_PACKAGE_REJECTED) and the current templates stay.",
          security: SECURITY,
          response: { 200: SyncReportSchema, ...problemResponses(...V1_PROBLEMS, 502, 504) },
        },
      },
      async (request, reply) => {
        requireRole(request, "admin");
        return service.syncTemplates(contextOf(request, reply));
      },
    );

    v1.post(
      "/lu/templates/rollback",
      {
        schema: {
          tags: TAGS,
          summary: "Go back to the previous template package (admin)",
          security: SECURITY,
          response: { 200: RollbackReportSchema, ...problemResponses(...V1_PROBLEMS, 409) },
        },
      },
      async (request, reply) => {
        requireRole(request, "admin");
        return service.rollbackTemplates(contextOf(request, reply));
      },
    );

    v1.post(
      "/lu/documents",
      {
        schema: {
          tags: TAGS,
          summary: "Render a CNS document from a template, sign it PAdES-B-T in the practitioner's name (remote signature), optionally deposit it on mySecu",
          description:
            "The data is validated against the template's schema (422 listing every field), the PDF rendered, then signed through " +
            "the remote signature service with the key of the practitioner whose AeS token is given, and time-stamped. The document " +
            "must name that practitioner. Nothing is returned unless signing (and the deposit, when asked) succeeded. " +
            "`Accept: application/pdf` returns the PDF itself, with the metadata in X-Document-* headers.",
          security: SECURITY,
          headers: PractitionerHeadersSchema,
          body: CreateDocumentBodySchema,
          response: {
            200: {
              description: "The signed document and its metadata (JSON), or the PDF itself (Accept: application/pdf)",
              content: {
                "application/json": { schema: DocumentResponseSchema, example: DOCUMENT_RESPONSE_EXAMPLE },
                [PDF_MEDIA_TYPE]: { schema: { type: "string", contentMediaType: PDF_MEDIA_TYPE } },
              },
            },
            ...problemResponses(...V1_PROBLEMS, 404, 409, 422, 502, 504),
          },
        },
      },
      async (request, reply) => {
        const body = request.body as CreateDocumentBody;
        const created = await service.createDocument(contextOf(request, reply), {
          templateId: body.template,
          ...(body.version === undefined ? {} : { version: body.version }),
          data: body.data,
          practitioner: credentialOf(request.headers as PractitionerHeaders),
          ...(body.deposit === undefined ? {} : { deposit: body.deposit }),
        });
        if (prefersPdf(request.headers.accept, PDF_MEDIA_TYPE)) {
          reply
            .type(PDF_MEDIA_TYPE)
            .header("x-document-id", created.document.documentId)
            .header("x-document-template", `${created.document.templateId}@${created.document.templateVersion}`)
            .header("x-document-sha256", created.document.sha256);
          if (created.deposit !== undefined) reply.header("x-mysecu-deposit-id", created.deposit.depositId);
          return reply.send(Buffer.from(created.pdf));
        }
        return {
          document: created.document,
          pdf: Buffer.from(created.pdf).toString("base64"),
          ...(created.deposit === undefined ? {} : { deposit: created.deposit }),
        };
      },
    );

    v1.post(
      "/lu/mysecu/deposits",
      {
        schema: {
          tags: TAGS,
          summary: "Deposit a signed PDF on mySecu for the practitioner (idempotent on Idempotency-Key)",
          description:
            "The body is the signed PDF. The gateway authenticates to mySecu (WS-Trust STS, token cached until it expires) and " +
            "deposits it; the practitioner must be enrolled on mySecu (422 PASSERELLE_MYSECU_NOT_ENROLLED otherwise). A retry with " +
            "the same Idempotency-Key returns the first result (replayed: true) and never deposits twice, across gateway instances.",
          security: SECURITY,
          consumes: [PDF_MEDIA_TYPE],
          headers: DepositHeadersSchema,
          querystring: DepositQuerySchema,
          body: binaryBody(PDF_MEDIA_TYPE, "The signed PDF to deposit"),
          response: {
            201: DepositResponseSchema,
            200: DepositResponseSchema,
            ...problemResponses(...V1_PROBLEMS, 409, 413, 415, 422, 502, 504),
          },
        },
      },
      async (request, reply) => {
        const type = request.headers["content-type"]?.split(";")[0]?.trim().toLowerCase();
        if (type !== PDF_MEDIA_TYPE) {
          throw new PasserelleError("PASSERELLE_UNSUPPORTED_MEDIA_TYPE", { detail: `Content-Type ${type ?? "(none)"} is not accepted; send ${PDF_MEDIA_TYPE}` });
        }
        const pdf = request.body;
        if (!Buffer.isBuffer(pdf) || pdf.length === 0) {
          throw new PasserelleError("PASSERELLE_MALFORMED_BODY", { detail: `The body is empty; send the signed document as ${PDF_MEDIA_TYPE}` });
        }
        const headers = request.headers as DepositHeaders;
        const query = request.query as DepositQuery;
        const deposit = await service.deposit(contextOf(request, reply), {
          pdf,
          practitioner: credentialOf(headers),
          idempotencyKey: headers["idempotency-key"],
          ...(headers["x-patient-matricule"] === undefined ? {} : { patientMatricule: headers["x-patient-matricule"] }),
          ...(query.documentType === undefined ? {} : { documentType: query.documentType }),
          ...(query.title === undefined ? {} : { title: query.title }),
          ...(query.fileName === undefined ? {} : { fileName: query.fileName }),
        });
        // 201 for a new deposit, 200 for a replay of an earlier one (same key).
        return reply.code(deposit.replayed ? 200 : 201).send(deposit);
      },
    );
  };
}
