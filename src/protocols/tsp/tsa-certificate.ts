/**
 * What makes a certificate fit to sign time-stamp tokens (RFC 3161 §2.3):
 * the extended key usage extension is present, critical, and names
 * id-kp-timeStamping and nothing else; a key usage extension, when present,
 * allows only digitalSignature and/or nonRepudiation. These are the checks
 * OpenSSL applies (X509_PURPOSE_TIMESTAMP_SIGN), so a token we accept is one
 * `openssl ts -verify` accepts.
 */
import { UNIVERSAL, isUniversal, oidText, readBer, type BerElement } from "../cms/ber-reader.js";
import type { CertificateFields } from "./certificate-fields.js";
import { OID } from "./der.js";
import { TimestampError } from "./errors.js";

/** RFC 5280 §4.2.1.3 bit numbers. */
const DIGITAL_SIGNATURE_BIT = 0;
const NON_REPUDIATION_BIT = 1;

/** Throws a `TimestampError` (missing-eku, eku-not-critical, bad-key-usage) unless the certificate may sign tokens. */
export function assertTimestampingCertificate(certificate: CertificateFields): void {
  const extensions = certificate.extensions;
  const ekuExtensions = extensions.filter((extension) => extension.oid === OID.extendedKeyUsage);
  const eku = ekuExtensions[0];
  if (eku === undefined) {
    throw new TimestampError({ reason: "missing-eku", detail: "The TSA certificate has no extended key usage extension" });
  }
  if (ekuExtensions.length > 1) {
    throw new TimestampError({ reason: "missing-eku", detail: "The TSA certificate has more than one extended key usage extension" });
  }
  const purposes = keyPurposes(eku.value);
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

  const keyUsage = extensions.find((extension) => extension.oid === OID.keyUsage);
  if (keyUsage !== undefined) {
    const bits = setBits(readBer(keyUsage.value));
    const allowed = new Set([DIGITAL_SIGNATURE_BIT, NON_REPUDIATION_BIT]);
    if (bits === undefined || bits.length === 0 || bits.some((bit) => !allowed.has(bit))) {
      throw new TimestampError({
        reason: "bad-key-usage",
        detail: "The TSA certificate's key usage must be digitalSignature and/or nonRepudiation only",
      });
    }
  }
}

/** `ExtKeyUsageSyntax ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId` (RFC 5280 §4.2.1.12), or undefined if the value is not one. */
function keyPurposes(value: Buffer): string[] | undefined {
  const sequence = readBer(value);
  if (!isUniversal(sequence, UNIVERSAL.SEQUENCE) || sequence.children.length === 0) return undefined;
  const purposes: string[] = [];
  for (const purpose of sequence.children) {
    const oid = isUniversal(purpose, UNIVERSAL.OID) ? oidText(purpose) : undefined;
    if (oid === undefined) return undefined;
    purposes.push(oid);
  }
  return purposes;
}

/** The bit numbers set in a KeyUsage BIT STRING (X.690 §8.6: first octet = unused bits), or undefined if it is not one. */
function setBits(value: BerElement | undefined): number[] | undefined {
  if (!isUniversal(value, UNIVERSAL.BIT_STRING) || value.constructed || value.contentEnd === value.contentStart) return undefined;
  const unusedBits = value.bytes[value.contentStart] as number;
  const bytes = value.bytes.subarray(value.contentStart + 1, value.contentEnd);
  if (unusedBits > 7 || (bytes.length === 0 && unusedBits !== 0)) return undefined;
  const total = bytes.length * 8 - unusedBits;
  const bits: number[] = [];
  for (let bit = 0; bit < total; bit++) {
    if (((bytes[bit >> 3] ?? 0) & (0x80 >> (bit & 7))) !== 0) bits.push(bit);
  }
  return bits;
}
