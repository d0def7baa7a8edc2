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

/** Checks that a value is a usable data schema; returns why not, or undefined. */
export type SchemaChecker = (schema: unknown) => string | undefined;

const DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema";
/** Keywords of the meta-schema that only annotate, or identify its own resources: no bearing on validation. */
const META_ANNOTATIONS = new Set(["$schema", "$id", "$dynamicAnchor", "$vocabulary", "title", "$comment", "default", "deprecated"]);
/**
 * Formats the draft 2020-12 meta-schema only annotates (format-annotation
 * vocabulary, JSON Schema Validation 2020-12 §7.2.1). TypeBox would assert
 * them, with regular expressions V8 takes ~25 ms to compile the first time;
 * what matters in them — that references resolve — unresolvedReference()
 * checks. `regex` stays asserted: TypeBox compiles every `pattern` with
 * `new RegExp(…, "u")`, and a bad one must fail when the template loads.
 */
const ANNOTATION_ONLY_FORMATS = new Set(["uri", "uri-reference"]);

/**
 * The draft 2020-12 meta-schema that TypeBox ships, flattened into one
 * static schema: its seven vocabulary meta-schemas (an `allOf`, each
 * declaring different keywords) merged into one `properties`, their
 * `$defs` into one, and `$dynamicRef: "#meta"` — which, with no extension
 * of the meta-schema, always lands on its root — made a plain `$ref: "#"`.
 * It accepts what the original accepts (data-validation.test.ts compares
 * them). Compiling it costs ~15 ms, once per store (sets lend it on), and
 * checking a schema then takes microseconds; the original, with TypeBox
 * resolving its dynamic references, cost ~200 ms per template set.
 */
function flattenedMetaSchema(): Record<string, unknown> {
  const meta = Meta[DRAFT_2020_12] as unknown as { allOf: Record<string, unknown>[]; properties: Record<string, unknown> };
  const rewrite = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(rewrite);
    if (node === null || typeof node !== "object") return node;
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) {
      if (META_ANNOTATIONS.has(key)) continue;
      if (key === "$dynamicRef") {
        if (value !== "#meta") throw new Error(`unexpected $dynamicRef ${String(value)} in the 2020-12 meta-schema`);
        out.$ref = "#";
      } else if (key === "$ref") {
        // "#/$defs/x" or "meta/validation#/$defs/x": every $defs lands in the merged one.
        out.$ref = String(value).slice(String(value).indexOf("#"));
      } else if (key === "format" && ANNOTATION_ONLY_FORMATS.has(String(value))) {
        continue;
      } else {
        out[key] = rewrite(value);
      }
    }
    return out;
  };
  const properties: Record<string, unknown> = {};
  const defs: Record<string, unknown> = {};
  const merge = (into: Record<string, unknown>, from: unknown): void => {
    for (const [key, value] of Object.entries((from ?? {}) as Record<string, unknown>)) {
      if (Object.hasOwn(into, key)) throw new Error(`the 2020-12 meta-schema declares ${key} twice`);
      into[key] = rewrite(value);
    }
  };
  for (const vocabulary of [...meta.allOf, { properties: meta.properties }]) {
    merge(properties, vocabulary.properties);
    merge(defs, vocabulary.$defs);
  }
  return { type: ["object", "boolean"], properties, $defs: defs };
}

/** RFC 6901 §3 with the URI fragment's percent-encoding (RFC 6901 §6). */
function resolvePointer(root: unknown, pointer: string): boolean {
  let node = root;
  for (const raw of pointer.split("/").slice(1)) {
    let segment: string;
    try {
      segment = decodePointerSegment(decodeURIComponent(raw));
    } catch {
      return false;
    }
    if (node === null || typeof node !== "object" || !Object.hasOwn(node, segment)) return false;
    node = (node as Record<string, unknown>)[segment];
  }
  return true;
}

/** Keywords whose value is a schema, a map of schemas, or a list of schemas (JSON Schema Core 2020-12 §10, §8.2.4). */
const SCHEMA_KEYWORDS = new Set(["additionalProperties", "contains", "contentSchema", "else", "if", "items", "not", "propertyNames", "then", "unevaluatedItems", "unevaluatedProperties"]);
const SCHEMA_MAP_KEYWORDS = new Set(["$defs", "definitions", "dependentSchemas", "patternProperties", "properties", "dependencies"]);
const SCHEMA_LIST_KEYWORDS = new Set(["allOf", "anyOf", "oneOf", "prefixItems"]);

/**
 * The first `$ref` or `$dynamicRef` (or `$id`) that does not resolve
 * inside the schema, if any. TypeBox compiles a dangling reference into a
 * validator that refuses every document ("schema is false" at the root); a
 * template schema must be self-contained (no retrieval of other
 * documents), so such a reference is an error of the template, found when
 * it loads.
 * References resolve as JSON Schema Core 2020-12 §8.2 says: against the
 * base URI of the enclosing resource (`$id`), to a resource, a JSON
 * Pointer fragment in it, or an `$anchor` / `$dynamicAnchor` of it.
 */
function unresolvedReference(schema: unknown): string | undefined {
  const resources = new Map<string, unknown>();
  const anchors = new Set<string>();
  const references: { ref: string; base: string }[] = [];
  const withoutFragment = (uri: string): string => uri.split("#")[0]!;
  const visit = (node: unknown, base: string): void => {
    if (node === null || typeof node !== "object" || Array.isArray(node)) return;
    const record = node as Record<string, unknown>;
    if (typeof record.$id === "string") {
      try {
        base = withoutFragment(new URL(record.$id, base).href);
      } catch {
        references.push({ ref: record.$id, base });
        return;
      }
      resources.set(base, node);
    }
    for (const key of ["$anchor", "$dynamicAnchor"]) if (typeof record[key] === "string") anchors.add(`${base}#${record[key]}`);
    for (const key of ["$ref", "$dynamicRef"]) if (typeof record[key] === "string") references.push({ ref: record[key], base });
    for (const [key, value] of Object.entries(record)) {
      if (SCHEMA_KEYWORDS.has(key)) visit(value, base);
      else if (SCHEMA_MAP_KEYWORDS.has(key) && value !== null && typeof value === "object") for (const child of Object.values(value)) visit(child, base);
      else if (SCHEMA_LIST_KEYWORDS.has(key) && Array.isArray(value)) for (const child of value) visit(child, base);
    }
  };
  // The base URI of a schema without an absolute $id (RFC 3986 §5.1.4: the application's default;
  // RFC 2606's .invalid, so that it can never name a real document). Relative $ids resolve against it.
  const rootBase = "https://template-schema.invalid/schema.json";
  resources.set(rootBase, schema);
  visit(schema, rootBase);
  for (const { ref, base } of references) {
    let target: string;
    try {
      target = new URL(ref, base).href;
    } catch {
      return ref;
    }
    const hash = target.indexOf("#");
    const resource = resources.get(hash < 0 ? target : target.slice(0, hash));
    const fragment = hash < 0 ? "" : target.slice(hash + 1);
    const resolves =
      resource !== undefined && (fragment === "" || (fragment.startsWith("/") ? resolvePointer(resource, fragment) : anchors.has(target)));
    if (!resolves) return ref;
  }
  return undefined;
}

/**
 * Checks that a value is a JSON Schema (the draft 2020-12 meta-schema,
 * which TypeBox ships, flattened) whose references resolve. Compile once
 * and share: the template sets built one after another lend it on.
 */
export function createSchemaChecker(): SchemaChecker {
  const validator = Compile(flattenedMetaSchema() as Parameters<typeof Compile>[0]);
  return (schema) => {
    // The compiled check is fast; the errors, which walk the meta-schema again, only for a bad schema.
    if (!validator.Check(schema)) {
      const [, errors] = validator.Errors(schema);
      const first = errors[0];
      return `not a JSON Schema (2020-12): ${first?.instancePath || "/"} ${first?.message ?? ""}`.trim();
    }
    const dangling = unresolvedReference(schema);
    return dangling === undefined ? undefined : `the reference ${JSON.stringify(dangling)} does not resolve within the schema`;
  };
}

/**
 * Checks a template's data schema now (TypeError if it is not a JSON
 * Schema, or refers outside itself) and compiles its validator on first
 * use: a gateway start does not pay for the templates it never renders,
 * and a package is still refused at sync for a bad schema — compiling can
 * then only fail on what the checks let through, which nothing known does
 * (TypeBox throws only for a `pattern` that is no regular expression).
 */
export function compileDataValidator(schema: Record<string, unknown>, checkSchema: SchemaChecker): DataValidator {
  configureTypebox();
  const problem = checkSchema(schema);
  if (problem !== undefined) throw new TypeError(problem);
  let validator: ReturnType<typeof Compile> | undefined;
  return (data) => {
    configureTypebox();
    validator ??= Compile(schema as Parameters<typeof Compile>[0]);
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
  // The path is kept as segments and written as a pointer only for a string with a problem: most have none.
  const path: (string | number)[] = [];
  const visit = (value: unknown): void => {
    if (typeof value === "string") {
      let missing: Set<number> | undefined;
      for (const char of value) {
        const codePoint = char.codePointAt(0)!;
        if (codePoint === 0x0a) continue;
        if (codePoint < 0x20 || (codePoint >= 0x7f && codePoint < 0xa0) || !covered(codePoint)) (missing ??= new Set()).add(codePoint);
      }
      if (missing !== undefined) {
        const list = [...missing].slice(0, 5).map(describeCodePoint).join(", ");
        const pointer = path.map((segment) => `/${typeof segment === "number" ? segment : escapePointerSegment(segment)}`).join("");
        problems.push({ pointer, detail: `contains characters the document cannot print (${list}${missing.size > 5 ? ", …" : ""})` });
      }
    } else if (Array.isArray(value)) {
      value.forEach((item, index) => {
        path.push(index);
        visit(item);
        path.pop();
      });
    } else if (value !== null && typeof value === "object") {
      for (const [key, item] of Object.entries(value)) {
        path.push(key);
        visit(item);
        path.pop();
      }
    }
  };
  visit(data);
  return problems;
}

export function toInvalidParams(problems: readonly DataProblem[], pointerPrefix: string): InvalidParam[] {
  return problems.map((problem) => ({ in: "body", pointer: `${pointerPrefix}${problem.pointer}`, detail: problem.detail }));
}
