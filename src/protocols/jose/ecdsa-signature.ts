/**
 * ECDSA signature encodings. Signers (PKCS#11 tokens, KMSs, OpenSSL) return
 * the DER `Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` of RFC 3279
 * §2.2.3; JWS (RFC 7518 §3.4) and XML-DSig 1.1 (§6.4.3) want the fixed-size
 * concatenation r || s, each left-padded to the curve's byte length.
 */

/** Bytes of r (and of s) per curve: ceil(field bits / 8). */
export const ECDSA_COORDINATE_BYTES = { "P-256": 32, "P-384": 48, "P-521": 66 } as const;
export type EcdsaCurve = keyof typeof ECDSA_COORDINATE_BYTES;

function readLength(der: Uint8Array, offset: number): [length: number, next: number] {
  const first = der[offset];
  if (first === undefined) throw new TypeError("ECDSA DER signature: truncated length");
  if (first < 0x80) return [first, offset + 1];
  // X.690 §8.1.3.5: long form; a signature is never longer than 255 bytes' worth of length octets here.
  if (first === 0x81) {
    const length = der[offset + 1];
    if (length === undefined || length < 0x80) throw new TypeError("ECDSA DER signature: non-minimal length");
    return [length, offset + 2];
  }
  throw new TypeError("ECDSA DER signature: unsupported length encoding");
}

function readInteger(der: Uint8Array, offset: number, size: number): [value: Uint8Array, next: number] {
  if (der[offset] !== 0x02) throw new TypeError("ECDSA DER signature: INTEGER expected");
  const [length, start] = readLength(der, offset + 1);
  const end = start + length;
  if (length === 0 || end > der.length) throw new TypeError("ECDSA DER signature: truncated INTEGER");
  let value = der.subarray(start, end);
  if ((value[0]! & 0x80) !== 0) throw new TypeError("ECDSA DER signature: negative INTEGER");
  // X.690 §8.3.2: a leading 0x00 only to keep the number positive.
  if (value.length > 1 && value[0] === 0 && (value[1]! & 0x80) === 0) throw new TypeError("ECDSA DER signature: non-minimal INTEGER");
  while (value.length > 1 && value[0] === 0) value = value.subarray(1);
  if (value.length > size) throw new TypeError("ECDSA DER signature: INTEGER longer than the curve order");
  const padded = new Uint8Array(size);
  padded.set(value, size - value.length);
  return [padded, end];
}

/** DER Ecdsa-Sig-Value → r || s. Throws TypeError on anything but a strict DER encoding. */
export function ecdsaDerToJose(der: Uint8Array, curve: EcdsaCurve): Uint8Array {
  const size = ECDSA_COORDINATE_BYTES[curve];
  if (size === undefined) throw new TypeError(`unknown curve ${String(curve)}`);
  if (der[0] !== 0x30) throw new TypeError("ECDSA DER signature: SEQUENCE expected");
  const [length, start] = readLength(der, 1);
  if (start + length !== der.length) throw new TypeError("ECDSA DER signature: length does not match");
  const [r, afterR] = readInteger(der, start, size);
  const [s, afterS] = readInteger(der, afterR, size);
  if (afterS !== der.length) throw new TypeError("ECDSA DER signature: trailing bytes");
  const joined = new Uint8Array(size * 2);
  joined.set(r, 0);
  joined.set(s, size);
  return joined;
}

function encodeLength(length: number): number[] {
  return length < 0x80 ? [length] : [0x81, length];
}

function encodeInteger(value: Uint8Array): number[] {
  let start = 0;
  while (start < value.length - 1 && value[start] === 0) start += 1;
  const bytes = [...value.subarray(start)];
  if ((bytes[0]! & 0x80) !== 0) bytes.unshift(0);
  return [0x02, ...encodeLength(bytes.length), ...bytes];
}

/** r || s → DER Ecdsa-Sig-Value (for verifiers that want DER, e.g. node:crypto's default). */
export function ecdsaJoseToDer(signature: Uint8Array, curve: EcdsaCurve): Uint8Array {
  const size = ECDSA_COORDINATE_BYTES[curve];
  if (signature.length !== size * 2) throw new TypeError(`an ${curve} r||s signature is ${size * 2} bytes`);
  const body = [...encodeInteger(signature.subarray(0, size)), ...encodeInteger(signature.subarray(size))];
  return Uint8Array.from([0x30, ...encodeLength(body.length), ...body]);
}
