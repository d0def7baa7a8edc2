/**
 * Redaction of secrets and national identifiers in anything we log. Keys are
 * matched by name wherever they appear (any depth); string values are also
 * scanned for bearer tokens, JWTs and national identifier shapes, because an
 * identifier can hide in a URL or an error message.
 */

const SECRET_KEY =
  /(authorization|cookie|token|secret|password|passwd|passphrase|private.?key|api.?key|client.?assertion|code.?verifier|^key$|.+key$|saml|assertion|session)/i;
/** Card PINs: `pin`, `pinCode`, `card_pin`, `cardPin` — but not `ping` or `mapping`. */
const PIN_KEY = /^(pin|PIN|pinCode|pin_code)$|[-_](pin|PIN)$|[a-z]Pin(Code)?$/;
/** Keys holding national identifiers: INS / NIR (FR), NISS / INSZ (BE), matricule (LU). */
const NATIONAL_ID_KEY = /^(ins|ins[-_]?[a-z]*|nir|niss|inss|insz|ssin|matricule|patient.?id|national.?id|social.?security.?number)$/i;

export const REDACTED = "[REDACTED]";

const VALUE_PATTERNS: Array<[RegExp, string]> = [
  // JWT / JWS compact serialisations (RFC 7515 §7.1).
  [/eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, "[REDACTED:jwt]"],
  // "Bearer <anything>" in a header-like string.
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, "$1 [REDACTED]"],
  // French NIR/INS: sex digit, 12 more digits, optional 2-digit key (Corsica: 2A/2B).
  [/\b[1-478]\s?\d{2}\s?\d{2}\s?(\d{2}|2[AB])\s?\d{3}\s?\d{3}(\s?\d{2})?\b/g, "[REDACTED:nir]"],
  // Belgian NISS: YY.MM.DD-XXX.CC (with or without separators).
  [/\b\d{2}\.\d{2}\.\d{2}-\d{3}\.\d{2}\b/g, "[REDACTED:niss]"],
  [/\b\d{11}\b/g, "[REDACTED:niss]"],
  // Luxembourg matricule: 13 digits starting with the birth year (YYYYMMDD + 5).
  [/\b(19|20)\d{11}\b/g, "[REDACTED:matricule]"],
];

/** Fewer digits than the shortest identifier (NISS: 11) and no token marker: nothing to redact. */
const MAY_HOLD_SECRET = /eyJ|bearer|basic/i;
const MIN_IDENTIFIER_DIGITS = 11;

export function redactString(value: string): string {
  // Most logged strings (methods, paths, messages, ids) hold neither: skip the patterns cheaply.
  if (!MAY_HOLD_SECRET.test(value) && countDigits(value, MIN_IDENTIFIER_DIGITS) < MIN_IDENTIFIER_DIGITS) return value;
  let out = value;
  for (const [pattern, replacement] of VALUE_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/** Digits in `value`, counting up to `enough`. */
function countDigits(value: string, enough: number): number {
  let digits = 0;
  for (let i = 0; i < value.length && digits < enough; i++) {
    const c = value.charCodeAt(i);
    if (c >= 48 && c <= 57) digits += 1;
  }
  return digits;
}

/**
 * Logged objects use few distinct keys, so the three patterns run once per
 * key, not once per line. A memo of a pure function (the patterns have no
 * g/y flag, so no state), bounded in entries and key length: past the limits
 * the patterns simply run every time.
 */
const sensitiveKeys = new Map<string, boolean>();
const SENSITIVE_KEY_MEMO_LIMIT = 2048;
/** Field names are short; a longer key is data used as a key, not worth keeping. */
const SENSITIVE_KEY_MEMO_MAX_LENGTH = 64;

export function isSensitiveKey(key: string): boolean {
  const known = sensitiveKeys.get(key);
  if (known !== undefined) return known;
  const sensitive = SECRET_KEY.test(key) || PIN_KEY.test(key) || NATIONAL_ID_KEY.test(key);
  if (key.length <= SENSITIVE_KEY_MEMO_MAX_LENGTH && sensitiveKeys.size < SENSITIVE_KEY_MEMO_LIMIT) sensitiveKeys.set(key, sensitive);
  return sensitive;
}

/**
 * A redacted deep copy of `value` (cycles and depth bounded). Errors keep
 * their name/message/code/stack (redacted) so logs stay useful.
 */
export function redactDeep(value: unknown, depth = 0, seen: WeakSet<object> = new WeakSet()): unknown {
  if (typeof value === "string") return redactString(value);
  if (value === null || typeof value !== "object") return value;
  if (depth > 8) return "[Truncated]";
  if (seen.has(value)) return "[Circular]";
  seen.add(value);
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return `[${value.byteLength} bytes]`;
  if (Array.isArray(value)) return value.slice(0, 100).map((v) => redactDeep(v, depth + 1, seen));
  if (value instanceof Error) {
    const out: Record<string, unknown> = { type: value.name, message: redactString(value.message) };
    if (value.stack) out.stack = redactString(value.stack);
    for (const [k, v] of Object.entries(value)) out[k] = isSensitiveKey(k) ? REDACTED : redactDeep(v, depth + 1, seen);
    if (value.cause !== undefined) out.cause = redactDeep(value.cause, depth + 1, seen);
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = isSensitiveKey(k) && v !== undefined && v !== null && typeof v !== "boolean" ? REDACTED : redactDeep(v, depth + 1, seen);
  }
  return out;
}
