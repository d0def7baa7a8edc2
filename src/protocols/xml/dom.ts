/**
 * Small, allocation-light helpers over the `@xmldom/xmldom` DOM, shared by the
 * XML protocols (canonicalization, XML-DSig, SOAP). Walks are iterative so
 * that even a DOM built by code (not limited by the parser's depth limit)
 * cannot overflow the stack.
 */
import type { Document, Element, Node } from "@xmldom/xmldom";

/** http://www.w3.org/2000/xmlns/ — the namespace of `xmlns` and `xmlns:*` attributes (Namespaces in XML §3). */
export const XMLNS_NAMESPACE = "http://www.w3.org/2000/xmlns/";
/** http://www.w3.org/XML/1998/namespace — bound to the `xml` prefix. */
export const XML_NAMESPACE = "http://www.w3.org/XML/1998/namespace";

const ELEMENT_NODE = 1;
const DOCUMENT_NODE = 9;

export function isElement(node: Node | null | undefined): node is Element {
  return node !== null && node !== undefined && node.nodeType === ELEMENT_NODE;
}

export function isDocument(node: Node | null | undefined): node is Document {
  return node !== null && node !== undefined && node.nodeType === DOCUMENT_NODE;
}

/** The element children of `parent`, in document order. */
export function childElements(parent: Node): Element[] {
  const result: Element[] = [];
  for (let child = parent.firstChild; child !== null; child = child.nextSibling) {
    if (isElement(child)) result.push(child);
  }
  return result;
}

/** Whether `element` is in namespace `namespaceURI` with local name `localName`. */
export function isNamed(element: Element, namespaceURI: string, localName: string): boolean {
  return element.namespaceURI === namespaceURI && element.localName === localName;
}

/**
 * Calls `visit` on `root` and every node below it in document order, without
 * recursion. Returning `"skip"` from `visit` skips the node's descendants.
 */
export function walk(root: Node, visit: (node: Node) => void | "skip"): void {
  let node: Node | null = root;
  while (node !== null) {
    const descend = visit(node) !== "skip";
    if (descend && node.firstChild !== null) {
      node = node.firstChild;
      continue;
    }
    while (node !== null && node !== root && node.nextSibling === null) node = node.parentNode;
    if (node === null || node === root) return;
    node = node.nextSibling;
  }
}

/** Whether `node` is `ancestor` or lies below it. */
export function isInside(node: Node, ancestor: Node): boolean {
  for (let current: Node | null = node; current !== null; current = current.parentNode) {
    if (current === ancestor) return true;
  }
  return false;
}
