/**
 * The behaviour every Vault implementation must show (src/vault/types.ts).
 * Each backend's test file calls {@link describeVaultContract} with a factory;
 * a new backend is done when this suite passes against it.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { PasserelleError } from "../errors/index.js";
import type { Vault } from "./types.js";

export interface VaultUnderTest {
  vault: Vault;
  /** Moves the vault's clock forward. Without it, expiry tests wait in real time. */
  advanceTime?: (ms: number) => void;
  /** The vault's clock in epoch ms (default `Date.now`). */
  now?: () => number;
  cleanup(): Promise<void>;
}

const LONG_TTL = { ttlSeconds: 600 };

export function describeVaultContract(name: string, makeVault: () => Promise<VaultUnderTest>): void {
  describe(`Vault contract: ${name}`, () => {
    let subject: VaultUnderTest;
    let vault: Vault;

    beforeEach(async () => {
      subject = await makeVault();
      vault = subject.vault;
    });

    afterEach(async () => {
      await subject.cleanup();
    });

    /** Lets `ms` pass on the vault's clock: fake when the factory offers it, real otherwise. */
    async function passTime(ms: number): Promise<void> {
      if (subject.advanceTime) {
        subject.advanceTime(ms);
      } else {
        await new Promise((resolve) => setTimeout(resolve, ms));
      }
    }

    function now(): number {
      return (subject.now ?? Date.now)();
    }

    describe("get / set / delete", () => {
      it("returns undefined for a key never written", async () => {
        expect(await vault.get("absent")).toBeUndefined();
      });

      it("reads back what set returned", async () => {
        const before = now();
        const written = await vault.set("session:1", '{"access":"abc"}', { ttlSeconds: 60, owner: "app-1" });
        const after = now();
        expect(written).toMatchObject({ value: '{"access":"abc"}', version: 1, owner: "app-1" });
        expect(written.expiresAt).toBeGreaterThanOrEqual(before + 60_000);
        expect(written.expiresAt).toBeLessThanOrEqual(after + 60_000);
        expect(await vault.get("session:1")).toEqual(written);
      });

      it("stores no owner when none is given", async () => {
        await vault.set("k", "v", LONG_TTL);
        expect((await vault.get("k"))?.owner).toBeUndefined();
      });

      it("keeps keys independent, including keys with separators, braces and unicode", async () => {
        const keys = ["a", "a:b", "{tag}a", "clé-é🙂", "a b"];
        for (const [index, key] of keys.entries()) {
          await vault.set(key, `value-${index}`, LONG_TTL);
        }
        for (const [index, key] of keys.entries()) {
          expect((await vault.get(key))?.value).toBe(`value-${index}`);
        }
      });

      it("overwrites value, owner and expiry and increments the version", async () => {
        await vault.set("k", "one", { ttlSeconds: 60, owner: "app-1" });
        const second = await vault.set("k", "two", { ttlSeconds: 120 });
        expect(second).toMatchObject({ value: "two", version: 2, owner: undefined });
        expect(await vault.get("k")).toEqual(second);
      });

      it("counts versions 1, 2, 3 across set and compareAndSet", async () => {
        expect((await vault.set("k", "a", LONG_TTL)).version).toBe(1);
        expect((await vault.set("k", "b", LONG_TTL)).version).toBe(2);
        expect((await vault.compareAndSet("k", 2, "c", LONG_TTL))?.version).toBe(3);
        expect((await vault.get("k"))?.version).toBe(3);
      });

      it("deletes: true when something was deleted, false otherwise", async () => {
        await vault.set("k", "v", LONG_TTL);
        expect(await vault.delete("k")).toBe(true);
        expect(await vault.get("k")).toBeUndefined();
        expect(await vault.delete("k")).toBe(false);
        expect(await vault.delete("never-written")).toBe(false);
      });

      it("starts again at version 1 after a delete", async () => {
        await vault.set("k", "a", LONG_TTL);
        await vault.set("k", "b", LONG_TTL);
        await vault.delete("k");
        expect((await vault.set("k", "c", LONG_TTL)).version).toBe(1);
      });
    });

    describe("values", () => {
      it("round-trips unicode, control characters and the empty string", async () => {
        const values = ["", "é漢字🙂\u0000\n\t\"'\\", "🏥".repeat(1000)];
        for (const [index, value] of values.entries()) {
          await vault.set(`u${index}`, value, LONG_TTL);
          expect((await vault.get(`u${index}`))?.value).toBe(value);
        }
      });

      it("round-trips a 100 kB value", async () => {
        const value = Array.from({ length: 100 * 1024 }, (_, index) => String.fromCharCode(33 + (index % 90))).join("");
        await vault.set("large", value, LONG_TTL);
        const read = await vault.get("large");
        expect(read?.value.length).toBe(100 * 1024);
        expect(read?.value).toBe(value);
      });
    });

    describe("expiry", () => {
      it("forgets an entry once its time to live has passed", async () => {
        await vault.set("short", "v", { ttlSeconds: 1, owner: "app-1" });
        await vault.set("long", "v", { ttlSeconds: 60 });
        expect((await vault.get("short"))?.value).toBe("v");
        await passTime(1200);
        expect(await vault.get("short")).toBeUndefined();
        expect(await vault.delete("short")).toBe(false);
        expect((await vault.get("long"))?.value).toBe("v");
      });

      it("treats an expired entry as absent for compareAndSet and versions", async () => {
        await vault.set("k", "a", { ttlSeconds: 1 });
        await passTime(1200);
        expect(await vault.compareAndSet("k", 1, "b", LONG_TTL)).toBeUndefined();
        const created = await vault.compareAndSet("k", null, "c", LONG_TTL);
        expect(created).toMatchObject({ value: "c", version: 1 });
      });
    });

    describe("compareAndSet", () => {
      it("creates when absent and expectedVersion is null", async () => {
        const created = await vault.compareAndSet("k", null, "v", { ttlSeconds: 60, owner: "app-1" });
        expect(created).toMatchObject({ value: "v", version: 1, owner: "app-1" });
        expect(await vault.get("k")).toEqual(created);
      });

      it("refuses null when the key exists, leaving it unchanged", async () => {
        const existing = await vault.set("k", "v", LONG_TTL);
        expect(await vault.compareAndSet("k", null, "other", LONG_TTL)).toBeUndefined();
        expect(await vault.get("k")).toEqual(existing);
      });

      it("writes when the version matches", async () => {
        await vault.set("k", "v1", LONG_TTL);
        const next = await vault.compareAndSet("k", 1, "v2", { ttlSeconds: 60, owner: "app-2" });
        expect(next).toMatchObject({ value: "v2", version: 2, owner: "app-2" });
        expect(await vault.get("k")).toEqual(next);
      });

      it("refuses a stale version, leaving the entry unchanged", async () => {
        await vault.set("k", "v1", LONG_TTL);
        const current = await vault.set("k", "v2", LONG_TTL);
        expect(await vault.compareAndSet("k", 1, "lost update", LONG_TTL)).toBeUndefined();
        expect(await vault.get("k")).toEqual(current);
      });

      it("refuses a version when the key is absent", async () => {
        expect(await vault.compareAndSet("absent", 1, "v", LONG_TTL)).toBeUndefined();
        expect(await vault.get("absent")).toBeUndefined();
      });

      it("lets exactly one of 20 concurrent writers with the same expected version win", async () => {
        await vault.set("race", "start", LONG_TTL);
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, index) => vault.compareAndSet("race", 1, `writer-${index}`, LONG_TTL)),
        );
        const winners = results.filter((result) => result !== undefined);
        expect(winners).toHaveLength(1);
        expect(winners[0]?.version).toBe(2);
        const final = await vault.get("race");
        expect(final?.version).toBe(2);
        expect(final?.value).toBe(winners[0]?.value);
      });

      it("lets exactly one of 20 concurrent creators win", async () => {
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, index) => vault.compareAndSet("create-race", null, `creator-${index}`, LONG_TTL)),
        );
        const winners = results.filter((result) => result !== undefined);
        expect(winners).toHaveLength(1);
        expect((await vault.get("create-race"))?.value).toBe(winners[0]?.value);
      });
    });

    describe("listByOwner", () => {
      it("lists the live keys of one owner only", async () => {
        await vault.set("a", "v", { ttlSeconds: 60, owner: "app-1" });
        await vault.compareAndSet("b", null, "v", { ttlSeconds: 60, owner: "app-1" });
        await vault.set("c", "v", { ttlSeconds: 60, owner: "app-2" });
        await vault.set("d", "v", { ttlSeconds: 60 });
        expect((await vault.listByOwner("app-1")).sort()).toEqual(["a", "b"]);
        expect(await vault.listByOwner("app-2")).toEqual(["c"]);
        expect(await vault.listByOwner("nobody")).toEqual([]);
      });

      it("excludes deleted keys and keys rewritten for another owner or none", async () => {
        await vault.set("a", "v", { ttlSeconds: 60, owner: "app-1" });
        await vault.set("b", "v", { ttlSeconds: 60, owner: "app-1" });
        await vault.set("c", "v", { ttlSeconds: 60, owner: "app-1" });
        await vault.delete("a");
        await vault.set("b", "v", { ttlSeconds: 60, owner: "app-2" });
        await vault.compareAndSet("c", 1, "v", { ttlSeconds: 60 });
        expect(await vault.listByOwner("app-1")).toEqual([]);
        expect(await vault.listByOwner("app-2")).toEqual(["b"]);
      });

      it("excludes expired keys", async () => {
        await vault.set("short", "v", { ttlSeconds: 1, owner: "app-1" });
        await vault.set("long", "v", { ttlSeconds: 60, owner: "app-1" });
        await passTime(1200);
        expect(await vault.listByOwner("app-1")).toEqual(["long"]);
      });

      it("lists a key again once it is rewritten for the owner", async () => {
        await vault.set("k", "v", { ttlSeconds: 60, owner: "app-1" });
        await vault.set("k", "v", { ttlSeconds: 60, owner: "app-2" });
        await vault.set("k", "v", { ttlSeconds: 60, owner: "app-1" });
        expect(await vault.listByOwner("app-1")).toEqual(["k"]);
        expect(await vault.listByOwner("app-2")).toEqual([]);
      });
    });

    describe("caller mistakes throw TypeError", () => {
      it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY, 11 * 366 * 24 * 3600])("ttlSeconds %s", async (ttlSeconds) => {
        await expect(vault.set("k", "v", { ttlSeconds })).rejects.toBeInstanceOf(TypeError);
        await expect(vault.compareAndSet("k", null, "v", { ttlSeconds })).rejects.toBeInstanceOf(TypeError);
        expect(await vault.get("k")).toBeUndefined();
      });

      it("ttlSeconds given as a string", async () => {
        const options = JSON.parse('{"ttlSeconds":"60"}') as { ttlSeconds: number };
        await expect(vault.set("k", "v", options)).rejects.toBeInstanceOf(TypeError);
      });

      it("an empty key, an empty owner, a non-string value", async () => {
        await expect(vault.get("")).rejects.toBeInstanceOf(TypeError);
        await expect(vault.set("", "v", LONG_TTL)).rejects.toBeInstanceOf(TypeError);
        await expect(vault.set("k", "v", { ttlSeconds: 60, owner: "" })).rejects.toBeInstanceOf(TypeError);
        await expect(vault.listByOwner("")).rejects.toBeInstanceOf(TypeError);
        const notAString = JSON.parse("{}") as string;
        await expect(vault.set("k", notAString, LONG_TTL)).rejects.toBeInstanceOf(TypeError);
      });

      it("an expectedVersion that no entry can have", async () => {
        for (const expected of [0, -1, 1.5]) {
          await expect(vault.compareAndSet("k", expected, "v", LONG_TTL)).rejects.toBeInstanceOf(TypeError);
        }
      });

      it("a value that is not well-formed UTF-16 (it could not be read back identically)", async () => {
        await expect(vault.set("k", "broken \uD800 surrogate", LONG_TTL)).rejects.toBeInstanceOf(TypeError);
        expect(await vault.get("k")).toBeUndefined();
      });
    });

    describe("lifecycle", () => {
      it("answers ping and names its backend", async () => {
        await expect(vault.ping()).resolves.toBeUndefined();
        expect(vault.backend).toMatch(/^[a-z]+$/);
      });

      it("fails with PASSERELLE_VAULT_UNAVAILABLE after close, and close is idempotent", async () => {
        await vault.set("k", "v", LONG_TTL);
        await vault.close();
        await vault.close();
        const error: unknown = await vault.get("k").catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(PasserelleError);
        expect((error as PasserelleError).code).toBe("PASSERELLE_VAULT_UNAVAILABLE");
      });
    });
  });
}
