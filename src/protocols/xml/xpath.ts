/**
 * XPath 1.0 element selection over the `@xmldom/xmldom` DOM (the `xpath`
 * package). Expressions come from code or configuration, never from the
 * document being processed, so a bad one is the caller's mistake.
 */
import type { Element, Node } from "@xmldom/xmldom";
import * as xpath from "xpath";
import { isElement } from "./dom.js";

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
  let result: xpath.SelectReturnType;
  try {
    // The xpath package is typed against the browser DOM; xmldom implements the same interfaces.
    result = xpath.useNamespaces({ ...namespaces })(expression, context as unknown as globalThis.Node);
  } catch (error) {
    throw new TypeError(`Invalid XPath expression "${expression}": ${(error as Error).message}`, { cause: error });
  }
  if (!Array.isArray(result)) throw new TypeError(`XPath "${expression}" must select elements, not a ${typeof result}`);
  const elements = result as unknown as Node[];
  for (const node of elements) {
    if (!isElement(node)) throw new TypeError(`XPath "${expression}" selected a node that is not an element`);
  }
  return elements as Element[];
}
