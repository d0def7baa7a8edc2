/**
 * Small DER helpers shared by the RFC 3161 requester, verifier and responder:
 * the OIDs, bytes → bigint, and a DER writer. Reading is the BER reader's
 * (../cms/ber-reader.ts).
 */
import { encodeOid } from "../cms/der.js";

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

/** Unsigned big-endian bytes → bigint. */
export function bigIntFromBytes(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString("hex")}`);
}

/** The content octets of a non-negative INTEGER (X.690 §8.3: minimal, a leading 0x00 when the high bit is set). */
function integerContent(value: bigint): Buffer {
  if (value < 0n) throw new TypeError("Only non-negative integers are encoded here");
  let hex = value.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  const bytes = Buffer.from(hex, "hex");
  return (bytes[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes;
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
  /** A non-negative INTEGER. */
  integer(value: bigint): Buffer {
    return der.tlv(0x02, integerContent(value));
  },
  oid(dotted: string): Buffer {
    return encodeOid(dotted);
  },
  boolean(value: boolean): Buffer {
    return Buffer.from([0x01, 0x01, value ? 0xff : 0x00]);
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
