/**
 * A small, bounded BER reader (ITU-T X.690 §8) that records where each
 * element sits instead of building objects for it.
 *
 * asn1js decodes every element into a class instance and copies its bytes;
 * pkijs then walks those through a schema matcher. For a time-stamp token of
 * 3 kB that is milliseconds of work on every document, while what a verifier
 * needs is a handful of fields and the exact bytes a signature or hash
 * covers. This reader gives offsets into the input — so those bytes are the
 * ones received, never a re-encoding — and a few typed accessors.
 *
 * It accepts BER, as a CMS reader must (RFC 5652 §1): indefinite lengths on
 * constructed elements, constructed OCTET STRINGs, non-minimal lengths, high
 * tag numbers. What it refuses: truncation, trailing bytes, lengths running
 * past their parent, an indefinite length on a primitive element, stray
 * end-of-contents octets, and input deeper or wider than the limits.
 *
 * @example
 * ```ts
 * const root = readBer(der);
 * const [contentType, content] = root?.children ?? [];
 * if (contentType !== undefined && isUniversal(contentType, UNIVERSAL.OID)) console.log(oidText(contentType));
 * ```
 */

/** X.690 §8.1.2.2 tag classes. */
export const TAG_CLASS = { universal: 0, application: 1, context: 2, private: 3 } as const;

/** Universal tag numbers (X.680 §8.6) this module's callers look for. */
export const UNIVERSAL = {
  BOOLEAN: 1,
  INTEGER: 2,
  BIT_STRING: 3,
  OCTET_STRING: 4,
  NULL: 5,
  OID: 6,
  SEQUENCE: 16,
  SET: 17,
  UTC_TIME: 23,
  GENERALIZED_TIME: 24,
} as const;

/** One decoded element: where it is in `bytes`, and its children when constructed. */
export interface BerElement {
  /** The whole input the element was read from. */
  readonly bytes: Uint8Array;
  readonly tagClass: number;
  readonly constructed: boolean;
  readonly tagNumber: number;
  /** Offset of the identifier octets. */
  readonly start: number;
  /** Offset of the first content octet. */
  readonly contentStart: number;
  /** Offset just past the last content octet (before the end-of-contents octets of an indefinite length). */
  readonly contentEnd: number;
  /** Offset just past the element. */
  readonly end: number;
  /** The children of a constructed element, in order; empty for a primitive one. */
  readonly children: readonly BerElement[];
}

export interface BerLimits {
  /** Deepest nesting accepted (default 64). */
  maxDepth?: number;
  /** Most elements accepted in total (default 200,000). */
  maxElements?: number;
}

class Malformed extends Error {}

/**
 * Reads exactly one BER element filling `bytes`, or returns undefined when
 * the bytes are not one (see the module comment for what is refused).
 */
export function readBer(bytes: Uint8Array, limits: BerLimits = {}): BerElement | undefined {
  if (!(bytes instanceof Uint8Array)) throw new TypeError("readBer needs bytes");
  if (bytes.length === 0) return undefined;
  const state = { remaining: limits.maxElements ?? 200_000, maxDepth: limits.maxDepth ?? 64 };
  try {
    const element = readElement(bytes, 0, bytes.length, 0, state);
    return element.end === bytes.length ? element : undefined;
  } catch (error) {
    if (error instanceof Malformed) return undefined;
    throw error;
  }
}

function readElement(bytes: Uint8Array, offset: number, limit: number, depth: number, state: { remaining: number; maxDepth: number }): BerElement {
  if (depth > state.maxDepth) throw new Malformed("too deep");
  if (--state.remaining < 0) throw new Malformed("too many elements");
  if (offset >= limit) throw new Malformed("truncated");
  const first = bytes[offset] as number;
  const tagClass = first >> 6;
  const constructed = (first & 0x20) !== 0;
  let tagNumber = first & 0x1f;
  let p = offset + 1;
  if (tagNumber === 0x1f) {
    // X.690 §8.1.2.4: high tag number, base 128, no leading 0x80 octet; four octets are plenty.
    tagNumber = 0;
    for (let count = 0; ; count++) {
      if (p >= limit || count === 4) throw new Malformed("bad tag");
      const octet = bytes[p++] as number;
      if (count === 0 && octet === 0x80) throw new Malformed("bad tag");
      tagNumber = tagNumber * 128 + (octet & 0x7f);
      if ((octet & 0x80) === 0) break;
    }
  } else if (tagClass === TAG_CLASS.universal && tagNumber === 0) {
    // End-of-contents octets only close an indefinite length; the caller consumes them.
    throw new Malformed("stray end-of-contents");
  }
  if (p >= limit) throw new Malformed("truncated");
  const lengthOctet = bytes[p++] as number;
  if (lengthOctet === 0x80) {
    // X.690 §8.1.3.6: indefinite form, constructed elements only, closed by 00 00.
    if (!constructed) throw new Malformed("indefinite primitive");
    const contentStart = p;
    const children: BerElement[] = [];
    for (;;) {
      if (p + 2 > limit) throw new Malformed("unterminated");
      if (bytes[p] === 0 && bytes[p + 1] === 0) break;
      const child = readElement(bytes, p, limit, depth + 1, state);
      children.push(child);
      p = child.end;
    }
    return { bytes, tagClass, constructed, tagNumber, start: offset, contentStart, contentEnd: p, end: p + 2, children };
  }
  let length: number;
  if (lengthOctet < 0x80) {
    length = lengthOctet;
  } else {
    const count = lengthOctet & 0x7f;
    // 0xff is reserved (§8.1.3.5 c); more than four length octets is beyond anything held in memory here.
    if (count > 4 || p + count > limit) throw new Malformed("bad length");
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (bytes[p++] as number);
  }
  const contentStart = p;
  const end = contentStart + length;
  if (end > limit) throw new Malformed("length past the end");
  const children: BerElement[] = [];
  if (constructed) {
    while (p < end) {
      const child = readElement(bytes, p, end, depth + 1, state);
      children.push(child);
      p = child.end;
    }
  }
  return { bytes, tagClass, constructed, tagNumber, start: offset, contentStart, contentEnd: end, end, children };
}

/** Whether `element` has this universal tag (and, for SEQUENCE / SET, is constructed as it must be). */
export function isUniversal(element: BerElement | undefined, tagNumber: number): element is BerElement {
  if (element === undefined || element.tagClass !== TAG_CLASS.universal || element.tagNumber !== tagNumber) return false;
  if (tagNumber === UNIVERSAL.SEQUENCE || tagNumber === UNIVERSAL.SET) return element.constructed;
  // X.690 §8.3, §8.19, §8.2, §8.8: these are always primitive.
  if (tagNumber === UNIVERSAL.INTEGER || tagNumber === UNIVERSAL.OID || tagNumber === UNIVERSAL.BOOLEAN || tagNumber === UNIVERSAL.NULL) {
    return !element.constructed;
  }
  return true;
}

/** Whether `element` is `[tagNumber]` context-specific, constructed or primitive as asked. */
export function isContext(element: BerElement | undefined, tagNumber: number, constructed: boolean): element is BerElement {
  return element !== undefined && element.tagClass === TAG_CLASS.context && element.tagNumber === tagNumber && element.constructed === constructed;
}

/** The bytes the element was read from: identifier, length, contents (and end-of-contents). A view, not a copy. */
export function encodingOf(element: BerElement): Buffer {
  return Buffer.from(element.bytes.buffer, element.bytes.byteOffset + element.start, element.end - element.start);
}

/** The content octets of a primitive element. A view, not a copy. */
export function contentOf(element: BerElement): Buffer {
  return Buffer.from(element.bytes.buffer, element.bytes.byteOffset + element.contentStart, element.contentEnd - element.contentStart);
}

/**
 * The value of an OCTET STRING (or any string type), primitive or — in BER —
 * constructed from segments of the same type (X.690 §8.7.3); undefined when a
 * segment is something else.
 */
export function stringContent(element: BerElement): Buffer | undefined {
  if (!element.constructed) return contentOf(element);
  const parts: Buffer[] = [];
  for (const segment of element.children) {
    if (segment.tagClass !== TAG_CLASS.universal || segment.tagNumber !== element.tagNumber) return undefined;
    const part = stringContent(segment);
    if (part === undefined) return undefined;
    parts.push(part);
  }
  return Buffer.concat(parts);
}

/**
 * The dotted form of an OBJECT IDENTIFIER (X.690 §8.19), exact for arcs of
 * any size (a `2.25.<UUID>` OID has a 128-bit arc); undefined when the
 * encoding is not a valid one.
 */
export function oidText(element: BerElement): string | undefined {
  if (element.constructed) return undefined;
  const { bytes, contentStart, contentEnd } = element;
  if (contentEnd === contentStart || ((bytes[contentEnd - 1] as number) & 0x80) !== 0) return undefined;
  const arcs: Array<number | bigint> = [];
  let small = 0;
  let big: bigint | undefined;
  let fresh = true;
  for (let i = contentStart; i < contentEnd; i++) {
    const octet = bytes[i] as number;
    // §8.19.2: each subidentifier in as few octets as possible, so never a leading 0x80.
    if (fresh && octet === 0x80) return undefined;
    fresh = false;
    if (big === undefined && small > 2 ** 45) big = BigInt(small);
    if (big === undefined) small = small * 128 + (octet & 0x7f);
    else big = (big << 7n) | BigInt(octet & 0x7f);
    if ((octet & 0x80) === 0) {
      arcs.push(big ?? small);
      small = 0;
      big = undefined;
      fresh = true;
    }
  }
  const [first = 0, ...rest] = arcs;
  // §8.19.4: the first subidentifier packs the first two arcs (40 × X + Y; X = 2 takes every value ≥ 80).
  const head = typeof first === "bigint" ? ["2", String(first - 80n)] : first < 40 ? ["0", String(first)] : first < 80 ? ["1", String(first - 40)] : ["2", String(first - 80)];
  return [...head, ...rest.map(String)].join(".");
}

/** An INTEGER's value (two's complement, X.690 §8.3); undefined for an empty one. */
export function integerValue(element: BerElement): bigint | undefined {
  const content = contentOf(element);
  if (element.constructed || content.length === 0) return undefined;
  const unsigned = BigInt(`0x${content.toString("hex")}`);
  return ((content[0] as number) & 0x80) === 0 ? unsigned : unsigned - (1n << BigInt(content.length * 8));
}

/** A small non-negative INTEGER as a number (versions, counts); undefined when it is not one. */
export function smallInteger(element: BerElement): number | undefined {
  const value = element.constructed || element.contentEnd - element.contentStart > 6 ? undefined : integerValue(element);
  return value === undefined || value < 0n ? undefined : Number(value);
}

/** The content of a BOOLEAN (X.690 §8.2: any non-zero octet is TRUE in BER). */
export function booleanValue(element: BerElement): boolean | undefined {
  if (element.constructed || element.contentEnd - element.contentStart !== 1) return undefined;
  return element.bytes[element.contentStart] !== 0;
}

/**
 * A GeneralizedTime in the form RFC 5280 §4.1.2.5.2 and RFC 3161 §2.4.2
 * prescribe: `YYYYMMDDhhmmss[.f…]Z`, UTC. Fractions beyond the millisecond
 * are dropped. Undefined for any other form (local times, offsets, bad dates).
 */
export function generalizedTime(element: BerElement): Date | undefined {
  const text = stringContent(element)?.toString("latin1");
  const match = text === undefined ? null : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d+))?Z$/.exec(text);
  if (match === null) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const millis = match[7] === undefined ? 0 : Number(match[7].slice(0, 3).padEnd(3, "0"));
  const date = new Date(0);
  // setUTCFullYear, not Date.UTC, which reads years 0–99 as 1900–1999.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, millis);
  // Dates roll over (31 February becomes 3 March): refuse instead.
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) return undefined;
  return date;
}
