/**
 * Id attributes. XML-DSig resolves `URI="#x"` through attributes "of type
 * ID", which without a DTD is a matter of convention: `Id` (XML-DSig, XAdES),
 * `ID` (SAML 2.0), `wsu:Id` (WS-Security). Lookups consider every configured
 * name at once, and an Id value found on two elements makes the document
 * ambiguous — the set-up of every signature-wrapping attack.
 */
import type { Document, Element } from "@xmldom/xmldom";
import { XML_NAMESPACE, isElement, walk } from "../../xml/dom.js";

/** http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd (WS-Security 1.1 §4). */
export const WSU_NAMESPACE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";

/**
 * An Id attribute name: a plain name (`"Id"`, `"ID"`, `"AssertionID"`), the
 * shorthands `"wsu:Id"` and `"xml:id"`, or a namespaced attribute.
 */
export type IdAttribute = string | { namespaceURI: string; localName: string; prefix: string };

export const DEFAULT_ID_ATTRIBUTES: readonly IdAttribute[] = ["Id", "ID", "wsu:Id"];

export interface ResolvedIdAttribute {
  namespaceURI: string | null;
  localName: string;
  /** Qualified name used when this module writes the attribute. */
  qualifiedName: string;
}

export function resolveIdAttribute(attribute: IdAttribute): ResolvedIdAttribute {
  if (typeof attribute === "object" && attribute !== null) {
    const { namespaceURI, localName, prefix } = attribute;
    if (!namespaceURI || !localName || !prefix) throw new TypeError("An Id attribute needs namespaceURI, localName and prefix");
    return { namespaceURI, localName, qualifiedName: `${prefix}:${localName}` };
  }
  if (typeof attribute !== "string" || attribute.length === 0) throw new TypeError("An Id attribute name must be a non-empty string");
  if (attribute === "wsu:Id") return { namespaceURI: WSU_NAMESPACE, localName: "Id", qualifiedName: "wsu:Id" };
  if (attribute === "xml:id") return { namespaceURI: XML_NAMESPACE, localName: "id", qualifiedName: "xml:id" };
  if (attribute.includes(":")) throw new TypeError(`Id attribute "${attribute}": give a prefixed name as { namespaceURI, localName, prefix }`);
  return { namespaceURI: null, localName: attribute, qualifiedName: attribute };
}

export function resolveIdAttributes(attributes: readonly IdAttribute[] | undefined): ResolvedIdAttribute[] {
  const list = attributes ?? DEFAULT_ID_ATTRIBUTES;
  if (!Array.isArray(list) || list.length === 0) throw new TypeError("idAttributes must be a non-empty array");
  return list.map(resolveIdAttribute);
}

/** The Id values `element` carries under the configured names (usually zero or one). */
export function idsOf(element: Element, attributes: readonly ResolvedIdAttribute[]): string[] {
  const ids: string[] = [];
  for (const attribute of attributes) {
    const node =
      attribute.namespaceURI === null ? element.getAttributeNode(attribute.localName) : element.getAttributeNodeNS(attribute.namespaceURI, attribute.localName);
    // getAttributeNode matches by qualified name: make sure an unprefixed name is also un-namespaced.
    if (node === null || (attribute.namespaceURI === null && node.namespaceURI !== null)) continue;
    if (!ids.includes(node.value)) ids.push(node.value);
  }
  return ids;
}

/** Id value → the elements carrying it, over the whole document. */
export function indexIds(doc: Document, attributes: readonly ResolvedIdAttribute[]): Map<string, Element[]> {
  const index = new Map<string, Element[]>();
  walk(doc, (node) => {
    if (!isElement(node)) return;
    for (const id of idsOf(node, attributes)) {
      const elements = index.get(id);
      if (elements === undefined) index.set(id, [node]);
      else elements.push(node);
    }
  });
  return index;
}

/** XML Schema NCName, the lexical space of xsd:ID (simplified to the ASCII-or-above ranges). */
export function isNcName(value: string): boolean {
  return /^[A-Za-z_\u00C0-\uFFFF][A-Za-z0-9._\u00B7\u00C0-\uFFFF-]*$/.test(value);
}
