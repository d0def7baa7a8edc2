/**
 * The TrueType fonts of a template set, subset once and embedded as is in
 * every document.
 *
 * Subsetting a font for each document (what pdf-lib does) costs tens of
 * milliseconds — re-parsing the file, decoding and re-encoding the glyphs,
 * compressing the result — more than the rest of the rendering together.
 * Here each font is subset once per template set (./truetype.ts) to a fixed
 * repertoire — the Latin letters of the European languages, common
 * punctuation, the euro sign, and every character the templates
 * themselves print — compressed once, and the PDF objects of a document
 * only point at those bytes. A document holding a character outside the
 * repertoire (but in the font) gets a program extended with it, built on
 * the spot and kept in a small cache.
 *
 * The embedding is the one ISO 32000-1 §9.7 describes for TrueType in a
 * composite font: a Type 0 font with Identity-H encoding, a CIDFontType2
 * descendant with CIDToGIDMap Identity and /W widths, a FontDescriptor with
 * the FontFile2 program, and a ToUnicode CMap (§9.10.3) so text extracts
 * and searches. The subset's name carries the six-letter tag of §9.6.4,
 * derived from the font and the repertoire (never random).
 *
 * Text maps to glyphs through the character map only (no OpenType shaping:
 * no ligature makes the extracted text differ from the data, and the
 * layout's widths are exactly the drawn ones).
 */
import { createHash } from "node:crypto";
import { deflateSync } from "node:zlib";
import type { FontMetrics } from "./layout.js";
import { sha256Hex } from "./package-format.js";
import { TrueTypeFont } from "./truetype.js";

/** A subset ready to embed: everything a document needs, computed once. */
export interface FontProgram {
  /** `ABCDEF+DejaVuSans`. */
  readonly baseFontName: string;
  /** Subset glyph id of a code point of the repertoire. */
  readonly glyphIds: ReadonlyMap<number, number>;
  /** The same ids as the 4 hex digits of an Identity-H string (ISO 32000-1 §9.7.5.2), ready to concatenate. */
  readonly glyphHex: ReadonlyMap<number, string>;
  /** The subset TrueType file, zlib-compressed (FlateDecode), and its uncompressed length (/Length1). */
  readonly fontFile: Buffer;
  readonly fontFileLength: number;
  /** ToUnicode CMap, zlib-compressed. */
  readonly toUnicode: Buffer;
  /** /W array of the CIDFont: `[1, [w1 w2 …]]` in glyph space units (1/1000). */
  readonly widths: readonly (number | readonly number[])[];
  readonly descriptor: {
    readonly flags: number;
    readonly fontBBox: readonly [number, number, number, number];
    readonly italicAngle: number;
    readonly ascent: number;
    readonly descent: number;
    readonly capHeight: number;
    readonly xHeight: number;
  };
}

/** Latin script of the European languages (Latin-1, Latin Extended-A, Romanian comma-below letters), punctuation, currency. */
const BASE_REPERTOIRE: readonly (readonly [number, number])[] = [
  [0x0020, 0x007e],
  [0x00a0, 0x017f],
  [0x0218, 0x021b],
  [0x2010, 0x2027],
  [0x2030, 0x203a],
  [0x20ac, 0x20ac],
  [0x2116, 0x2116],
];

const EXTENDED_CACHE_SIZE = 16;

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function hex4(value: number): string {
  return value.toString(16).toUpperCase().padStart(4, "0");
}

/** The UTF-16BE hex of a code point (a surrogate pair beyond the BMP), as a bfchar destination. */
function utf16Hex(codePoint: number): string {
  const text = String.fromCodePoint(codePoint);
  let hex = "";
  for (let i = 0; i < text.length; i += 1) hex += hex4(text.charCodeAt(i));
  return hex;
}

/** ToUnicode CMap (Adobe Technical Note #5411); at most 100 entries per bfchar block (Adobe TN #5014). */
function toUnicodeCMap(entries: readonly [number, number][]): string {
  const blocks: string[] = [];
  for (let i = 0; i < entries.length; i += 100) {
    const chunk = entries.slice(i, i + 100);
    blocks.push(`${chunk.length} beginbfchar\n${chunk.map(([gid, cp]) => `<${hex4(gid)}> <${utf16Hex(cp)}>`).join("\n")}\nendbfchar`);
  }
  return [
    "/CIDInit /ProcSet findresource begin",
    "12 dict begin",
    "begincmap",
    "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
    "/CMapName /Adobe-Identity-UCS def",
    "/CMapType 2 def",
    "1 begincodespacerange",
    "<0000> <FFFF>",
    "endcodespacerange",
    ...blocks,
    "endcmap",
    "CMapName currentdict /CMap defineresource pop",
    "end",
    "end",
    "",
  ].join("\n");
}

/** One TrueType file of a template set: metrics for the layout, programs for the PDF. */
export class TemplateFont implements FontMetrics {
  readonly bytes: Buffer;
  readonly sha256: string;
  readonly postscriptName: string;
  readonly ascent: number;
  readonly #font: TrueTypeFont;
  readonly #scale: number;
  readonly #advances = new Map<number, number>();
  #base: FontProgram | undefined;
  #baseCodePoints: ReadonlySet<number> = new Set();
  readonly #extended = new Map<string, FontProgram>();

  /** Parses the file; throws TypeError when it is not a usable TrueType font. */
  constructor(bytes: Buffer) {
    const font = TrueTypeFont.parse(bytes);
    this.bytes = bytes;
    this.sha256 = sha256Hex(bytes);
    this.#font = font;
    this.#scale = 1000 / font.unitsPerEm;
    this.postscriptName = font.postscriptName.replace(/[^A-Za-z0-9-]/g, "");
    this.ascent = font.ascent / font.unitsPerEm;
  }

  hasGlyph(codePoint: number): boolean {
    return this.#font.glyphId(codePoint) !== 0;
  }

  /** Width in points of `text` at `size`: the sum of its glyphs' advances (no kerning, as drawn). */
  widthOf(text: string, size: number): number {
    return this.pointsOf(this.advanceOf(text), size);
  }

  /** Sum of the advances of the glyphs of `text`, font units (integers: sums are exact in any order). */
  advanceOf(text: string): number {
    let units = 0;
    for (const char of text) units += this.#advance(char.codePointAt(0)!);
    return units;
  }

  pointsOf(units: number, size: number): number {
    return (units * this.#scale * size) / 1000;
  }

  /**
   * Builds the base program: the repertoire plus `alsoInclude` (the
   * templates' own characters). Called once per set; when `previous` (the
   * same font in the set this one replaces) already has that program, it
   * is taken over instead of built again — programs are immutable.
   */
  prepare(alsoInclude: Iterable<number>, previous?: TemplateFont): void {
    const codePoints = new Set<number>();
    for (const [first, last] of BASE_REPERTOIRE) for (let cp = first; cp <= last; cp += 1) codePoints.add(cp);
    for (const cp of alsoInclude) codePoints.add(cp);
    this.#baseCodePoints = codePoints;
    const inherited = previous === undefined ? undefined : previous.#base;
    const same =
      inherited !== undefined &&
      previous !== undefined &&
      previous.sha256 === this.sha256 &&
      previous.#baseCodePoints.size === codePoints.size &&
      [...codePoints].every((cp) => previous.#baseCodePoints.has(cp));
    this.#base = same ? inherited : this.#build(codePoints);
  }

  /** The program covering `codePoints`: the base one, or the base extended with the others. */
  programFor(codePoints: ReadonlySet<number>): FontProgram {
    const base = this.#base;
    if (base === undefined) throw new Error("TemplateFont.prepare() was not called");
    let extra: number[] | undefined;
    for (const cp of codePoints) if (!this.#baseCodePoints.has(cp) && cp !== 0x0a) (extra ??= []).push(cp);
    if (extra === undefined) return base;
    extra.sort((a, b) => a - b);
    const key = extra.join(",");
    let program = this.#extended.get(key);
    if (program === undefined) {
      program = this.#build(new Set([...this.#baseCodePoints, ...extra]));
      this.#extended.set(key, program);
      if (this.#extended.size > EXTENDED_CACHE_SIZE) this.#extended.delete(this.#extended.keys().next().value!);
    }
    return program;
  }

  #advance(codePoint: number): number {
    let advance = this.#advances.get(codePoint);
    if (advance === undefined) {
      advance = this.#font.advanceWidth(this.#font.glyphId(codePoint));
      this.#advances.set(codePoint, advance);
    }
    return advance;
  }

  #build(wanted: ReadonlySet<number>): FontProgram {
    const font = this.#font;
    const codePoints = [...wanted].filter((cp) => font.glyphId(cp) !== 0).sort((a, b) => a - b);
    const subset = font.createSubset();
    const glyphIds = new Map<number, number>();
    const glyphHex = new Map<number, string>();
    const unicodeOf = new Map<number, number>();
    const widthOf = new Map<number, number>();
    for (const codePoint of codePoints) {
      const glyph = font.glyphId(codePoint);
      const id = subset.includeGlyph(glyph);
      glyphIds.set(codePoint, id);
      glyphHex.set(codePoint, id.toString(16).padStart(4, "0"));
      // Two characters drawn by one glyph (space and no-break space): extraction gives the first.
      if (!unicodeOf.has(id)) unicodeOf.set(id, codePoint);
      widthOf.set(id, round(font.advanceWidth(glyph) * this.#scale));
    }
    const file = subset.encode();
    const ids = [...widthOf.keys()].sort((a, b) => a - b);
    const widths: (number | number[])[] = [];
    for (const id of ids) {
      const last = widths[widths.length - 1];
      const start = widths[widths.length - 2];
      if (Array.isArray(last) && typeof start === "number" && start + last.length === id) last.push(widthOf.get(id)!);
      else widths.push(id, [widthOf.get(id)!]);
    }
    const tag = [...createHash("sha256").update(this.sha256).update("\u0000").update(codePoints.join(",")).digest().subarray(0, 6)]
      .map((byte) => String.fromCharCode(65 + (byte % 26)))
      .join("");
    const familyClass = font.familyClass >> 8;
    const { minX, minY, maxX, maxY } = font.bbox;
    return Object.freeze({
      baseFontName: `${tag}+${this.postscriptName}`,
      glyphIds,
      glyphHex,
      fontFile: deflateSync(file),
      fontFileLength: file.length,
      toUnicode: deflateSync(Buffer.from(toUnicodeCMap(ids.map((id) => [id, unicodeOf.get(id)!])), "latin1")),
      widths,
      descriptor: {
        // ISO 32000-1 §9.8.2 Table 123: FixedPitch (1), Serif (2), Symbolic (3) — characters outside the standard Latin set —, Italic (7).
        flags: (font.isFixedPitch ? 1 : 0) | (familyClass >= 1 && familyClass <= 7 ? 2 : 0) | 4 | (font.italic ? 64 : 0),
        fontBBox: [round(minX * this.#scale), round(minY * this.#scale), round(maxX * this.#scale), round(maxY * this.#scale)] as const,
        italicAngle: font.italicAngle,
        ascent: round(font.ascent * this.#scale),
        descent: round(font.descent * this.#scale),
        // A cap height or x-height of 0 is "not given" (OS/2 before version 2 has neither).
        capHeight: round((font.capHeight || font.ascent) * this.#scale),
        xHeight: round((font.xHeight || 0) * this.#scale),
      },
    });
  }
}
