/**
 * XPath 1.0 element selection over the `@xmldom/xmldom` DOM (the `xpath`
 * package). Expressions come from code or configuration, never from the
 * document being processed, so a bad one is the caller's mistake.
 */
import { createRequire } from "node:module";
import type { Element, Node } from "@xmldom/xmldom";
import { isElement } from "./dom.js";

/**
 * The `xpath` package, typed here rather than through its declarations: those
 * pull the browser DOM library (`/// <reference lib="dom" />`) into the whole
 * program, whose WebCrypto and fetch globals then clash with Node's.
 */
interface XPathModule {
  useNamespaces(namespaces: Record<string, string>): (expression: string, node: Node) => unknown;
}
let xpath: XPathModule | undefined;
/** Loaded with the first selection: its 170 kB of source are not held by a gateway that never selects. */
const loadXPath = (): XPathModule => (xpath ??= createRequire(import.meta.url)("xpath") as XPathModule);

/** Prefix → namespace URI, for the prefixes an expression uses. */
export type XPathNamespaces = Readonly<Record<string, string>>;

/**
 * The elements `expression` selects from `context`, in document order.
 *
 * @throws TypeError if the expression does not parse or selects something
 *   other than elements.
 *
 * @example
 * ```ts
 * selectElements("/soap:Envelope/soap:Body", doc, { soap: "http://www.w3.org/2003/05/soap-envelope" });
 * ```
 */
export function selectElements(expression: string, context: Node, namespaces: XPathNamespaces = {}): Element[] {
  if (typeof expression !== "string" || expression.length === 0) throw new TypeError("An XPath expression must be a non-empty string");
  const engine = loadXPath();
  let result: unknown;
  try {
    // xmldom implements the DOM interfaces the xpath package walks.
    result = engine.useNamespaces({ ...namespaces })(expression, context);
  } catch (error) {
    throw new TypeError(`Invalid XPath expression "${expression}": ${(error as Error).message}`, { cause: error });
  }
  if (!Array.isArray(result)) throw new TypeError(`XPath "${expression}" must select elements, not a ${typeof result}`);
  const elements = result as Node[];
  for (const node of elements) {
    if (!isElement(node)) throw new TypeError(`XPath "${expression}" selected a node that is not an element`);
  }
  return elements as Element[];
}
