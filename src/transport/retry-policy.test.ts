import { describe, expect, it } from "vitest";
import { backoffDelayMs, isIdempotentMethod, isRetryableStatus, parseRetryAfterMs } from "./retry-policy.js";

describe("retry policy", () => {
  it("treats the RFC 9110 idempotent methods as retryable and POST/PATCH as not", () => {
    for (const method of ["GET", "head", "OPTIONS", "PUT", "DELETE"]) expect(isIdempotentMethod(method)).toBe(true);
    for (const method of ["POST", "PATCH", "post"]) expect(isIdempotentMethod(method)).toBe(false);
  });

  it("retries only 502, 503 and 504", () => {
    expect([500, 501, 502, 503, 504, 505, 429, 408].filter(isRetryableStatus)).toEqual([502, 503, 504]);
  });

  it("draws the delay uniformly below an exponentially growing, capped ceiling", () => {
    const options = { baseDelayMs: 100, maxDelayMs: 2_000 };
    const ceilings = [1, 2, 3, 4, 5, 6, 7].map((attempt) => backoffDelayMs(attempt, options, () => 0.999_999));
    expect(ceilings).toEqual([99, 199, 399, 799, 1_599, 1_999, 1_999]);
    expect(backoffDelayMs(3, options, () => 0)).toBe(0);
    expect(backoffDelayMs(1_000, options, () => 0.5)).toBe(1_000); // no overflow on absurd attempt counts
  });

  it("reads Retry-After as delay-seconds or an HTTP-date (RFC 9110 §10.2.3)", () => {
    const now = Date.parse("2025-01-01T00:00:00Z");
    expect(parseRetryAfterMs("3", now)).toBe(3_000);
    expect(parseRetryAfterMs(" 0 ", now)).toBe(0);
    expect(parseRetryAfterMs("Wed, 01 Jan 2025 00:00:02 GMT", now)).toBe(2_000);
    expect(parseRetryAfterMs("Tue, 31 Dec 2024 23:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfterMs(["5", "7"], now)).toBe(5_000);
    expect(parseRetryAfterMs("soon", now)).toBeUndefined();
    expect(parseRetryAfterMs("-1", now)).toBeUndefined();
    expect(parseRetryAfterMs(undefined, now)).toBeUndefined();
  });
});
