/**
 * PKIStatus and PKIFailureInfo of a TimeStampResp (RFC 3161 §2.4.2), with the
 * DER named-bit-string encoding of the failure bits (X.690 §11.2.2: trailing
 * zero bits removed).
 */
import type { BerElement } from "../cms/ber-reader.js";

export const PKI_STATUS_NAMES = [
  "granted",
  "grantedWithMods",
  "rejection",
  "waiting",
  "revocationWarning",
  "revocationNotification",
] as const;

export type PkiStatusName = (typeof PKI_STATUS_NAMES)[number];

/** RFC 3161 §2.4.2 PKIFailureInfo bit numbers. */
export const PKI_FAILURE_INFO_BITS = {
  badAlg: 0,
  badRequest: 2,
  badDataFormat: 5,
  timeNotAvailable: 14,
  unacceptedPolicy: 15,
  unacceptedExtension: 16,
  addInfoNotAvailable: 17,
  systemFailure: 25,
} as const;

export type PkiFailureInfo = keyof typeof PKI_FAILURE_INFO_BITS;
/** A decoded failure bit: its RFC 3161 name, or `bit<N>` for a bit RFC 3161 leaves unnamed. */
export type PkiFailureInfoName = PkiFailureInfo | `bit${number}`;

/** The status name for an INTEGER value; `undefined` for values RFC 3161 does not define. */
export function pkiStatusName(value: number): PkiStatusName | undefined {
  return Number.isInteger(value) ? PKI_STATUS_NAMES[value] : undefined;
}

/** Whether a response with this status carries a token (RFC 3161 §2.4.2: "granted" or "grantedWithMods"). */
export function isGrantedStatus(status: PkiStatusName): boolean {
  return status === "granted" || status === "grantedWithMods";
}

/** Encodes failure names as a DER named BIT STRING (the whole TLV). */
export function encodeFailureInfo(failures: readonly PkiFailureInfo[]): Buffer {
  if (failures.length === 0) throw new TypeError("encodeFailureInfo needs at least one failure");
  const bits = failures.map((name) => {
    if (!Object.hasOwn(PKI_FAILURE_INFO_BITS, name)) throw new TypeError(`Unknown PKIFailureInfo ${String(name)}`);
    return PKI_FAILURE_INFO_BITS[name];
  });
  const highest = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const bit of bits) bytes[bit >> 3] = (bytes[bit >> 3] ?? 0) | (0x80 >> (bit & 7));
  const unusedBits = bytes.length * 8 - (highest + 1);
  return Buffer.concat([Buffer.from([0x03, bytes.length + 1, unusedBits]), bytes]);
}

/**
 * The failure names set in a PKIFailureInfo BIT STRING (X.690 §8.6: the first
 * content octet counts the unused bits); bits RFC 3161 does not name are
 * reported as `bit<N>`. Undefined when the element is not a primitive BIT STRING.
 */
export function decodeFailureInfo(bitString: BerElement): PkiFailureInfoName[] | undefined {
  if (bitString.constructed || bitString.contentEnd === bitString.contentStart) return undefined;
  const unused = bitString.bytes[bitString.contentStart] as number;
  const bytes = bitString.bytes.subarray(bitString.contentStart + 1, bitString.contentEnd);
  if (unused > 7 || (bytes.length === 0 && unused !== 0)) return undefined;
  const names = new Map<number, PkiFailureInfo>(
    Object.entries(PKI_FAILURE_INFO_BITS).map(([name, bit]) => [bit, name as PkiFailureInfo]),
  );
  const found: PkiFailureInfoName[] = [];
  const total = bytes.length * 8 - unused;
  for (let bit = 0; bit < total; bit++) {
    if (((bytes[bit >> 3] ?? 0) & (0x80 >> (bit & 7))) !== 0) found.push(names.get(bit) ?? `bit${bit}`);
  }
  return found;
}
