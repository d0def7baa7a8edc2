/**
 * Checking document data against a template, in three steps that each list
 * every offending field (JSON Pointer, RFC 6901) rather than the first:
 *
 * 1. the template's JSON Schema (2020-12), with TypeBox's validator (no
 *    extra dependency), plus two formats of our own: `lu-matricule`
 *    (./lu-identifiers.ts) and `lu-provider-code`;
 * 2. the template's cross-field constraints (an end date not before the
 *    start date…), which JSON Schema cannot say;
 * 3. printability: every character of every string must have a glyph in
 *    the template's fonts, or the PDF would show empty boxes.
 */
import { Format } from "typebox/format";
import { Compile, Meta } from "typebox/schema";
import { Settings } from "typebox/system";
import type { InvalidParam } from "../../../errors/index.js";
import { Decimal } from "./decimal.js";
import { isCnsProviderCode, isLuxembourgMatricule } from "./lu-identifiers.js";
import type { TemplateConstraint } from "./template-definition.js";

/** An offending field, relative to the data object (the caller adds where the data sits in its request). */
export interface DataProblem {
  pointer: string;
  detail: string;
}

const CUSTOM_FORMATS: Record<string, (value: string) => boolean> = {
  "lu-matricule": isLuxembourgMatricule,
  "lu-provider-code": isCnsProviderCode,
};

const FORMAT_DESCRIPTIONS: Record<string, string> = {
  "lu-matricule": "must be a Luxembourg national identification number (13 digits, valid check digits)",
  "lu-provider-code": "must be a CNS provider code (6 digits, a dash, 2 digits)",
  date: "must be a calendar date (YYYY-MM-DD)",
  "date-time": "must be a date and time (RFC 3339)",
  email: "must be an e-mail address",
};

/** Raw validator errors gathered per document (TypeBox's default of 8 would hide fields of a badly filled form). */
const MAX_SCHEMA_ERRORS = 64;

/**
 * TypeBox keeps formats and limits in process-wide settings. Ours are
 * (re)applied before each validation: cheap, and robust to anything that
 * resets them (an unknown format passes, which would silently drop the
 * check). The error limit is only ever raised, never lowered.
 */
function configureTypebox(): void {
  for (const [name, check] of Object.entries(CUSTOM_FORMATS)) {
    if (Format.Get(name) !== check) Format.Set(name, check);
  }
  if (Settings.Get().maxErrors < MAX_SCHEMA_ERRORS) Settings.Set({ maxErrors: MAX_SCHEMA_ERRORS });
}

function escapePointerSegment(segment: string): string {
  return segment.replaceAll("~", "~0").replaceAll("/", "~1");
}

interface TypeboxError {
  keyword: string;
  schemaPath: string;
  instancePath: string;
  params: Record<string, unknown>;
  message: string;
}

function describeError(error: TypeboxError): DataProblem[] {
  const { keyword, instancePath, params } = error;
  switch (keyword) {
    case "required":
      return ((params.requiredProperties as string[] | undefined) ?? []).map((name) => ({
        pointer: `${instancePath}/${escapePointerSegment(name)}`,
        detail: "is required",
      }));
    case "additionalProperties":
      return ((params.additionalProperties as string[] | undefined) ?? []).map((name) => ({
        pointer: `${instancePath}/${escapePointerSegment(name)}`,
        detail: "is not a member of this document",
      }));
    case "boolean":
      // The `false` subschema of additionalProperties: reported above, once, with a clearer message.
      return error.schemaPath.endsWith("/additionalProperties") ? [] : [{ pointer: instancePath, detail: error.message }];
    case "enum":
      return [{ pointer: instancePath, detail: `must be one of: ${((params.allowedValues as unknown[] | undefined) ?? []).map((v) => JSON.stringify(v)).join(", ")}` }];
    case "const":
      return [{ pointer: instancePath, detail: `must be ${JSON.stringify(params.allowedValue)}` }];
    case "format": {
      const format = String(params.format);
      return [{ pointer: instancePath, detail: FORMAT_DESCRIPTIONS[format] ?? `must be a valid ${format}` }];
    }
    default:
      return [{ pointer: instancePath, detail: error.message }];
  }
}

export type DataValidator = (data: unknown) => DataProblem[];

/** Checks that a value is a JSON Schema: the draft 2020-12 meta-schema, which TypeBox ships. */
export type SchemaChecker = (schema: unknown) => string | undefined;

export function createSchemaChecker(): SchemaChecker {
  const metaSchema = Meta["https://json-schema.org/draft/2020-12/schema"];
  const validator = Compile(Meta, metaSchema);
  return (schema) => {
    const [valid, errors] = validator.Errors(schema);
    if (valid) return undefined;
    const first = errors[0];
    return `not a JSON Schema (2020-12): ${first?.instancePath || "/"} ${first?.message ?? ""}`.trim();
  };
}

/**
 * Compiles a template's data schema; throws TypeError if it is not a JSON
 * Schema (TypeBox compiles many non-schemas without complaint) or does not
 * compile.
 */
export function compileDataValidator(schema: Record<string, unknown>, checkSchema: SchemaChecker): DataValidator {
  configureTypebox();
  const problem = checkSchema(schema);
  if (problem !== undefined) throw new TypeError(problem);
  const validator = Compile(schema as Parameters<typeof Compile>[0]);
  return (data) => {
    configureTypebox();
    // The compiled check is fast; gathering errors walks the schema again, only for bad data.
    if (validator.Check(data)) return [];
    const [, errors] = validator.Errors(data);
    // One problem per field: a format's description says more than the pattern that backs it.
    const byPointer = new Map<string, { detail: string; fromFormat: boolean }>();
    for (const error of errors as TypeboxError[]) {
      const fromFormat = error.keyword === "format";
      for (const problem of describeError(error)) {
        const known = byPointer.get(problem.pointer);
        if (known === undefined || (fromFormat && !known.fromFormat)) byPointer.set(problem.pointer, { detail: problem.detail, fromFormat });
      }
    }
    return [...byPointer].map(([pointer, { detail }]) => ({ pointer, detail }));
  };
}

/** RFC 6901 §4 decoding of one segment. */
function decodePointerSegment(segment: string): string {
  return segment.replaceAll("~1", "/").replaceAll("~0", "~");
}

interface Located {
  pointer: string;
  value: unknown;
  /** Indexes taken by the `*` segments, in order. */
  indexes: number[];
}

function locate(data: unknown, pointer: string, indexes?: readonly number[]): Located[] {
  let found: Located[] = [{ pointer: "", value: data, indexes: [] }];
  for (const raw of pointer.split("/").slice(1)) {
    const next: Located[] = [];
    for (const current of found) {
      const { value } = current;
      if (raw === "*") {
        if (!Array.isArray(value)) continue;
        const wanted = indexes?.[current.indexes.length];
        value.forEach((item, index) => {
          if (wanted === undefined || wanted === index) {
            next.push({ pointer: `${current.pointer}/${index}`, value: item, indexes: [...current.indexes, index] });
          }
        });
        continue;
      }
      const segment = decodePointerSegment(raw);
      if (value !== null && typeof value === "object" && Object.hasOwn(value, segment)) {
        next.push({ pointer: `${current.pointer}/${raw}`, value: (value as Record<string, unknown>)[segment], indexes: current.indexes });
      }
    }
    found = next;
  }
  return found;
}

function compareValues(kind: TemplateConstraint["kind"], value: unknown, reference: unknown): boolean | undefined {
  if (kind === "not-before" || kind === "not-after") {
    // ISO 8601 calendar dates (YYYY-MM-DD) order as strings.
    if (typeof value !== "string" || typeof reference !== "string") return undefined;
    return kind === "not-before" ? value >= reference : value <= reference;
  }
  if (typeof value !== "number" || typeof reference !== "number") return undefined;
  return !Decimal.fromNumber(reference).minus(Decimal.fromNumber(value)).isNegative();
}

/** The template's cross-field rules; a value or reference that is absent is left to the schema. */
export function checkConstraints(constraints: readonly TemplateConstraint[], data: unknown): DataProblem[] {
  const problems: DataProblem[] = [];
  for (const constraint of constraints) {
    for (const checked of locate(data, constraint.pointer)) {
      const [reference] = locate(data, constraint.reference, checked.indexes);
      if (reference === undefined) continue;
      if (compareValues(constraint.kind, checked.value, reference.value) === false) {
        problems.push({ pointer: checked.pointer, detail: constraint.message });
      }
    }
  }
  return problems;
}

/** Whether a character can be printed: a glyph in every font, and not a control character (a line feed is a line break). */
export type GlyphCoverage = (codePoint: number) => boolean;

function describeCodePoint(codePoint: number): string {
  return `U+${codePoint.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** Lists the strings of `data` holding characters the fonts cannot print. */
export function checkPrintable(data: unknown, covered: GlyphCoverage): DataProblem[] {
  const problems: DataProblem[] = [];
  const visit = (value: unknown, pointer: string): void => {
    if (typeof value === "string") {
      const missing = new Set<number>();
      for (const char of value) {
        const codePoint = char.codePointAt(0)!;
        if (codePoint === 0x0a) continue;
        if (codePoint < 0x20 || (codePoint >= 0x7f && codePoint < 0xa0) || !covered(codePoint)) missing.add(codePoint);
      }
      if (missing.size > 0) {
        const list = [...missing].slice(0, 5).map(describeCodePoint).join(", ");
        problems.push({ pointer, detail: `contains characters the document cannot print (${list}${missing.size > 5 ? ", …" : ""})` });
      }
    } else if (Array.isArray(value)) {
      value.forEach((item, index) => visit(item, `${pointer}/${index}`));
    } else if (value !== null && typeof value === "object") {
      for (const [key, item] of Object.entries(value)) visit(item, `${pointer}/${escapePointerSegment(key)}`);
    }
  };
  visit(data, "");
  return problems;
}

export function toInvalidParams(problems: readonly DataProblem[], pointerPrefix: string): InvalidParam[] {
  return problems.map((problem) => ({ in: "body", pointer: `${pointerPrefix}${problem.pointer}`, detail: problem.detail }));
}
