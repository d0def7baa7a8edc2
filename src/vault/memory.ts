/**
 * The in-process vault: the default for a single gateway instance and for
 * tests. Entries live in this process only (lost on restart, not shared
 * between replicas: use the Redis vault for that).
 *
 * Values are sealed with the same envelope as in Redis, so a heap dump shows
 * no token either and the behaviour seen by callers is identical.
 *
 * Memory is bounded by `maxEntries`: when full, expired entries are dropped
 * first, then the least recently used one (a `Map` keeps insertion order, and
 * every read or write moves the key to the end).
 */
import { PasserelleError } from "../errors/index.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import {
  assertExpectedVersion,
  assertOwner,
  assertValue,
  assertVaultKey,
  ttlMillisecondsOf,
} from "./assert-arguments.js";
import type { VaultCipher } from "./envelope.js";
import { observeVaultOperation, type VaultOperation } from "./operation-metrics.js";
import type { Vault, VaultEntry, VaultSetOptions } from "./types.js";

export interface MemoryVaultOptions {
  cipher: VaultCipher;
  /** Upper bound on stored entries (>= 1). */
  maxEntries: number;
  /** Clock in epoch milliseconds; tests pass a fake one. */
  now?: () => number;
  metrics?: GatewayMetrics;
  /** How often expired entries are swept in the background (default 60 s). */
  sweepIntervalMs?: number;
}

interface StoredEntry {
  sealed: string;
  version: number;
  owner: string | undefined;
  expiresAt: number;
}

const DEFAULT_SWEEP_INTERVAL_MS = 60_000;

export class MemoryVault implements Vault {
  readonly backend = "memory";

  readonly #cipher: VaultCipher;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #metrics: GatewayMetrics | undefined;
  /** Iteration order is recency order: first = least recently used. */
  readonly #entries = new Map<string, StoredEntry>();
  readonly #keysByOwner = new Map<string, Set<string>>();
  /**
   * A lower bound of the earliest expiry among stored entries. Eviction only
   * scans for expired entries once this moment has passed, so a full vault
   * without expired entries does not scan on every insert.
   */
  #earliestExpiry = Number.POSITIVE_INFINITY;
  #sweepTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: MemoryVaultOptions) {
    if (!Number.isSafeInteger(options.maxEntries) || options.maxEntries < 1) {
      throw new TypeError("MemoryVault: maxEntries must be an integer >= 1");
    }
    const sweepIntervalMs = options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;
    if (!Number.isFinite(sweepIntervalMs) || sweepIntervalMs <= 0) {
      throw new TypeError("MemoryVault: sweepIntervalMs must be a number > 0");
    }
    this.#cipher = options.cipher;
    this.#maxEntries = options.maxEntries;
    this.#now = options.now ?? Date.now;
    this.#metrics = options.metrics;
    this.#sweepTimer = setInterval(() => this.#sweepExpired(), sweepIntervalMs);
    // The sweep is housekeeping: it must not keep the process alive.
    this.#sweepTimer.unref();
  }

  /** Number of stored entries, expired ones not yet swept included. */
  get size(): number {
    return this.#entries.size;
  }

  get(key: string): Promise<VaultEntry | undefined> {
    return this.#observe("get", () => {
      assertVaultKey(key, "get");
      const stored = this.#liveEntry(key);
      if (stored === undefined) {
        return undefined;
      }
      this.#touch(key, stored);
      return this.#toVaultEntry(key, stored);
    });
  }

  set(key: string, value: string, options: VaultSetOptions): Promise<VaultEntry> {
    return this.#observe("set", () => {
      assertVaultKey(key, "set");
      assertValue(value, "set");
      const ttlMs = ttlMillisecondsOf(options, "set");
      return this.#write(key, value, options.owner, ttlMs);
    });
  }

  delete(key: string): Promise<boolean> {
    return this.#observe("delete", () => {
      assertVaultKey(key, "delete");
      const stored = this.#liveEntry(key);
      if (stored === undefined) {
        return false;
      }
      this.#remove(key, stored);
      return true;
    });
  }

  compareAndSet(
    key: string,
    expectedVersion: number | null,
    value: string,
    options: VaultSetOptions,
  ): Promise<VaultEntry | undefined> {
    return this.#observe("compare_and_set", () => {
      assertVaultKey(key, "compareAndSet");
      assertExpectedVersion(expectedVersion);
      assertValue(value, "compareAndSet");
      const ttlMs = ttlMillisecondsOf(options, "compareAndSet");
      // Atomic because nothing below awaits: no other call can interleave.
      const currentVersion = this.#liveEntry(key)?.version ?? null;
      if (currentVersion !== expectedVersion) {
        return undefined;
      }
      return this.#write(key, value, options.owner, ttlMs);
    });
  }

  listByOwner(owner: string): Promise<string[]> {
    return this.#observe("list_by_owner", () => {
      assertOwner(owner, "listByOwner");
      const keys: string[] = [];
      for (const key of this.#keysByOwner.get(owner) ?? []) {
        if (this.#liveEntry(key) !== undefined) {
          keys.push(key);
        }
      }
      return keys;
    });
  }

  ping(): Promise<void> {
    return this.#observe("ping", () => undefined);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweepTimer);
    this.#sweepTimer = undefined;
    this.#entries.clear();
    this.#keysByOwner.clear();
  }

  #observe<T>(operation: VaultOperation, run: () => T): Promise<T> {
    return observeVaultOperation(this.#metrics, this.backend, operation, async () => {
      if (this.#closed) {
        throw new PasserelleError("PASSERELLE_VAULT_UNAVAILABLE", { detail: "The vault is closed" });
      }
      return run();
    });
  }

  #write(key: string, value: string, owner: string | undefined, ttlMs: number): VaultEntry {
    // Seal first: if it throws, the vault is unchanged.
    const sealed = this.#cipher.seal(value, key);
    const now = this.#now();
    const previous = this.#liveEntry(key);
    if (previous !== undefined) {
      this.#remove(key, previous);
    } else if (this.#entries.size >= this.#maxEntries) {
      this.#makeRoom(now);
    }
    const stored: StoredEntry = {
      sealed,
      version: (previous?.version ?? 0) + 1,
      owner,
      expiresAt: now + ttlMs,
    };
    this.#entries.set(key, stored);
    if (owner !== undefined) {
      let keys = this.#keysByOwner.get(owner);
      if (keys === undefined) {
        keys = new Set();
        this.#keysByOwner.set(owner, keys);
      }
      keys.add(key);
    }
    this.#earliestExpiry = Math.min(this.#earliestExpiry, stored.expiresAt);
    return { value, version: stored.version, owner, expiresAt: stored.expiresAt };
  }

  /** The entry if present and not expired; an expired one is dropped on the way. */
  #liveEntry(key: string): StoredEntry | undefined {
    const stored = this.#entries.get(key);
    if (stored === undefined) {
      return undefined;
    }
    if (stored.expiresAt <= this.#now()) {
      this.#remove(key, stored);
      return undefined;
    }
    return stored;
  }

  #touch(key: string, stored: StoredEntry): void {
    this.#entries.delete(key);
    this.#entries.set(key, stored);
  }

  #remove(key: string, stored: StoredEntry): void {
    this.#entries.delete(key);
    if (stored.owner !== undefined) {
      const keys = this.#keysByOwner.get(stored.owner);
      keys?.delete(key);
      if (keys?.size === 0) {
        this.#keysByOwner.delete(stored.owner);
      }
    }
  }

  #makeRoom(now: number): void {
    if (now >= this.#earliestExpiry) {
      this.#sweepExpired();
    }
    while (this.#entries.size >= this.#maxEntries) {
      const leastRecentlyUsed = this.#entries.entries().next();
      if (leastRecentlyUsed.done === true) {
        return;
      }
      const [key, stored] = leastRecentlyUsed.value;
      this.#remove(key, stored);
    }
  }

  #sweepExpired(): void {
    const now = this.#now();
    let earliest = Number.POSITIVE_INFINITY;
    for (const [key, stored] of this.#entries) {
      if (stored.expiresAt <= now) {
        this.#remove(key, stored);
      } else {
        earliest = Math.min(earliest, stored.expiresAt);
      }
    }
    this.#earliestExpiry = earliest;
  }

  #toVaultEntry(key: string, stored: StoredEntry): VaultEntry {
    return {
      value: this.#cipher.open(stored.sealed, key),
      version: stored.version,
      owner: stored.owner,
      expiresAt: stored.expiresAt,
    };
  }
}
