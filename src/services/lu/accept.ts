/**
 * Content negotiation for the documents endpoint: JSON (the document's
 * metadata and the PDF in base64) or the PDF itself.
 */

/**
 * RFC 9110 §12.5.1: the quality the Accept header gives `mediaType` — from
 * the most specific range that matches it (`type/subtype` over `type/*` over
 * `*\/*`) — or undefined when no range matches.
 */
export function acceptQuality(accept: string, mediaType: string): number | undefined {
  const type = mediaType.toLowerCase();
  const wildcard = `${type.split("/")[0] ?? ""}/*`;
  let best: { specificity: number; q: number } | undefined;
  for (const element of accept.split(",")) {
    const [range = "", ...parameters] = element.split(";").map((s) => s.trim().toLowerCase());
    const specificity = range === type ? 2 : range === wildcard ? 1 : range === "*/*" ? 0 : -1;
    if (specificity < 0 || (best !== undefined && best.specificity >= specificity)) continue;
    let q = 1;
    for (const parameter of parameters) {
      // qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ); anything else is ignored, not fatal.
      const match = /^q\s*=\s*(0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.exec(parameter);
      if (match?.[1] !== undefined) q = Number(match[1]);
    }
    best = { specificity, q };
  }
  return best?.q;
}

/**
 * Whether the caller prefers `pdfType` to JSON: the higher quality wins; on a
 * tie the one the header names first; JSON when the header names neither
 * (absent, `*\/*`) or refuses the PDF (`q=0`).
 */
export function prefersPdf(accept: string | undefined, pdfType: string): boolean {
  if (accept === undefined || accept.trim() === "") return false;
  const pdf = acceptQuality(accept, pdfType) ?? 0;
  const json = acceptQuality(accept, "application/json") ?? 0;
  if (pdf === 0) return false;
  if (pdf !== json) return pdf > json;
  const lower = accept.toLowerCase();
  const pdfAt = lower.indexOf(pdfType.toLowerCase());
  const jsonAt = lower.indexOf("application/json");
  return pdfAt !== -1 && (jsonAt === -1 || pdfAt < jsonAt);
}
