/**
 * The DER of `IssuerSerial` (RFC 5035 §6, used by XAdES IssuerSerialV2 —
 * ETSI EN 319 132-1 §5.2.2.2): `SEQUENCE { issuer GeneralNames, serialNumber
 * INTEGER }`, with the issuer as a directoryName ([4] EXPLICIT Name). The
 * issuer Name and the serial number are copied byte for byte from the
 * certificate, so that no re-encoding can change them.
 */
interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first content byte. */
  contentStart: number;
  /** Offset just past the content. */
  end: number;
}

function readTlv(der: Uint8Array, offset: number): Tlv {
  const tag = der[offset];
  let lengthByte = der[offset + 1];
  if (tag === undefined || lengthByte === undefined) throw new TypeError("Truncated DER");
  let cursor = offset + 2;
  let length = lengthByte;
  if (lengthByte & 0x80) {
    const count = lengthByte & 0x7f;
    if (count === 0 || count > 4) throw new TypeError("Unsupported DER length");
    length = 0;
    for (let i = 0; i < count; i++) {
      lengthByte = der[cursor++];
      if (lengthByte === undefined) throw new TypeError("Truncated DER");
      length = length * 256 + lengthByte;
    }
  }
  if (cursor + length > der.length) throw new TypeError("Truncated DER");
  return { tag, start: offset, contentStart: cursor, end: cursor + length };
}

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function wrap(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
}

/** IssuerSerial of an X.509 certificate given as DER. */
export function issuerSerialDer(certificateDer: Uint8Array): Buffer {
  const certificate = readTlv(certificateDer, 0);
  const tbs = readTlv(certificateDer, certificate.contentStart);
  let field = readTlv(certificateDer, tbs.contentStart);
  if (field.tag === 0xa0) field = readTlv(certificateDer, field.end); // [0] version
  const serial = field;
  const signatureAlgorithm = readTlv(certificateDer, serial.end);
  const issuer = readTlv(certificateDer, signatureAlgorithm.end);
  if (serial.tag !== 0x02 || issuer.tag !== 0x30) throw new TypeError("Not an X.509 certificate");
  const issuerName = Buffer.from(certificateDer.subarray(issuer.start, issuer.end));
  const serialNumber = Buffer.from(certificateDer.subarray(serial.start, serial.end));
  return wrap(0x30, Buffer.concat([wrap(0x30, wrap(0xa4, issuerName)), serialNumber]));
}
