/**
 * A set of templates compiled from one package: immutable once built. The
 * store swaps whole sets by reference, so a request that took a set keeps
 * rendering with it while a newer one is applied (./template-store.ts).
 *
 * Compiling does everything that can fail before a set is ever used: the
 * template files parse and match the format, their data schemas are JSON
 * Schemas whose references resolve (each schema's validator is compiled
 * when a document of it is first checked: ./data-validation.ts), their
 * texts parse, the fonts load, cover every literal character and subset,
 * the maps and variables they name exist. A package with a broken template
 * is refused as a whole (`template_invalid`).
 */
import { createHash } from "node:crypto";
import { Compile, type Validator } from "typebox/schema";
import {
  checkConstraints,
  checkPrintable,
  compileDataValidator,
  createSchemaChecker,
  toInvalidParams,
  type DataProblem,
  type DataValidator,
  type SchemaChecker,
} from "./data-validation.js";
import { TemplatePackageError, templateDataInvalid, templateUnknown } from "./errors.js";
import {
  ExpressionSyntaxError,
  literalTextOf,
  parseExpression,
  parseTextTemplate,
  referencesOf,
  type Expression,
  type TextTemplate,
} from "./expressions.js";
import { TemplateFont } from "./font-program.js";
import { layoutDocument, type CompiledBlock } from "./layout.js";
import type { TemplatePackage } from "./package-format.js";
import { sha256Hex } from "./package-format.js";
import type { SignablePdf } from "../../../protocols/pades/index.js";
import { lazily } from "../../../lazily.js";
import type { TemplatePdfWriter } from "./pdf-writer.js";
import {
  TemplateDefinitionSchema,
  type FontRole,
  type LayoutBlock,
  type TemplateConstraint,
  type TemplateDefinition,
} from "./template-definition.js";

/** What `list()` and `get()` return about a template (the JSON Schema included, for API documentation and clients). */
export interface TemplateSummary {
  id: string;
  version: string;
  documentType: string;
  title: string;
  description?: string;
  /** JSON Schema (2020-12) of the template's data. */
  schema: Readonly<Record<string, unknown>>;
}

export interface ValidateOptions {
  /** Where the data sits in the caller's request body, prefixed to every pointer (e.g. `/data`). Default "". */
  pointerPrefix?: string;
}

export interface RenderOptions extends ValidateOptions {
  /** Render with this version of the template; default the set's. */
  version?: string;
}

export interface RenderedDocument {
  pdf: Uint8Array;
  /** The same PDF with its parsed form, for `signPdf` (which then does not parse it again); usable once. */
  signable: SignablePdf;
  templateId: string;
  templateVersion: string;
  /** Version of the package the template came from. */
  packageVersion: string;
  /** The PDF's /ID (hex): a function of the template and the data. */
  documentId: string;
  /** SHA-256 (hex) of `pdf`. */
  sha256: string;
  pages: number;
  title: string;
}

/** Where a set came from: the templates shipped with the gateway, or a package from iHub. */
export type TemplateSetOrigin = "builtin" | "ihub";

/** Variables a template text may use with `@`. */
const VARIABLES = new Set(["page", "pages", "templateId", "templateVersion", "packageVersion"]);
const DEFAULT_MARGIN = 50;
const DEFAULT_FONT_SIZE = 9.5;
const DEFAULT_LABEL_WIDTH = 0.36;
const LANGUAGE = "fr-LU";
const CREATOR = "Passerelle";
const DOCUMENT_ID_DOMAIN = "passerelle/lu-template-document/1";

interface CompiledTemplate {
  summary: TemplateSummary;
  /** SHA-256 of the template file: part of every document id. */
  sha256: string;
  validateSchema: DataValidator;
  constraints: readonly TemplateConstraint[];
  blocks: readonly CompiledBlock[];
  footer: TextTemplate | undefined;
  maps: Readonly<Record<string, Readonly<Record<string, string>>>>;
  fonts: Record<FontRole, TemplateFont>;
  margin: number;
  fontSize: number;
  printable: (codePoint: number) => boolean;
  /** The PDF's /Subject and the layout's variables: the same for every document. */
  subject: string;
  variables: Readonly<Record<string, string>>;
}

/**
 * The compiled validators that check template files: the same for every
 * set, so a set lends them to the next (compiling the meta-schema is the
 * larger part of loading a set's schemas).
 */
interface TemplateCheckers {
  definition: Validator;
  schema: SchemaChecker;
}

function invalidTemplate(path: string, detail: string, cause?: unknown): TemplatePackageError {
  return new TemplatePackageError("template_invalid", `${path}: ${detail}`, cause === undefined ? {} : { cause });
}

function loadTemplateFont(path: string, bytes: Buffer | undefined, templatePath: string): TemplateFont {
  if (bytes === undefined) throw invalidTemplate(templatePath, `font ${path} is not in the package`);
  try {
    return new TemplateFont(bytes);
  } catch (error) {
    throw invalidTemplate(templatePath, `font ${path} cannot be used: ${error instanceof Error ? error.message : String(error)}`, error);
  }
}

/** Summaries are shared by every caller of `list()`: nobody may change a schema under the others. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    // RFC 8785 orders members by UTF-16 code units, which is JavaScript's default sort.
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

class TemplateCompiler {
  readonly #pkg: TemplatePackage;
  readonly #fonts = new Map<string, TemplateFont>();
  /** Per font, the characters the templates print themselves (kept in the font's base program). */
  readonly #literalCodePoints = new Map<TemplateFont, Set<number>>();
  readonly checkers: TemplateCheckers;

  constructor(pkg: TemplatePackage, checkers: TemplateCheckers | undefined) {
    this.#pkg = pkg;
    this.checkers = checkers ?? { definition: Compile(TemplateDefinitionSchema), schema: createSchemaChecker() };
  }

  compile(entry: { id: string; version: string; path: string }): CompiledTemplate {
    const bytes = this.#pkg.files.get(entry.path);
    if (bytes === undefined) throw invalidTemplate(entry.path, "missing from the package");
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    } catch (error) {
      throw invalidTemplate(entry.path, "not UTF-8 JSON", error);
    }
    if (!this.checkers.definition.Check(parsed)) {
      const [, errors] = this.checkers.definition.Errors(parsed);
      const first = errors[0];
      throw invalidTemplate(entry.path, `not a template definition at ${first?.instancePath || "/"}: ${first?.message ?? "?"}`);
    }
    const definition = parsed as TemplateDefinition;
    if (definition.id !== entry.id || definition.version !== entry.version) {
      throw invalidTemplate(entry.path, `declares ${definition.id} ${definition.version}, the manifest says ${entry.id} ${entry.version}`);
    }
    let validateSchema: DataValidator;
    try {
      validateSchema = compileDataValidator(definition.schema, this.checkers.schema);
    } catch (error) {
      throw invalidTemplate(entry.path, `its data schema is unusable: ${error instanceof Error ? error.message : String(error)}`, error);
    }
    const fonts: Record<FontRole, TemplateFont> = {
      regular: this.#font(definition.layout.fonts.regular, entry.path),
      bold: this.#font(definition.layout.fonts.bold, entry.path),
    };
    const maps = definition.layout.maps ?? {};
    const texts: TextTemplate[] = [];
    const text = (source: string): TextTemplate => {
      try {
        const parsedText = parseTextTemplate(source);
        texts.push(parsedText);
        return parsedText;
      } catch (error) {
        throw invalidTemplate(entry.path, error instanceof ExpressionSyntaxError ? error.message : "invalid text", error);
      }
    };
    const expression = (source: string | undefined): Expression | undefined => {
      if (source === undefined) return undefined;
      try {
        return parseExpression(source);
      } catch (error) {
        throw invalidTemplate(entry.path, error instanceof ExpressionSyntaxError ? error.message : "invalid expression", error);
      }
    };
    const blocks = definition.layout.blocks.map((block) => this.#compileBlock(block, text, expression, entry.path));
    const footer = definition.layout.footer === undefined ? undefined : text(definition.layout.footer);

    const printable = (codePoint: number): boolean => fonts.regular.hasGlyph(codePoint) && fonts.bold.hasGlyph(codePoint);
    for (const template of texts) {
      const { maps: mapNames, variables } = referencesOf(template);
      for (const name of mapNames) if (!Object.hasOwn(maps, name)) throw invalidTemplate(entry.path, `"${template.source}" uses an undefined map ${name}`);
      for (const name of variables) if (!VARIABLES.has(name)) throw invalidTemplate(entry.path, `"${template.source}" uses an unknown variable @${name}`);
      const unprintable = [...literalTextOf(template)].find((char) => !printable(char.codePointAt(0)!) && char !== "\n");
      if (unprintable !== undefined) throw invalidTemplate(entry.path, `"${template.source}" has a character the fonts lack (U+${unprintable.codePointAt(0)!.toString(16).toUpperCase()})`);
    }
    for (const font of [fonts.regular, fonts.bold]) {
      let codePoints = this.#literalCodePoints.get(font);
      if (codePoints === undefined) this.#literalCodePoints.set(font, (codePoints = new Set()));
      for (const template of texts) for (const char of literalTextOf(template)) codePoints.add(char.codePointAt(0)!);
      for (const map of Object.values(maps)) for (const label of Object.values(map)) for (const char of label) codePoints.add(char.codePointAt(0)!);
    }
    for (const [name, map] of Object.entries(maps)) {
      for (const label of Object.values(map)) {
        const unprintable = [...label].find((char) => !printable(char.codePointAt(0)!));
        if (unprintable !== undefined) throw invalidTemplate(entry.path, `map ${name} has a character the fonts lack (U+${unprintable.codePointAt(0)!.toString(16).toUpperCase()})`);
      }
    }

    const coverage = new Map<number, boolean>();
    return {
      summary: Object.freeze({
        id: definition.id,
        version: definition.version,
        documentType: definition.documentType,
        title: definition.title,
        ...(definition.description === undefined ? {} : { description: definition.description }),
        schema: deepFreeze(structuredClone(definition.schema)),
      }),
      sha256: sha256Hex(bytes),
      validateSchema,
      constraints: definition.constraints ?? [],
      blocks,
      footer,
      maps,
      fonts,
      margin: definition.layout.page?.margin ?? DEFAULT_MARGIN,
      fontSize: definition.layout.page?.fontSize ?? DEFAULT_FONT_SIZE,
      subject: `${definition.documentType} — ${definition.title} (modèle ${definition.id} ${definition.version})`,
      variables: Object.freeze({ templateId: definition.id, templateVersion: definition.version, packageVersion: this.#pkg.manifest.packageVersion }),
      printable: (codePoint) => {
        let known = coverage.get(codePoint);
        if (known === undefined) {
          known = printable(codePoint);
          coverage.set(codePoint, known);
        }
        return known;
      },
    };
  }

  /** Builds each font's program once all templates are compiled, taking over those of `previous` that did not change. */
  prepareFonts(previous: ReadonlyMap<string, TemplateFont>): void {
    for (const [font, codePoints] of this.#literalCodePoints) font.prepare(codePoints, previous.get(font.sha256));
  }

  /** The fonts, by SHA-256 of their file. */
  get fonts(): ReadonlyMap<string, TemplateFont> {
    return new Map([...this.#fonts.values()].map((font) => [font.sha256, font]));
  }

  #font(path: string, templatePath: string): TemplateFont {
    let font = this.#fonts.get(path);
    if (font === undefined) {
      font = loadTemplateFont(path, this.#pkg.files.get(path), templatePath);
      this.#fonts.set(path, font);
    }
    return font;
  }

  #compileBlock(
    block: LayoutBlock,
    text: (source: string) => TextTemplate,
    expression: (source: string | undefined) => Expression | undefined,
    path: string,
  ): CompiledBlock {
    switch (block.type) {
      case "title":
        return { type: "title", text: text(block.text), subtitle: block.subtitle === undefined ? undefined : text(block.subtitle), when: expression(block.when) };
      case "paragraph":
        return { type: "paragraph", text: text(block.text), size: block.size, style: block.style ?? "regular", when: expression(block.when) };
      case "section":
        return {
          type: "section",
          title: text(block.title),
          rows: block.rows.map((row) => ({ label: text(row.label), value: text(row.value), when: expression(row.when) })),
          labelWidth: block.labelWidth ?? DEFAULT_LABEL_WIDTH,
          when: expression(block.when),
        };
      case "table": {
        const total = block.columns.reduce((sum, column) => sum + column.width, 0);
        if (Math.abs(total - 1) > 0.001) throw invalidTemplate(path, `the column widths of a table add up to ${total}, not 1`);
        return {
          type: "table",
          title: block.title === undefined ? undefined : text(block.title),
          items: expression(block.items)!,
          columns: block.columns.map((column) => ({ header: text(column.header), value: text(column.value), width: column.width, align: column.align ?? "left" })),
          totals: (block.totals ?? []).map((row) => ({ label: text(row.label), value: text(row.value), when: expression(row.when) })),
          when: expression(block.when),
        };
      }
      case "signature":
        return { type: "signature", label: text(block.label), text: text(block.text), when: expression(block.when) };
      case "spacer":
        return { type: "spacer", height: block.height };
      case "rule":
        return { type: "rule" };
    }
  }
}

export class TemplateSet {
  readonly packageVersion: string;
  /** SHA-256 (hex) of the package manifest. */
  readonly digest: string;
  readonly publisher: string;
  readonly origin: TemplateSetOrigin;
  readonly #templates: ReadonlyMap<string, CompiledTemplate>;
  readonly #fonts: ReadonlyMap<string, TemplateFont>;
  readonly #checkers: TemplateCheckers;
  /** pdf-lib loads with the first document rendered (src/lazily.ts). */
  readonly #writer = lazily(async (): Promise<TemplatePdfWriter> => new (await import("./pdf-writer.js")).TemplatePdfWriter());

  private constructor(pkg: TemplatePackage, origin: TemplateSetOrigin, compiler: TemplateCompiler, templates: ReadonlyMap<string, CompiledTemplate>) {
    this.packageVersion = pkg.manifest.packageVersion;
    this.digest = pkg.digest;
    this.publisher = pkg.manifest.publisher;
    this.origin = origin;
    this.#templates = templates;
    this.#fonts = compiler.fonts;
    this.#checkers = compiler.checkers;
    Object.freeze(this);
  }

  /**
   * Compiles every template of a package whose files were checked against
   * its manifest. Throws `TemplatePackageError` (`template_invalid`).
   * `previous` (the set this one replaces) lends its font programs when a
   * font did not change, and its compiled schema checkers.
   */
  static async compile(pkg: TemplatePackage, origin: TemplateSetOrigin, options: { previous?: TemplateSet } = {}): Promise<TemplateSet> {
    const compiler = new TemplateCompiler(pkg, options.previous === undefined ? undefined : options.previous.#checkers);
    const templates = new Map<string, CompiledTemplate>();
    for (const entry of pkg.manifest.templates) templates.set(entry.id, compiler.compile(entry));
    try {
      compiler.prepareFonts(options.previous === undefined ? new Map() : options.previous.#fonts);
    } catch (error) {
      throw new TemplatePackageError("template_invalid", `A font of the package cannot be subset: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    return new TemplateSet(pkg, origin, compiler, templates);
  }

  /** The templates, sorted by id. */
  list(): TemplateSummary[] {
    return [...this.#templates.values()].map((template) => template.summary).sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** Whether this set holds template `id` (in `version`, when given). */
  has(id: string, version?: string): boolean {
    const template = this.#templates.get(id);
    return template !== undefined && (version === undefined || template.summary.version === version);
  }

  /** Throws `PASSERELLE_TEMPLATE_UNKNOWN` when absent. */
  get(id: string, version?: string): TemplateSummary {
    return this.#template(id, version).summary;
  }

  /**
   * Checks data against the template: schema, constraints, printable
   * characters. Throws a 422 `PASSERELLE_UNPROCESSABLE` listing every
   * offending field.
   */
  validate(id: string, data: unknown, options: RenderOptions = {}): void {
    const template = this.#template(id, options.version);
    this.#validate(template, data, options.pointerPrefix ?? "");
  }

  /** Validates, lays out and writes the PDF. The same data gives the same bytes. */
  async render(id: string, data: unknown, options: RenderOptions = {}): Promise<RenderedDocument> {
    const template = this.#template(id, options.version);
    this.#validate(template, data, options.pointerPrefix ?? "");
    const { summary } = template;
    const laidOut = layoutDocument({
      blocks: template.blocks,
      footer: template.footer,
      fonts: template.fonts,
      margin: template.margin,
      fontSize: template.fontSize,
      data,
      maps: template.maps,
      variables: template.variables,
    });
    const documentId = createHash("sha256")
      .update(DOCUMENT_ID_DOMAIN)
      .update("\u0000")
      .update(template.sha256)
      .update("\u0000")
      .update(canonicalJson(data))
      .digest()
      .subarray(0, 16);
    const signable = await (await this.#writer()).write(laidOut, template.fonts, {
      title: summary.title,
      subject: template.subject,
      language: LANGUAGE,
      creator: CREATOR,
      documentId,
    });
    const pdf = signable.bytes;
    return {
      pdf,
      signable,
      templateId: summary.id,
      templateVersion: summary.version,
      packageVersion: this.packageVersion,
      documentId: documentId.toString("hex"),
      sha256: sha256Hex(pdf),
      pages: laidOut.pages.length,
      title: summary.title,
    };
  }

  #template(id: string, version: string | undefined): CompiledTemplate {
    if (typeof id !== "string") throw new TypeError("template id must be a string");
    const template = this.#templates.get(id);
    if (template === undefined || (version !== undefined && template.summary.version !== version)) {
      throw templateUnknown(id, version, template?.summary.version);
    }
    return template;
  }

  #validate(template: CompiledTemplate, data: unknown, pointerPrefix: string): void {
    let problems: DataProblem[] = template.validateSchema(data);
    // Constraints compare values the schema has vouched for; printing checks only well-typed data.
    if (problems.length === 0) problems = checkConstraints(template.constraints, data);
    problems = [...problems, ...checkPrintable(data, template.printable)];
    if (problems.length > 0) {
      throw templateDataInvalid(template.summary.id, template.summary.version, toInvalidParams(problems, pointerPrefix));
    }
  }
}
