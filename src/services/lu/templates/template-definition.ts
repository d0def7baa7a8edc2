/**
 * The template file format: one JSON document per template, data only, so
 * that iHub can replace templates without a new release of the gateway.
 *
 * ```json
 * {
 *   "id": "lu-ecit", "version": "1.0.0", "documentType": "eCIT",
 *   "title": "Certificat d'incapacité de travail", "description": "…",
 *   "schema": { JSON Schema 2020-12 of the data },
 *   "constraints": [ { "kind": "not-before", "pointer": "/incapacity/endDate", "reference": "/incapacity/startDate", "message": "…" } ],
 *   "layout": { "fonts": {…}, "page": {…}, "maps": {…}, "blocks": [ … ], "footer": "…" }
 * }
 * ```
 *
 * Texts in the layout are templates: literal text with `{{ expression }}`
 * holes (./expressions.ts). Layout blocks are drawn top to bottom, with page
 * breaks (./layout.ts).
 */
import { Type, type Static } from "typebox";

const Text = Type.String({ maxLength: 2000 });
const Expression = Type.String({ minLength: 1, maxLength: 500 });
const When = Type.Optional(Expression);

const TitleBlock = Type.Object(
  { type: Type.Literal("title"), text: Text, subtitle: Type.Optional(Text), when: When },
  { additionalProperties: false },
);
const ParagraphBlock = Type.Object(
  {
    type: Type.Literal("paragraph"),
    text: Text,
    size: Type.Optional(Type.Number({ minimum: 5, maximum: 24 })),
    style: Type.Optional(Type.Union([Type.Literal("regular"), Type.Literal("bold")])),
    when: When,
  },
  { additionalProperties: false },
);
const SectionRow = Type.Object({ label: Text, value: Text, when: When }, { additionalProperties: false });
const SectionBlock = Type.Object(
  {
    type: Type.Literal("section"),
    title: Text,
    rows: Type.Array(SectionRow, { minItems: 1, maxItems: 100 }),
    /** Share of the width given to labels; default 0.36. */
    labelWidth: Type.Optional(Type.Number({ minimum: 0.15, maximum: 0.7 })),
    when: When,
  },
  { additionalProperties: false },
);
const TableColumn = Type.Object(
  {
    header: Text,
    value: Text,
    /** Share of the table width; the shares of a table add up to 1. */
    width: Type.Number({ exclusiveMinimum: 0, maximum: 1 }),
    align: Type.Optional(Type.Union([Type.Literal("left"), Type.Literal("right"), Type.Literal("center")])),
  },
  { additionalProperties: false },
);
const TableTotal = Type.Object({ label: Text, value: Text, when: When }, { additionalProperties: false });
const TableBlock = Type.Object(
  {
    type: Type.Literal("table"),
    title: Type.Optional(Text),
    /** Path of the array whose items are the rows; column values are evaluated with the item as scope. */
    items: Expression,
    columns: Type.Array(TableColumn, { minItems: 1, maxItems: 12 }),
    totals: Type.Optional(Type.Array(TableTotal, { maxItems: 10 })),
    when: When,
  },
  { additionalProperties: false },
);
const SignatureBlock = Type.Object(
  { type: Type.Literal("signature"), label: Text, text: Text, when: When },
  { additionalProperties: false },
);
const SpacerBlock = Type.Object(
  { type: Type.Literal("spacer"), height: Type.Number({ minimum: 1, maximum: 400 }) },
  { additionalProperties: false },
);
const RuleBlock = Type.Object({ type: Type.Literal("rule") }, { additionalProperties: false });

export const LayoutBlockSchema = Type.Union([
  TitleBlock,
  ParagraphBlock,
  SectionBlock,
  TableBlock,
  SignatureBlock,
  SpacerBlock,
  RuleBlock,
]);

const PackagePath = Type.String({ pattern: "^[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$", maxLength: 200 });

export const LayoutSchema = Type.Object(
  {
    /** Package paths of the TrueType fonts, embedded (subset) in every document. */
    fonts: Type.Object({ regular: PackagePath, bold: PackagePath }, { additionalProperties: false }),
    page: Type.Optional(
      Type.Object(
        {
          size: Type.Optional(Type.Literal("A4")),
          margin: Type.Optional(Type.Number({ minimum: 18, maximum: 144 })),
          fontSize: Type.Optional(Type.Number({ minimum: 6, maximum: 14 })),
        },
        { additionalProperties: false },
      ),
    ),
    /** Code lists for the `map:<name>` filter (e.g. an enum value → its French label). */
    maps: Type.Optional(Type.Record(Type.String({ pattern: "^[A-Za-z][A-Za-z0-9_-]*$" }), Type.Record(Type.String(), Text))),
    blocks: Type.Array(LayoutBlockSchema, { minItems: 1, maxItems: 200 }),
    /** Printed at the bottom of every page, left; `{{page}}` and `{{pages}}` are available. */
    footer: Type.Optional(Text),
  },
  { additionalProperties: false },
);

export const ConstraintSchema = Type.Object(
  {
    /** `not-before` / `not-after`: a date (YYYY-MM-DD) compared with the reference date; `not-above`: a number not above the reference number. */
    kind: Type.Union([Type.Literal("not-before"), Type.Literal("not-after"), Type.Literal("not-above")]),
    /** JSON Pointer of the checked value; a `*` segment stands for every item of an array. */
    pointer: Type.String({ pattern: "^(/[^/]*)+$", maxLength: 300 }),
    /** JSON Pointer of the reference; a `*` takes the same index as in `pointer`. */
    reference: Type.String({ pattern: "^(/[^/]*)+$", maxLength: 300 }),
    message: Text,
  },
  { additionalProperties: false },
);

export const TemplateDefinitionSchema = Type.Object(
  {
    id: Type.String({ pattern: "^[a-z][a-z0-9]*(-[a-z0-9]+)*$", maxLength: 64 }),
    version: Type.String({ maxLength: 64 }),
    documentType: Type.String({ minLength: 1, maxLength: 64 }),
    title: Type.String({ minLength: 1, maxLength: 200 }),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    /** JSON Schema (2020-12) of the data; must describe an object. */
    schema: Type.Object({ type: Type.Literal("object") }, { additionalProperties: true }),
    constraints: Type.Optional(Type.Array(ConstraintSchema, { maxItems: 100 })),
    layout: LayoutSchema,
  },
  { additionalProperties: false },
);

export type TemplateDefinition = Static<typeof TemplateDefinitionSchema>;
export type LayoutDefinition = Static<typeof LayoutSchema>;
export type LayoutBlock = Static<typeof LayoutBlockSchema>;
export type TemplateConstraint = Static<typeof ConstraintSchema>;
export type FontRole = keyof LayoutDefinition["fonts"];
