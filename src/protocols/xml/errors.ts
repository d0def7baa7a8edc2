import { PasserelleError } from "../../errors/index.js";

/** Why a document was refused before or while parsing. */
export type XmlParseFailure =
  /** Not well-formed, or not in a supported encoding (`PASSERELLE_XML_MALFORMED`). */
  | "malformed"
  /** A DOCTYPE or another markup declaration (`<!ENTITY`, `<!ELEMENT`…): refused unexpanded. */
  | "dtd"
  /** Larger than `maxBytes`. */
  | "too_large"
  /** Elements nested deeper than `maxDepth`. */
  | "too_deep";

/**
 * Bad XML from outside. `malformed` documents carry the position of the fault
 * (1-based line and column) so that a vendor can find it; the other reasons
 * are refusals of documents that may be well-formed but are not accepted
 * (`PASSERELLE_XML_FORBIDDEN`).
 *
 * A service that parses what an upstream answered should wrap this error in
 * `PASSERELLE_UPSTREAM_BAD_RESPONSE` (502): the 400 is meant for XML our own
 * caller sent.
 */
export class XmlParseError extends PasserelleError {
  readonly reason: XmlParseFailure;
  readonly line: number | undefined;
  readonly column: number | undefined;

  constructor(reason: XmlParseFailure, detail: string, position: { line?: number; column?: number } = {}, cause?: unknown) {
    const where = position.line === undefined ? "" : ` (line ${position.line}, column ${position.column ?? 0})`;
    super(reason === "malformed" ? "PASSERELLE_XML_MALFORMED" : "PASSERELLE_XML_FORBIDDEN", {
      detail: detail + where,
      cause,
      extensions: {
        reason,
        ...(position.line === undefined ? {} : { line: position.line, column: position.column ?? 0 }),
      },
    });
    this.name = "XmlParseError";
    this.reason = reason;
    this.line = position.line;
    this.column = position.column;
  }
}
