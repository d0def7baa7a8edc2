/**
 * A Signer returns ECDSA signatures DER-encoded (Ecdsa-Sig-Value, RFC 3279
 * §2.2.3); XML-DSig 1.1 §6.4.3 wants r and s as fixed-size big-endian
 * integers, concatenated.
 */
export function ecdsaDerToConcatenated(der: Uint8Array, size: number): Buffer {
  let offset = 0;
  const readLength = (): number => {
    const first = der[offset++];
    if (first === undefined) throw new Error("truncated DER");
    if (first < 0x80) return first;
    const count = first & 0x7f;
    if (count === 0 || count > 2) throw new Error("unsupported DER length");
    let length = 0;
    for (let i = 0; i < count; i++) {
      const byte = der[offset++];
      if (byte === undefined) throw new Error("truncated DER");
      length = (length << 8) | byte;
    }
    return length;
  };
  const readInteger = (): Uint8Array => {
    if (der[offset++] !== 0x02) throw new Error("expected an INTEGER");
    const length = readLength();
    const value = der.subarray(offset, offset + length);
    if (value.length !== length) throw new Error("truncated DER");
    offset += length;
    let start = 0;
    while (start < value.length - 1 && value[start] === 0) start++;
    const trimmed = value.subarray(start);
    if (trimmed.length > size) throw new Error("integer larger than the curve size");
    return trimmed;
  };
  if (der[offset++] !== 0x30) throw new Error("expected a SEQUENCE");
  const sequenceLength = readLength();
  if (offset + sequenceLength !== der.length) throw new Error("trailing bytes after the SEQUENCE");
  const r = readInteger();
  const s = readInteger();
  if (offset !== der.length) throw new Error("trailing bytes in the SEQUENCE");
  const out = Buffer.alloc(size * 2);
  out.set(r, size - r.length);
  out.set(s, size * 2 - s.length);
  return out;
}
