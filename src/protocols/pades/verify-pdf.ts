/**
 * Verification of the signatures of a PDF (ISO 32000-1 §12.8, ETSI EN
 * 319 142-1), each reported on its own:
 *
 * - the /ByteRange must start at 0 and leave out exactly the /Contents hex
 *   string, and end at the end of a revision (a %%EOF);
 * - integrity: the CMS SignedData over those bytes (digest, signature, ESS
 *   signing-certificate-v2 — see verifySignedData);
 * - what was appended after the signed revision: more signatures and
 *   validation data are fine, anything else is "modified after signing";
 * - the signature time-stamp (B-T): read, its imprint checked against the
 *   signature, and verified by the caller's `verifyTimestamp`;
 * - the signer's chain, by the caller's `verifyChain`.
 *
 * A problem with one signature is a reason in its report, not an exception;
 * exceptions are for input that is not a PDF at all.
 *
 * @example
 * ```ts
 * const [first] = await verifyPdfSignatures(pdf, { verifyChain, verifyTimestamp });
 * if (!first?.valid) console.log(first?.reasons);
 * ```
 */
import type { X509Certificate } from "node:crypto";
import * as asn1js from "asn1js";
import { PDFArray, PDFDict, PDFHexString, PDFName, PDFNumber, PDFRef, PDFString } from "pdf-lib";
import { readTlv } from "../cms/der.js";
import { CmsError, type CmsFailureReason } from "../cms/errors.js";
import { ATTRIBUTE_OID } from "../cms/oids.js";
import { readTimestampToken } from "../cms/timestamp-token.js";
import { verifySignedData, type SignedDataVerification } from "../cms/verify.js";
import type { DigestAlgorithm } from "../cms/algorithms.js";
import { parsePdfDate } from "./pdf-text.js";
import { formFields, loadPdf, textOf, type FormField, type LoadedPdf } from "./pdf-structure.js";
import { disallowedChanges } from "./revision-diff.js";

export interface VerifyPdfSignaturesOptions {
  /** Trust decision on the signer's chain (signer first); rejects to refuse. Without it, `chainValid` is absent. */
  verifyChain?: (chain: X509Certificate[]) => Promise<void>;
  /** Verifies an RFC 3161 token over `signatureValue` (TSA signature, certificate, imprint); rejects to refuse. */
  verifyTimestamp?: (tokenDer: Buffer, signatureValue: Buffer) => Promise<{ genTime: Date }>;
}

export type PdfSignatureProblemCode =
  /** From the CMS verification (digest_mismatch, bad_signature, signing_certificate_mismatch, malformed, …). */
  | Exclude<CmsFailureReason, "untrusted">
  /** The caller's verifyChain refused the signer's chain. */
  | "untrusted"
  /** /ByteRange is not [0 a b c] around exactly the /Contents hex string of this signature. */
  | "byte_range_invalid"
  /** The signed bytes do not end at the end of a revision (%%EOF): part of the file is not covered. */
  | "byte_range_incomplete"
  /** The file was changed after this signature other than by adding signatures or validation data. */
  | "modified_after_signing"
  /** A /SubFilter we do not verify (adbe.pkcs7.sha1, adbe.x509.rsa_sha1, ETSI.RFC3161 document time-stamps). */
  | "unsupported_subfilter"
  /** ETSI.CAdES.detached without an ESS signing-certificate(-v2) attribute (EN 319 142-1 §6.3). */
  | "signing_certificate_missing"
  /** The signature time-stamp is malformed, over something else, or refused by verifyTimestamp. */
  | "timestamp_invalid";

export interface PdfSignatureProblem {
  code: PdfSignatureProblemCode;
  detail: string;
}

export interface PdfSignatureReport {
  /** Fully qualified field name. */
  fieldName: string;
  subFilter: string | undefined;
  byteRange: number[];
  /** /ByteRange starts at 0, skips exactly /Contents, and ends at the end of a revision. */
  byteRangeCoversWholeRevision: boolean;
  /** The signed revision is the whole file: nothing was appended after it. */
  coversWholeDocument: boolean;
  /** Something other than signatures or validation data was changed after signing. */
  modifiedAfterSigning: boolean;
  /** The digest of the signed bytes and the signature verify. */
  integrity: boolean;
  signerSubject?: string;
  signerCertificate?: X509Certificate;
  digestAlgorithm?: DigestAlgorithm;
  /** The claimed signing time, /M. */
  signingTime?: Date;
  /** B-T: `verified` is true only when verifyTimestamp accepted the token. */
  timestamp?: { genTime: Date; verified: boolean };
  /** Present when verifyChain was given. */
  chainValid?: boolean;
  /** No problem at all. */
  valid: boolean;
  reasons: PdfSignatureProblem[];
}

const CMS_SUBFILTERS = new Set(["ETSI.CAdES.detached", "adbe.pkcs7.detached"]);

/** One report per signed signature field, in AcroForm order. PASSERELLE_PDF_INVALID / _ENCRYPTED for unusable input. */
export async function verifyPdfSignatures(pdf: Uint8Array, options: VerifyPdfSignaturesOptions = {}): Promise<PdfSignatureReport[]> {
  const loaded = await loadPdf(pdf);
  const revisions = new Map<number, Promise<LoadedPdf | undefined>>();
  const revisionAt = (end: number): Promise<LoadedPdf | undefined> => {
    let revision = revisions.get(end);
    if (revision === undefined) {
      revision = loadPdf(loaded.bytes.subarray(0, end)).catch(() => undefined);
      revisions.set(end, revision);
    }
    return revision;
  };
  const reports: PdfSignatureReport[] = [];
  for (const field of formFields(loaded.context, loaded.catalog)) {
    if (field.type !== "Sig") continue;
    const signature = loaded.context.lookup(field.value);
    if (!(signature instanceof PDFDict)) continue; // an empty signature field, not signed yet
    reports.push(await verifyOne(loaded, field, signature, options, revisionAt));
  }
  return reports;
}

async function verifyOne(
  loaded: LoadedPdf,
  field: FormField,
  signature: PDFDict,
  options: VerifyPdfSignaturesOptions,
  revisionAt: (end: number) => Promise<LoadedPdf | undefined>,
): Promise<PdfSignatureReport> {
  const { bytes, context } = loaded;
  const reasons: PdfSignatureProblem[] = [];
  const subFilterName = context.lookup(signature.get(PDFName.of("SubFilter")));
  const subFilter = subFilterName instanceof PDFName ? subFilterName.decodeText() : undefined;
  const signingTimeText = textOf(context.lookup(signature.get(PDFName.of("M"))));
  const signingTime = signingTimeText === undefined ? undefined : parsePdfDate(signingTimeText);
  const report: PdfSignatureReport = {
    fieldName: field.name,
    subFilter,
    byteRange: [],
    byteRangeCoversWholeRevision: false,
    coversWholeDocument: false,
    modifiedAfterSigning: false,
    integrity: false,
    ...(signingTime === undefined ? {} : { signingTime }),
    valid: false,
    reasons,
  };
  const finish = (): PdfSignatureReport => {
    report.valid = reasons.length === 0;
    return report;
  };

  const range = readByteRange(loaded, signature);
  if (typeof range === "string") {
    reasons.push({ code: "byte_range_invalid", detail: range });
    return finish();
  }
  report.byteRange = range.byteRange;
  const end = range.byteRange[2] + range.byteRange[3];
  // ISO 32000-1 §7.5.5: a revision ends with %%EOF (and its end-of-line).
  const endsRevision = /%%EOF(\r\n|\r|\n)?$/.test(bytes.subarray(Math.max(0, end - 8), end).toString("latin1"));
  report.byteRangeCoversWholeRevision = endsRevision;
  if (!endsRevision) reasons.push({ code: "byte_range_incomplete", detail: "The signed bytes do not end at the end of a revision" });
  report.coversWholeDocument = end === bytes.length;

  if (end < bytes.length && endsRevision) {
    const changes = await changesAfter(loaded, end, signature, field, revisionAt);
    if (changes.length > 0) {
      report.modifiedAfterSigning = true;
      reasons.push({ code: "modified_after_signing", detail: changes.slice(0, 5).join("; ") });
    }
  } else if (end < bytes.length) {
    report.modifiedAfterSigning = true;
    reasons.push({ code: "modified_after_signing", detail: "Bytes after the signed range are not covered" });
  }

  if (subFilter === undefined || !CMS_SUBFILTERS.has(subFilter)) {
    reasons.push({ code: "unsupported_subfilter", detail: `SubFilter ${subFilter ?? "(none)"} is not verified` });
    return finish();
  }

  let verification: SignedDataVerification;
  try {
    verification = await verifySignedData(range.cms, {
      content: [bytes.subarray(0, range.byteRange[1]), bytes.subarray(range.byteRange[2], end)],
    });
  } catch (error) {
    if (!(error instanceof CmsError)) throw error;
    reasons.push({ code: error.reason === "untrusted" ? "untrusted" : error.reason, detail: error.detail });
    return finish();
  }
  report.integrity = true;
  report.signerCertificate = verification.signerCertificate;
  report.signerSubject = verification.signerCertificate.subject;
  report.digestAlgorithm = verification.digestAlgorithm;
  const hasEss = verification.hasSigningCertificateV2 || verification.signedAttributes.some((a) => a.type === ATTRIBUTE_OID.signingCertificate);
  if (subFilter === "ETSI.CAdES.detached" && !hasEss) {
    reasons.push({ code: "signing_certificate_missing", detail: "No ESS signing-certificate-v2 attribute" });
  }

  const token = verification.timestampTokens[0];
  if (token !== undefined) await checkTimestamp(token, verification.signatureValue, options, report);

  if (options.verifyChain !== undefined) {
    try {
      await options.verifyChain(verification.chain);
      report.chainValid = true;
    } catch (cause) {
      report.chainValid = false;
      reasons.push({ code: "untrusted", detail: cause instanceof Error ? cause.message : "The signer's chain was refused" });
    }
  }
  return finish();
}

interface ByteRangeAndContents {
  byteRange: [number, number, number, number];
  /** The DER SignedData, without the hex string's zero padding. */
  cms: Buffer;
}

/** The checks of ISO 32000-1 §12.8.1 on /ByteRange and /Contents; a description of the fault otherwise. */
function readByteRange(loaded: LoadedPdf, signature: PDFDict): ByteRangeAndContents | string {
  const { bytes, context } = loaded;
  const array = context.lookup(signature.get(PDFName.of("ByteRange")));
  const numbers = array instanceof PDFArray ? array.asArray().map((n) => context.lookup(n)) : [];
  if (numbers.length !== 4 || !numbers.every((n) => n instanceof PDFNumber && Number.isSafeInteger(n.asNumber()) && n.asNumber() >= 0)) {
    return "/ByteRange is not four non-negative integers";
  }
  const [start, holeStart, holeEnd, tailLength] = numbers.map((n) => (n as PDFNumber).asNumber()) as [number, number, number, number];
  if (start !== 0) return "/ByteRange does not start at the beginning of the file";
  if (holeStart < 1 || holeEnd <= holeStart + 1 || holeEnd + tailLength > bytes.length) return "/ByteRange points outside the file";
  const hole = bytes.subarray(holeStart, holeEnd).toString("latin1");
  if (!/^<[0-9A-Fa-f]*>$/.test(hole) || hole.length % 2 !== 0) return "The bytes left out of /ByteRange are not a hexadecimal string";
  const contents = context.lookup(signature.get(PDFName.of("Contents")));
  const declared = contents instanceof PDFHexString || contents instanceof PDFString ? Buffer.from(contents.asBytes()) : undefined;
  const carried = Buffer.from(hole.slice(1, -1), "hex");
  // The hole must be this signature's /Contents, not some other string with the real one inside the signed bytes.
  if (declared === undefined || !declared.equals(carried)) return "The bytes left out of /ByteRange are not this signature's /Contents";
  return { byteRange: [start, holeStart, holeEnd, tailLength], cms: trimPadding(carried) };
}

/** /Contents is zero-padded after the DER (or BER) SignedData. */
function trimPadding(contents: Buffer): Buffer {
  const tlv = readTlv(contents, 0);
  if (tlv !== undefined) return contents.subarray(0, tlv.end);
  const decoded = asn1js.fromBER(contents);
  return decoded.offset > 0 ? contents.subarray(0, decoded.offset) : contents;
}

async function changesAfter(
  loaded: LoadedPdf,
  end: number,
  signature: PDFDict,
  field: FormField,
  revisionAt: (end: number) => Promise<LoadedPdf | undefined>,
): Promise<string[]> {
  const trailing = loaded.bytes.subarray(end);
  if (/^\s*$/.test(trailing.toString("latin1"))) return [];
  const revision = await revisionAt(end);
  if (revision === undefined) return ["the signed revision cannot be read on its own"];
  // The signature itself must already be in the revision it signs, unchanged (its own object, or the field holding it).
  const holder = field.value instanceof PDFRef ? field.value : field.ref;
  const current = field.value instanceof PDFRef ? signature : field.dict;
  if (revision.context.lookup(holder)?.toString() !== current.toString()) {
    return ["the signature dictionary is not the one of the signed revision"];
  }
  return disallowedChanges(revision, loaded);
}

async function checkTimestamp(token: Buffer, signatureValue: Buffer, options: VerifyPdfSignaturesOptions, report: PdfSignatureReport): Promise<void> {
  let genTime: Date;
  try {
    const info = readTimestampToken(token, signatureValue);
    genTime = info.genTime;
    if (!info.imprintMatches) report.reasons.push({ code: "timestamp_invalid", detail: "The time-stamp is not over this signature's value" });
  } catch (error) {
    if (!(error instanceof CmsError)) throw error;
    report.reasons.push({ code: "timestamp_invalid", detail: error.detail });
    return;
  }
  if (options.verifyTimestamp === undefined) {
    report.timestamp = { genTime, verified: false };
    return;
  }
  try {
    const verified = await options.verifyTimestamp(token, signatureValue);
    report.timestamp = { genTime: verified.genTime, verified: true };
  } catch (cause) {
    report.timestamp = { genTime, verified: false };
    report.reasons.push({ code: "timestamp_invalid", detail: cause instanceof Error ? cause.message : "The time-stamp was refused" });
  }
}
