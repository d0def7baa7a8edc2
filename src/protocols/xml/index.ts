/**
 * Safe XML: parsing that refuses DTDs before anything is expanded, size and
 * depth limits, canonicalization, XPath selection.
 */
export { DEFAULT_MAX_XML_BYTES, DEFAULT_MAX_XML_DEPTH, parseXml, serializeXml, type ParseXmlOptions } from "./parse.js";
export { XmlParseError, type XmlParseFailure } from "./errors.js";
export { canonicalize, type CanonicalizationMode, type CanonicalizeOptions } from "./canonicalize.js";
export { selectElements, type XPathNamespaces } from "./xpath.js";
export { XMLNS_NAMESPACE, XML_NAMESPACE, childElements, isDocument, isElement, isInside, isNamed, walk } from "./dom.js";
