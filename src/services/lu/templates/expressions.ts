/**
 * The small expression language of template texts:
 *
 *   "Matricule : {{ patient.matricule }}"
 *   "{{ incapacity.startDate | date }}"
 *   "{{ sumProduct(acts.*.quantity, acts.*.unitAmount) | amount }}"
 *   "{{ difference(sum(acts.*.amount), sum(acts.*.cnsAmount)) | amount }}"
 *   "{{ incapacity.kind | map:incapacityKinds }}"
 *   "Page {{ @page }} / {{ @pages }}"
 *
 * A path reads the data: dot-separated member names or array indexes, `*`
 * for every item of an array; it starts from the current scope (a table
 * row inside a table, the whole data elsewhere), or from the data's root
 * with `$.`. `@` names render variables (page numbers, the template's id and
 * version). Functions compute amounts exactly (./decimal.ts). Filters format.
 *
 * Texts are parsed once, when a template is loaded, so a syntax error is
 * found when a package is verified, not when a document is rendered.
 */
import { Decimal } from "./decimal.js";

export type Value = string | number | boolean | null | undefined | Decimal | readonly Value[] | { readonly [key: string]: unknown };

export interface EvaluationScope {
  root: unknown;
  current: unknown;
  variables: Readonly<Record<string, string | number>>;
  maps: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

interface PathExpression {
  kind: "path";
  origin: "current" | "root" | "variable";
  segments: string[];
}
interface CallExpression {
  kind: "call";
  name: FunctionName;
  args: (PathExpression | CallExpression)[];
}
interface LiteralExpression {
  kind: "literal";
  value: string;
}
interface Filter {
  name: FilterName;
  arg: string | undefined;
}
export interface Expression {
  source: string;
  primary: PathExpression | CallExpression | LiteralExpression;
  filters: Filter[];
}

export type TextSegment = { kind: "literal"; text: string } | { kind: "expression"; expression: Expression };

export interface TextTemplate {
  source: string;
  segments: readonly TextSegment[];
}

const FUNCTIONS = {
  sum: 1,
  sumProduct: 2,
  product: 2,
  difference: 2,
  count: 1,
} as const;
type FunctionName = keyof typeof FUNCTIONS;

const FILTERS = ["date", "amount", "number", "percent", "upper", "yesno", "map", "default", "join"] as const;
type FilterName = (typeof FILTERS)[number];
const FILTERS_NEEDING_ARGUMENT: ReadonlySet<FilterName> = new Set(["map", "default"]);

export class ExpressionSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ExpressionSyntaxError";
  }
}

const SEGMENT = /^(\*|\d+|[A-Za-z_][A-Za-z0-9_-]*)$/;

function parsePath(text: string, source: string): PathExpression {
  let origin: PathExpression["origin"] = "current";
  let rest = text;
  if (rest.startsWith("$.")) {
    origin = "root";
    rest = rest.slice(2);
  } else if (rest === "$") {
    return { kind: "path", origin: "root", segments: [] };
  } else if (rest.startsWith("@")) {
    origin = "variable";
    rest = rest.slice(1);
  }
  const segments = rest.split(".");
  for (const segment of segments) {
    if (!SEGMENT.test(segment)) throw new ExpressionSyntaxError(`Invalid path "${text}" in "${source}"`);
  }
  if (origin === "variable" && segments.length !== 1) throw new ExpressionSyntaxError(`Invalid variable "${text}" in "${source}"`);
  return { kind: "path", origin, segments };
}

/** Splits on `|` outside quotes. */
function splitPipes(text: string): string[] {
  const parts: string[] = [];
  let quote = false;
  let start = 0;
  for (let i = 0; i < text.length; i += 1) {
    if (text[i] === "'") quote = !quote;
    else if (text[i] === "|" && !quote) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (quote) throw new ExpressionSyntaxError(`Unterminated quote in "${text}"`);
  parts.push(text.slice(start));
  return parts.map((part) => part.trim());
}

function unquote(text: string, source: string): string {
  if (/^'[^']*'$/.test(text)) return text.slice(1, -1);
  if (/^[A-Za-z0-9_-]+$/.test(text)) return text;
  throw new ExpressionSyntaxError(`Invalid argument ${text} in "${source}" (quote it with ')`);
}

/** Splits a call's arguments at the commas that are not inside parentheses. */
function splitArguments(text: string, source: string): string[] {
  const args: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i += 1) {
    if (text[i] === "(") depth += 1;
    else if (text[i] === ")") depth -= 1;
    else if (text[i] === "," && depth === 0) {
      args.push(text.slice(start, i));
      start = i + 1;
    }
    if (depth < 0) throw new ExpressionSyntaxError(`Unbalanced parentheses in "${source}"`);
  }
  if (depth !== 0) throw new ExpressionSyntaxError(`Unbalanced parentheses in "${source}"`);
  args.push(text.slice(start));
  return args.map((arg) => arg.trim());
}

function parseOperand(text: string, source: string, depth: number): PathExpression | CallExpression {
  const call = /^([A-Za-z]+)\((.*)\)$/s.exec(text);
  if (call === null) return parsePath(text, source);
  if (depth > 8) throw new ExpressionSyntaxError(`Calls nested too deep in "${source}"`);
  const name = call[1]!;
  if (!Object.hasOwn(FUNCTIONS, name)) throw new ExpressionSyntaxError(`Unknown function ${name} in "${source}"`);
  const args = splitArguments(call[2]!, source).map((arg) => parseOperand(arg, source, depth + 1));
  if (args.length !== FUNCTIONS[name as FunctionName]) {
    throw new ExpressionSyntaxError(`${name} takes ${FUNCTIONS[name as FunctionName]} argument(s) in "${source}"`);
  }
  return { kind: "call", name: name as FunctionName, args };
}

export function parseExpression(source: string): Expression {
  const [primaryText = "", ...filterTexts] = splitPipes(source.trim());
  const primary: Expression["primary"] = primaryText.startsWith("'")
    ? { kind: "literal", value: unquote(primaryText, source) }
    : parseOperand(primaryText, source, 0);
  const filters = filterTexts.map((text): Filter => {
    const colon = text.indexOf(":");
    const name = (colon < 0 ? text : text.slice(0, colon)).trim();
    if (!(FILTERS as readonly string[]).includes(name)) throw new ExpressionSyntaxError(`Unknown filter "${name}" in "${source}"`);
    const filterName = name as FilterName;
    const arg = colon < 0 ? undefined : unquote(text.slice(colon + 1).trim(), source);
    if (FILTERS_NEEDING_ARGUMENT.has(filterName) && arg === undefined) {
      throw new ExpressionSyntaxError(`Filter ${filterName} needs an argument in "${source}"`);
    }
    return { name: filterName, arg };
  });
  return { source, primary, filters };
}

/** Parses `"text {{ expression }} text"`. */
export function parseTextTemplate(source: string): TextTemplate {
  const segments: TextSegment[] = [];
  let rest = source;
  while (rest.length > 0) {
    const open = rest.indexOf("{{");
    if (open < 0) {
      if (rest.includes("}}")) throw new ExpressionSyntaxError(`Unbalanced "}}" in "${source}"`);
      segments.push({ kind: "literal", text: rest });
      break;
    }
    if (open > 0) {
      const literal = rest.slice(0, open);
      if (literal.includes("}}")) throw new ExpressionSyntaxError(`Unbalanced "}}" in "${source}"`);
      segments.push({ kind: "literal", text: literal });
    }
    const close = rest.indexOf("}}", open + 2);
    if (close < 0) throw new ExpressionSyntaxError(`Unterminated "{{" in "${source}"`);
    segments.push({ kind: "expression", expression: parseExpression(rest.slice(open + 2, close)) });
    rest = rest.slice(close + 2);
  }
  return { source, segments };
}

/** The literal characters of a text (to check the fonts cover them when the template is loaded). */
export function literalTextOf(template: TextTemplate): string {
  return template.segments.map((segment) => (segment.kind === "literal" ? segment.text : "")).join("");
}

/** Map names and variable names a text refers to (checked against the layout when loaded). */
export function referencesOf(template: TextTemplate): { maps: string[]; variables: string[] } {
  const maps: string[] = [];
  const variables: string[] = [];
  for (const segment of template.segments) {
    if (segment.kind !== "expression") continue;
    const { primary, filters } = segment.expression;
    if (primary.kind === "path" && primary.origin === "variable") variables.push(primary.segments[0]!);
    for (const filter of filters) if (filter.name === "map" && filter.arg !== undefined) maps.push(filter.arg);
  }
  return { maps, variables };
}

function resolvePath(path: PathExpression, scope: EvaluationScope): Value {
  if (path.origin === "variable") return scope.variables[path.segments[0]!];
  let values: unknown[] = [path.origin === "root" ? scope.root : scope.current];
  let spread = false;
  for (const segment of path.segments) {
    const next: unknown[] = [];
    for (const value of values) {
      if (segment === "*") {
        spread = true;
        if (Array.isArray(value)) next.push(...value);
      } else if (Array.isArray(value) && /^\d+$/.test(segment)) {
        next.push(value[Number(segment)]);
      } else if (value !== null && typeof value === "object" && !Array.isArray(value) && Object.hasOwn(value, segment)) {
        next.push((value as Record<string, unknown>)[segment]);
      } else {
        next.push(undefined);
      }
    }
    values = next;
  }
  return (spread ? values : values[0]) as Value;
}

function toDecimal(value: Value): Decimal | undefined {
  if (value instanceof Decimal) return value;
  if (typeof value === "number" && Number.isFinite(value)) return Decimal.fromNumber(value);
  return undefined;
}

function decimalsOf(value: Value): Decimal[] {
  const list = Array.isArray(value) ? (value as Value[]) : [value];
  return list.map(toDecimal).filter((d): d is Decimal => d !== undefined);
}

function evaluateCall(call: CallExpression, scope: EvaluationScope): Value {
  const args = call.args.map((arg) => (arg.kind === "call" ? evaluateCall(arg, scope) : resolvePath(arg, scope)));
  switch (call.name) {
    case "sum":
      return decimalsOf(args[0]).reduce((total, d) => total.plus(d), Decimal.ZERO);
    case "count":
      return Array.isArray(args[0]) ? (args[0] as Value[]).filter((v) => v !== undefined).length : args[0] === undefined ? 0 : 1;
    case "product":
    case "difference": {
      const [a, b] = [toDecimal(args[0]), toDecimal(args[1])];
      if (a === undefined || b === undefined) return undefined;
      return call.name === "product" ? a.times(b) : a.minus(b);
    }
    case "sumProduct": {
      const left = Array.isArray(args[0]) ? (args[0] as Value[]) : [args[0]];
      const right = Array.isArray(args[1]) ? (args[1] as Value[]) : [args[1]];
      let total = Decimal.ZERO;
      left.forEach((value, i) => {
        const [a, b] = [toDecimal(value), toDecimal(right[i])];
        if (a !== undefined && b !== undefined) total = total.plus(a.times(b));
      });
      return total;
    }
  }
}

const NBSP = "\u00a0";

/** `1234567.5` → `1 234 567,5` (French: comma, no-break spaces between thousands). */
function frenchNumber(fixedText: string): string {
  const negative = fixedText.startsWith("-");
  const [integer = "0", fraction] = (negative ? fixedText.slice(1) : fixedText).split(".");
  const grouped = integer.replace(/\B(?=(\d{3})+(?!\d))/g, NBSP);
  return `${negative ? "-" : ""}${grouped}${fraction === undefined ? "" : `,${fraction}`}`;
}

function trimFraction(fixedText: string): string {
  return fixedText.includes(".") ? fixedText.replace(/\.?0+$/, "") : fixedText;
}

function applyFilter(value: Value, filter: Filter, scope: EvaluationScope): Value {
  switch (filter.name) {
    case "date": {
      const match = typeof value === "string" ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(value) : null;
      return match === null ? value : `${match[3]}/${match[2]}/${match[1]}`;
    }
    case "amount": {
      const decimal = toDecimal(value);
      return decimal === undefined ? value : `${frenchNumber(decimal.round(2).toFixedText())}${NBSP}€`;
    }
    case "number": {
      const decimal = toDecimal(value);
      return decimal === undefined ? value : frenchNumber(trimFraction(decimal.toFixedText()));
    }
    case "percent": {
      const decimal = toDecimal(value);
      return decimal === undefined ? value : `${frenchNumber(trimFraction(decimal.toFixedText()))}${NBSP}%`;
    }
    case "upper":
      return typeof value === "string" ? value.toLocaleUpperCase("fr-LU") : value;
    case "yesno":
      return typeof value === "boolean" ? (value ? "Oui" : "Non") : value;
    case "map": {
      const table = scope.maps[filter.arg ?? ""];
      return typeof value === "string" && table !== undefined && Object.hasOwn(table, value) ? table[value] : value;
    }
    case "default":
      return isPresent(value) ? value : filter.arg;
    case "join":
      return Array.isArray(value) ? (value as Value[]).map(displayText).filter((text) => text !== "").join(filter.arg ?? ", ") : value;
  }
}

export function evaluate(expression: Expression, scope: EvaluationScope): Value {
  const { primary } = expression;
  let value: Value =
    primary.kind === "literal" ? primary.value : primary.kind === "call" ? evaluateCall(primary, scope) : resolvePath(primary, scope);
  for (const filter of expression.filters) value = applyFilter(value, filter, scope);
  return value;
}

/** How a value prints when no filter formatted it. */
export function displayText(value: Value): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return value ? "Oui" : "Non";
  if (typeof value === "number" || value instanceof Decimal) {
    const decimal = toDecimal(value);
    return decimal === undefined ? "" : frenchNumber(trimFraction(decimal.toFixedText()));
  }
  if (Array.isArray(value)) return (value as Value[]).map(displayText).filter((text) => text !== "").join(", ");
  return "";
}

/** Whether a `when` condition holds: the value exists and is not false, empty or an empty list. */
export function isPresent(value: Value): boolean {
  if (value === undefined || value === null || value === false || value === "") return false;
  if (Array.isArray(value)) return value.some((item) => isPresent(item as Value));
  return true;
}

export function renderText(template: TextTemplate, scope: EvaluationScope): string {
  return template.segments
    .map((segment) => (segment.kind === "literal" ? segment.text : displayText(evaluate(segment.expression, scope))))
    .join("");
}
