/**
 * The TrueType fonts of a template set, subset once and embedded as is in
 * every document.
 *
 * Subsetting a font for each document (what pdf-lib does) costs tens of
 * milliseconds — re-parsing the file, decoding and re-encoding the glyphs,
 * compressing the result — more than the rest of the rendering together.
 * Here each font is subset once per template set (with fontkit) to a fixed
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
import fontkit from "@pdf-lib/fontkit";
import type { FontMetrics } from "./layout.js";
import { sha256Hex } from "./package-format.js";

type FontkitFont = ReturnType<typeof fontkit.create>;

/** A subset ready to embed: everything a document needs, computed once. */
export interface FontProgram {
  /** `ABCDEF+DejaVuSans`. */
  readonly baseFontName: string;
  /** Subset glyph id of a code point of the repertoire. */
  readonly glyphIds: ReadonlyMap<number, number>;
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

async function encodeSubset(subset: ReturnType<FontkitFont["createSubset"]>): Promise<Buffer> {
  const parts: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    const stream = subset.encodeStream();
    stream.on("data", (bytes: Uint8Array) => parts.push(Buffer.from(bytes)));
    stream.on("end", () => resolve());
    // The typings omit "error", which the stream does emit (it is a Node stream).
    (stream as unknown as NodeJS.EventEmitter).on("error", (error: unknown) => reject(error));
  });
  return Buffer.concat(parts);
}

/** One TrueType file of a template set: metrics for the layout, programs for the PDF. */
export class TemplateFont implements FontMetrics {
  readonly bytes: Buffer;
  readonly sha256: string;
  readonly postscriptName: string;
  readonly ascent: number;
  readonly #font: FontkitFont;
  readonly #scale: number;
  readonly #advances = new Map<number, number>();
  #base: FontProgram | undefined;
  #baseCodePoints: ReadonlySet<number> = new Set();
  readonly #extended = new Map<string, Promise<FontProgram>>();

  /** Parses the file; throws TypeError when it is not a usable TrueType font. */
  constructor(bytes: Buffer) {
    let font: FontkitFont;
    try {
      font = fontkit.create(bytes);
    } catch (error) {
      throw new TypeError("not a font file fontkit can read", { cause: error });
    }
    if (!font.postscriptName || !(font.unitsPerEm > 0) || typeof font.createSubset !== "function" || font.cff) {
      throw new TypeError("not a TrueType font with a PostScript name and metrics");
    }
    this.bytes = bytes;
    this.sha256 = sha256Hex(bytes);
    this.#font = font;
    this.#scale = 1000 / font.unitsPerEm;
    this.postscriptName = font.postscriptName.replace(/[^A-Za-z0-9-]/g, "");
    this.ascent = font.ascent / font.unitsPerEm;
  }

  hasGlyph(codePoint: number): boolean {
    return this.#font.hasGlyphForCodePoint(codePoint);
  }

  /** Width in points of `text` at `size`: the sum of its glyphs' advances (no kerning, as drawn). */
  widthOf(text: string, size: number): number {
    let units = 0;
    for (const char of text) units += this.#advance(char.codePointAt(0)!);
    return (units * this.#scale * size) / 1000;
  }

  /**
   * Builds the base program: the repertoire plus `alsoInclude` (the
   * templates' own characters). Called once per set; when `previous` (the
   * same font in the set this one replaces) already has that program, it
   * is taken over instead of built again — programs are immutable.
   */
  async prepare(alsoInclude: Iterable<number>, previous?: TemplateFont): Promise<void> {
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
    this.#base = same ? inherited : await this.#build(codePoints);
  }

  /** The program covering `codePoints`: the base one, or the base extended with the others. */
  programFor(codePoints: ReadonlySet<number>): Promise<FontProgram> {
    const base = this.#base;
    if (base === undefined) throw new Error("TemplateFont.prepare() was not awaited");
    const extra = [...codePoints].filter((cp) => !this.#baseCodePoints.has(cp) && cp !== 0x0a).sort((a, b) => a - b);
    if (extra.length === 0) return Promise.resolve(base);
    const key = extra.join(",");
    let program = this.#extended.get(key);
    if (program === undefined) {
      program = this.#build(new Set([...this.#baseCodePoints, ...extra]));
      this.#extended.set(key, program);
      program.catch(() => this.#extended.delete(key));
      if (this.#extended.size > EXTENDED_CACHE_SIZE) this.#extended.delete(this.#extended.keys().next().value!);
    }
    return program;
  }

  #advance(codePoint: number): number {
    let advance = this.#advances.get(codePoint);
    if (advance === undefined) {
      advance = this.#font.glyphForCodePoint(codePoint).advanceWidth;
      this.#advances.set(codePoint, advance);
    }
    return advance;
  }

  async #build(wanted: ReadonlySet<number>): Promise<FontProgram> {
    const font = this.#font;
    const codePoints = [...wanted].filter((cp) => font.hasGlyphForCodePoint(cp)).sort((a, b) => a - b);
    const subset = font.createSubset();
    const glyphIds = new Map<number, number>();
    const unicodeOf = new Map<number, number>();
    const widthOf = new Map<number, number>();
    for (const codePoint of codePoints) {
      const glyph = font.glyphForCodePoint(codePoint);
      const id = subset.includeGlyph(glyph);
      glyphIds.set(codePoint, id);
      // Two characters drawn by one glyph (space and no-break space): extraction gives the first.
      if (!unicodeOf.has(id)) unicodeOf.set(id, codePoint);
      widthOf.set(id, round(glyph.advanceWidth * this.#scale));
    }
    const file = await encodeSubset(subset);
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
    const familyClass = (font["OS/2"]?.sFamilyClass ?? 0) >> 8;
    const { minX, minY, maxX, maxY } = font.bbox;
    return Object.freeze({
      baseFontName: `${tag}+${this.postscriptName}`,
      glyphIds,
      fontFile: deflateSync(file),
      fontFileLength: file.length,
      toUnicode: deflateSync(Buffer.from(toUnicodeCMap(ids.map((id) => [id, unicodeOf.get(id)!])), "latin1")),
      widths,
      descriptor: {
        // ISO 32000-1 §9.8.2 Table 123: FixedPitch (1), Serif (2), Symbolic (3) — characters outside the standard Latin set —, Italic (7).
        flags: (font.post.isFixedPitch ? 1 : 0) | (familyClass >= 1 && familyClass <= 7 ? 2 : 0) | 4 | (font.head.macStyle.italic ? 64 : 0),
        fontBBox: [round(minX * this.#scale), round(minY * this.#scale), round(maxX * this.#scale), round(maxY * this.#scale)] as const,
        italicAngle: font.italicAngle,
        ascent: round(font.ascent * this.#scale),
        descent: round(font.descent * this.#scale),
        capHeight: round((font.capHeight || font.ascent) * this.#scale),
        xHeight: round((font.xHeight || 0) * this.#scale),
      },
    });
  }
}
