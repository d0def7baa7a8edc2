import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { TemplateFont } from "./font-program.js";
import { wrapText, type FontMetrics } from "./layout.js";
import { builtinTemplatesDirectory } from "./package-directory.js";

let font: TemplateFont;

beforeAll(async () => {
  font = new TemplateFont(await readFile(join(builtinTemplatesDirectory(), "fonts", "DejaVuSans.ttf")));
});

/** The line breaking as first written: every candidate line measured whole. wrapText must break exactly as it does. */
function wrapTextByWholeLines(text: string, metrics: FontMetrics, size: number, width: number): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split("\n")) {
    let line = "";
    for (const word of paragraph.split(" ")) {
      const candidate = line === "" ? word : `${line} ${word}`;
      if (metrics.widthOf(candidate, size) <= width) {
        line = candidate;
        continue;
      }
      if (line !== "") lines.push(line);
      let piece = "";
      for (const char of word) {
        if (piece !== "" && metrics.widthOf(piece + char, size) > width) {
          lines.push(piece);
          piece = "";
        }
        piece += char;
      }
      line = piece;
    }
    lines.push(line);
  }
  return lines;
}

/** A deterministic pseudo-random sequence (xorshift32), so a failure can be replayed. */
function randomSource(seed: number): () => number {
  let state = seed;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x1_0000_0000;
  };
}

describe("wrapText", () => {
  it("breaks at spaces, and inside a word only when the word alone is too wide", () => {
    expect(wrapText("Infection aiguë des voies respiratoires", font, 10, 120)).toEqual(["Infection aiguë des", "voies respiratoires"]);
    expect(wrapText("Court", font, 10, 120)).toEqual(["Court"]);
    expect(wrapText("un\ndeux", font, 10, 120)).toEqual(["un", "deux"]);
    expect(wrapText("Électrocardiogramme", font, 10, 40)).toEqual(["Électro", "cardiog", "ramme"]);
    // Leading spaces are dropped, as they always were.
    expect(wrapText("  décalé", font, 10, 120)).toEqual(["décalé"]);
  });

  it("breaks exactly where measuring each whole candidate line did, for any text and width", () => {
    const random = randomSource(0x5eed);
    const alphabet = ["a", "é", "W", "i", "€", "1", ".", " ", " ", " ", "  ", "\n", "Ω", "ễ", "\u00a0"];
    for (let round = 0; round < 2000; round += 1) {
      const length = Math.floor(random() * 60);
      let text = "";
      for (let i = 0; i < length; i += 1) text += alphabet[Math.floor(random() * alphabet.length)];
      const size = [7.5, 9, 9.5, 15.5][Math.floor(random() * 4)]!;
      const width = Math.round(random() * 20_000) / 100;
      expect(wrapText(text, font, size, width), JSON.stringify({ text, size, width })).toEqual(wrapTextByWholeLines(text, font, size, width));
    }
  });

  it("measures words additively: the width of a line is the width of its parts", () => {
    const line = "Pâtisserie Schäfer S.à r.l. — 1 234,50 €";
    expect(font.advanceOf(line)).toBe(line.split("").reduce((units, char) => units + font.advanceOf(char), 0));
    expect(font.widthOf(line, 9.5)).toBe(font.pointsOf(font.advanceOf(line), 9.5));
  });
});
