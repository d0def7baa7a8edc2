/**
 * PAdES baseline signatures (ETSI EN 319 142-1): signing a PDF (B-B, B-T
 * with a time-stamp callback) as an incremental update, and verifying every
 * signature of a PDF.
 */
export { signPdf, type SignPdfOptions } from "./sign-pdf.js";
export { SignablePdf } from "./signable-pdf.js";
export {
  verifyPdfSignatures,
  type PdfSignatureProblem,
  type PdfSignatureProblemCode,
  type PdfSignatureReport,
  type VerifyPdfSignaturesOptions,
} from "./verify-pdf.js";
