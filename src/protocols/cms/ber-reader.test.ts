import * as asn1js from "asn1js";
import { describe, expect, it } from "vitest";
import {
  TAG_CLASS,
  UNIVERSAL,
  booleanValue,
  contentOf,
  encodingOf,
  generalizedTime,
  integerValue,
  isContext,
  isUniversal,
  oidText,
  readBer,
  smallInteger,
  stringContent,
  type BerElement,
} from "./ber-reader.js";
import { encodeOid, encodeTlv } from "./der.js";

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ""), "hex");

/** The same tree as asn1js sees it: tag class, number, constructed bit and encoded length of every element. */
function shapeOf(element: BerElement): unknown {
  return [element.tagClass, element.tagNumber, element.constructed, element.end - element.start, element.children.map(shapeOf)];
}

function asn1Shape(block: asn1js.AsnType): unknown {
  const { idBlock } = block;
  const children = idBlock.isConstructed ? (block as asn1js.Constructed).valueBlock.value.filter((child) => !(child instanceof asn1js.EndOfContent)) : [];
  return [idBlock.tagClass - 1, idBlock.tagNumber, idBlock.isConstructed, block.valueBeforeDecodeView.length, children.map(asn1Shape)];
}

describe("readBer", () => {
  it("locates every element of a DER structure as asn1js decodes it, and gives the exact bytes back", () => {
    const der = encodeTlv(
      0x30,
      encodeOid("1.2.840.113549.1.7.2"),
      encodeTlv(0xa0, encodeTlv(0x30, encodeTlv(0x02, Buffer.from([1])), encodeTlv(0x31), encodeTlv(0x04, Buffer.alloc(300, 7)))),
      Buffer.from([0x9f, 0x81, 0x00, 0x01, 0x2a]), // [128] IMPLICIT, a high tag number
    );
    const root = readBer(der);
    expect(root).toBeDefined();
    const element = root as BerElement;
    expect(shapeOf(element)).toEqual(asn1Shape(asn1js.fromBER(der).result));
    const [oid, explicit, high] = element.children;
    expect(isUniversal(oid, UNIVERSAL.OID) && oidText(oid)).toBe("1.2.840.113549.1.7.2");
    expect(isContext(explicit, 0, true)).toBe(true);
    expect(high).toMatchObject({ tagClass: TAG_CLASS.context, tagNumber: 128, constructed: false });
    expect(contentOf(high as BerElement)).toEqual(Buffer.from([0x2a]));
    const octets = (explicit as BerElement).children[0]?.children[2] as BerElement;
    expect(stringContent(octets)).toEqual(Buffer.alloc(300, 7));
    expect(encodingOf(octets).equals(der.subarray(octets.start, octets.end))).toBe(true);
  });

  it("reads BER: indefinite lengths, and constructed OCTET STRINGs whose segments are joined", () => {
    // SEQUENCE (indefinite) { OCTET STRING (constructed, indefinite) { "ab", "cde" }, INTEGER 5 }
    const ber = hex("30 80  24 80 04 02 6162 04 03 636465 0000  02 01 05  0000");
    const root = readBer(ber) as BerElement;
    expect(root).toMatchObject({ start: 0, contentStart: 2, contentEnd: ber.length - 2, end: ber.length });
    const [octets, integer] = root.children as [BerElement, BerElement];
    expect(isUniversal(octets, UNIVERSAL.OCTET_STRING)).toBe(true);
    expect(stringContent(octets)?.toString("latin1")).toBe("abcde");
    expect(encodingOf(octets)).toEqual(hex("24 80 04 02 6162 04 03 636465 0000"));
    expect(integerValue(integer)).toBe(5n);
    // A segment of another type inside a constructed OCTET STRING is not a string.
    expect(stringContent(readBer(hex("24 04 02 02 0001")) as BerElement)).toBeUndefined();
  });

  it("refuses what is not exactly one well-formed element, without throwing", () => {
    const refused = [
      hex(""),
      hex("30"), // no length
      hex("30 03 02 01"), // truncated
      hex("02 01 05 00"), // trailing byte
      hex("30 03 02 05 01"), // a child running past its parent
      hex("04 80 00 00"), // indefinite length on a primitive
      hex("30 80 02 01 05"), // unterminated indefinite length
      hex("30 02 00 00"), // end-of-contents outside an indefinite length
      hex("02 85 0000000001 05"), // five length octets
      hex("1f 80 01 00"), // a high tag number with a leading 0x80 octet
      hex("30 ff"), // reserved length octet
    ];
    for (const bytes of refused) expect(readBer(bytes), bytes.toString("hex")).toBeUndefined();
    // Limits: depth and element count.
    const deep = Buffer.concat([...Array.from({ length: 100 }, () => hex("30 80")), ...Array.from({ length: 100 }, () => hex("00 00"))]);
    expect(readBer(deep)).toBeUndefined();
    expect(readBer(deep, { maxDepth: 200 })).toBeDefined();
    const wide = encodeTlv(0x30, ...Array.from({ length: 50 }, () => hex("05 00")));
    expect(readBer(wide, { maxElements: 50 })).toBeUndefined();
    expect(readBer(wide, { maxElements: 51 })).toBeDefined();
    expect(() => readBer("30 00" as never)).toThrow(TypeError);
  });

  it("never throws on damaged input, and what it accepts is consistent: children tile their parent exactly", () => {
    const sample = encodeTlv(
      0x30,
      encodeOid("1.2.840.113549.1.9.16.1.4"),
      encodeTlv(0xa0, encodeTlv(0x04, Buffer.from("20250102030405Z"))),
      encodeTlv(0x31, encodeTlv(0x30, encodeTlv(0x02, Buffer.from([0x00, 0x80])), encodeTlv(0x01, Buffer.from([0xff])))),
    );
    expect(shapeOf(readBer(sample) as BerElement)).toEqual(asn1Shape(asn1js.fromBER(sample).result));
    const tiles = (element: BerElement): boolean => {
      if (!element.constructed) return element.children.length === 0 && element.contentEnd >= element.contentStart;
      let at = element.contentStart;
      for (const child of element.children) {
        if (child.start !== at || !tiles(child)) return false;
        at = child.end;
      }
      return at === element.contentEnd && element.end - element.contentEnd === (element.end === element.contentEnd ? 0 : 2);
    };
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let accepted = 0;
    for (let i = 0; i < 3000; i++) {
      const damaged = Buffer.from(sample);
      for (let j = 0; j <= random(3); j++) damaged[random(damaged.length)] = random(256);
      const element = readBer(damaged);
      if (element === undefined) continue;
      accepted += 1;
      expect(element.end).toBe(damaged.length);
      expect(tiles(element), damaged.toString("hex")).toBe(true);
    }
    // Most damage lands in contents, which stay readable: the property was exercised.
    expect(accepted).toBeGreaterThan(500);
  });
});

describe("typed values", () => {
  const element = (bytes: string): BerElement => readBer(hex(bytes)) as BerElement;

  it("reads OBJECT IDENTIFIERs exactly, arcs beyond 2^53 included, and refuses bad encodings", () => {
    for (const oid of ["1.2.840.113549.1.7.2", "2.5.29.37", "0.9.2342.19200300.100.1.25", "2.999.3", "2.25.8888202736267528462877072140334340318.1.1", "1.3.9007199254740993"]) {
      const der = encodeOid(oid);
      expect(oidText(readBer(der) as BerElement)).toBe(oid);
      expect(der.equals(Buffer.from(new asn1js.ObjectIdentifier({ value: oid }).toBER()))).toBe(true);
    }
    expect(oidText(element("06 00"))).toBeUndefined(); // empty
    expect(oidText(element("06 02 2a 86"))).toBeUndefined(); // last octet continues
    expect(oidText(element("06 03 2a 80 01"))).toBeUndefined(); // subidentifier with a leading 0x80
    expect(() => encodeOid("1.2.x")).toThrow(TypeError);
    expect(() => encodeOid("1.40")).toThrow(TypeError);
  });

  it("reads INTEGERs in two's complement, small ones as numbers, and BOOLEANs as BER does", () => {
    expect(integerValue(element("02 01 7f"))).toBe(127n);
    expect(integerValue(element("02 01 80"))).toBe(-128n);
    expect(integerValue(element("02 02 00 80"))).toBe(128n);
    expect(integerValue(element("02 00"))).toBeUndefined();
    expect(smallInteger(element("02 01 03"))).toBe(3);
    expect(smallInteger(element("02 01 ff"))).toBeUndefined(); // negative
    expect(smallInteger(element("02 07 01 00 00 00 00 00 00"))).toBeUndefined(); // too large for a version or a count
    expect(booleanValue(element("01 01 00"))).toBe(false);
    expect(booleanValue(element("01 01 01"))).toBe(true);
    expect(booleanValue(element("01 02 00 00"))).toBeUndefined();
  });

  it("reads GeneralizedTime in the RFC 5280 / RFC 3161 form only", () => {
    const time = (text: string): Date | undefined => generalizedTime(readBer(encodeTlv(0x18, Buffer.from(text, "latin1"))) as BerElement);
    expect(time("20250102030405Z")?.toISOString()).toBe("2025-01-02T03:04:05.000Z");
    expect(time("20250102030405.5Z")?.toISOString()).toBe("2025-01-02T03:04:05.500Z");
    expect(time("20250102030405.123456Z")?.toISOString()).toBe("2025-01-02T03:04:05.123Z");
    expect(time("00500102030405Z")?.getUTCFullYear()).toBe(50);
    for (const bad of ["20250102030405", "20250102030405+0100", "20250230030405Z", "20251302030405Z", "20250102240000Z", "2025010203Z", "20250102030460Z"]) {
      expect(time(bad), bad).toBeUndefined();
    }
  });
});
