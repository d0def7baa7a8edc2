/**
 * The layout engine: turns a template's blocks and the data into pages of
 * drawing operations (text runs, lines, rectangles) with absolute
 * positions. It is pure — the same inputs give the same operations — and it
 * measures text with the very fonts that will be embedded, so what is
 * right-aligned here is right-aligned in the PDF.
 *
 * Blocks are stacked from the top margin down; a block (or a table row, or
 * a section row) that does not fit above the footer goes to a new page, and
 * a table repeats its header row there. Long texts wrap at spaces (never at
 * the no-break spaces the formatters put in amounts and numbers).
 */
import { evaluate, isPresent, renderText, type EvaluationScope, type Expression, type TextTemplate, type Value } from "./expressions.js";
import type { FontRole } from "./template-definition.js";

/** What the layout needs to know about a font: advance widths and vertical metrics. */
export interface FontMetrics {
  /** Width in points of `text` at `size`: `pointsOf(advanceOf(text), size)`. */
  widthOf(text: string, size: number): number;
  /** Sum of the advances of `text`, in font units: additive and exact, so a line is measured word by word. */
  advanceOf(text: string): number;
  /** Points at `size` of `units` font units. */
  pointsOf(units: number, size: number): number;
  /** Ascender height as a fraction of the font size. */
  readonly ascent: number;
}

export type DrawOperation =
  | { kind: "text"; x: number; y: number; size: number; font: FontRole; text: string; gray: number }
  | { kind: "line"; x1: number; y1: number; x2: number; y2: number; thickness: number; gray: number }
  | { kind: "rect"; x: number; y: number; width: number; height: number; fillGray: number | undefined; strokeGray: number | undefined };

export interface LaidOutDocument {
  pages: DrawOperation[][];
  /** Every text drawn, per font: decides the font subsets and their names. */
  textByFont: Record<FontRole, string[]>;
}

/** A block whose texts are parsed (./template-set.ts compiles them when a template loads). */
export type CompiledBlock =
  | { type: "title"; text: TextTemplate; subtitle: TextTemplate | undefined; when: Expression | undefined }
  | { type: "paragraph"; text: TextTemplate; size: number | undefined; style: FontRole; when: Expression | undefined }
  | {
      type: "section";
      title: TextTemplate;
      rows: { label: TextTemplate; value: TextTemplate; when: Expression | undefined }[];
      labelWidth: number;
      when: Expression | undefined;
    }
  | {
      type: "table";
      title: TextTemplate | undefined;
      items: Expression;
      columns: { header: TextTemplate; value: TextTemplate; width: number; align: "left" | "right" | "center" }[];
      totals: { label: TextTemplate; value: TextTemplate; when: Expression | undefined }[];
      when: Expression | undefined;
    }
  | { type: "signature"; label: TextTemplate; text: TextTemplate; when: Expression | undefined }
  | { type: "spacer"; height: number }
  | { type: "rule" };

export interface LayoutInput {
  blocks: readonly CompiledBlock[];
  footer: TextTemplate | undefined;
  fonts: Record<FontRole, FontMetrics>;
  margin: number;
  fontSize: number;
  data: unknown;
  maps: EvaluationScope["maps"];
  /** Variables besides `page` and `pages` (template id and version…). */
  variables: Readonly<Record<string, string | number>>;
}

/** ISO 216 A4 in PDF points (ISO 32000-1 §8.3.2.3: 1/72 inch). */
export const A4 = { width: 595.28, height: 841.89 } as const;

const LINE_SPACING = 1.32;
const FOOTER_SIZE = 7.5;
const BLACK = 0;
const LABEL_GRAY = 0.32;
const RULE_GRAY = 0.62;
const HEADER_FILL = 0.91;
const CELL_PADDING = 4;

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/**
 * Breaks `text` into lines no wider than `width`: at spaces, at explicit
 * new lines, and inside a word only when the word alone is too wide.
 */
export function wrapText(text: string, font: FontMetrics, size: number, width: number): string[] {
  const lines: string[] = [];
  const space = font.advanceOf(" ");
  const fits = (units: number): boolean => font.pointsOf(units, size) <= width;
  for (const paragraph of text.split("\n")) {
    // Most texts fit: then the word-by-word pass below would rebuild the paragraph itself (widths only
    // grow with the text). Not with leading spaces, which that pass drops.
    if (!paragraph.startsWith(" ") && fits(font.advanceOf(paragraph))) {
      lines.push(paragraph);
      continue;
    }
    let line = "";
    let lineUnits = 0;
    for (const word of paragraph.split(" ")) {
      const wordUnits = font.advanceOf(word);
      const candidateUnits = line === "" ? wordUnits : lineUnits + space + wordUnits;
      if (fits(candidateUnits)) {
        line = line === "" ? word : `${line} ${word}`;
        lineUnits = candidateUnits;
        continue;
      }
      if (line !== "") lines.push(line);
      // The word starts a new line; a single word wider than the line: cut it by characters.
      let piece = "";
      let pieceUnits = 0;
      for (const char of word) {
        const charUnits = font.advanceOf(char);
        if (piece !== "" && font.pointsOf(pieceUnits + charUnits, size) > width) {
          lines.push(piece);
          piece = "";
          pieceUnits = 0;
        }
        piece += char;
        pieceUnits += charUnits;
      }
      line = piece;
      lineUnits = pieceUnits;
    }
    lines.push(line);
  }
  return lines;
}

class PageWriter {
  readonly pages: DrawOperation[][] = [];
  readonly textByFont: Record<FontRole, string[]> = { regular: [], bold: [] };
  y = 0;
  readonly #input: LayoutInput;
  readonly left: number;
  readonly right: number;
  readonly #top: number;
  readonly #bottom: number;
  /** Called after a page break (a table redraws its header). */
  onNewPage: (() => void) | undefined;

  constructor(input: LayoutInput) {
    this.#input = input;
    this.left = input.margin;
    this.right = A4.width - input.margin;
    this.#top = A4.height - input.margin;
    // Room for the footer line and its text.
    this.#bottom = input.margin + FOOTER_SIZE * 3;
    this.newPage();
  }

  get width(): number {
    return this.right - this.left;
  }

  newPage(): void {
    this.pages.push([]);
    this.y = this.#top;
    const hook = this.onNewPage;
    if (hook !== undefined) hook();
  }

  /** Makes sure `height` points fit above the footer, starting a page if not (unless the page is still empty). */
  ensure(height: number): void {
    if (this.y - height < this.#bottom && this.y < this.#top) this.newPage();
  }

  get page(): DrawOperation[] {
    return this.pages[this.pages.length - 1]!;
  }

  text(x: number, topY: number, text: string, font: FontRole, size: number, gray = BLACK): void {
    if (text === "") return;
    const baseline = topY - this.#input.fonts[font].ascent * size;
    this.page.push({ kind: "text", x: round(x), y: round(baseline), size, font, text, gray });
    this.textByFont[font].push(text);
  }

  /** Draws lines of text aligned in [x, x + width] from `topY`; returns the height used. */
  lines(lines: readonly string[], x: number, width: number, topY: number, font: FontRole, size: number, align: "left" | "right" | "center", gray = BLACK): number {
    const metrics = this.#input.fonts[font];
    lines.forEach((line, i) => {
      const lineWidth = metrics.widthOf(line, size);
      const offset = align === "left" ? 0 : align === "right" ? width - lineWidth : (width - lineWidth) / 2;
      this.text(x + offset, topY - i * size * LINE_SPACING, line, font, size, gray);
    });
    return lines.length * size * LINE_SPACING;
  }

  rule(y: number, thickness = 0.6, gray = RULE_GRAY): void {
    this.page.push({ kind: "line", x1: round(this.left), y1: round(y), x2: round(this.right), y2: round(y), thickness, gray });
  }

  rect(x: number, y: number, width: number, height: number, fillGray: number | undefined, strokeGray: number | undefined): void {
    this.page.push({ kind: "rect", x: round(x), y: round(y), width: round(width), height: round(height), fillGray, strokeGray });
  }

  footer(template: TextTemplate | undefined, scopeFor: (page: number, pages: number) => EvaluationScope): void {
    const pages = this.pages.length;
    this.pages.forEach((operations, index) => {
      const y = this.#input.margin + FOOTER_SIZE * 1.2;
      operations.push({ kind: "line", x1: round(this.left), y1: round(y + FOOTER_SIZE * 1.4), x2: round(this.right), y2: round(y + FOOTER_SIZE * 1.4), thickness: 0.4, gray: RULE_GRAY });
      const pageText = `Page ${index + 1}/${pages}`;
      const metrics = this.#input.fonts.regular;
      const pageWidth = metrics.widthOf(pageText, FOOTER_SIZE);
      const draw = (x: number, text: string): void => {
        const baseline = y - metrics.ascent * FOOTER_SIZE + FOOTER_SIZE;
        operations.push({ kind: "text", x: round(x), y: round(baseline), size: FOOTER_SIZE, font: "regular", text, gray: LABEL_GRAY });
        this.textByFont.regular.push(text);
      };
      if (template !== undefined) {
        const text = renderText(template, scopeFor(index + 1, pages));
        const [first = ""] = wrapText(text, metrics, FOOTER_SIZE, this.width - pageWidth - 12);
        if (first !== "") draw(this.left, first);
      }
      draw(this.right - pageWidth, pageText);
    });
  }
}

export function layoutDocument(input: LayoutInput): LaidOutDocument {
  const writer = new PageWriter(input);
  const size = input.fontSize;
  const scopeWith = (current: unknown, pageNumbers: { page: number; pages: number } | undefined): EvaluationScope => ({
    root: input.data,
    current,
    maps: input.maps,
    variables: pageNumbers === undefined ? input.variables : { ...input.variables, ...pageNumbers },
  });
  const rootScope = scopeWith(input.data, undefined);
  const shown = (when: Expression | undefined, scope: EvaluationScope): boolean => when === undefined || isPresent(evaluate(when, scope));

  const sectionTitle = (title: string): void => {
    const titleSize = size + 1.5;
    writer.ensure(titleSize * LINE_SPACING + size * LINE_SPACING * 2);
    writer.text(writer.left, writer.y, title, "bold", titleSize);
    writer.y -= titleSize * LINE_SPACING;
    writer.rule(writer.y + 2);
    writer.y -= 4;
  };

  for (const block of input.blocks) {
    if ("when" in block && !shown(block.when, rootScope)) continue;
    switch (block.type) {
      case "title": {
        const titleSize = size + 6;
        const lines = wrapText(renderText(block.text, rootScope), input.fonts.bold, titleSize, writer.width);
        writer.ensure(lines.length * titleSize * LINE_SPACING);
        writer.y -= writer.lines(lines, writer.left, writer.width, writer.y, "bold", titleSize, "left");
        if (block.subtitle !== undefined) {
          const subtitle = wrapText(renderText(block.subtitle, rootScope), input.fonts.regular, size, writer.width);
          writer.y -= writer.lines(subtitle, writer.left, writer.width, writer.y, "regular", size, "left", LABEL_GRAY);
        }
        writer.y -= 4;
        writer.rule(writer.y, 1.2, BLACK);
        writer.y -= 12;
        break;
      }
      case "paragraph": {
        const paragraphSize = block.size ?? size;
        const lines = wrapText(renderText(block.text, rootScope), input.fonts[block.style], paragraphSize, writer.width);
        for (const line of lines) {
          writer.ensure(paragraphSize * LINE_SPACING);
          writer.y -= writer.lines([line], writer.left, writer.width, writer.y, block.style, paragraphSize, "left");
        }
        writer.y -= 6;
        break;
      }
      case "section": {
        sectionTitle(renderText(block.title, rootScope));
        const labelWidth = writer.width * block.labelWidth;
        const valueWidth = writer.width - labelWidth;
        for (const row of block.rows) {
          if (!shown(row.when, rootScope)) continue;
          const label = wrapText(renderText(row.label, rootScope), input.fonts.regular, size, labelWidth - 8);
          const value = wrapText(renderText(row.value, rootScope), input.fonts.bold, size, valueWidth);
          const height = Math.max(label.length, value.length) * size * LINE_SPACING;
          writer.ensure(height);
          writer.lines(label, writer.left, labelWidth - 8, writer.y, "regular", size, "left", LABEL_GRAY);
          writer.lines(value, writer.left + labelWidth, valueWidth, writer.y, "bold", size, "left");
          writer.y -= height + 1.5;
        }
        writer.y -= 8;
        break;
      }
      case "table": {
        if (block.title !== undefined) sectionTitle(renderText(block.title, rootScope));
        const itemsValue: Value = evaluate(block.items, rootScope);
        const items = Array.isArray(itemsValue) ? (itemsValue as unknown[]) : [];
        const x: number[] = [];
        let offset = writer.left;
        const widths = block.columns.map((column) => column.width * writer.width);
        for (const width of widths) {
          x.push(offset);
          offset += width;
        }
        const cellSize = size - 0.5;
        const drawRow = (texts: string[], font: FontRole, fill: boolean): void => {
          const wrapped = texts.map((text, i) => wrapText(text, input.fonts[font], cellSize, widths[i]! - 2 * CELL_PADDING));
          const height = Math.max(...wrapped.map((lines) => lines.length)) * cellSize * LINE_SPACING + 2 * CELL_PADDING - 2;
          writer.ensure(height);
          if (fill) writer.rect(writer.left, writer.y - height, writer.width, height, HEADER_FILL, undefined);
          wrapped.forEach((lines, i) => {
            writer.lines(lines, x[i]! + CELL_PADDING, widths[i]! - 2 * CELL_PADDING, writer.y - CELL_PADDING + 1, font, cellSize, block.columns[i]!.align);
          });
          writer.y -= height;
          writer.rule(writer.y, 0.4);
        };
        const headerTexts = block.columns.map((column) => renderText(column.header, rootScope));
        drawRow(headerTexts, "bold", true);
        writer.onNewPage = () => drawRow(headerTexts, "bold", true);
        for (const item of items) {
          const scope = scopeWith(item, undefined);
          drawRow(block.columns.map((column) => renderText(column.value, scope)), "regular", false);
        }
        writer.onNewPage = undefined;
        const lastColumn = block.columns.length - 1;
        for (const total of block.totals) {
          if (!shown(total.when, rootScope)) continue;
          const height = cellSize * LINE_SPACING + 2 * CELL_PADDING - 2;
          writer.ensure(height);
          const labelRight = x[lastColumn]! - CELL_PADDING;
          writer.lines([renderText(total.label, rootScope)], writer.left, labelRight - writer.left, writer.y - CELL_PADDING + 1, "bold", cellSize, "right");
          writer.lines([renderText(total.value, rootScope)], x[lastColumn]! + CELL_PADDING, widths[lastColumn]! - 2 * CELL_PADDING, writer.y - CELL_PADDING + 1, "bold", cellSize, "right");
          writer.y -= height;
        }
        writer.y -= 10;
        break;
      }
      case "signature": {
        const text = wrapText(renderText(block.text, rootScope), input.fonts.bold, size, writer.width / 2 - 2 * CELL_PADDING * 2);
        const height = (text.length + 1) * size * LINE_SPACING + 4 * CELL_PADDING;
        writer.ensure(height);
        const boxX = writer.left + writer.width / 2;
        writer.rect(boxX, writer.y - height, writer.width / 2, height, undefined, RULE_GRAY);
        writer.lines([renderText(block.label, rootScope)], boxX + 2 * CELL_PADDING, writer.width / 2, writer.y - 2 * CELL_PADDING, "regular", size - 1, "left", LABEL_GRAY);
        writer.lines(text, boxX + 2 * CELL_PADDING, writer.width / 2 - 4 * CELL_PADDING, writer.y - 2 * CELL_PADDING - size * LINE_SPACING, "bold", size, "left");
        writer.y -= height + 10;
        break;
      }
      case "spacer":
        writer.y -= block.height;
        break;
      case "rule":
        writer.ensure(6);
        writer.rule(writer.y - 3);
        writer.y -= 8;
        break;
    }
  }
  // Only now is the number of pages known: the footer is drawn last.
  writer.footer(input.footer, (page, pages) => scopeWith(input.data, { page, pages }));
  return { pages: writer.pages, textByFont: writer.textByFont };
}
