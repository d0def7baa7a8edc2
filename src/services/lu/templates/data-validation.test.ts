import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Compile, Meta } from "typebox/schema";
import { beforeAll, describe, expect, it } from "vitest";
import { checkPrintable, compileDataValidator, createSchemaChecker, type SchemaChecker } from "./data-validation.js";
import { builtinTemplatesDirectory } from "./package-directory.js";
import { sampleEcitData } from "./test-fixtures.js";

let checkSchema: SchemaChecker;
let ecitSchema: Record<string, unknown>;

beforeAll(async () => {
  checkSchema = createSchemaChecker();
  const template = JSON.parse(await readFile(join(builtinTemplatesDirectory(), "templates", "lu-ecit.json"), "utf8")) as { schema: Record<string, unknown> };
  ecitSchema = template.schema;
});

describe("createSchemaChecker", () => {
  /** Values the flattened meta-schema must judge as TypeBox's own draft 2020-12 meta-schema does. */
  const corpus: [string, unknown][] = [
    ["an object schema", { type: "object", properties: { a: { type: "string", minLength: 1 } }, required: ["a"], additionalProperties: false }],
    ["boolean schemas", { properties: { yes: true, no: false }, items: false }],
    ["nested applicators", { allOf: [{ anyOf: [{ type: "number" }, { type: "null" }] }], not: { const: 3 }, if: { minimum: 0 }, then: { maximum: 9 }, else: true }],
    ["type lists", { type: ["string", "null"], enum: ["a", null] }],
    ["dependent schemas and legacy dependencies", { dependentSchemas: { a: { required: ["b"] } }, dependencies: { c: ["d"], e: { type: "object" } } }],
    ["a string as properties", { properties: "no" }],
    ["a number as properties", { type: "object", properties: 42 }],
    ["required not an array", { required: "a" }],
    ["required with duplicates", { required: ["a", "a"] }],
    ["an unknown type", { type: "nope" }],
    ["a negative minLength", { minLength: -1 }],
    ["a fractional maxItems", { maxItems: 1.5 }],
    ["items as a number", { items: 5 }],
    ["a $defs member that is no schema", { $defs: { a: 3 } }],
    ["a bad schema deep inside", { properties: { a: { properties: { b: { type: 7 } } } } }],
    ["an empty allOf", { allOf: [] }],
    ["an invalid pattern", { pattern: "(" }],
    ["an invalid patternProperties key", { patternProperties: { "(": {} } }],
    ["an anchor with a space", { $anchor: "a b" }],
    ["an $id with a fragment", { $id: "https://example.org/s#x" }],
    ["a number", 3],
    ["an array", [{}]],
    ["true", true],
  ];

  let reference: ReturnType<typeof Compile>;

  beforeAll(() => {
    reference = Compile(Meta, Meta["https://json-schema.org/draft/2020-12/schema"]);
  });

  it.each(corpus)("judges %s as the 2020-12 meta-schema does", (_label, value) => {
    expect(checkSchema(value) === undefined).toBe(reference.Check(value));
  });

  it("checks identifiers by resolving them, not with the URI formats the meta-schema only annotates", () => {
    expect(checkSchema({ $id: "lu-ecit", $defs: { a: true }, $ref: "#/$defs/a" })).toBeUndefined();
    expect(checkSchema({ $id: "lu-ecit", $ref: "lu-fee-note#/$defs/a" })).toMatch(/does not resolve/);
    expect(checkSchema({ $ref: "::" })).toMatch(/does not resolve/);
    expect(checkSchema({ $ref: "http://[" })).toMatch(/does not resolve/);
    // $schema names a dialect; TypeBox ignores it, and so may the check.
    expect(checkSchema({ $schema: "draft 2020-12", type: "object" })).toBeUndefined();
    expect(reference.Check({ $schema: "draft 2020-12", type: "object" })).toBe(false);
  });

  it("says where a schema is wrong", () => {
    expect(checkSchema({ type: "object", properties: 42 })).toMatch(/^not a JSON Schema \(2020-12\): \/properties /);
    expect(checkSchema(ecitSchema)).toBeUndefined();
  });

  it.each([
    ["a missing $defs member", { $ref: "#/$defs/nope", $defs: { yes: {} } }, "#/$defs/nope"],
    ["another document", { properties: { a: { $ref: "other.json#/x" } } }, "other.json#/x"],
    ["an absolute URI", { items: { $ref: "https://json-schema.org/draft/2020-12/schema" } }, "https://json-schema.org/draft/2020-12/schema"],
    ["a missing anchor", { $ref: "#nowhere" }, "#nowhere"],
    ["a dynamic reference without its anchor", { $dynamicRef: "#meta" }, "#meta"],
  ])("refuses a reference to %s", (_label, schema, ref) => {
    expect(checkSchema(schema)).toBe(`the reference ${JSON.stringify(ref)} does not resolve within the schema`);
  });

  it("accepts references that resolve: pointers, anchors, escaped names, embedded resources", () => {
    for (const schema of [
      { $ref: "#", type: "object" },
      { $defs: { "a/b": { type: "string" }, "c~d": { type: "string" }, "e f": true }, properties: { x: { $ref: "#/$defs/a~1b" }, y: { $ref: "#/$defs/c~0d" }, z: { $ref: "#/$defs/e%20f" } } },
      { $defs: { named: { $anchor: "here", type: "string" } }, items: { $ref: "#here" } },
      { $dynamicAnchor: "node", properties: { children: { type: "array", items: { $dynamicRef: "#node" } } } },
      { $id: "https://example.org/root.json", $defs: { part: { $id: "part.json", $defs: { leaf: { type: "integer" } }, $ref: "#/$defs/leaf" } }, $ref: "part.json" },
      ecitSchema,
    ]) {
      expect(checkSchema(schema), JSON.stringify(schema)).toBeUndefined();
    }
  });
});

describe("compileDataValidator", () => {
  it("refuses a schema when the template loads, though its validator is compiled on first use", () => {
    expect(() => compileDataValidator({ type: "object", properties: { a: { type: "string", pattern: "(" } } }, checkSchema)).toThrow(TypeError);
    expect(() => compileDataValidator({ $ref: "#/$defs/missing" }, checkSchema)).toThrow(/does not resolve/);
  });

  it("lists every offending field on its first use, as it does afterwards", () => {
    const bad = sampleEcitData();
    const patient = bad.patient as Record<string, unknown>;
    delete patient.lastName;
    patient.matricule = "1985061512348";
    (bad.incapacity as Record<string, unknown>).kind = "grippe";
    bad.comment = "not in the schema";
    const expected = [
      { pointer: "/comment", detail: "is not a member of this document" },
      { pointer: "/incapacity/kind", detail: expect.stringContaining('"accident-travail"') as unknown },
      { pointer: "/patient/lastName", detail: "is required" },
      { pointer: "/patient/matricule", detail: expect.stringMatching(/Luxembourg national identification number/) as unknown },
    ];
    const byPointer = (problems: { pointer: string }[]) => [...problems].sort((a, b) => (a.pointer < b.pointer ? -1 : 1));

    const fresh = compileDataValidator(ecitSchema, checkSchema);
    expect(byPointer(fresh(bad))).toEqual(expected);
    expect(byPointer(fresh(bad))).toEqual(expected);
    expect(fresh(sampleEcitData())).toEqual([]);

    const freshForValidData = compileDataValidator(ecitSchema, checkSchema);
    expect(freshForValidData(sampleEcitData())).toEqual([]);
    expect(byPointer(freshForValidData(bad))).toEqual(expected);
  });

  it("would refuse every document of a schema with a dangling reference (why the checker refuses it at load)", () => {
    const validate = compileDataValidator({ $ref: "#/$defs/missing" }, () => undefined);
    expect(validate({ any: "thing" })).toEqual([{ pointer: "", detail: "schema is false" }]);
  });
});

describe("checkPrintable", () => {
  it("points at each string holding characters the fonts lack, escaping member names (RFC 6901)", () => {
    const covered = (codePoint: number): boolean => codePoint < 0x100;
    const problems = checkPrintable({ fine: "é", "a/b": { "c~d": ["ok", "Ω"] }, list: [{ name: "tab\there" }] }, covered);
    expect(problems).toEqual([
      { pointer: "/a~1b/c~0d/1", detail: "contains characters the document cannot print (U+03A9)" },
      { pointer: "/list/0/name", detail: "contains characters the document cannot print (U+0009)" },
    ]);
    expect(checkPrintable("line\nbreak", covered)).toEqual([]);
    expect(checkPrintable("\u0001", covered)).toEqual([{ pointer: "", detail: "contains characters the document cannot print (U+0001)" }]);
  });
});
