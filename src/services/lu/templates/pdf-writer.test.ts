import { PDFContentStream, PDFContext, PDFDict, PDFDocument, PDFHexString, PDFName, beginText, endText, grayscale, setFillingGrayscaleColor, setFontAndSize, setTextMatrix, showText } from "pdf-lib";
import { describe, expect, it } from "vitest";
import type { FontProgram } from "./font-program.js";
import type { DrawOperation } from "./layout.js";
import { contentOperators } from "./pdf-writer.js";

/** A program knowing the glyphs of "A", "é" and "€" (what contentOperators reads of one). */
function program(name: string): FontProgram {
  const glyphIds = new Map([
    [0x41, 1],
    [0xe9, 2],
    [0x20ac, 0x1234],
  ]);
  return {
    baseFontName: `ABCDEF+${name}`,
    glyphIds,
    glyphHex: new Map([...glyphIds].map(([codePoint, id]) => [codePoint, id.toString(16).padStart(4, "0")])),
    fontFile: Buffer.alloc(0),
    fontFileLength: 0,
    toUnicode: Buffer.alloc(0),
    widths: [],
    descriptor: { flags: 4, fontBBox: [0, 0, 0, 0], italicAngle: 0, ascent: 0, descent: 0, capHeight: 0, xHeight: 0 },
  };
}

const programs = { regular: program("Regular"), bold: program("Bold") };

/** The operators as pdf-lib's drawing API writes them: what the writer did before it wrote them as text. */
async function viaDrawingApi(operations: readonly DrawOperation[]): Promise<string> {
  const pdf = await PDFDocument.create();
  const page = pdf.addPage();
  const resource = { regular: "F1", bold: "F2" } as const;
  for (const operation of operations) {
    switch (operation.kind) {
      case "text": {
        let hex = "";
        for (const char of operation.text) hex += programs[operation.font].glyphIds.get(char.codePointAt(0)!)!.toString(16).padStart(4, "0");
        page.pushOperators(
          beginText(),
          setFontAndSize(PDFName.of(resource[operation.font]), operation.size),
          setFillingGrayscaleColor(operation.gray),
          setTextMatrix(1, 0, 0, 1, operation.x, operation.y),
          showText(PDFHexString.of(hex)),
          endText(),
        );
        break;
      }
      case "line":
        page.drawLine({ start: { x: operation.x1, y: operation.y1 }, end: { x: operation.x2, y: operation.y2 }, thickness: operation.thickness, color: grayscale(operation.gray) });
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
  const streams = (page.node.normalizedEntries().Contents?.asArray() ?? []).map((ref) => pdf.context.lookup(ref));
  expect(streams).toHaveLength(1);
  const [stream] = streams;
  if (!(stream instanceof PDFContentStream)) throw new Error("no content stream");
  return stream.getContentsString();
}

function asText(operations: readonly DrawOperation[]): string {
  return PDFContentStream.of(PDFDict.withContext(PDFContext.create()), contentOperators(operations, programs), false).getContentsString();
}

describe("contentOperators", () => {
  it("writes the operators pdf-lib's drawing API writes, numbers formatted alike", async () => {
    const operations: DrawOperation[] = [
      { kind: "text", x: 50, y: 791.89, size: 15.5, font: "bold", text: "Aé€", gray: 0 },
      { kind: "text", x: 0.1, y: -3.25, size: 7.5, font: "regular", text: "A", gray: 0.32 },
      // Numbers JavaScript would print with an exponent: pdf-lib writes them out.
      { kind: "text", x: 1e-7, y: 1.5e21, size: 9, font: "regular", text: "é", gray: 1e-7 },
      { kind: "line", x1: 50, y1: 700.12, x2: 545.28, y2: 700.12, thickness: 0.6, gray: 0.62 },
      { kind: "line", x1: 0, y1: 0, x2: 1e-9, y2: 2, thickness: 1.2, gray: 0 },
      { kind: "rect", x: 50, y: 600.5, width: 495.28, height: 18.3, fillGray: 0.91, strokeGray: undefined },
      { kind: "rect", x: 297.64, y: 100, width: 247.64, height: 60, fillGray: undefined, strokeGray: 0.62 },
      { kind: "rect", x: 10, y: 10, width: 5, height: 5, fillGray: 0.5, strokeGray: 0.2 },
      { kind: "rect", x: 10, y: 10, width: 5, height: 5, fillGray: undefined, strokeGray: undefined },
    ];
    const expected = await viaDrawingApi(operations);
    expect(expected).toContain(" 1500000000000000000000 Tm");
    expect(expected).toContain("\n0.000000001 2 l\n");
    expect(asText(operations)).toBe(expected);
  });

  it("refuses a character the font program lacks (the data was checked printable: a bug)", () => {
    expect(() => contentOperators([{ kind: "text", x: 0, y: 0, size: 9, font: "regular", text: "Ω", gray: 0 }], programs)).toThrow(/no glyph for U\+3a9/);
  });
});
