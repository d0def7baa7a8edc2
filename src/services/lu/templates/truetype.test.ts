import { readFile } from "node:fs/promises";
import { join } from "node:path";
import fontkit from "@pdf-lib/fontkit";
import { beforeAll, describe, expect, it } from "vitest";
import { builtinTemplatesDirectory } from "./package-directory.js";
import { TrueTypeFont } from "./truetype.js";

type FontkitFont = ReturnType<typeof fontkit.create>;
type FontkitSubset = ReturnType<FontkitFont["createSubset"]>;

/** fontkit's subset file: the reference our writer must reproduce byte for byte (documents keep their bytes). */
async function fontkitSubsetBytes(subset: FontkitSubset): Promise<Buffer> {
  const parts: Buffer[] = [];
  await new Promise<void>((resolve) => {
    const stream = subset.encodeStream();
    stream.on("data", (bytes: Uint8Array) => parts.push(Buffer.from(bytes)));
    stream.on("end", () => resolve());
  });
  return Buffer.concat(parts);
}

/** fontkit's left side bearing of a glyph: from `hmtx`, as its subset writer copies it (not in its typings). */
function leftBearingOf(glyph: ReturnType<FontkitFont["getGlyph"]>): number {
  return (glyph as unknown as { _getMetrics(): { leftBearing: number } })._getMetrics().leftBearing;
}

function range(first: number, last: number): number[] {
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

/** Latin, Greek, Cyrillic, Vietnamese (composite glyphs), punctuation, the euro sign, and code points beyond the BMP. */
const SAMPLE_CODE_POINTS = [...range(0x0000, 0x052f), ...range(0x1e00, 0x1eff), ...range(0x2000, 0x20cf), 0x2116, 0x1d400, 0x1f642, 0x10ffff];

describe.each(["DejaVuSans.ttf", "DejaVuSans-Bold.ttf"])("TrueTypeFont (%s) against fontkit", (file) => {
  let bytes: Buffer;
  let ours: TrueTypeFont;
  let reference: FontkitFont;

  beforeAll(async () => {
    bytes = await readFile(join(builtinTemplatesDirectory(), "fonts", file));
    ours = TrueTypeFont.parse(bytes);
    reference = fontkit.create(bytes);
  });

  it("reads the same names and metrics", () => {
    expect(ours.postscriptName).toBe(reference.postscriptName);
    expect(ours.unitsPerEm).toBe(reference.unitsPerEm);
    expect(ours.numGlyphs).toBe(reference.numGlyphs);
    expect([ours.ascent, ours.descent, ours.italicAngle]).toEqual([reference.ascent, reference.descent, reference.italicAngle]);
    expect(ours.bbox).toEqual({ minX: reference.bbox.minX, minY: reference.bbox.minY, maxX: reference.bbox.maxX, maxY: reference.bbox.maxY });
    // fontkit reports OS/2 fields a version-1 table lacks as undefined, as we do.
    expect(ours.capHeight).toBe(reference.capHeight);
    expect(ours.xHeight).toBe(reference.xHeight);
    expect(ours.familyClass).toBe(reference["OS/2"].sFamilyClass);
    expect(ours.isFixedPitch).toBe(Boolean(reference.post.isFixedPitch));
    expect(ours.italic).toBe(reference.head.macStyle.italic);
  });

  it("maps characters to the same glyphs, with the same advances and bearings", () => {
    let covered = 0;
    for (const codePoint of SAMPLE_CODE_POINTS) {
      const expected = reference.hasGlyphForCodePoint(codePoint) ? reference.glyphForCodePoint(codePoint).id : 0;
      expect(ours.glyphId(codePoint), `U+${codePoint.toString(16)}`).toBe(expected);
      if (expected !== 0) covered += 1;
    }
    expect(covered).toBeGreaterThan(1000);
    for (let id = 0; id < ours.numGlyphs; id += 7) {
      const glyph = reference.getGlyph(id);
      expect([ours.advanceWidth(id), ours.leftSideBearing(id)], `glyph ${id}`).toEqual([glyph.advanceWidth, leftBearingOf(glyph)]);
    }
    // The last glyphs sit past numberOfHMetrics in DejaVu Sans: advance of the last metric, bearing from the list.
    const last = ours.numGlyphs - 1;
    expect([ours.advanceWidth(last), ours.leftSideBearing(last)]).toEqual([reference.getGlyph(last).advanceWidth, leftBearingOf(reference.getGlyph(last))]);
  });

  it.each([
    ["a few letters", [0x41, 0x42, 0xe9]],
    ["composite glyphs (é, ễ, Ω) and the euro sign", [0xe9, 0x1ec5, 0x3a9, 0x20ac, 0x41]],
    ["the Latin repertoire of the templates", range(0x20, 0x17f)],
    ["a thousand scattered characters", range(0, 999).map((i) => 0x20 + i * 11)],
  ])("writes the subset fontkit writes: %s", async (_label, codePoints) => {
    const mine = ours.createSubset();
    const theirs = reference.createSubset();
    for (const codePoint of codePoints) {
      if (ours.glyphId(codePoint) === 0) continue;
      expect(mine.includeGlyph(ours.glyphId(codePoint))).toBe(theirs.includeGlyph(reference.glyphForCodePoint(codePoint)));
    }
    const written = mine.encode();
    expect(written.equals(await fontkitSubsetBytes(theirs))).toBe(true);
  });
});

describe("TrueTypeFont refuses what it cannot embed", () => {
  let bytes: Buffer;

  beforeAll(async () => {
    bytes = await readFile(join(builtinTemplatesDirectory(), "fonts", "DejaVuSans.ttf"));
  });

  function tableRecord(font: Buffer, tag: string): number {
    for (let i = 0; i < font.readUInt16BE(4); i += 1) if (font.toString("latin1", 12 + 16 * i, 16 + 16 * i) === tag) return 12 + 16 * i;
    throw new Error(`no ${tag}`);
  }

  it.each([
    ["a text file", () => Buffer.from("not a font at all, just some text")],
    ["an empty file", () => Buffer.alloc(0)],
    ["a CFF (OTTO) font", () => Buffer.concat([Buffer.from("OTTO"), bytes.subarray(4)])],
    ["a truncated file", () => bytes.subarray(0, 4096)],
    [
      "a table pointing outside the file",
      () => {
        const font = Buffer.from(bytes);
        font.writeUInt32BE(font.length, tableRecord(font, "glyf") + 8);
        return font;
      },
    ],
    [
      "loca offsets out of order",
      () => {
        const font = Buffer.from(bytes);
        font.writeUInt32BE(0xffffff, font.readUInt32BE(tableRecord(font, "loca") + 8) + 8);
        return font;
      },
    ],
    [
      "no Unicode character map",
      () => {
        const font = Buffer.from(bytes);
        const cmap = font.readUInt32BE(tableRecord(font, "cmap") + 8);
        // Every subtable record made Macintosh Japanese (platform 1, encoding 1).
        for (let i = 0; i < font.readUInt16BE(cmap + 2); i += 1) font.writeUInt32BE(0x00010001, cmap + 4 + 8 * i);
        return font;
      },
    ],
  ])("%s", (_label, make) => {
    expect(() => TrueTypeFont.parse(make())).toThrow(TypeError);
  });

  it("refuses a glyph index outside the font in a subset", () => {
    const subset = TrueTypeFont.parse(bytes).createSubset();
    expect(() => subset.includeGlyph(1_000_000)).toThrow(TypeError);
  });
});
