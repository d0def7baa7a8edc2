import { afterEach, describe, expect, it } from "vitest";
import { PasserelleError } from "../../../errors/index.js";
import { MemoryVault, VaultCipher, generateVaultKey, type Vault } from "../../../vault/index.js";
import { IdempotentRunner, type IdempotencyOptions } from "./idempotency.js";

const vaults: Vault[] = [];
afterEach(async () => {
  await Promise.all(vaults.splice(0).map((vault) => vault.close()));
});

function setup(options: Partial<IdempotencyOptions> = {}) {
  const clock = { now: 1_700_000_000_000 };
  const vault = new MemoryVault({ cipher: new VaultCipher(generateVaultKey()), maxEntries: 100, now: () => clock.now });
  vaults.push(vault);
  const runner = (overrides: Partial<IdempotencyOptions> = {}): IdempotentRunner =>
    new IdempotentRunner({
      vault,
      namespace: "test",
      ttlSeconds: 3600,
      leaseMs: 60_000,
      waitMs: 0,
      pollIntervalMs: 10,
      now: () => clock.now,
      ...options,
      ...overrides,
    });
  return { clock, vault, runner };
}

async function rejection(promise: Promise<unknown>): Promise<PasserelleError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PasserelleError);
  return error as PasserelleError;
}

describe("IdempotentRunner", () => {
  it("runs once, then answers the stored result", async () => {
    const { runner } = setup();
    let runs = 0;
    const operation = async () => ({ id: ++runs });
    expect(await runner().run("caller", "k", "fp", operation)).toEqual({ result: { id: 1 }, replayed: false });
    expect(await runner().run("caller", "k", "fp", operation)).toEqual({ result: { id: 1 }, replayed: true });
    expect(runs).toBe(1);
  });

  it("scopes keys per caller", async () => {
    const { runner } = setup();
    await runner().run("a", "same-key", "fp", async () => 1);
    expect(await runner().run("b", "same-key", "fp", async () => 2)).toEqual({ result: 2, replayed: false });
  });

  it("refuses the key for another fingerprint", async () => {
    const { runner } = setup();
    await runner().run("c", "k", "fp-1", async () => 1);
    expect((await rejection(runner().run("c", "k", "fp-2", async () => 2))).code).toBe("PASSERELLE_IDEMPOTENCY_KEY_REUSED");
  });

  it("releases the claim when the operation fails, so a retry runs again", async () => {
    const { runner } = setup();
    await expect(runner().run("c", "k", "fp", async () => Promise.reject(new Error("upstream down")))).rejects.toThrow("upstream down");
    expect(await runner().run("c", "k", "fp", async () => "second try")).toEqual({ result: "second try", replayed: false });
  });

  it("takes over a claim whose owner died once its lease has run out", async () => {
    const { runner, clock } = setup();
    // The first instance claims, then never finishes (crashed).
    const stuck = runner().run("c", "k", "fp", () => new Promise<string>(() => undefined));
    void stuck;
    await new Promise((resolve) => setImmediate(resolve));
    const conflict = await rejection(runner().run("c", "k", "fp", async () => "early"));
    expect(conflict.code).toBe("PASSERELLE_CONFLICT");
    expect(conflict.headers?.["retry-after"]).toBe("5");
    clock.now += 60_001;
    expect(await runner().run("c", "k", "fp", async () => "taken over")).toEqual({ result: "taken over", replayed: false });
  });

  it("lets a duplicate wait for the first result", async () => {
    const { runner } = setup();
    let finish: (value: string) => void = () => undefined;
    const first = runner().run("c", "k", "fp", () => new Promise<string>((resolve) => (finish = resolve)));
    await new Promise((resolve) => setImmediate(resolve));
    const waiting = runner({ waitMs: 5_000 }).run("c", "k", "fp", async () => "never");
    setTimeout(() => finish("first"), 30);
    expect(await first).toEqual({ result: "first", replayed: false });
    expect(await waiting).toEqual({ result: "first", replayed: true });
  });

  it("reports the result even when the vault cannot store it", async () => {
    const { runner, vault } = setup();
    const failing = Object.create(vault) as Vault;
    failing.set = async () => Promise.reject(new Error("vault down"));
    failing.compareAndSet = vault.compareAndSet.bind(vault);
    failing.get = vault.get.bind(vault);
    expect(await runner({ vault: failing }).run("c", "k", "fp", async () => "done")).toEqual({ result: "done", replayed: false });
  });
});
