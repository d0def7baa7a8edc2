/**
 * Request and response schemas of the Luxembourg routes (TypeBox): one
 * schema drives validation, serialisation and the OpenAPI document. A
 * template's own data schema is served by GET /v1/lu/templates and applied
 * by the template store (its errors point into `/data`).
 */
import { Type, type Static } from "typebox";

const TemplateId = Type.String({ minLength: 1, maxLength: 64, pattern: "^[a-z0-9][a-z0-9-]*$", examples: ["lu-ecit"] });
const Version = Type.String({ pattern: "^[0-9]+\\.[0-9]+\\.[0-9]+$", examples: ["1.0.0"] });
const IdempotencyKey = Type.String({
  minLength: 1,
  maxLength: 255,
  pattern: "^[\\x21-\\x7e]+$",
  description: "The caller's key for this deposit: a retry with the same key never deposits twice (and returns the first result)",
  examples: ["pms-42-ecit-2026-11-23-0007"],
});

const TemplateSummarySchema = Type.Object({
  id: TemplateId,
  version: Version,
  documentType: Type.String({ examples: ["eCIT"] }),
  title: Type.String({ examples: ["Certificat d'incapacité de travail"] }),
  description: Type.Optional(Type.String()),
  schema: Type.Record(Type.String(), Type.Unknown(), { description: "JSON Schema (2020-12) of the template's data" }),
});

export const TemplatesResponseSchema = Type.Object(
  {
    packageVersion: Type.String({ description: "Version of the active template package (built-in or from iHub)" }),
    origin: Type.String({ examples: ["builtin", "ihub"] }),
    templates: Type.Array(TemplateSummarySchema),
  },
  {
    examples: [
      {
        packageVersion: "2026.11.0",
        origin: "builtin",
        templates: [{ id: "lu-ecit", version: "1.0.0", documentType: "eCIT", title: "Certificat d'incapacité de travail", schema: { type: "object" } }],
      },
    ],
  },
);

const VersionRef = Type.Object({ id: Type.String(), version: Type.String() });
const VersionChange = Type.Object({ id: Type.String(), from: Type.String(), to: Type.String() });

export const SyncReportSchema = Type.Object(
  {
    outcome: Type.Union([Type.Literal("applied"), Type.Literal("unchanged"), Type.Literal("skipped")]),
    packageVersion: Type.String(),
    previousPackageVersion: Type.String(),
    digest: Type.String({ description: "SHA-256 of the package manifest" }),
    added: Type.Array(VersionRef),
    updated: Type.Array(VersionChange),
    removed: Type.Array(VersionRef),
  },
  {
    examples: [
      {
        outcome: "applied",
        packageVersion: "2026.12.0",
        previousPackageVersion: "2026.11.0",
        digest: "9f2c…",
        added: [],
        updated: [{ id: "lu-ecit", from: "1.0.0", to: "1.1.0" }],
        removed: [],
      },
    ],
  },
);

export const RollbackReportSchema = Type.Object(
  {
    packageVersion: Type.String(),
    rolledBackFrom: Type.String(),
    added: Type.Array(VersionRef),
    updated: Type.Array(VersionChange),
    removed: Type.Array(VersionRef),
  },
  { examples: [{ packageVersion: "2026.11.0", rolledBackFrom: "2026.12.0", added: [], updated: [{ id: "lu-ecit", from: "1.1.0", to: "1.0.0" }], removed: [] }] },
);

export const PractitionerHeadersSchema = Type.Object({
  "x-practitioner-token": Type.Optional(
    Type.String({ minLength: 1, maxLength: 16384, description: "The practitioner's AeS access token (validated by the gateway before use)" }),
  ),
  "x-session": Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: "Or: a gateway login session with Agence eSanté (POST /v1/auth/session)" })),
});
export type PractitionerHeaders = Static<typeof PractitionerHeadersSchema>;

export const CreateDocumentBodySchema = Type.Object(
  {
    template: TemplateId,
    version: Type.Optional(Version),
    data: Type.Unknown({ description: "The document's data, valid against the template's schema (GET /v1/lu/templates)" }),
    deposit: Type.Optional(
      Type.Object(
        { idempotencyKey: IdempotencyKey, title: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) },
        { additionalProperties: false, description: "Also deposit the signed document on mySecu, in the same call" },
      ),
    ),
  },
  {
    additionalProperties: false,
    examples: [
      {
        template: "lu-ecit",
        data: {
          practitioner: { providerCode: "101234-56", title: "Dr", lastName: "Weber", firstName: "Anne" },
          patient: { matricule: "1985061512347", lastName: "Müller", firstName: "Zoé" },
          incapacity: { kind: "maladie", certificateType: "initial", startDate: "2026-11-23", endDate: "2026-11-27", outingsAllowed: true },
          diagnoses: [{ code: "J06.9", label: "Infection aiguë des voies respiratoires supérieures" }],
          issuedOn: "2026-11-23",
          issuedAt: "Luxembourg",
        },
        deposit: { idempotencyKey: "pms-42-ecit-0007" },
      },
    ],
  },
);
export type CreateDocumentBody = Static<typeof CreateDocumentBodySchema>;

const DepositSchema = Type.Object({
  depositId: Type.String(),
  status: Type.Literal("ACCEPTED"),
  receivedAt: Type.String({ format: "date-time" }),
  providerCode: Type.String(),
  documentSha256: Type.String(),
  clientReference: Type.String(),
  replayed: Type.Boolean({ description: "True when this answers a retry: the first result, nothing deposited again" }),
});

const DEPOSIT_EXAMPLE = {
  depositId: "MS-2026-000123",
  status: "ACCEPTED" as const,
  receivedAt: "2026-11-23T10:15:00Z",
  providerCode: "101234-56",
  documentSha256: "3b1f…",
  clientReference: "psl-7c9e…",
  replayed: false,
};

export const DOCUMENT_RESPONSE_EXAMPLE = {
  document: {
    documentId: "5c0d…",
    templateId: "lu-ecit",
    templateVersion: "1.0.0",
    packageVersion: "2026.11.0",
    title: "Certificat d'incapacité de travail",
    pages: 1,
    sha256: "3b1f…",
    size: 48213,
    signedAt: "2026-11-23T10:15:00.000Z",
    signer: { providerCode: "101234-56", subject: "CN=Anne WEBER, serialNumber=101234-56", serialNumber: "6875D537…" },
    signatureLevel: "PAdES-B-T",
  },
  pdf: "JVBERi0xLjcK…",
  deposit: DEPOSIT_EXAMPLE,
};

export const DocumentResponseSchema = Type.Object(
  {
    document: Type.Object({
      documentId: Type.String({ description: "The PDF's /ID: a function of the template and the data" }),
      templateId: Type.String(),
      templateVersion: Type.String(),
      packageVersion: Type.String(),
      title: Type.String(),
      pages: Type.Integer(),
      sha256: Type.String({ description: "SHA-256 (hex) of the signed PDF" }),
      size: Type.Integer(),
      signedAt: Type.String({ format: "date-time" }),
      signer: Type.Object({ providerCode: Type.String(), subject: Type.String(), serialNumber: Type.String() }),
      signatureLevel: Type.Literal("PAdES-B-T"),
    }),
    pdf: Type.String({ contentEncoding: "base64", description: "The signed PDF (ask Accept: application/pdf for the bytes alone)" }),
    deposit: Type.Optional(DepositSchema),
  },
  {
    examples: [DOCUMENT_RESPONSE_EXAMPLE],
  },
);

export const DepositResponseSchema = Type.Object(DepositSchema.properties, { examples: [DEPOSIT_EXAMPLE] });

export const DepositHeadersSchema = Type.Object({
  ...PractitionerHeadersSchema.properties,
  "idempotency-key": IdempotencyKey,
  // A header, not a query parameter: URLs end up in proxies' and load balancers' access logs.
  "x-patient-matricule": Type.Optional(Type.String({ pattern: "^[0-9]{13}$", description: "The patient's national identification number (matricule)" })),
});
export type DepositHeaders = Static<typeof DepositHeadersSchema>;

export const DepositQuerySchema = Type.Object(
  {
    documentType: Type.Optional(Type.String({ pattern: "^[A-Z0-9_]{1,32}$", examples: ["ECIT"] })),
    title: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    fileName: Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: "^[^/\\\\]+$" })),
  },
  { additionalProperties: false },
);
export type DepositQuery = Static<typeof DepositQuerySchema>;
