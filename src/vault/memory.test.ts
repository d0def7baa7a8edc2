import { afterEach, describe, expect, it, vi } from "vitest";

import { GatewayMetrics } from "../observability/metrics.js";
import { VaultCipher, generateVaultKey } from "./envelope.js";
import { MemoryVault } from "./memory.js";
import { describeVaultContract } from "./vault.contract.js";

function makeMemoryVault(options: { maxEntries?: number; sweepIntervalMs?: number; metrics?: GatewayMetrics } = {}) {
  let clock = Date.now();
  const vault = new MemoryVault({
    cipher: new VaultCipher(generateVaultKey()),
    maxEntries: options.maxEntries ?? 1000,
    now: () => clock,
    ...(options.sweepIntervalMs === undefined ? {} : { sweepIntervalMs: options.sweepIntervalMs }),
    ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
  });
  return {
    vault,
    now: () => clock,
    advanceTime: (ms: number) => {
      clock += ms;
    },
    cleanup: () => vault.close(),
  };
}

describeVaultContract("memory", async () => makeMemoryVault());

describe("MemoryVault bounds", () => {
  const opened: MemoryVault[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((vault) => vault.close()));
    vi.useRealTimers();
  });

  function open(options: Parameters<typeof makeMemoryVault>[0]) {
    const made = makeMemoryVault(options);
    opened.push(made.vault);
    return made;
  }

  it("never holds more than maxEntries, evicting the least recently used", async () => {
    const { vault } = open({ maxEntries: 3 });
    await vault.set("a", "1", { ttlSeconds: 60 });
    await vault.set("b", "2", { ttlSeconds: 60 });
    await vault.set("c", "3", { ttlSeconds: 60 });
    await vault.get("a"); // a is now more recent than b
    await vault.set("d", "4", { ttlSeconds: 60 });
    expect(vault.size).toBe(3);
    expect(await vault.get("b")).toBeUndefined();
    expect((await vault.get("a"))?.value).toBe("1");
    expect((await vault.get("c"))?.value).toBe("3");
    expect((await vault.get("d"))?.value).toBe("4");
  });

  it("evicts expired entries before live ones", async () => {
    const { vault, advanceTime } = open({ maxEntries: 3 });
    await vault.set("old-but-live", "1", { ttlSeconds: 60 });
    await vault.set("expiring", "2", { ttlSeconds: 1 });
    await vault.set("recent", "3", { ttlSeconds: 60 });
    advanceTime(1500);
    await vault.set("new", "4", { ttlSeconds: 60 });
    expect(vault.size).toBe(3);
    expect((await vault.get("old-but-live"))?.value).toBe("1");
    expect((await vault.get("recent"))?.value).toBe("3");
  });

  it("overwriting a key at capacity evicts nothing", async () => {
    const { vault } = open({ maxEntries: 2 });
    await vault.set("a", "1", { ttlSeconds: 60 });
    await vault.set("b", "2", { ttlSeconds: 60 });
    await vault.set("a", "1bis", { ttlSeconds: 60 });
    expect((await vault.get("a"))?.value).toBe("1bis");
    expect((await vault.get("b"))?.value).toBe("2");
  });

  it("stays bounded under many inserts and drops evicted keys from the owner index", async () => {
    const { vault } = open({ maxEntries: 50 });
    for (let index = 0; index < 1000; index += 1) {
      await vault.set(`k${index}`, "v", { ttlSeconds: 60, owner: index % 2 === 0 ? "even" : "odd" });
      expect(vault.size).toBeLessThanOrEqual(50);
    }
    const even = await vault.listByOwner("even");
    expect(even).toHaveLength(25);
    expect(even.every((key) => Number(key.slice(1)) >= 950)).toBe(true);
  });

  it("sweeps expired entries in the background", async () => {
    const { vault, advanceTime } = open({ sweepIntervalMs: 10 });
    await vault.set("expiring", "v", { ttlSeconds: 1 });
    await vault.set("live", "v", { ttlSeconds: 60 });
    advanceTime(1500);
    await vi.waitFor(() => expect(vault.size).toBe(1));
    expect((await vault.get("live"))?.value).toBe("v");
  });

  it("runs one unref'd sweep timer and clears it on close", async () => {
    vi.useFakeTimers();
    const before = vi.getTimerCount();
    const vault = new MemoryVault({ cipher: new VaultCipher(generateVaultKey()), maxEntries: 10 });
    expect(vi.getTimerCount()).toBe(before + 1);
    await vault.close();
    expect(vi.getTimerCount()).toBe(before);
  });

  it("rejects a maxEntries that cannot hold anything", () => {
    const cipher = new VaultCipher(generateVaultKey());
    expect(() => new MemoryVault({ cipher, maxEntries: 0 })).toThrow(TypeError);
    expect(() => new MemoryVault({ cipher, maxEntries: 1.5 })).toThrow(TypeError);
  });
});

describe("MemoryVault metrics", () => {
  it("observes each operation with backend, operation and outcome labels", async () => {
    const metrics = new GatewayMetrics({ processMetrics: false });
    const { vault } = makeMemoryVault({ metrics });
    await vault.set("k", "v", { ttlSeconds: 60 });
    await vault.get("k");
    await vault.compareAndSet("k", 7, "v", { ttlSeconds: 60 });
    await vault.set("k", "v", { ttlSeconds: -1 }).catch(() => undefined);
    await vault.close();

    const counts = (await metrics.vaultDuration.get()).values
      .filter((sample) => sample.metricName === "passerelle_vault_operation_duration_seconds_count")
      .map((sample) => ({ ...sample.labels, count: sample.value }));
    expect(counts).toEqual(
      expect.arrayContaining([
        { backend: "memory", operation: "set", outcome: "ok", count: 1 },
        { backend: "memory", operation: "set", outcome: "error", count: 1 },
        { backend: "memory", operation: "get", outcome: "ok", count: 1 },
        { backend: "memory", operation: "compare_and_set", outcome: "ok", count: 1 },
      ]),
    );
  });
});
