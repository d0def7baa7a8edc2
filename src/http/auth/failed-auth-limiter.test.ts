import { describe, expect, it } from "vitest";
import { FailedAuthLimiter } from "./failed-auth-limiter.js";

function limiterAt(start: number, options: { max: number; maxAddresses?: number }) {
  let now = start;
  const limiter = new FailedAuthLimiter({ ...options, windowMs: 60_000, now: () => now });
  return { limiter, advance: (ms: number) => (now += ms) };
}

describe("FailedAuthLimiter", () => {
  it("lets an address fail max times in a window, then refuses it until the window ends", () => {
    const { limiter, advance } = limiterAt(1_000_000, { max: 2 });
    expect(limiter.idle).toBe(true);
    expect(limiter.retryAfterSeconds("10.0.0.1")).toBe(0);
    limiter.recordFailure("10.0.0.1");
    expect(limiter.idle).toBe(false);
    expect(limiter.retryAfterSeconds("10.0.0.1")).toBe(0);
    limiter.recordFailure("10.0.0.1");
    expect(limiter.retryAfterSeconds("10.0.0.1")).toBe(60);
    expect(limiter.retryAfterSeconds("10.0.0.2")).toBe(0);
    advance(59_500);
    expect(limiter.retryAfterSeconds("10.0.0.1")).toBe(1);
    advance(500);
    expect(limiter.retryAfterSeconds("10.0.0.1")).toBe(0);
    // A new window starts from the next failure.
    limiter.recordFailure("10.0.0.1");
    expect(limiter.retryAfterSeconds("10.0.0.1")).toBe(0);
  });

  it("remembers at most maxAddresses, forgetting the oldest window first", () => {
    const { limiter, advance } = limiterAt(0, { max: 1, maxAddresses: 2 });
    limiter.recordFailure("a");
    advance(10);
    limiter.recordFailure("b");
    advance(10);
    limiter.recordFailure("c");
    expect(limiter.retryAfterSeconds("a")).toBe(0);
    expect(limiter.retryAfterSeconds("b")).toBeGreaterThan(0);
    expect(limiter.retryAfterSeconds("c")).toBeGreaterThan(0);
  });

  it("refuses a max that is not a positive integer", () => {
    expect(() => new FailedAuthLimiter({ max: 0 })).toThrow(TypeError);
    expect(() => new FailedAuthLimiter({ max: 1.5 })).toThrow(TypeError);
  });
});
