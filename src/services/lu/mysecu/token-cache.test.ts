import { describe, expect, it } from "vitest";
import type { SamlToken } from "./sts-request.js";
import { SamlTokenCache } from "./token-cache.js";

const HOUR = 3600_000;

function setup(refreshMarginMs = 5 * 60_000) {
  let clock = 1_000_000;
  let issued = 0;
  let failNext = false;
  const release: Array<() => void> = [];
  let gated = false;
  const cache = new SamlTokenCache({
    refreshMarginMs,
    now: () => clock,
    issue: async () => {
      if (gated) await new Promise<void>((resolve) => release.push(resolve));
      if (failNext) {
        failNext = false;
        throw new Error("STS down");
      }
      issued += 1;
      return { assertionXml: `<a n="${issued}"/>`, id: `_${issued}`, expiresAt: new Date(clock + HOUR), verified: false } satisfies SamlToken;
    },
  });
  return {
    cache,
    advance: (ms: number) => (clock += ms),
    issued: () => issued,
    failNext: () => (failNext = true),
    gate: (on: boolean) => (gated = on),
    release: () => release.splice(0).forEach((resolve) => resolve()),
  };
}

describe("SamlTokenCache", () => {
  it("keeps the token until the refresh margin, then renews", async () => {
    const t = setup();
    const first = await t.cache.get();
    t.advance(HOUR - 5 * 60_000 - 1);
    expect(await t.cache.get()).toBe(first);
    t.advance(1);
    const second = await t.cache.get();
    expect(second).not.toBe(first);
    expect(t.issued()).toBe(2);
  });

  it("caps the margin at half the token's life", async () => {
    const t = setup(2 * HOUR);
    const first = await t.cache.get();
    t.advance(HOUR / 2 - 1);
    expect(await t.cache.get()).toBe(first);
    t.advance(1);
    expect(await t.cache.get()).not.toBe(first);
  });

  it("shares one request between concurrent callers", async () => {
    const t = setup();
    t.gate(true);
    const waiting = [t.cache.get(), t.cache.get(), t.cache.get()];
    await new Promise((resolve) => setImmediate(resolve));
    t.release();
    const tokens = await Promise.all(waiting);
    expect(new Set(tokens).size).toBe(1);
    expect(t.issued()).toBe(1);
  });

  it("does not remember a failure", async () => {
    const t = setup();
    t.failNext();
    await expect(t.cache.get()).rejects.toThrow("STS down");
    await expect(t.cache.get()).resolves.toMatchObject({ id: "_1" });
  });

  it("drops a refused token, but not a newer one", async () => {
    const t = setup();
    const first = await t.cache.get();
    t.cache.invalidate(first);
    const second = await t.cache.get();
    expect(second).not.toBe(first);
    t.cache.invalidate(first); // a late refusal of the old token
    expect(await t.cache.get()).toBe(second);
  });
});
