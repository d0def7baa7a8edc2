/**
 * The few DER primitives CMS needs below the level of asn1js/pkijs:
 *
 * - bounded BER decoding of untrusted input (asn1js with limits);
 * - a byte-preserving TLV reader and writer, so that a SignedData can be
 *   edited (an unsigned attribute appended) without re-encoding — and so
 *   without risking a change to — the bytes that the signature covers;
 * - SET OF ordering (X.690 §11.6).
 */
import * as asn1js from "asn1js";

/**
 * Decodes exactly one BER/DER element filling `bytes`, or returns undefined
 * (bad encoding, trailing bytes). The limits keep hostile input from making
 * the parser walk absurdly deep or wide structures.
 */
export function decodeBer(bytes: Uint8Array): asn1js.AsnType | undefined {
  if (bytes.length === 0) return undefined;
  let decoded: ReturnType<typeof asn1js.fromBER>;
  try {
    decoded = asn1js.fromBER(bytes, { maxDepth: 64, maxNodes: 200_000, maxContentLength: bytes.length });
  } catch {
    return undefined;
  }
  if (decoded.offset !== bytes.length || decoded.result.error !== "") return undefined;
  return decoded.result;
}

/** The bytes an asn1js block was decoded from (tag, length and value). */
export function encodedBytes(block: asn1js.AsnType): Buffer {
  return Buffer.from(block.valueBeforeDecodeView);
}

/** One definite-length TLV inside a buffer. */
export interface Tlv {
  /** The identifier octet (single-byte tags only: CMS uses no high tag numbers). */
  tag: number;
  /** Offset of the identifier octet. */
  start: number;
  /** Offset of the first content octet. */
  contentStart: number;
  /** Offset just past the last content octet. */
  end: number;
}

/**
 * Reads the TLV at `offset`. Returns undefined on anything that is not a
 * well-formed definite-length DER header inside `limit` (indefinite lengths,
 * high tag numbers, lengths running past the end).
 */
export function readTlv(bytes: Uint8Array, offset: number, limit: number = bytes.length): Tlv | undefined {
  if (offset + 2 > limit) return undefined;
  const tag = bytes[offset] as number;
  if ((tag & 0x1f) === 0x1f) return undefined;
  const first = bytes[offset + 1] as number;
  let length: number;
  let contentStart: number;
  if (first < 0x80) {
    length = first;
    contentStart = offset + 2;
  } else {
    const count = first & 0x7f;
    // 0x80 is BER's indefinite form; more than 4 length octets is never a CMS structure we can hold.
    if (count === 0 || count > 4 || offset + 2 + count > limit) return undefined;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (bytes[offset + 2 + i] as number);
    contentStart = offset + 2 + count;
  }
  const end = contentStart + length;
  if (end > limit) return undefined;
  return { tag, start: offset, contentStart, end };
}

/** The TLVs that fill `parent`'s content, in order; undefined if they do not tile it exactly. */
export function readChildren(bytes: Uint8Array, parent: Tlv): Tlv[] | undefined {
  const children: Tlv[] = [];
  let offset = parent.contentStart;
  while (offset < parent.end) {
    const child = readTlv(bytes, offset, parent.end);
    if (child === undefined) return undefined;
    children.push(child);
    offset = child.end;
  }
  return children;
}

/** X.690 §8.1.3 definite length octets, in the shortest form (DER §10.1). */
export function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const octets: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) octets.unshift(rest % 256);
  return Buffer.from([0x80 | octets.length, ...octets]);
}

/** Tag + length + the concatenated contents. */
export function encodeTlv(tag: number, ...contents: readonly Uint8Array[]): Buffer {
  const value = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), encodeLength(value.length), value]);
}

/**
 * Puts `replacement` where `replaced` was and re-encodes the structures that
 * enclose it (outermost first in `enclosing`) with their new lengths. Every
 * sibling is copied byte for byte, so nothing else of a signed structure can
 * change.
 */
export function rewrap(der: Uint8Array, enclosing: readonly Tlv[], replaced: Tlv, replacement: Uint8Array): Buffer {
  let rebuilt: Buffer = Buffer.from(replacement);
  let inner = replaced;
  for (const parent of [...enclosing].reverse()) {
    rebuilt = encodeTlv(der[parent.start] as number, der.subarray(parent.contentStart, inner.start), rebuilt, der.subarray(inner.end, parent.end));
    inner = parent;
  }
  return rebuilt;
}

/**
 * Orders the encodings of a SET OF as DER requires (X.690 §11.6): ascending
 * as octet strings, the shorter one padded with trailing zero octets.
 */
export function sortSetOf<T extends Uint8Array>(encodings: readonly T[]): T[] {
  return [...encodings].sort((a, b) => {
    const length = Math.max(a.length, b.length);
    for (let i = 0; i < length; i++) {
      const difference = (a[i] ?? 0) - (b[i] ?? 0);
      if (difference !== 0) return difference;
    }
    return 0;
  });
}

/**
 * DER of an OBJECT IDENTIFIER (X.690 §8.19) from its dotted form; arcs of any
 * size. Throws TypeError for what is not a dotted OID (a caller mistake:
 * every OID written here is a constant or was checked before).
 */
export function encodeOid(oid: string): Buffer {
  if (!DOTTED_OID.test(oid)) throw new TypeError(`Not a dotted OID: ${oid}`);
  const [first = "0", second = "0", ...rest] = oid.split(".");
  // §8.19.4: the first two arcs share one subidentifier, 40 × first + second (second < 40 unless first is 2).
  if (first !== "2" && (second.length > 2 || Number(second) > 39)) throw new TypeError(`Not a valid OID: ${oid}`);
  const octets: number[] = [];
  pushSubidentifier(octets, first === "2" ? arcValue(second, 80) : Number(first) * 40 + Number(second));
  for (const arc of rest) pushSubidentifier(octets, arcValue(arc, 0));
  return encodeTlv(TAG.OID, Buffer.from(octets));
}

/** An arc plus `offset`: a number while exact (15 digits and fewer), a bigint beyond (a 2.25.<UUID> arc). */
function arcValue(digits: string, offset: number): number | bigint {
  return digits.length <= 15 ? Number(digits) + offset : BigInt(digits) + BigInt(offset);
}

/** §8.19.2: base 128, most significant group first, the high bit set on every octet but the last. */
function pushSubidentifier(octets: number[], value: number | bigint): void {
  const groups: number[] = [];
  if (typeof value === "number") {
    for (let rest = value; ; rest = Math.floor(rest / 128)) {
      groups.push(rest % 128);
      if (rest < 128) break;
    }
  } else {
    for (let rest = value; ; rest >>= 7n) {
      groups.push(Number(rest & 0x7fn));
      if (rest < 128n) break;
    }
  }
  for (let i = groups.length - 1; i >= 0; i--) octets.push((groups[i] as number) | (i > 0 ? 0x80 : 0));
}

const DOTTED_OID = /^[0-2](\.(0|[1-9]\d*))+$/;

export const TAG = {
  INTEGER: 0x02,
  OCTET_STRING: 0x04,
  OID: 0x06,
  SEQUENCE: 0x30,
  SET: 0x31,
  /** [0] constructed, context-specific. */
  CONTEXT_0: 0xa0,
  /** [1] constructed, context-specific. */
  CONTEXT_1: 0xa1,
} as const;
