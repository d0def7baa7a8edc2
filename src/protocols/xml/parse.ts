/**
 * Safe XML parsing for everything Passerelle reads from outside (SOAP
 * envelopes, SAML assertions, CDA documents, signed XML).
 *
 * Refusals happen **before** the parser sees the document: a linear scan of
 * the text rejects any `<!DOCTYPE` (and every other markup declaration), so no
 * DTD is read, no external entity is fetched and no entity is expanded — the
 * XXE and "billion laughs" families cannot start (OWASP XXE Prevention Cheat
 * Sheet; W3C XML 1.0 §2.8). The same scan enforces the size and nesting-depth
 * limits without recursion. Only then does `@xmldom/xmldom` build the DOM,
 * with every warning and error made fatal, so a malformed document is never
 * half-accepted.
 *
 * @example
 * ```ts
 * const doc = parseXml(requestBody, { maxBytes: 2 * 1024 * 1024 });
 * doc.documentElement.localName; // "Envelope"
 * serializeXml(doc);              // back to text, byte-stable for signatures
 * ```
 */
import { TextDecoder } from "node:util";
import { DOMParser, XMLSerializer, type Document, type Node } from "@xmldom/xmldom";
import { XmlParseError } from "./errors.js";

export interface ParseXmlOptions {
  /** Largest accepted document, in bytes of its encoded form. Default 10 MiB. */
  maxBytes?: number;
  /** Deepest accepted element nesting (the document element is depth 1). Default 256. */
  maxDepth?: number;
}

export const DEFAULT_MAX_XML_BYTES = 10 * 1024 * 1024;
export const DEFAULT_MAX_XML_DEPTH = 256;

/**
 * Parses an XML document safely (see the module documentation).
 *
 * @param input The document: a string, or bytes whose encoding is detected
 *   from the byte order mark or the XML declaration (W3C XML 1.0 Appendix F).
 * @throws XmlParseError `PASSERELLE_XML_FORBIDDEN` (DTD, size, depth) or
 *   `PASSERELLE_XML_MALFORMED` (with line and column).
 * @throws TypeError when `input` or the options are not what this function takes.
 *
 * @example
 * ```ts
 * parseXml('<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'); // throws XmlParseError, reason "dtd"
 * ```
 */
export function parseXml(input: string | Uint8Array, options: ParseXmlOptions = {}): Document {
  const maxBytes = positiveInteger(options.maxBytes, DEFAULT_MAX_XML_BYTES, "maxBytes");
  const maxDepth = positiveInteger(options.maxDepth, DEFAULT_MAX_XML_DEPTH, "maxDepth");
  let text: string;
  if (typeof input === "string") {
    // A UTF-16 code unit never takes less than one UTF-8 byte: the cheap test first.
    if (input.length > maxBytes || Buffer.byteLength(input, "utf8") > maxBytes) throw tooLarge(maxBytes);
    text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  } else if (input instanceof Uint8Array) {
    if (input.byteLength > maxBytes) throw tooLarge(maxBytes);
    text = decodeXmlBytes(input);
  } else {
    throw new TypeError("parseXml: input must be a string or bytes");
  }
  scanMarkup(text, maxDepth);
  return buildDocument(text);
}

/**
 * Serializes a DOM node (usually a whole document) to text. Carriage returns,
 * which can only come from a `&#xD;` reference, are written back as that
 * reference: written raw they would parse back as line feeds (XML 1.0 §2.11)
 * and break the digest of a signed document.
 *
 * @throws TypeError if the DOM holds something that cannot be written as
 *   well-formed XML (e.g. a comment containing `--`).
 *
 * @example
 * ```ts
 * serializeXml(parseXml("<a>1&#13;</a>")); // "<a>1&#xD;</a>"
 * ```
 */
export function serializeXml(node: Node): string {
  try {
    return new XMLSerializer().serializeToString(node, { requireWellFormed: true }).replace(/\r/g, "&#xD;");
  } catch (error) {
    throw new TypeError(`serializeXml: the DOM cannot be written as well-formed XML: ${(error as Error).message}`, { cause: error });
  }
}

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`parseXml: ${name} must be a positive integer`);
  return value;
}

function tooLarge(maxBytes: number): XmlParseError {
  return new XmlParseError("too_large", `The XML document exceeds the limit of ${maxBytes} bytes`);
}

// ---------------------------------------------------------------------------
// Encoding (W3C XML 1.0 §4.3.3 and Appendix F)

const ENCODING_DECLARATION = /^<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*["'][^"']*["'][ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*["']([A-Za-z][A-Za-z0-9._-]*)["']/;

function decodeXmlBytes(bytes: Uint8Array): string {
  const b0 = bytes[0];
  const b1 = bytes[1];
  if (b0 === 0xef && b1 === 0xbb && bytes[2] === 0xbf) return decode("utf-8", bytes.subarray(3));
  if (b0 === 0xff && b1 === 0xfe) return decode("utf-16le", bytes.subarray(2));
  if (b0 === 0xfe && b1 === 0xff) return decode("utf-16be", bytes.subarray(2));
  // "<?" in UTF-16 without a byte order mark.
  if (b0 === 0x3c && b1 === 0x00 && bytes[2] === 0x3f && bytes[3] === 0x00) return decode("utf-16le", bytes);
  if (b0 === 0x00 && b1 === 0x3c && bytes[2] === 0x00 && bytes[3] === 0x3f) return decode("utf-16be", bytes);

  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 256)).toString("latin1");
  const declared = ENCODING_DECLARATION.exec(head)?.[1]?.toLowerCase() ?? "utf-8";
  switch (declared) {
    case "utf-8":
    case "utf8":
      return decode("utf-8", bytes);
    case "us-ascii":
    case "ascii":
      if (bytes.some((b) => b > 0x7f)) throw new XmlParseError("malformed", "The document declares US-ASCII but holds non-ASCII bytes");
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
    // The WHATWG decoder reads these labels as windows-1252; ISO-8859-1 proper is Node's latin1.
    case "iso-8859-1":
    case "iso_8859-1":
    case "latin1":
    case "l1":
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
    case "utf-16":
    case "utf-16le":
    case "utf-16be":
      throw new XmlParseError("malformed", "The document declares UTF-16 but is not UTF-16 encoded");
    default:
      return decode(declared, bytes);
  }
}

function decode(label: string, bytes: Uint8Array): string {
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(label, { fatal: true, ignoreBOM: true });
  } catch {
    throw new XmlParseError("malformed", `Unsupported document encoding "${label}"`);
  }
  try {
    return decoder.decode(bytes);
  } catch {
    throw new XmlParseError("malformed", `The document is not valid ${label}`);
  }
}

// ---------------------------------------------------------------------------
// The pre-parse scan

/**
 * Walks the markup once, in linear time and constant stack: comments, CDATA
 * sections and processing instructions are skipped whole (a `<!DOCTYPE`
 * inside them is text), any other `<!` is a markup declaration and refused,
 * and start/end tags move a depth counter. Quoted attribute values are
 * skipped so that a `>` inside one does not end the tag early.
 *
 * Malformed markup is left for the parser to report with its position; the
 * scan only has to be right about well-formed documents, and the parser is
 * strict about the rest.
 */
function scanMarkup(text: string, maxDepth: number): void {
  const length = text.length;
  let depth = 0;
  let i = 0;
  for (;;) {
    const lt = text.indexOf("<", i);
    if (lt === -1 || lt + 1 >= length) return;
    const next = text.charCodeAt(lt + 1);
    if (next === 0x21 /* ! */) {
      if (text.startsWith("<!--", lt)) {
        const end = text.indexOf("-->", lt + 4);
        if (end === -1) return;
        i = end + 3;
      } else if (text.startsWith("<![CDATA[", lt)) {
        const end = text.indexOf("]]>", lt + 9);
        if (end === -1) return;
        i = end + 3;
      } else {
        const what = /^<!([A-Za-z]*)/.exec(text.slice(lt, lt + 12))?.[1] ?? "";
        throw new XmlParseError(
          "dtd",
          what.toUpperCase() === "DOCTYPE"
            ? "Document type declarations (DOCTYPE) are refused: no DTD is read and no entity is expanded"
            : `Markup declarations (<!${what}…) are refused: no DTD is read and no entity is expanded`,
          positionOf(text, lt),
        );
      }
    } else if (next === 0x3f /* ? */) {
      const end = text.indexOf("?>", lt + 2);
      if (end === -1) return;
      i = end + 2;
    } else if (next === 0x2f /* / */) {
      depth -= 1;
      const end = text.indexOf(">", lt + 2);
      if (end === -1) return;
      i = end + 1;
    } else {
      let j = lt + 1;
      let quote = 0;
      for (; j < length; j++) {
        const c = text.charCodeAt(j);
        if (quote !== 0) {
          if (c === quote) quote = 0;
        } else if (c === 0x22 || c === 0x27) {
          quote = c;
        } else if (c === 0x3e /* > */) {
          break;
        }
      }
      if (j >= length) return;
      if (text.charCodeAt(j - 1) !== 0x2f /* / */) {
        depth += 1;
        if (depth > maxDepth) {
          throw new XmlParseError("too_deep", `Elements are nested deeper than the limit of ${maxDepth}`, positionOf(text, lt));
        }
      }
      i = j + 1;
    }
  }
}

function positionOf(text: string, index: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let k = text.indexOf("\n"); k !== -1 && k < index; k = text.indexOf("\n", k + 1)) {
    line += 1;
    lineStart = k + 1;
  }
  return { line, column: index - lineStart + 1 };
}

// ---------------------------------------------------------------------------
// DOM construction

interface XmldomLocator {
  lineNumber?: number;
  columnNumber?: number;
}

function buildDocument(text: string): Document {
  let failure: XmlParseError | undefined;
  const parser = new DOMParser({
    locator: true,
    // XML 1.0 §2.11 normalizes CR LF and lone CR only; xmldom's default also
    // rewrites U+0085/U+2028/U+2029 (the XML 1.1 rule), which would change the
    // content of a signed XML 1.0 document.
    normalizeLineEndings: (source: string) => source.replace(/\r\n?/g, "\n"),
    // Every level is fatal: xmldom reports some real faults (undefined
    // entities, trailing content) as mere warnings or errors.
    onError: (_level: "warning" | "error" | "fatalError", message: string, context: unknown) => {
      const locator = (context as { locator?: XmldomLocator } | undefined)?.locator;
      failure ??= new XmlParseError("malformed", `Malformed XML: ${message}`, locatorPosition(locator));
      throw failure;
    },
  });
  let doc: Document;
  try {
    doc = parser.parseFromString(text, "application/xml");
  } catch (error) {
    if (failure !== undefined) throw failure;
    const locator = (error as { locator?: XmldomLocator }).locator;
    throw new XmlParseError("malformed", `Malformed XML: ${(error as Error).message}`, locatorPosition(locator), error);
  }
  // Unreachable after the scan; kept so that no future change of the scan can let a DTD through.
  if (doc.doctype !== null) throw new XmlParseError("dtd", "Document type declarations (DOCTYPE) are refused");
  if (doc.documentElement === null) throw new XmlParseError("malformed", "Malformed XML: no document element");
  // xmldom keeps the XML declaration as a processing instruction; it is not one
  // (XML 1.0 §2.8), and its encoding would be wrong once the document is text.
  // Whitespace outside the document element is not character data (§2.10) and goes too.
  for (const child of Array.from(doc.childNodes)) {
    const isDeclaration = child.nodeType === child.PROCESSING_INSTRUCTION_NODE && child.nodeName === "xml";
    if (isDeclaration || child.nodeType === child.TEXT_NODE) doc.removeChild(child);
  }
  return doc;
}

function locatorPosition(locator: XmldomLocator | undefined): { line?: number; column?: number } {
  const line = locator?.lineNumber;
  if (line === undefined || line < 1) return {};
  return { line, column: locator?.columnNumber ?? 0 };
}
