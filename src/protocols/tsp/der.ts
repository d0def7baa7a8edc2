/**
 * Small DER helpers shared by the RFC 3161 requester, verifier and responder:
 * bounded decoding of untrusted input, INTEGER ↔ bigint, and a DER writer.
 */
import * as asn1js from "asn1js";

/** Object identifiers used by RFC 3161, RFC 5652 and RFC 5035. */
export const OID = {
  /** RFC 5652 §5.1 */
  signedData: "1.2.840.113549.1.7.2",
  /** RFC 3161 §2.4.2 id-ct-TSTInfo */
  tstInfo: "1.2.840.113549.1.9.16.1.4",
  /** RFC 5652 §11.1 */
  contentTypeAttribute: "1.2.840.113549.1.9.3",
  /** RFC 5652 §11.2 */
  messageDigestAttribute: "1.2.840.113549.1.9.4",
  /** RFC 2634 §5.4 id-aa-signingCertificate (ESSCertID, SHA-1) */
  signingCertificate: "1.2.840.113549.1.9.16.2.12",
  /** RFC 5035 §3 id-aa-signingCertificateV2 (ESSCertIDv2) */
  signingCertificateV2: "1.2.840.113549.1.9.16.2.47",
  /** RFC 5280 §4.2.1.12 id-kp-timeStamping */
  timeStampingPurpose: "1.3.6.1.5.5.7.3.8",
  extendedKeyUsage: "2.5.29.37",
  keyUsage: "2.5.29.15",
  subjectKeyIdentifier: "2.5.29.14",
  sha1: "1.3.14.3.2.26",
} as const;

/**
 * Decodes exactly one DER/BER element filling `bytes`, or returns undefined
 * (bad encoding, trailing bytes). The limits keep hostile input from making
 * the parser walk deep or wide structures.
 */
export function decodeDer(bytes: Uint8Array): asn1js.AsnType | undefined {
  if (bytes.length === 0) return undefined;
  let decoded: ReturnType<typeof asn1js.fromBER>;
  try {
    decoded = asn1js.fromBER(bytes, { maxDepth: 40, maxNodes: 20_000, maxContentLength: bytes.length });
  } catch {
    return undefined;
  }
  if (decoded.offset !== bytes.length || decoded.result.error !== "") return undefined;
  return decoded.result;
}

/** A non-negative INTEGER for a bigint (DER: minimal, leading 0x00 when the high bit is set). */
export function integerFromBigInt(value: bigint): asn1js.Integer {
  if (value < 0n) throw new TypeError("Only non-negative integers are encoded here");
  return asn1js.Integer.fromBigInt(value);
}

/** Upper-case hexadecimal of an INTEGER's two's-complement bytes, as `node:crypto` prints certificate serials. */
export function integerHex(value: asn1js.Integer): string {
  return Buffer.from(value.valueBlock.valueHexView).toString("hex").toUpperCase();
}

/** Unsigned big-endian bytes → bigint. */
export function bigIntFromBytes(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString("hex")}`);
}

/**
 * The dotted form of an OBJECT IDENTIFIER (X.690 §8.19), with arcs of any
 * size: asn1js prints arcs above 2^53 (a `2.25.<UUID>` OID) in its own
 * non-dotted notation, which would never compare equal to a configured policy.
 */
export function objectIdentifierText(value: asn1js.ObjectIdentifier): string {
  const tlv = value.valueBeforeDecodeView.length > 0 ? value.valueBeforeDecodeView : new Uint8Array(value.toBER());
  const lengthByte = tlv[1] ?? 0;
  const bytes = tlv.subarray(2 + (lengthByte & 0x80 ? lengthByte & 0x7f : 0));
  const arcs: bigint[] = [];
  let current = 0n;
  for (const byte of bytes) {
    current = (current << 7n) | BigInt(byte & 0x7f);
    if ((byte & 0x80) === 0) {
      arcs.push(current);
      current = 0n;
    }
  }
  const [first = 0n, ...rest] = arcs;
  const head = first < 40n ? [0n, first] : first < 80n ? [1n, first - 40n] : [2n, first - 80n];
  return [...head, ...rest].join(".");
}

/** The exact bytes an element was decoded from (signatures and certificate hashes cover these, not a re-encoding). */
export function encodedBytes(element: asn1js.AsnType): Buffer {
  return Buffer.from(element.valueBeforeDecodeView);
}

/** DER length octets (X.690 §8.1.3, definite form, minimal). */
function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/**
 * A minimal DER writer. The TSA side builds its token with it rather than
 * with pkijs' encoders, which emit BER (constructed OCTET STRINGs for the
 * eContent, for instance) where RFC 3161 and our verifiers expect DER, and
 * which cannot promise to reproduce a certificate byte for byte.
 */
export const der = {
  tlv(tag: number, ...content: Uint8Array[]): Buffer {
    const body = Buffer.concat(content);
    return Buffer.concat([Buffer.from([tag]), encodeLength(body.length), body]);
  },
  sequence(...content: Uint8Array[]): Buffer {
    return der.tlv(0x30, ...content);
  },
  /** A SET OF: the elements are sorted into DER order here. */
  setOf(...elements: Uint8Array[]): Buffer {
    return der.tlv(0x31, ...derSetOrder(elements));
  },
  /** `[n]` constructed, context-specific: EXPLICIT tagging, or IMPLICIT over a constructed type. */
  contextConstructed(tagNumber: number, ...content: Uint8Array[]): Buffer {
    return der.tlv(0xa0 | tagNumber, ...content);
  },
  octetString(bytes: Uint8Array): Buffer {
    return der.tlv(0x04, bytes);
  },
  integer(value: bigint): Buffer {
    return Buffer.from(integerFromBigInt(value).toBER());
  },
  oid(dotted: string): Buffer {
    return Buffer.from(new asn1js.ObjectIdentifier({ value: dotted }).toBER());
  },
  null(): Buffer {
    return Buffer.from([0x05, 0x00]);
  },
  utf8String(text: string): Buffer {
    return der.tlv(0x0c, Buffer.from(text, "utf8"));
  },
  /** X.690 §11.7: `YYYYMMDDHHMMSSZ`, UTC, no fraction (callers truncate to whole seconds). */
  generalizedTime(date: Date): Buffer {
    const iso = date.toISOString(); // 2024-01-31T12:34:56.000Z
    const text = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
    return der.tlv(0x18, Buffer.from(text, "ascii"));
  },
  /** An AlgorithmIdentifier; `parameters` is an encoded element (e.g. `der.null()`) or absent. */
  algorithmIdentifier(oid: string, parameters?: Uint8Array): Buffer {
    return parameters === undefined ? der.sequence(der.oid(oid)) : der.sequence(der.oid(oid), parameters);
  },
};

/**
 * X.690 §11.6: the elements of a DER SET OF appear in ascending order of
 * their encodings, compared as octet strings with the shorter one padded
 * with zeros. Signed attributes are a SET OF; a verifier that re-encodes
 * them (OpenSSL does) only gets our signed bytes back if we sorted them.
 */
export function derSetOrder(elements: readonly Uint8Array[]): Uint8Array[] {
  return [...elements].sort((a, b) => {
    const length = Math.max(a.length, b.length);
    for (let i = 0; i < length; i++) {
      const difference = (a[i] ?? 0) - (b[i] ?? 0);
      if (difference !== 0) return difference;
    }
    return 0;
  });
}
