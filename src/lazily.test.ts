import { describe, expect, it } from "vitest";
import { lazily } from "./lazily.js";

describe("lazily", () => {
  it("makes the value once, at the first call, and shares it", async () => {
    let made = 0;
    const value = lazily(async () => ({ n: ++made }));
    expect(made).toBe(0);
    const [a, b] = await Promise.all([value(), value()]);
    expect(a).toBe(b);
    expect(await value()).toBe(a);
    expect(made).toBe(1);
  });

  it("forgets a failed attempt, so the next call tries again", async () => {
    let attempts = 0;
    const value = lazily(async () => {
      attempts += 1;
      if (attempts === 1) throw new Error("transient");
      return attempts;
    });
    await expect(value()).rejects.toThrow("transient");
    expect(await value()).toBe(2);
    expect(await value()).toBe(2);
    expect(attempts).toBe(2);
  });
});
