/**
 * What makes a certificate fit to sign time-stamp tokens (RFC 3161 §2.3):
 * the extended key usage extension is present, critical, and names
 * id-kp-timeStamping and nothing else; a key usage extension, when present,
 * allows only digitalSignature and/or nonRepudiation. These are the checks
 * OpenSSL applies (X509_PURPOSE_TIMESTAMP_SIGN), so a token we accept is one
 * `openssl ts -verify` accepts.
 */
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { OID } from "./der.js";
import { TimestampError } from "./errors.js";

/** RFC 5280 §4.2.1.3 bit numbers. */
const DIGITAL_SIGNATURE_BIT = 0;
const NON_REPUDIATION_BIT = 1;

/** Throws a `TimestampError` (missing-eku, eku-not-critical, bad-key-usage) unless the certificate may sign tokens. */
export function assertTimestampingCertificate(certificate: pkijs.Certificate): void {
  const extensions = certificate.extensions ?? [];
  const ekuExtensions = extensions.filter((extension) => extension.extnID === OID.extendedKeyUsage);
  const eku = ekuExtensions[0];
  if (eku === undefined) {
    throw new TimestampError({ reason: "missing-eku", detail: "The TSA certificate has no extended key usage extension" });
  }
  if (ekuExtensions.length > 1) {
    throw new TimestampError({ reason: "missing-eku", detail: "The TSA certificate has more than one extended key usage extension" });
  }
  const purposes = eku.parsedValue instanceof pkijs.ExtKeyUsage ? eku.parsedValue.keyPurposes : undefined;
  if (purposes === undefined || !purposes.includes(OID.timeStampingPurpose)) {
    throw new TimestampError({
      reason: "missing-eku",
      detail: "The TSA certificate's extended key usage does not include id-kp-timeStamping",
    });
  }
  if (purposes.length !== 1) {
    throw new TimestampError({
      reason: "missing-eku",
      detail: `The TSA certificate's extended key usage must be id-kp-timeStamping only, found ${purposes.join(", ")}`,
    });
  }
  if (eku.critical !== true) {
    throw new TimestampError({
      reason: "eku-not-critical",
      detail: "The TSA certificate's extended key usage extension is not marked critical",
    });
  }

  const keyUsage = extensions.find((extension) => extension.extnID === OID.keyUsage);
  if (keyUsage !== undefined) {
    const bits = setBits(keyUsage.parsedValue);
    const allowed = new Set([DIGITAL_SIGNATURE_BIT, NON_REPUDIATION_BIT]);
    if (bits === undefined || bits.length === 0 || bits.some((bit) => !allowed.has(bit))) {
      throw new TimestampError({
        reason: "bad-key-usage",
        detail: "The TSA certificate's key usage must be digitalSignature and/or nonRepudiation only",
      });
    }
  }
}

/** The bit numbers set in a KeyUsage BIT STRING, or undefined if it is not one. */
function setBits(value: unknown): number[] | undefined {
  if (!(value instanceof asn1js.BitString)) return undefined;
  const bytes = value.valueBlock.valueHexView;
  const total = bytes.length * 8 - value.valueBlock.unusedBits;
  const bits: number[] = [];
  for (let bit = 0; bit < total; bit++) {
    if (((bytes[bit >> 3] ?? 0) & (0x80 >> (bit & 7))) !== 0) bits.push(bit);
  }
  return bits;
}
