/**
 * When and how long to wait before trying an upstream again.
 */

/**
 * Methods whose repetition has the same effect as one call (RFC 9110 §9.2.2).
 * POST and PATCH are not: a POST that timed out may well have been executed
 * (a document submitted twice to a national record is a clinical problem).
 */
const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

export function isIdempotentMethod(method: string): boolean {
  return IDEMPOTENT_METHODS.has(method.toUpperCase());
}

/** Gateway errors that say "the upstream is temporarily unable", not "your request is wrong" (RFC 9110 §15.6.3-5). */
export function isRetryableStatus(status: number): boolean {
  return status === 502 || status === 503 || status === 504;
}

export interface BackoffOptions {
  baseDelayMs: number;
  maxDelayMs: number;
}

/**
 * Exponential backoff with full jitter: a uniform draw in
 * [0, min(max, base · 2^(n-1))). Spreading retries over the whole window is
 * what keeps many gateway instances from hammering a recovering service in
 * lockstep (Brooker, "Exponential Backoff And Jitter", AWS Architecture Blog, 2015).
 *
 * @param failedAttempts attempts made so far (1 after the first failure)
 * @param random a uniform draw in [0, 1)
 */
export function backoffDelayMs(failedAttempts: number, options: BackoffOptions, random: () => number): number {
  const exponent = Math.min(Math.max(failedAttempts - 1, 0), 30);
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** exponent);
  return Math.floor(random() * ceiling);
}

/**
 * The pause a `Retry-After` header asks for, in milliseconds (RFC 9110 §10.2.3):
 * either delay-seconds or an HTTP-date. `undefined` when absent or unparseable.
 */
export function parseRetryAfterMs(value: string | string[] | undefined, now: number): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined) return undefined;
  const trimmed = raw.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // All three HTTP-date forms (IMF-fixdate, RFC 850, asctime; RFC 9110 §5.6.7) open with a day name;
  // checking that keeps Date.parse's leniency from reading "-1" as a year.
  if (!/^[A-Za-z]{3,9},? /.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
