/**
 * Reading an existing PDF for signing and verification: the input checks
 * (header, parse, encryption, catalog, pages), the last cross-reference
 * section an incremental update must point back at, and the form fields.
 *
 * pdf-lib parses the file front to back, later definitions of an object
 * replacing earlier ones, so a loaded document is the latest revision — and
 * a loaded prefix ending at a revision's %%EOF is that revision.
 */
import { PDFArray, PDFDict, PDFDocument, PDFName, PDFRef, PDFString, PDFHexString, ParseSpeeds, type PDFContext, type PDFObject } from "pdf-lib";
import { encryptedPdf, invalidPdf } from "./pdf-errors.js";

export interface LoadedPdf {
  bytes: Buffer;
  document: PDFDocument;
  context: PDFContext;
  catalog: PDFDict;
  catalogRef: PDFRef;
}

/** ISO 32000-1 §7.5.2: the header; readers accept it within the first 1024 bytes (Annex H.3). */
const HEADER = Buffer.from("%PDF-");

/** Loads and checks a PDF; PASSERELLE_PDF_INVALID / PASSERELLE_PDF_ENCRYPTED on bad input. */
export async function loadPdf(input: Uint8Array): Promise<LoadedPdf> {
  if (!(input instanceof Uint8Array)) throw new TypeError("pdf must be a Buffer or Uint8Array");
  const bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const header = bytes.subarray(0, 1024).indexOf(HEADER);
  if (header === -1) throw invalidPdf("Not a PDF: no %PDF- header");
  let document: PDFDocument;
  try {
    document = await PDFDocument.load(bytes, {
      ignoreEncryption: true,
      updateMetadata: false,
      parseSpeed: ParseSpeeds.Fastest,
    });
  } catch (cause) {
    throw invalidPdf("The PDF could not be parsed", cause);
  }
  return checkLoaded(bytes, document);
}

/**
 * The checks `loadPdf` makes once the file is parsed, for a document already
 * in memory whose bytes are `bytes` (see ./signable-pdf.ts).
 */
export function checkLoaded(bytes: Buffer, document: PDFDocument): LoadedPdf {
  const context = document.context;
  // ISO 32000-1 §7.6: an encrypted file's strings are encrypted too; new objects would need the file key.
  if (context.trailerInfo.Encrypt !== undefined) throw encryptedPdf();
  const catalogRef = context.trailerInfo.Root;
  const catalog = catalogRef instanceof PDFRef ? context.lookup(catalogRef) : undefined;
  if (!(catalogRef instanceof PDFRef) || !(catalog instanceof PDFDict) || catalog.get(PDFName.of("Type")) !== PDFName.of("Catalog")) {
    throw invalidPdf("The PDF has no document catalog");
  }
  if (firstPageRef(context, catalog) === undefined) throw invalidPdf("The PDF has no page");
  return { bytes, document, context, catalog, catalogRef };
}

/** The first leaf of the page tree (ISO 32000-1 §7.7.3), depth-first, guarding against cycles. */
export function firstPageRef(context: PDFContext, catalog: PDFDict): PDFRef | undefined {
  const seen = new Set<string>();
  const visit = (ref: PDFObject | undefined): PDFRef | undefined => {
    if (!(ref instanceof PDFRef) || seen.has(ref.tag) || seen.size > 100_000) return undefined;
    seen.add(ref.tag);
    const node = context.lookup(ref);
    if (!(node instanceof PDFDict)) return undefined;
    const type = node.get(PDFName.of("Type"));
    if (type === PDFName.of("Page")) return ref;
    const kids = context.lookup(node.get(PDFName.of("Kids")));
    if (type !== PDFName.of("Pages") || !(kids instanceof PDFArray)) return undefined;
    for (const kid of kids.asArray()) {
      const page = visit(kid);
      if (page !== undefined) return page;
    }
    return undefined;
  };
  return visit(catalog.get(PDFName.of("Pages")));
}

export interface CrossReferenceInfo {
  /** Offset of the last cross-reference section (the last `startxref`). */
  offset: number;
  /** A classic table (`xref` … `trailer`) or a cross-reference stream (ISO 32000-1 §7.5.8). */
  kind: "table" | "stream";
  /** The trailer's /Size: one more than the highest object number so far. */
  size: number;
}

/**
 * Finds the last cross-reference section, which an incremental update's
 * /Prev must name (ISO 32000-1 §7.5.6). A file whose `startxref` points at
 * nothing sensible is refused rather than extended with a broken chain.
 */
export function readLastCrossReference(bytes: Buffer): CrossReferenceInfo {
  const keyword = bytes.lastIndexOf("startxref");
  const match = keyword === -1 ? null : /^startxref\s+(\d+)/.exec(bytes.subarray(keyword, keyword + 40).toString("latin1"));
  const offset = match === null ? Number.NaN : Number(match[1]);
  if (!Number.isSafeInteger(offset) || offset >= keyword) throw invalidPdf("The PDF has no valid startxref");
  const at = bytes.subarray(offset, Math.min(bytes.length, offset + 64)).toString("latin1");
  let kind: CrossReferenceInfo["kind"];
  let dictionary: string;
  if (/^xref\s/.test(at)) {
    kind = "table";
    const trailer = bytes.indexOf("trailer", offset);
    if (trailer === -1 || trailer > keyword) throw invalidPdf("The last cross-reference table has no trailer");
    dictionary = bytes.subarray(trailer, keyword).toString("latin1");
  } else if (/^\d+\s+\d+\s+obj\b/.test(at)) {
    kind = "stream";
    const stream = bytes.indexOf("stream", offset);
    dictionary = bytes.subarray(offset, stream === -1 ? keyword : stream).toString("latin1");
    if (!/\/Type\s*\/XRef\b/.test(dictionary)) throw invalidPdf("startxref does not point at a cross-reference stream");
  } else {
    throw invalidPdf("startxref does not point at a cross-reference section");
  }
  const size = Number(/\/Size\s+(\d+)/.exec(dictionary)?.[1]);
  if (!Number.isSafeInteger(size) || size < 1) throw invalidPdf("The PDF trailer has no valid /Size");
  return { offset, kind, size };
}

export interface FormField {
  /** Fully qualified name: the /T of the field and its ancestors joined by "." (ISO 32000-1 §12.7.3.2). */
  name: string;
  ref: PDFRef;
  dict: PDFDict;
  /** /FT, inherited from ancestors when absent. */
  type: string | undefined;
  /** /V as stored (a reference, usually, for a signature). */
  value: PDFObject | undefined;
}

/** Every terminal field of the AcroForm (fields with widgets merged count as fields). */
export function formFields(context: PDFContext, catalog: PDFDict): FormField[] {
  const acroForm = context.lookup(catalog.get(PDFName.of("AcroForm")));
  if (!(acroForm instanceof PDFDict)) return [];
  const roots = context.lookup(acroForm.get(PDFName.of("Fields")));
  if (!(roots instanceof PDFArray)) return [];
  const fields: FormField[] = [];
  const seen = new Set<string>();
  const visit = (ref: PDFObject, parentName: string | undefined, parentType: string | undefined): void => {
    if (!(ref instanceof PDFRef) || seen.has(ref.tag) || seen.size > 100_000) return;
    seen.add(ref.tag);
    const dict = context.lookup(ref);
    if (!(dict instanceof PDFDict)) return;
    const partial = textOf(context.lookup(dict.get(PDFName.of("T"))));
    const name = partial === undefined ? parentName : parentName === undefined ? partial : `${parentName}.${partial}`;
    const ownType = context.lookup(dict.get(PDFName.of("FT")));
    const type = ownType instanceof PDFName ? ownType.decodeText() : parentType;
    const kids = context.lookup(dict.get(PDFName.of("Kids")));
    // Kids that have a /T are fields; kids without are this field's widgets (§12.7.3.1).
    const childFields = kids instanceof PDFArray ? kids.asArray().filter((kid) => {
      const kidDict = context.lookup(kid);
      return kidDict instanceof PDFDict && kidDict.has(PDFName.of("T"));
    }) : [];
    if (childFields.length > 0) {
      for (const kid of childFields) visit(kid, name, type);
      return;
    }
    fields.push({ name: name ?? "", ref, dict, type, value: dict.get(PDFName.of("V")) });
  };
  for (const root of roots.asArray()) visit(root, undefined, undefined);
  return fields;
}

export function textOf(value: PDFObject | undefined): string | undefined {
  return value instanceof PDFString || value instanceof PDFHexString ? value.decodeText() : undefined;
}
