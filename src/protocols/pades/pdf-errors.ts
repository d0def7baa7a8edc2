/** The typed errors of PDF input: not a usable PDF, or an encrypted one. */
import { PasserelleError } from "../../errors/index.js";

export function invalidPdf(detail: string, cause?: unknown): PasserelleError {
  return new PasserelleError("PASSERELLE_PDF_INVALID", { detail, cause });
}

export function encryptedPdf(): PasserelleError {
  return new PasserelleError("PASSERELLE_PDF_ENCRYPTED", {
    detail: "The PDF is encrypted; send the decrypted document",
  });
}
