/**
 * TrueType font files (ISO/IEC 14496-22, OpenType with `glyf` outlines):
 * the little a PDF embedding needs — the metrics of a few tables, the
 * character map, advance widths — and a subset writer.
 *
 * Why not fontkit, which did this before: loading its bundle costs tens of
 * milliseconds (it decompresses a Brotli dictionary and builds Unicode
 * tries at import), and it decodes whole tables (`loca`, `hmtx`, `name`)
 * into objects before answering one question, so a template set cost
 * ~100 ms of CPU in fonts at every gateway start. Reading the few fields
 * needed straight from the bytes costs well under a millisecond.
 *
 * The subset is written exactly as `@pdf-lib/fontkit` 1.1 `TTFSubset`
 * wrote it — same tables in the same order (`head`, `hhea`, `loca`,
 * `maxp`, `cvt `, `prep`, `glyf`, `hmtx`, `fpgm`), same values, tables
 * packed without padding and zero checksums — so that documents keep
 * their bytes across the change; truetype.test.ts compares the two. That
 * layout is what ISO 32000-1 §9.9 asks of an embedded TrueType program for
 * a CIDFontType2 with CIDToGIDMap Identity: glyphs addressed by index, no
 * `cmap` needed.
 *
 * Every offset read from the file is bounds-checked: a malformed font is a
 * `TypeError` when parsed, never an out-of-range read later.
 */

interface TableRecord {
  readonly offset: number;
  readonly length: number;
}

/** OpenType `glyf` composite flags (ISO/IEC 14496-22 §5.3.3.2). */
const ARG_1_AND_2_ARE_WORDS = 0x0001;
const WE_HAVE_A_SCALE = 0x0008;
const MORE_COMPONENTS = 0x0020;
const WE_HAVE_AN_X_AND_Y_SCALE = 0x0040;
const WE_HAVE_A_TWO_BY_TWO = 0x0080;

/**
 * Unicode character maps in fontkit's order of preference (platform,
 * encoding): full repertoire first, then the BMP ones.
 */
const CMAP_PREFERENCE: readonly (readonly [number, number])[] = [
  [3, 10],
  [0, 6],
  [0, 4],
  [3, 1],
  [0, 3],
  [0, 2],
  [0, 1],
  [0, 0],
];

/** `name` records read as English (fontkit's `getName(…, "en")`): Macintosh English, Windows US English. */
const ENGLISH_NAME_RECORDS: readonly (readonly [number, number])[] = [
  [1, 0],
  [3, 0x409],
];
const POSTSCRIPT_NAME_ID = 6;

function malformed(detail: string): TypeError {
  return new TypeError(`malformed TrueType font: ${detail}`);
}

type GlyphLookup = (codePoint: number) => number;

/** A parsed TrueType file. Immutable; methods read the original bytes. */
export class TrueTypeFont {
  readonly postscriptName: string;
  readonly unitsPerEm: number;
  readonly numGlyphs: number;
  /** `hhea` ascender and descender, font units. */
  readonly ascent: number;
  readonly descent: number;
  /** OS/2 (version ≥ 2) cap height and x-height, font units; undefined when the table lacks them. */
  readonly capHeight: number | undefined;
  readonly xHeight: number | undefined;
  /** `post` italic angle, degrees. */
  readonly italicAngle: number;
  readonly isFixedPitch: boolean;
  /** OS/2 sFamilyClass, 0 without an OS/2 table. */
  readonly familyClass: number;
  /** `head` macStyle italic bit. */
  readonly italic: boolean;
  /** `head` bounding box of all glyphs, font units. */
  readonly bbox: { readonly minX: number; readonly minY: number; readonly maxX: number; readonly maxY: number };

  readonly #bytes: Buffer;
  readonly #view: DataView;
  readonly #tables: ReadonlyMap<string, TableRecord>;
  readonly #numberOfHMetrics: number;
  readonly #glyphOffsets: Uint32Array;
  readonly #lookup: GlyphLookup;

  private constructor(bytes: Buffer) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const tables = this.#readDirectory();
    this.#tables = tables;
    const table = (tag: string, minLength: number): number => {
      const record = tables.get(tag);
      if (record === undefined) throw malformed(`no ${tag} table`);
      if (record.length < minLength) throw malformed(`${tag} table too short`);
      return record.offset;
    };
    if (tables.has("CFF ") || tables.has("CFF2")) throw new TypeError("not a TrueType font: CFF outlines");
    const u16 = (at: number): number => this.#view.getUint16(at);
    const i16 = (at: number): number => this.#view.getInt16(at);

    // ISO/IEC 14496-22 §5.2.2 head, §5.2.3 hhea, §5.2.6 maxp (version 1.0, the TrueType one), §5.2.7 post.
    const head = table("head", 54);
    const hhea = table("hhea", 36);
    const maxp = table("maxp", 32);
    const post = table("post", 16);
    table("glyf", 0);
    this.unitsPerEm = u16(head + 18);
    if (!(this.unitsPerEm > 0)) throw malformed("unitsPerEm is 0");
    this.bbox = Object.freeze({ minX: i16(head + 36), minY: i16(head + 38), maxX: i16(head + 40), maxY: i16(head + 42) });
    this.italic = (u16(head + 44) & 0x0002) !== 0;
    const indexToLocFormat = i16(head + 50);
    if (indexToLocFormat !== 0 && indexToLocFormat !== 1) throw malformed("indexToLocFormat is neither 0 nor 1");
    this.ascent = i16(hhea + 4);
    this.descent = i16(hhea + 6);
    this.#numberOfHMetrics = u16(hhea + 34);
    this.numGlyphs = u16(maxp + 4);
    if (this.numGlyphs === 0) throw malformed("no glyphs");
    if (this.#numberOfHMetrics === 0 || this.#numberOfHMetrics > this.numGlyphs) throw malformed("numberOfHMetrics out of range");
    table("hmtx", this.#numberOfHMetrics * 4 + (this.numGlyphs - this.#numberOfHMetrics) * 2);
    this.italicAngle = this.#view.getInt32(post + 4) / 65536;
    this.isFixedPitch = this.#view.getUint32(post + 12) !== 0;

    // §5.2.4 OS/2: sFamilyClass in every version; sxHeight and sCapHeight from version 2.
    const os2 = tables.get("OS/2");
    if (os2 !== undefined && os2.length >= 32) {
      this.familyClass = i16(os2.offset + 30);
      const version = u16(os2.offset);
      const withHeights = version >= 2 && os2.length >= 90;
      this.xHeight = withHeights ? i16(os2.offset + 86) : undefined;
      this.capHeight = withHeights ? i16(os2.offset + 88) : undefined;
    } else {
      this.familyClass = 0;
      this.xHeight = undefined;
      this.capHeight = undefined;
    }

    this.#glyphOffsets = this.#readLoca(indexToLocFormat === 1);
    this.#lookup = this.#readCmap();
    this.postscriptName = this.#readPostscriptName();
  }

  /** Throws TypeError when `bytes` is not a TrueType font this module can read and subset. */
  static parse(bytes: Buffer): TrueTypeFont {
    if (!Buffer.isBuffer(bytes)) throw new TypeError("font bytes must be a Buffer");
    try {
      return new TrueTypeFont(bytes);
    } catch (error) {
      if (error instanceof TypeError) throw error;
      // A DataView read past the end: an offset or length in the file points outside it.
      throw malformed(error instanceof Error ? error.message : String(error));
    }
  }

  /** The glyph index the character map gives `codePoint`; 0 (.notdef) when the font has none. */
  glyphId(codePoint: number): number {
    const id = this.#lookup(codePoint);
    return id < this.numGlyphs ? id : 0;
  }

  /** Advance width of glyph `id`, font units (`hmtx`, §5.2.5: glyphs past numberOfHMetrics take the last advance). */
  advanceWidth(id: number): number {
    const hmtx = this.#tables.get("hmtx")!.offset;
    return this.#view.getUint16(hmtx + 4 * Math.min(id, this.#numberOfHMetrics - 1));
  }

  /** Left side bearing of glyph `id`, font units. */
  leftSideBearing(id: number): number {
    const hmtx = this.#tables.get("hmtx")!.offset;
    if (id < this.#numberOfHMetrics) return this.#view.getInt16(hmtx + 4 * id + 2);
    return this.#view.getInt16(hmtx + 4 * this.#numberOfHMetrics + 2 * (id - this.#numberOfHMetrics));
  }

  /** A subset to which glyphs are added; glyph 0 (.notdef) is always its first. */
  createSubset(): TrueTypeSubset {
    return new TrueTypeSubset(this);
  }

  /** @internal The original bytes of table `tag`, or undefined. */
  tableBytes(tag: string): Buffer | undefined {
    const record = this.#tables.get(tag);
    return record === undefined ? undefined : this.#bytes.subarray(record.offset, record.offset + record.length);
  }

  /** @internal The `glyf` bytes of glyph `id` (empty for a glyph without outline). */
  glyphBytes(id: number): Buffer {
    const glyf = this.#tables.get("glyf")!.offset;
    return this.#bytes.subarray(glyf + this.#glyphOffsets[id]!, glyf + this.#glyphOffsets[id + 1]!);
  }

  #readDirectory(): Map<string, TableRecord> {
    const view = this.#view;
    const version = view.getUint32(0);
    // §5.1.1: 0x00010000 or 'true' for TrueType outlines; 'OTTO' is CFF.
    if (version === 0x4f54544f) throw new TypeError("not a TrueType font: CFF outlines");
    if (version !== 0x00010000 && version !== 0x74727565) throw new TypeError("not a TrueType font file (.ttf)");
    const numTables = view.getUint16(4);
    const tables = new Map<string, TableRecord>();
    for (let i = 0; i < numTables; i += 1) {
      const record = 12 + 16 * i;
      const tag = this.#bytes.toString("latin1", record, record + 4);
      const offset = view.getUint32(record + 8);
      const length = view.getUint32(record + 12);
      if (offset + length > this.#bytes.length) throw malformed(`${tag} table outside the file`);
      tables.set(tag, { offset, length });
    }
    return tables;
  }

  /** §5.3.1 loca: numGlyphs + 1 ascending offsets into glyf (short ones are halved). */
  #readLoca(longOffsets: boolean): Uint32Array {
    const count = this.numGlyphs + 1;
    const loca = this.#tables.get("loca");
    if (loca === undefined) throw malformed("no loca table");
    if (loca.length < count * (longOffsets ? 4 : 2)) throw malformed("loca table too short");
    const glyfLength = this.#tables.get("glyf")!.length;
    const offsets = new Uint32Array(count);
    for (let i = 0; i < count; i += 1) {
      const offset = longOffsets ? this.#view.getUint32(loca.offset + 4 * i) : this.#view.getUint16(loca.offset + 2 * i) * 2;
      if (offset > glyfLength || (i > 0 && offset < offsets[i - 1]!)) throw malformed("loca offsets out of order or outside glyf");
      offsets[i] = offset;
    }
    return offsets;
  }

  /** §5.2.1 cmap: the preferred Unicode subtable, as a lookup function. */
  #readCmap(): GlyphLookup {
    const cmap = this.#tables.get("cmap");
    if (cmap === undefined) throw malformed("no cmap table");
    const view = this.#view;
    const end = cmap.offset + cmap.length;
    const count = view.getUint16(cmap.offset + 2);
    const subtables: { platform: number; encoding: number; offset: number }[] = [];
    for (let i = 0; i < count; i += 1) {
      const record = cmap.offset + 4 + 8 * i;
      subtables.push({ platform: view.getUint16(record), encoding: view.getUint16(record + 2), offset: cmap.offset + view.getUint32(record + 4) });
    }
    let chosen: number | undefined;
    for (const [platform, encoding] of CMAP_PREFERENCE) {
      chosen = subtables.find((s) => s.platform === platform && s.encoding === encoding)?.offset;
      if (chosen !== undefined) break;
    }
    if (chosen === undefined) throw new TypeError("no Unicode character map (cmap) in the font");
    const at = chosen;
    const format = view.getUint16(at);
    const within = (from: number, bytes: number): void => {
      if (from < cmap.offset || from + bytes > end) throw malformed(`cmap format ${format} subtable outside the table`);
    };
    switch (format) {
      case 4: {
        // §5.2.1.3.3 segment mapping to delta values.
        const segCount = view.getUint16(at + 6) / 2;
        const ends = at + 14;
        const starts = ends + 2 * segCount + 2;
        const deltas = starts + 2 * segCount;
        const rangeOffsets = deltas + 2 * segCount;
        // The subtable's own length field wraps past 64 KiB in some fonts: bound reads by the cmap table instead.
        within(at, 16 + 8 * segCount);
        return (codePoint) => {
          let low = 0;
          let high = segCount - 1;
          while (low <= high) {
            const mid = (low + high) >> 1;
            if (codePoint < view.getUint16(starts + 2 * mid)) high = mid - 1;
            else if (codePoint > view.getUint16(ends + 2 * mid)) low = mid + 1;
            else {
              const rangeOffset = view.getUint16(rangeOffsets + 2 * mid);
              const delta = view.getUint16(deltas + 2 * mid);
              if (rangeOffset === 0) return (codePoint + delta) & 0xffff;
              const glyphAt = rangeOffsets + 2 * mid + rangeOffset + 2 * (codePoint - view.getUint16(starts + 2 * mid));
              if (glyphAt + 2 > end) return 0;
              const id = view.getUint16(glyphAt);
              return id === 0 ? 0 : (id + delta) & 0xffff;
            }
          }
          return 0;
        };
      }
      case 12:
      case 13: {
        // §5.2.1.3.7 segmented coverage, §5.2.1.3.8 many-to-one range mappings.
        const groups = view.getUint32(at + 12);
        within(at, 16 + 12 * groups);
        return (codePoint) => {
          let low = 0;
          let high = groups - 1;
          while (low <= high) {
            const mid = (low + high) >> 1;
            const group = at + 16 + 12 * mid;
            if (codePoint < view.getUint32(group)) high = mid - 1;
            else if (codePoint > view.getUint32(group + 4)) low = mid + 1;
            else return format === 12 ? view.getUint32(group + 8) + (codePoint - view.getUint32(group)) : view.getUint32(group + 8);
          }
          return 0;
        };
      }
      case 0: {
        // §5.2.1.3.1 byte encoding table.
        within(at, 262);
        return (codePoint) => (codePoint >= 0 && codePoint < 256 ? view.getUint8(at + 6 + codePoint) : 0);
      }
      case 6:
      case 10: {
        // §5.2.1.3.4 trimmed table mapping, §5.2.1.3.6 trimmed array.
        const wide = format === 10;
        const first = wide ? view.getUint32(at + 12) : view.getUint16(at + 6);
        const entries = wide ? view.getUint32(at + 16) : view.getUint16(at + 8);
        const ids = at + (wide ? 20 : 10);
        within(ids, 2 * entries);
        return (codePoint) => {
          const index = codePoint - first;
          return index >= 0 && index < entries ? view.getUint16(ids + 2 * index) : 0;
        };
      }
      default:
        throw new TypeError(`unsupported character map format ${format}`);
    }
  }

  /** §5.2.5 name, ID 6: the PostScript name, as fontkit read it (the last English record). */
  #readPostscriptName(): string {
    const name = this.#tables.get("name");
    if (name === undefined) throw malformed("no name table");
    const view = this.#view;
    const count = view.getUint16(name.offset + 2);
    const strings = name.offset + view.getUint16(name.offset + 4);
    let found: string | undefined;
    for (let i = 0; i < count; i += 1) {
      const record = name.offset + 6 + 12 * i;
      const platform = view.getUint16(record);
      const language = view.getUint16(record + 4);
      if (view.getUint16(record + 6) !== POSTSCRIPT_NAME_ID) continue;
      if (!ENGLISH_NAME_RECORDS.some(([p, l]) => p === platform && l === language)) continue;
      const length = view.getUint16(record + 8);
      const start = strings + view.getUint16(record + 10);
      if (start + length > name.offset + name.length) throw malformed("name record outside the table");
      const bytes = this.#bytes.subarray(start, start + length);
      // Windows names are UTF-16BE; Macintosh Roman agrees with ASCII, all a PostScript name may hold.
      found = platform === 3 ? Buffer.from(bytes).swap16().toString("utf16le") : bytes.toString("latin1");
    }
    if (found === undefined || found === "") throw new TypeError("not a TrueType font with a PostScript name");
    return found;
  }
}

/** Glyphs picked from a font, written as a TrueType file of their own. */
export class TrueTypeSubset {
  readonly #font: TrueTypeFont;
  readonly #glyphs: number[] = [];
  readonly #newIds = new Map<number, number>();

  constructor(font: TrueTypeFont) {
    this.#font = font;
    this.includeGlyph(0);
  }

  /** Adds glyph `id` of the font (once); returns its index in the subset. */
  includeGlyph(id: number): number {
    if (!Number.isInteger(id) || id < 0 || id >= this.#font.numGlyphs) throw new TypeError(`no glyph ${id} in the font`);
    let newId = this.#newIds.get(id);
    if (newId === undefined) {
      newId = this.#glyphs.length;
      this.#glyphs.push(id);
      this.#newIds.set(id, newId);
    }
    return newId;
  }

  /**
   * The subset file. The components of composite glyphs are added as they
   * are met (after the glyphs asked for), their indexes rewritten.
   */
  encode(): Buffer {
    const font = this.#font;
    const glyphs: Buffer[] = [];
    const offsets: number[] = [];
    const hmtx: number[] = [];
    let offset = 0;
    for (let i = 0; i < this.#glyphs.length; i += 1) {
      const id = this.#glyphs[i]!;
      let glyph = font.glyphBytes(id);
      if (glyph.length >= 10 && glyph.readInt16BE(0) < 0) glyph = this.#remapComponents(glyph);
      glyphs.push(glyph);
      offsets.push(offset);
      hmtx.push(font.advanceWidth(id), font.leftSideBearing(id));
      offset += glyph.length;
    }
    offsets.push(offset);
    const numGlyphs = glyphs.length;
    // fontkit's loca choice: short offsets unless the last one exceeds 0xFFFF.
    const longLoca = offset > 0xffff;

    const head = Buffer.from(font.tableBytes("head")!.subarray(0, 54));
    // macStyle was re-encoded from its seven defined bits (bold … extended); the reserved ones drop.
    head.writeUInt16BE(head.readUInt16BE(44) & 0x7f, 44);
    head.writeInt16BE(longLoca ? 1 : 0, 50);

    const originalHhea = font.tableBytes("hhea")!;
    const hhea = Buffer.alloc(36);
    originalHhea.copy(hhea, 0, 0, 24);
    // Bytes 24–31 are reserved: written as zeros.
    originalHhea.copy(hhea, 32, 32, 34);
    hhea.writeUInt16BE(numGlyphs, 34);

    const loca = Buffer.alloc(offsets.length * (longLoca ? 4 : 2));
    offsets.forEach((value, i) => (longLoca ? loca.writeUInt32BE(value, 4 * i) : loca.writeUInt16BE(value >>> 1, 2 * i)));

    const maxp = Buffer.from(font.tableBytes("maxp")!.subarray(0, 32));
    maxp.writeUInt16BE(numGlyphs, 4);

    const metrics = Buffer.alloc(4 * numGlyphs);
    for (let i = 0; i < numGlyphs; i += 1) {
      metrics.writeUInt16BE(hmtx[2 * i]!, 4 * i);
      metrics.writeInt16BE(hmtx[2 * i + 1]!, 4 * i + 2);
    }

    const cvt = font.tableBytes("cvt ");
    // An FWORD array: an odd byte would not survive fontkit's re-encoding, and is not valid anyway.
    const evenCvt = cvt === undefined ? undefined : cvt.subarray(0, cvt.length & ~1);
    const tables: [string, Buffer | undefined][] = [
      ["head", head],
      ["hhea", hhea],
      ["loca", loca],
      ["maxp", maxp],
      ["cvt ", evenCvt],
      ["prep", font.tableBytes("prep")],
      ["glyf", Buffer.concat(glyphs)],
      ["hmtx", metrics],
      ["fpgm", font.tableBytes("fpgm")],
    ];
    const present = tables.filter((entry): entry is [string, Buffer] => entry[1] !== undefined);
    const numTables = present.length;
    const power = 2 ** Math.floor(Math.log2(numTables));
    const directory = Buffer.alloc(12 + 16 * numTables);
    directory.write("true", 0, "latin1");
    directory.writeUInt16BE(numTables, 4);
    directory.writeUInt16BE(power * 16, 6);
    directory.writeUInt16BE(Math.log2(power), 8);
    directory.writeUInt16BE(numTables * 16 - power * 16, 10);
    let tableOffset = directory.length;
    present.forEach(([tag, bytes], i) => {
      const record = 12 + 16 * i;
      directory.write(tag, record, "latin1");
      // Checksum left 0, tables unpadded: as fontkit wrote them (PDF readers do not check either).
      directory.writeUInt32BE(tableOffset, record + 8);
      directory.writeUInt32BE(bytes.length, record + 12);
      tableOffset += bytes.length;
    });
    return Buffer.concat([directory, ...present.map(([, bytes]) => bytes)]);
  }

  /** A copy of a composite glyph with its components' glyph indexes replaced by subset ones (§5.3.3.2). */
  #remapComponents(original: Buffer): Buffer {
    const glyph = Buffer.from(original);
    let at = 10;
    let flags = MORE_COMPONENTS;
    while (flags & MORE_COMPONENTS) {
      if (at + 4 > glyph.length) throw malformed("composite glyph truncated");
      flags = glyph.readUInt16BE(at);
      glyph.writeUInt16BE(this.includeGlyph(glyph.readUInt16BE(at + 2)), at + 2);
      at += 4 + (flags & ARG_1_AND_2_ARE_WORDS ? 4 : 2);
      if (flags & WE_HAVE_A_SCALE) at += 2;
      else if (flags & WE_HAVE_AN_X_AND_Y_SCALE) at += 4;
      else if (flags & WE_HAVE_A_TWO_BY_TWO) at += 8;
    }
    return glyph;
  }
}
