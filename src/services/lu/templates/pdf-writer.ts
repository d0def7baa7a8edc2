/**
 * Writes laid-out pages as a PDF with pdf-lib, byte for byte the same for
 * the same input:
 *
 * - no CreationDate/ModDate and no Producer stamp from pdf-lib
 *   (`updateMetadata: false`): the clock never enters the file;
 * - the trailer's /ID (ISO 32000-1 §14.4) is given by the caller (derived
 *   from the template and the data), not random;
 * - fonts are embedded from programs prepared once per template set
 *   (./font-program.ts), with names derived from their content;
 * - a classic cross-reference table (no object streams); objects are
 *   created in an order the layout fixes.
 *
 * Text is written with the text operators directly (ISO 32000-1 §9.4): one
 * BT … ET per run, glyph ids as 2-byte hex strings for Identity-H.
 *
 * What costs per document is kept small: the page's operators are written
 * as text (the numbers formatted as pdf-lib formats them, in the order its
 * `drawLine`/`drawRectangle` emit them — contentOperators() is tested
 * against those), not as thousands of PDFNumber objects; a font's /W array
 * is made of PDFNumbers built once per program and template set. The page
 * content stream is still deflated by pdf-lib (pako): node:zlib writes
 * other bytes for the same input, and which ones may depend on the build
 * of zlib Node carries — documents would then differ between machines.
 */
import {
  PDFArray,
  PDFDocument,
  PDFHexString,
  PDFName,
  PDFNumber,
  PDFOperator,
  PDFOperatorNames as Op,
  PDFString,
  numberToString,
  type PDFContext,
  type PDFRef,
} from "pdf-lib";
import { SignablePdf } from "../../../protocols/pades/index.js";
import type { FontProgram, TemplateFont } from "./font-program.js";
import type { DrawOperation, LaidOutDocument } from "./layout.js";
import type { FontRole } from "./template-definition.js";

export interface PdfMetadata {
  title: string;
  subject: string;
  /** BCP 47 tag for the catalog's /Lang (ISO 32000-1 §14.9.2). */
  language: string;
  creator: string;
  /** 16 bytes, written twice as the trailer /ID. */
  documentId: Uint8Array;
}

/** ISO 216 A4 in points. */
const PAGE_SIZE: [number, number] = [595.28, 841.89];
const FONT_RESOURCE: Record<FontRole, string> = { regular: "F1", bold: "F2" };
const ROLES = ["regular", "bold"] as const;

/** A /W array (ISO 32000-1 §9.7.4.3) as PDF numbers: `c [w1 w2 …]` groups. */
type PdfWidths = readonly (PDFNumber | readonly PDFNumber[])[];

/**
 * A number as pdf-lib writes it (`numberToString`: never an exponent).
 * Without an exponent in its shortest form, that is the shortest form.
 */
function formatNumber(value: number): string {
  const text = String(value);
  return text.includes("e") ? numberToString(value) : text;
}

function codePointsOf(texts: readonly string[]): Set<number> {
  const codePoints = new Set<number>();
  for (const text of texts) for (const char of text) codePoints.add(char.codePointAt(0)!);
  return codePoints;
}

function glyphHex(program: FontProgram, text: string): string {
  let hex = "<";
  for (const char of text) {
    const glyph = program.glyphHex.get(char.codePointAt(0)!);
    // The data was checked printable: a missing glyph is a bug, not bad input.
    if (glyph === undefined) throw new Error(`unreachable: no glyph for U+${char.codePointAt(0)!.toString(16)} in ${program.baseFontName}`);
    hex += glyph;
  }
  return `${hex}>`;
}

function operator(name: Op, ...args: string[]): PDFOperator {
  return PDFOperator.of(name, args);
}

/**
 * The content-stream operators of one page, as pdf-lib's drawing API
 * would have produced them: text runs as `BT /Fn size Tf gray g 1 0 0 1 x
 * y Tm <glyphs> Tj ET`, lines as `drawLine`, rectangles as `drawRectangle`
 * (with their identity rotation and skew matrices).
 */
export function contentOperators(operations: readonly DrawOperation[], programs: Partial<Record<FontRole, FontProgram>>): PDFOperator[] {
  const ops: PDFOperator[] = [];
  const n = formatNumber;
  for (const operation of operations) {
    switch (operation.kind) {
      case "text": {
        const program = programs[operation.font];
        if (program === undefined) throw new Error(`unreachable: font ${operation.font} used but not embedded`);
        ops.push(
          operator(Op.BeginText),
          operator(Op.SetFontAndSize, `/${FONT_RESOURCE[operation.font]}`, n(operation.size)),
          operator(Op.NonStrokingColorGray, n(operation.gray)),
          operator(Op.SetTextMatrix, "1", "0", "0", "1", n(operation.x), n(operation.y)),
          operator(Op.ShowText, glyphHex(program, operation.text)),
          operator(Op.EndText),
        );
        break;
      }
      case "line": {
        const x1 = n(operation.x1);
        const y1 = n(operation.y1);
        ops.push(
          operator(Op.PushGraphicsState),
          operator(Op.StrokingColorGray, n(operation.gray)),
          operator(Op.SetLineWidth, n(operation.thickness)),
          operator(Op.SetLineDashPattern, "[]", "0"),
          operator(Op.MoveTo, x1, y1),
          operator(Op.MoveTo, x1, y1),
          operator(Op.LineTo, n(operation.x2), n(operation.y2)),
          operator(Op.StrokePath),
          operator(Op.PopGraphicsState),
        );
        break;
      }
      case "rect": {
        const { fillGray, strokeGray } = operation;
        const width = n(operation.width);
        const height = n(operation.height);
        const borderWidth = strokeGray === undefined ? 0 : 0.6;
        ops.push(operator(Op.PushGraphicsState));
        // drawRectangle fills black when given neither a fill nor a border colour.
        if (fillGray !== undefined) ops.push(operator(Op.NonStrokingColorGray, n(fillGray)));
        else if (strokeGray === undefined) ops.push(operator(Op.NonStrokingColorRgb, "0", "0", "0"));
        if (strokeGray !== undefined) ops.push(operator(Op.StrokingColorGray, n(strokeGray)));
        const filled = fillGray !== undefined || strokeGray === undefined;
        ops.push(
          operator(Op.SetLineWidth, n(borderWidth)),
          operator(Op.SetLineDashPattern, "[]", "0"),
          operator(Op.ConcatTransformationMatrix, "1", "0", "0", "1", n(operation.x), n(operation.y)),
          operator(Op.ConcatTransformationMatrix, "1", "0", "0", "1", "0", "0"),
          operator(Op.ConcatTransformationMatrix, "1", "0", "0", "1", "0", "0"),
          operator(Op.MoveTo, "0", "0"),
          operator(Op.LineTo, "0", height),
          operator(Op.LineTo, width, height),
          operator(Op.LineTo, width, "0"),
          operator(Op.ClosePath),
          operator(filled && borderWidth !== 0 ? Op.FillNonZeroAndStroke : filled ? Op.FillNonZero : strokeGray !== undefined ? Op.StrokePath : Op.ClosePath),
          operator(Op.PopGraphicsState),
        );
        break;
      }
    }
  }
  return ops;
}

/**
 * The PDF writer of one template set: it keeps, per font program, what
 * every document embeds unchanged.
 */
export class TemplatePdfWriter {
  readonly #widths = new WeakMap<FontProgram, PdfWidths>();

  /** Writes the PDF; the result carries the document for `signPdf`, which then does not parse the bytes again. */
  async write(document: LaidOutDocument, fonts: Record<FontRole, TemplateFont>, metadata: PdfMetadata): Promise<SignablePdf> {
    if (metadata.documentId.length !== 16) throw new TypeError("documentId must be 16 bytes");
    const pdf = await PDFDocument.create({ updateMetadata: false });
    pdf.setTitle(metadata.title, { showInWindowTitleBar: true });
    pdf.setSubject(metadata.subject);
    pdf.setCreator(metadata.creator);
    pdf.setProducer(metadata.creator);
    pdf.setLanguage(metadata.language);

    const programs: Partial<Record<FontRole, FontProgram>> = {};
    const fontRefs: Partial<Record<FontRole, PDFRef>> = {};
    for (const role of ROLES) {
      const texts = document.textByFont[role];
      if (texts.length === 0) continue;
      const program = fonts[role].programFor(codePointsOf(texts));
      programs[role] = program;
      fontRefs[role] = this.#embedProgram(pdf.context, program);
    }

    for (const operations of document.pages) {
      const page = pdf.addPage(PAGE_SIZE);
      for (const role of ROLES) {
        const ref = fontRefs[role];
        if (ref !== undefined) page.node.setFontDictionary(PDFName.of(FONT_RESOURCE[role]), ref);
      }
      const ops = contentOperators(operations, programs);
      // An empty page gets no content stream, as with pdf-lib's drawing calls.
      if (ops.length > 0) page.pushOperators(...ops);
    }

    const id = PDFHexString.of(Buffer.from(metadata.documentId).toString("hex"));
    pdf.context.trailerInfo.ID = pdf.context.obj([id, id]);
    return SignablePdf.save(pdf, { useObjectStreams: false });
  }

  #embedProgram(context: PDFContext, program: FontProgram): PDFRef {
    const fontFile = context.register(context.stream(program.fontFile, { Filter: "FlateDecode", Length1: program.fontFileLength }));
    const { descriptor } = program;
    const fontDescriptor = context.register(
      context.obj({
        Type: "FontDescriptor",
        FontName: program.baseFontName,
        Flags: descriptor.flags,
        FontBBox: [...descriptor.fontBBox],
        ItalicAngle: descriptor.italicAngle,
        Ascent: descriptor.ascent,
        Descent: descriptor.descent,
        CapHeight: descriptor.capHeight,
        XHeight: descriptor.xHeight,
        StemV: 0,
        FontFile2: fontFile,
      }),
    );
    const cidFont = context.register(
      context.obj({
        Type: "Font",
        Subtype: "CIDFontType2",
        BaseFont: program.baseFontName,
        CIDSystemInfo: { Registry: PDFString.of("Adobe"), Ordering: PDFString.of("Identity"), Supplement: 0 },
        FontDescriptor: fontDescriptor,
        CIDToGIDMap: "Identity",
        W: this.#widthArray(context, program),
      }),
    );
    const toUnicode = context.register(context.stream(program.toUnicode, { Filter: "FlateDecode" }));
    return context.register(
      context.obj({
        Type: "Font",
        Subtype: "Type0",
        BaseFont: program.baseFontName,
        Encoding: "Identity-H",
        DescendantFonts: [cidFont],
        ToUnicode: toUnicode,
      }),
    );
  }

  /** The /W array of `program` in `context`, from numbers formatted once (PDFNumber is immutable and context-free). */
  #widthArray(context: PDFContext, program: FontProgram): PDFArray {
    let widths = this.#widths.get(program);
    if (widths === undefined) {
      widths = program.widths.map((entry) => (typeof entry === "number" ? PDFNumber.of(entry) : entry.map((width) => PDFNumber.of(width))));
      this.#widths.set(program, widths);
    }
    const array = PDFArray.withContext(context);
    for (const entry of widths) {
      if (entry instanceof PDFNumber) {
        array.push(entry);
        continue;
      }
      const group = PDFArray.withContext(context);
      for (const width of entry) group.push(width);
      array.push(group);
    }
    return array;
  }
}
