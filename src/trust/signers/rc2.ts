/**
 * RC2 decryption (RFC 2268), CBC mode. Only here because PKCS#12 files made
 * by older tools — and by `openssl pkcs12 -export -legacy` — encrypt their
 * certificates with pbeWithSHAAnd40BitRC2-CBC (RFC 7292 Appendix C), and
 * OpenSSL 3 moved RC2 to its "legacy" provider, which Node does not load. A
 * certificate is public data: the weakness of RC2-40 protects nothing we
 * rely on, and we never encrypt with it.
 */

// RFC 2268 §2: PITABLE, a permutation of 0..255 derived from the digits of pi.
// prettier-ignore
const PITABLE = Uint8Array.from([
  0xd9, 0x78, 0xf9, 0xc4, 0x19, 0xdd, 0xb5, 0xed, 0x28, 0xe9, 0xfd, 0x79, 0x4a, 0xa0, 0xd8, 0x9d,
  0xc6, 0x7e, 0x37, 0x83, 0x2b, 0x76, 0x53, 0x8e, 0x62, 0x4c, 0x64, 0x88, 0x44, 0x8b, 0xfb, 0xa2,
  0x17, 0x9a, 0x59, 0xf5, 0x87, 0xb3, 0x4f, 0x13, 0x61, 0x45, 0x6d, 0x8d, 0x09, 0x81, 0x7d, 0x32,
  0xbd, 0x8f, 0x40, 0xeb, 0x86, 0xb7, 0x7b, 0x0b, 0xf0, 0x95, 0x21, 0x22, 0x5c, 0x6b, 0x4e, 0x82,
  0x54, 0xd6, 0x65, 0x93, 0xce, 0x60, 0xb2, 0x1c, 0x73, 0x56, 0xc0, 0x14, 0xa7, 0x8c, 0xf1, 0xdc,
  0x12, 0x75, 0xca, 0x1f, 0x3b, 0xbe, 0xe4, 0xd1, 0x42, 0x3d, 0xd4, 0x30, 0xa3, 0x3c, 0xb6, 0x26,
  0x6f, 0xbf, 0x0e, 0xda, 0x46, 0x69, 0x07, 0x57, 0x27, 0xf2, 0x1d, 0x9b, 0xbc, 0x94, 0x43, 0x03,
  0xf8, 0x11, 0xc7, 0xf6, 0x90, 0xef, 0x3e, 0xe7, 0x06, 0xc3, 0xd5, 0x2f, 0xc8, 0x66, 0x1e, 0xd7,
  0x08, 0xe8, 0xea, 0xde, 0x80, 0x52, 0xee, 0xf7, 0x84, 0xaa, 0x72, 0xac, 0x35, 0x4d, 0x6a, 0x2a,
  0x96, 0x1a, 0xd2, 0x71, 0x5a, 0x15, 0x49, 0x74, 0x4b, 0x9f, 0xd0, 0x5e, 0x04, 0x18, 0xa4, 0xec,
  0xc2, 0xe0, 0x41, 0x6e, 0x0f, 0x51, 0xcb, 0xcc, 0x24, 0x91, 0xaf, 0x50, 0xa1, 0xf4, 0x70, 0x39,
  0x99, 0x7c, 0x3a, 0x85, 0x23, 0xb8, 0xb4, 0x7a, 0xfc, 0x02, 0x36, 0x5b, 0x25, 0x55, 0x97, 0x31,
  0x2d, 0x5d, 0xfa, 0x98, 0xe3, 0x8a, 0x92, 0xae, 0x05, 0xdf, 0x29, 0x10, 0x67, 0x6c, 0xba, 0xc9,
  0xd3, 0x00, 0xe6, 0xcf, 0xe1, 0x9e, 0xa8, 0x2c, 0x63, 0x16, 0x01, 0x3f, 0x58, 0xe2, 0x89, 0xa9,
  0x0d, 0x38, 0x34, 0x1b, 0xab, 0x33, 0xff, 0xb0, 0xbb, 0x48, 0x0c, 0x5f, 0xb9, 0xb1, 0xcd, 0x2e,
  0xc5, 0xf3, 0xdb, 0x47, 0xe5, 0xa5, 0x9c, 0x77, 0x0a, 0xa6, 0x20, 0x68, 0xfe, 0x7f, 0xc1, 0xad,
]);

const BLOCK_BYTES = 8;
/** RFC 2268 §3: the mixing rotation amounts s[0..3]. */
const ROTATIONS = [1, 2, 3, 5] as const;

/** RFC 2268 §2 key expansion: 64 16-bit words K[0..63]. */
export function expandRc2Key(key: Uint8Array, effectiveBits: number): Uint16Array {
  if (key.length < 1 || key.length > 128) throw new RangeError("An RC2 key is 1 to 128 bytes long");
  if (!Number.isInteger(effectiveBits) || effectiveBits < 1 || effectiveBits > 1024) {
    throw new RangeError("RC2 effective key bits must be 1 to 1024");
  }
  const L = new Uint8Array(128);
  L.set(key);
  const T = key.length;
  const T8 = Math.ceil(effectiveBits / 8);
  const TM = 0xff >> (8 * T8 - effectiveBits);
  for (let i = T; i < 128; i += 1) L[i] = PITABLE[(L[i - 1]! + L[i - T]!) & 0xff]!;
  L[128 - T8] = PITABLE[L[128 - T8]! & TM]!;
  for (let i = 127 - T8; i >= 0; i -= 1) L[i] = PITABLE[L[i + 1]! ^ L[i + T8]!]!;
  const K = new Uint16Array(64);
  for (let i = 0; i < 64; i += 1) K[i] = L[2 * i]! | (L[2 * i + 1]! << 8);
  return K;
}

/** RFC 2268 §4.1: decrypts one 8-byte block in place. */
function decryptBlock(K: Uint16Array, block: Uint8Array): void {
  const R = [0, 1, 2, 3].map((i) => block[2 * i]! | (block[2 * i + 1]! << 8));
  let j = 63;
  const rMix = (): void => {
    for (let i = 3; i >= 0; i -= 1) {
      const s = ROTATIONS[i]!;
      const word = R[i]!;
      const rotated = ((word >>> s) | (word << (16 - s))) & 0xffff;
      const a = R[(i + 3) % 4]!;
      const b = R[(i + 2) % 4]!;
      const c = R[(i + 1) % 4]!;
      R[i] = (rotated - K[j]! - (a & b) - (~a & c)) & 0xffff;
      j -= 1;
    }
  };
  const rMash = (): void => {
    for (let i = 3; i >= 0; i -= 1) R[i] = (R[i]! - K[R[(i + 3) % 4]! & 63]!) & 0xffff;
  };
  for (let round = 0; round < 5; round += 1) rMix();
  rMash();
  for (let round = 0; round < 6; round += 1) rMix();
  rMash();
  for (let round = 0; round < 5; round += 1) rMix();
  for (let i = 0; i < 4; i += 1) {
    block[2 * i] = R[i]! & 0xff;
    block[2 * i + 1] = R[i]! >>> 8;
  }
}

/** Decrypts ECB blocks without padding handling (for the RFC 2268 §5 test vectors). */
export function rc2DecryptBlocks(key: Uint8Array, effectiveBits: number, ciphertext: Uint8Array): Buffer {
  if (ciphertext.length % BLOCK_BYTES !== 0) throw new RangeError("RC2 ciphertext is a whole number of 8-byte blocks");
  const K = expandRc2Key(key, effectiveBits);
  const out = Buffer.from(ciphertext);
  for (let offset = 0; offset < out.length; offset += BLOCK_BYTES) decryptBlock(K, out.subarray(offset, offset + BLOCK_BYTES));
  return out;
}

/**
 * RC2-CBC decryption with PKCS#5 padding removal (RFC 8018 §6.1.1 step 4).
 * Returns `undefined` when the padding is wrong, which after a password-based
 * key derivation almost always means a wrong password.
 */
export function rc2CbcDecrypt(key: Uint8Array, effectiveBits: number, iv: Uint8Array, ciphertext: Uint8Array): Buffer | undefined {
  if (iv.length !== BLOCK_BYTES) throw new RangeError("An RC2-CBC IV is 8 bytes long");
  if (ciphertext.length === 0 || ciphertext.length % BLOCK_BYTES !== 0) return undefined;
  const K = expandRc2Key(key, effectiveBits);
  const out = Buffer.alloc(ciphertext.length);
  let previous = Buffer.from(iv);
  for (let offset = 0; offset < ciphertext.length; offset += BLOCK_BYTES) {
    const cipherBlock = Buffer.from(ciphertext.subarray(offset, offset + BLOCK_BYTES));
    const plain = Buffer.from(cipherBlock);
    decryptBlock(K, plain);
    for (let i = 0; i < BLOCK_BYTES; i += 1) out[offset + i] = plain[i]! ^ previous[i]!;
    previous = cipherBlock;
  }
  const pad = out[out.length - 1]!;
  if (pad < 1 || pad > BLOCK_BYTES) return undefined;
  for (let i = out.length - pad; i < out.length; i += 1) if (out[i] !== pad) return undefined;
  return out.subarray(0, out.length - pad);
}
