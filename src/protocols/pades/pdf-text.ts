/**
 * PDF text strings and dates as written in a signature dictionary
 * (ISO 32000-1 §7.9.2.2 text strings, §7.9.4 dates).
 */

/**
 * A text string: a literal string when the text is printable ASCII (the
 * common case, readable in the file), otherwise UTF-16BE with a byte order
 * mark in a hexadecimal string (§7.9.2.2), which carries any character.
 */
export function pdfTextString(text: string): string {
  if (/^[\x20-\x7e]*$/.test(text)) return `(${text.replace(/[\\()]/g, (c) => `\\${c}`)})`;
  return `<FEFF${Buffer.from(text, "utf16le").swap16().toString("hex").toUpperCase()}>`;
}

/** `(D:YYYYMMDDHHmmSS+00'00')`, in UTC (§7.9.4). */
export function pdfDateString(date: Date): string {
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  const digits =
    pad(date.getUTCFullYear(), 4) +
    pad(date.getUTCMonth() + 1) +
    pad(date.getUTCDate()) +
    pad(date.getUTCHours()) +
    pad(date.getUTCMinutes()) +
    pad(date.getUTCSeconds());
  return `(D:${digits}+00'00')`;
}

/**
 * Parses a PDF date (the text inside the string): `D:YYYY` followed by
 * optional MM, DD, HH, mm, SS and a Z / ±HH'mm offset (local time when the
 * offset is absent is taken as UTC, the usual reading). Undefined if malformed.
 */
export function parsePdfDate(text: string): Date | undefined {
  const match = /^(?:D:)?(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:([Zz])|([+-])(\d{2})'?(?:(\d{2})'?)?)?\s*$/.exec(text.trim());
  if (match === null) return undefined;
  const [, year, month = "01", day = "01", hour = "00", minute = "00", second = "00", , sign, offsetHours = "00", offsetMinutes = "00"] = match;
  const utc = Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second));
  const offset = (Number(offsetHours) * 60 + Number(offsetMinutes)) * 60_000;
  const time = sign === "+" ? utc - offset : sign === "-" ? utc + offset : utc;
  return Number.isNaN(time) ? undefined : new Date(time);
}
