/**
 * PAdES baseline signatures (ETSI EN 319 142-1): B-B, and B-T when a
 * time-stamp callback is given.
 *
 * What the standard asks and where it is done:
 * - the signature dictionary has /SubFilter /ETSI.CAdES.detached and its
 *   /Contents is a DER CMS SignedData, detached, over the /ByteRange, which
 *   covers the whole file but the /Contents string (ISO 32000-1 §12.8.1);
 * - signed attributes: content-type (id-data), message-digest and ESS
 *   signing-certificate-v2; **no signing-time attribute** (cardinality 0 in
 *   EN 319 142-1 §6.3, Table 1) — the claimed signing time is the
 *   dictionary's /M entry;
 * - exactly one SignerInfo; the signer's chain is carried in the CMS;
 * - B-T: the signature-time-stamp unsigned attribute, an RFC 3161 token over
 *   the SignatureValue (EN 319 142-1 §6.3; RFC 3161 Appendix A).
 *
 * Every signature is an incremental update (ISO 32000-1 §7.5.6): the input
 * bytes are kept as they are, so signatures already in the document stay
 * valid. The new field is an invisible widget on the first page.
 *
 * Deterministic for a deterministic signer and a fixed `signingTime` (and
 * time-stamp callback): nothing random is written.
 *
 * @example
 * ```ts
 * const signed = await signPdf(pdf, { signer, reason: "Certificat d'incapacité de travail", timestamp: (sig) => tsa.stamp(sig) });
 * ```
 */
import { PDFArray, PDFDict, PDFName, PDFNumber, PDFRef, type PDFObject } from "pdf-lib";
import { PasserelleError } from "../../errors/index.js";
import { assertDigestAlgorithm, type DigestAlgorithm } from "../cms/algorithms.js";
import { createSignedDataDetailed, estimateSignedDataSize } from "../cms/sign.js";
import type { Signer } from "../../trust/signer.js";
import { writeIncrementalUpdate, type UpdatedObject } from "./incremental-update.js";
import { pdfDateString, pdfTextString } from "./pdf-text.js";
import { firstPageRef, formFields, loadPdf, readLastCrossReference, type LoadedPdf } from "./pdf-structure.js";
import { SignablePdf } from "./signable-pdf.js";

export interface SignPdfOptions {
  signer: Signer;
  /**
   * B-T: obtains an RFC 3161 time-stamp token (DER TimeStampToken
   * ContentInfo) over the signature value. Without it the signature is B-B.
   */
  timestamp?: (signatureValue: Buffer) => Promise<Buffer>;
  reason?: string;
  location?: string;
  contactInfo?: string;
  /** /Name: the signer's name as displayed; viewers otherwise take it from the certificate. */
  name?: string;
  /** The claimed signing time written in /M; default now. */
  signingTime?: Date;
  /** Name of the new signature field; default `Signature<n>`, the first free one. */
  fieldName?: string;
  /** Bytes reserved for the DER CMS in /Contents; default: computed from the signer's chain and key (plus room for the time-stamp). */
  placeholderSize?: number;
  /** Default SHA-256. */
  digestAlgorithm?: DigestAlgorithm;
}

/** Room for a time-stamp token: a TSTInfo, the TSA's signature and its certificate chain (2–3 certificates). */
const TIMESTAMP_RESERVE = 16 * 1024;
/** ISO 32000-1 §12.7.2 Table 219: SignaturesExist | AppendOnly. */
const SIG_FLAGS = 3;
/** ISO 32000-1 §12.5.3: Print (4) | Locked (128) — an invisible widget nobody can move or delete. */
const WIDGET_FLAGS = 132;
const BYTE_RANGE_PLACEHOLDER = "0 0000000000 0000000000 0000000000";

/**
 * Signs `pdf` (PAdES B-B, or B-T with `timestamp`) and returns the signed
 * document. `pdf` is the file, or a `SignablePdf` its producer has just
 * written (then it is not parsed again).
 */
export async function signPdf(pdf: Uint8Array | SignablePdf, options: SignPdfOptions): Promise<Buffer> {
  const digestAlgorithm = checkOptions(options);
  const loaded = pdf instanceof SignablePdf ? (pdf.takeLoaded() ?? (await loadPdf(pdf.bytes))) : await loadPdf(pdf);
  assertChangesAllowed(loaded);
  const previousXref = readLastCrossReference(loaded.bytes);
  const fieldName = chooseFieldName(loaded, options.fieldName);

  const contentsSize =
    options.placeholderSize ??
    (await estimateSignedDataSize(
      { signer: options.signer, digestAlgorithm, signedAttributes: { signingTime: false }, includeChain: true },
      options.timestamp === undefined ? 0 : TIMESTAMP_RESERVE,
    ));

  let nextNumber = Math.max(previousXref.size, loaded.context.largestObjectNumber + 1);
  const allocate = (): PDFRef => PDFRef.of(nextNumber++);
  const signatureRef = allocate();
  const fieldRef = allocate();
  const pageRef = firstPageRef(loaded.context, loaded.catalog) as PDFRef;

  const dictionary = signatureDictionary(options, contentsSize);
  const objects: UpdatedObject[] = [
    { ref: signatureRef, body: dictionary },
    { ref: fieldRef, body: signatureField(fieldName, signatureRef, pageRef) },
    ...attachToPage(loaded, pageRef, fieldRef),
    ...attachToAcroForm(loaded, fieldRef, allocate),
  ];
  const { context } = loaded;
  const { bytes, bodyOffsets } = writeIncrementalUpdate(loaded.bytes, objects, previousXref, {
    root: loaded.catalogRef.toString(),
    ...(context.trailerInfo.Info === undefined ? {} : { info: context.trailerInfo.Info.toString() }),
    // ISO 32000-1 §14.4: the first identifier stays the document's permanent one.
    ...(context.trailerInfo.ID === undefined ? {} : { id: context.trailerInfo.ID.toString() }),
  });

  // Where /ByteRange's numbers and /Contents' hex string landed.
  const body = bodyOffsets.get(signatureRef.objectNumber) as number;
  const byteRangeAt = body + dictionary.indexOf(BYTE_RANGE_PLACEHOLDER);
  const contentsStart = body + dictionary.indexOf("/Contents <") + "/Contents ".length;
  const contentsEnd = contentsStart + 2 + 2 * contentsSize;
  const byteRange = [0, contentsStart, contentsEnd, bytes.length - contentsEnd];
  const byteRangeText = byteRange.join(" ").padEnd(BYTE_RANGE_PLACEHOLDER.length, " ");
  if (byteRangeText.length !== BYTE_RANGE_PLACEHOLDER.length) throw new RangeError("The PDF is too large for a 10-digit /ByteRange");
  bytes.write(byteRangeText, byteRangeAt, "latin1");

  const { der } = await createSignedDataDetailed({
    content: [bytes.subarray(0, contentsStart), bytes.subarray(contentsEnd)],
    detached: true,
    signer: options.signer,
    digestAlgorithm,
    signedAttributes: { signingTime: false, signingCertificateV2: true },
    includeChain: true,
    ...(options.timestamp === undefined ? {} : { signatureTimestamp: options.timestamp }),
  });
  if (der.length > contentsSize) {
    throw new TypeError(
      `The signature (${der.length} bytes) does not fit the ${contentsSize}-byte /Contents placeholder` +
        (options.placeholderSize === undefined ? " (the time-stamp token is larger than expected)" : "") +
        `: pass placeholderSize of at least ${der.length}`,
    );
  }
  // Hex digits after the DER are zeros, which DER decoders stop before (ISO 32000-1 §12.8.1 allows the padding).
  bytes.write(der.toString("hex").toUpperCase(), contentsStart + 1, "latin1");
  return bytes;
}

function checkOptions(options: SignPdfOptions): DigestAlgorithm {
  if (options === null || typeof options !== "object") throw new TypeError("signPdf needs options");
  const signer = options.signer;
  if (signer === null || typeof signer !== "object" || typeof signer.sign !== "function") throw new TypeError("options.signer must be a Signer");
  if (options.timestamp !== undefined && typeof options.timestamp !== "function") throw new TypeError("options.timestamp must be a function");
  for (const key of ["reason", "location", "contactInfo", "name", "fieldName"] as const) {
    const value = options[key];
    if (value !== undefined && (typeof value !== "string" || value.length > 4096)) throw new TypeError(`options.${key} must be a string`);
  }
  if (options.fieldName !== undefined && (options.fieldName.length === 0 || options.fieldName.includes("."))) {
    throw new TypeError("options.fieldName must be a non-empty name without '.' (ISO 32000-1 §12.7.3.2)");
  }
  if (options.signingTime !== undefined && !(options.signingTime instanceof Date && !Number.isNaN(options.signingTime.getTime()))) {
    throw new TypeError("options.signingTime must be a valid Date");
  }
  const size = options.placeholderSize;
  if (size !== undefined && (!Number.isInteger(size) || size < 256 || size > 1024 * 1024)) {
    throw new TypeError("options.placeholderSize must be an integer between 256 and 1048576");
  }
  const digest = options.digestAlgorithm ?? "SHA-256";
  assertDigestAlgorithm(digest);
  return digest;
}

/**
 * A document certified with "no changes allowed" (DocMDP /P 1, ISO 32000-1
 * §12.8.2.2) would lose its certification with one more signature: refuse.
 */
function assertChangesAllowed(loaded: LoadedPdf): void {
  const { context, catalog } = loaded;
  const perms = context.lookup(catalog.get(PDFName.of("Perms")));
  const certification = perms instanceof PDFDict ? context.lookup(perms.get(PDFName.of("DocMDP"))) : undefined;
  if (!(certification instanceof PDFDict)) return;
  const references = context.lookup(certification.get(PDFName.of("Reference")));
  for (const reference of references instanceof PDFArray ? references.asArray() : []) {
    const dict = context.lookup(reference);
    if (!(dict instanceof PDFDict) || dict.get(PDFName.of("TransformMethod")) !== PDFName.of("DocMDP")) continue;
    const params = context.lookup(dict.get(PDFName.of("TransformParams")));
    const permission = params instanceof PDFDict ? context.lookup(params.get(PDFName.of("P"))) : undefined;
    if (permission instanceof PDFNumber && permission.asNumber() === 1) {
      throw new PasserelleError("PASSERELLE_UNPROCESSABLE", {
        detail: "The PDF is certified with no changes allowed (DocMDP P=1): it cannot be signed again",
      });
    }
  }
}

function chooseFieldName(loaded: LoadedPdf, wanted: string | undefined): string {
  const taken = new Set(formFields(loaded.context, loaded.catalog).map((field) => field.name));
  if (wanted !== undefined) {
    if (taken.has(wanted)) throw new TypeError(`The PDF already has a field named ${JSON.stringify(wanted)}`);
    return wanted;
  }
  for (let n = 1; ; n++) if (!taken.has(`Signature${n}`)) return `Signature${n}`;
}

/** The signature dictionary (ISO 32000-1 §12.8.1 Table 252), with zeroed /ByteRange and /Contents. */
function signatureDictionary(options: SignPdfOptions, contentsSize: number): string {
  const lines = [
    "<<",
    "/Type /Sig",
    "/Filter /Adobe.PPKLite",
    "/SubFilter /ETSI.CAdES.detached",
    `/ByteRange [${BYTE_RANGE_PLACEHOLDER}]`,
    `/Contents <${"0".repeat(2 * contentsSize)}>`,
    `/M ${pdfDateString(options.signingTime ?? new Date())}`,
  ];
  if (options.name !== undefined) lines.push(`/Name ${pdfTextString(options.name)}`);
  if (options.reason !== undefined) lines.push(`/Reason ${pdfTextString(options.reason)}`);
  if (options.location !== undefined) lines.push(`/Location ${pdfTextString(options.location)}`);
  if (options.contactInfo !== undefined) lines.push(`/ContactInfo ${pdfTextString(options.contactInfo)}`);
  lines.push(">>");
  return lines.join("\n");
}

/** A signature field merged with its widget annotation (ISO 32000-1 §12.7.4.5, §12.5.6.19), invisible: zero-size /Rect. */
function signatureField(name: string, signatureRef: PDFRef, pageRef: PDFRef): string {
  return [
    "<<",
    "/Type /Annot",
    "/Subtype /Widget",
    "/FT /Sig",
    `/T ${pdfTextString(name)}`,
    `/V ${signatureRef.toString()}`,
    `/F ${WIDGET_FLAGS}`,
    "/Rect [0 0 0 0]",
    `/P ${pageRef.toString()}`,
    ">>",
  ].join("\n");
}

/** The page's /Annots gains the widget: the page is rewritten, or its /Annots array when that is an object of its own. */
function attachToPage(loaded: LoadedPdf, pageRef: PDFRef, widgetRef: PDFRef): UpdatedObject[] {
  const { context } = loaded;
  const page = context.lookup(pageRef, PDFDict);
  const annots = page.get(PDFName.of("Annots"));
  const array = context.lookup(annots);
  if (annots instanceof PDFRef && array instanceof PDFArray) {
    array.push(widgetRef);
    return [{ ref: annots, body: serialize(array) }];
  }
  // A direct array grows in place; anything else (absent, or not an array) becomes a new array.
  if (array instanceof PDFArray) array.push(widgetRef);
  else page.set(PDFName.of("Annots"), context.obj([widgetRef]));
  return [{ ref: pageRef, body: serialize(page) }];
}

/**
 * The AcroForm lists the field and says signatures exist. Whichever object
 * holds what changes is rewritten: the catalog (no AcroForm yet, or a direct
 * one), the AcroForm dictionary, or its /Fields array.
 */
function attachToAcroForm(loaded: LoadedPdf, fieldRef: PDFRef, allocate: () => PDFRef): UpdatedObject[] {
  const { context, catalog, catalogRef } = loaded;
  const stored = catalog.get(PDFName.of("AcroForm"));
  const acroForm = context.lookup(stored);
  if (!(acroForm instanceof PDFDict)) {
    // No form yet (or something that is not one, which a reader would ignore): a new AcroForm.
    const acroFormRef = allocate();
    const acroForm = context.obj({ Fields: [fieldRef], SigFlags: SIG_FLAGS });
    catalog.set(PDFName.of("AcroForm"), acroFormRef);
    return [
      { ref: acroFormRef, body: serialize(acroForm) },
      { ref: catalogRef, body: serialize(catalog) },
    ];
  }
  const updated: UpdatedObject[] = [];
  const fields = acroForm.get(PDFName.of("Fields"));
  const fieldsArray = context.lookup(fields);
  if (fields instanceof PDFRef && fieldsArray instanceof PDFArray) {
    fieldsArray.push(fieldRef);
    updated.push({ ref: fields, body: serialize(fieldsArray) });
  } else if (fieldsArray instanceof PDFArray) {
    fieldsArray.push(fieldRef);
  } else {
    acroForm.set(PDFName.of("Fields"), context.obj([fieldRef]));
  }
  const flags = context.lookup(acroForm.get(PDFName.of("SigFlags")));
  const currentFlags = flags instanceof PDFNumber ? flags.asNumber() : 0;
  const flagsChanged = (currentFlags & SIG_FLAGS) !== SIG_FLAGS;
  if (flagsChanged) acroForm.set(PDFName.of("SigFlags"), PDFNumber.of(currentFlags | SIG_FLAGS));
  if (flagsChanged || !(fields instanceof PDFRef && fieldsArray instanceof PDFArray)) {
    updated.push(stored instanceof PDFRef ? { ref: stored, body: serialize(acroForm) } : { ref: catalogRef, body: serialize(catalog) });
  }
  return updated;
}

function serialize(object: PDFObject): string {
  return object.toString();
}
