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
 */
import {
  PDFDocument,
  PDFHexString,
  PDFName,
  PDFString,
  beginText,
  endText,
  grayscale,
  setFillingGrayscaleColor,
  setFontAndSize,
  setTextMatrix,
  showText,
  type PDFRef,
} from "pdf-lib";
import { SignablePdf } from "../../../protocols/pades/index.js";
import type { FontProgram, TemplateFont } from "./font-program.js";
import type { LaidOutDocument } from "./layout.js";
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

function codePointsOf(texts: readonly string[]): Set<number> {
  const codePoints = new Set<number>();
  for (const text of texts) for (const char of text) codePoints.add(char.codePointAt(0)!);
  return codePoints;
}

function embedProgram(pdf: PDFDocument, program: FontProgram): PDFRef {
  const { context } = pdf;
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
      W: program.widths.map((entry) => (typeof entry === "number" ? entry : [...entry])),
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

function glyphHex(program: FontProgram, text: string): PDFHexString {
  let hex = "";
  for (const char of text) {
    const id = program.glyphIds.get(char.codePointAt(0)!);
    // The data was checked printable: a missing glyph is a bug, not bad input.
    if (id === undefined) throw new Error(`unreachable: no glyph for U+${char.codePointAt(0)!.toString(16)} in ${program.baseFontName}`);
    hex += id.toString(16).padStart(4, "0");
  }
  return PDFHexString.of(hex);
}

/** Writes the PDF; the result carries the document for `signPdf`, which then does not parse the bytes again. */
export async function writePdf(document: LaidOutDocument, fonts: Record<FontRole, TemplateFont>, metadata: PdfMetadata): Promise<SignablePdf> {
  if (metadata.documentId.length !== 16) throw new TypeError("documentId must be 16 bytes");
  const pdf = await PDFDocument.create({ updateMetadata: false });
  pdf.setTitle(metadata.title, { showInWindowTitleBar: true });
  pdf.setSubject(metadata.subject);
  pdf.setCreator(metadata.creator);
  pdf.setProducer(metadata.creator);
  pdf.setLanguage(metadata.language);

  const programs: Partial<Record<FontRole, FontProgram>> = {};
  const fontRefs: Partial<Record<FontRole, PDFRef>> = {};
  for (const role of ["regular", "bold"] as const) {
    const texts = document.textByFont[role];
    if (texts.length === 0) continue;
    const program = await fonts[role].programFor(codePointsOf(texts));
    programs[role] = program;
    fontRefs[role] = embedProgram(pdf, program);
  }

  for (const operations of document.pages) {
    const page = pdf.addPage(PAGE_SIZE);
    for (const role of ["regular", "bold"] as const) {
      const ref = fontRefs[role];
      if (ref !== undefined) page.node.setFontDictionary(PDFName.of(FONT_RESOURCE[role]), ref);
    }
    for (const operation of operations) {
      switch (operation.kind) {
        case "text": {
          const program = programs[operation.font];
          if (program === undefined) throw new Error(`unreachable: font ${operation.font} used but not embedded`);
          page.pushOperators(
            beginText(),
            setFontAndSize(PDFName.of(FONT_RESOURCE[operation.font]), operation.size),
            setFillingGrayscaleColor(operation.gray),
            setTextMatrix(1, 0, 0, 1, operation.x, operation.y),
            showText(glyphHex(program, operation.text)),
            endText(),
          );
          break;
        }
        case "line":
          page.drawLine({
            start: { x: operation.x1, y: operation.y1 },
            end: { x: operation.x2, y: operation.y2 },
            thickness: operation.thickness,
            color: grayscale(operation.gray),
          });
          break;
        case "rect":
          page.drawRectangle({
            x: operation.x,
            y: operation.y,
            width: operation.width,
            height: operation.height,
            ...(operation.fillGray === undefined ? {} : { color: grayscale(operation.fillGray) }),
            ...(operation.strokeGray === undefined ? { borderWidth: 0 } : { borderColor: grayscale(operation.strokeGray), borderWidth: 0.6 }),
          });
          break;
      }
    }
  }

  const id = PDFHexString.of(Buffer.from(metadata.documentId).toString("hex"));
  pdf.context.trailerInfo.ID = pdf.context.obj([id, id]);
  return SignablePdf.save(pdf, { useObjectStreams: false });
}
