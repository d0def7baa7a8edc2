/**
 * A PDF that a producer hands to `signPdf` together with its parsed form,
 * so that signing right after writing does not parse the file again.
 *
 * `signPdf` works on the parsed document (catalog, page tree, form) to know
 * which objects its incremental update rewrites. A document the gateway has
 * just written with pdf-lib is already in memory in that form; parsing its
 * bytes back costs 2 ms for a one-page certificate with embedded fonts, as
 * much as everything else signPdf does. `SignablePdf.save` writes the bytes
 * itself from the document, so the two cannot disagree.
 *
 * The parsed form is handed over once: signPdf changes it (the page gains an
 * annotation, the catalog a form), so a second signature — or a retry after
 * a failed one — parses the bytes as usual.
 *
 * @example
 * ```ts
 * const signable = await SignablePdf.save(document, { useObjectStreams: false });
 * const signed = await signPdf(signable, { signer }); // no second parse
 * ```
 */
import type { PDFDocument, SaveOptions } from "pdf-lib";
import { checkLoaded, type LoadedPdf } from "./pdf-structure.js";

export class SignablePdf {
  /** The PDF file, as `document.save()` wrote it. */
  readonly bytes: Uint8Array;
  #document: PDFDocument | undefined;

  private constructor(bytes: Uint8Array, document: PDFDocument) {
    this.bytes = bytes;
    this.#document = document;
  }

  /**
   * Saves `document` and keeps it for the signature. The document must not
   * change afterwards: from then on it belongs to this object.
   */
  static async save(document: PDFDocument, options: SaveOptions = {}): Promise<SignablePdf> {
    if (document === null || typeof document !== "object" || typeof document.save !== "function") {
      throw new TypeError("SignablePdf.save needs a pdf-lib PDFDocument");
    }
    return new SignablePdf(await document.save(options), document);
  }

  /**
   * The parsed form with the checks `loadPdf` makes, the first time it is
   * asked for; undefined afterwards (the caller then parses `bytes`).
   * Throws `PASSERELLE_PDF_INVALID` / `_ENCRYPTED` as `loadPdf` would.
   */
  takeLoaded(): LoadedPdf | undefined {
    const document = this.#document;
    if (document === undefined) return undefined;
    this.#document = undefined;
    return checkLoaded(Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength), document);
  }
}
