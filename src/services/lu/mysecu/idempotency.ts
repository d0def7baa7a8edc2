/**
 * Runs an operation at most once per idempotency key, across gateway
 * instances, through the vault's compare-and-set (the semantics of the IETF
 * draft "The Idempotency-Key HTTP Header Field", draft-ietf-httpapi-idempotency-key-header).
 *
 * One vault entry per key holds either a **claim** (`pending`, with a lease)
 * or the **result** (`done`), plus a fingerprint of the request:
 *
 * - the first caller creates the claim (CAS on "absent") and runs the operation;
 *   on success it stores the result, on failure it releases the claim so a
 *   retry runs again;
 * - a caller that finds a result with the same fingerprint gets that result
 *   back (`replayed`), without running anything;
 * - a caller that finds a live claim waits (polling, up to `waitMs`) for the
 *   result, then gives up with 409 `PASSERELLE_CONFLICT` and `Retry-After`;
 * - a claim whose lease ran out (its owner crashed or hung) is taken over by
 *   CAS on its version — so the operation itself must be safe to repeat
 *   after an unknown outcome (mySecu deduplicates on the ClientReference);
 * - another fingerprint under the same key is 422 `PASSERELLE_IDEMPOTENCY_KEY_REUSED`.
 *
 * The key written to the vault is a SHA-256 of the scope and the caller's
 * key: vault keys are stored in clear, and an idempotency key may say more
 * than it should.
 */
import { createHash } from "node:crypto";
import { setTimeout as sleepFor } from "node:timers/promises";
import type { Logger } from "pino";
import { PasserelleError } from "../../../errors/index.js";
import type { Vault, VaultEntry } from "../../../vault/index.js";

export interface IdempotencyOptions {
  vault: Vault;
  /** Prefix of the vault keys (one per use, e.g. `lu-mysecu:deposit`). */
  namespace: string;
  /** How long a result is kept (and answered again), in seconds. */
  ttlSeconds: number;
  /** How long a claim protects a running operation before others may take it over. */
  leaseMs: number;
  /** How long a duplicate waits for the first request's result before a 409. */
  waitMs: number;
  /** Interval of that wait's vault polls. */
  pollIntervalMs: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  logger?: Logger;
}

export interface IdempotentOutcome<T> {
  result: T;
  /** True when the result was stored by an earlier request with the same key. */
  replayed: boolean;
}

type StoredRecord<T> = { state: "pending"; fingerprint: string; leaseUntil: number } | { state: "done"; fingerprint: string; result: T };

export class IdempotentRunner {
  readonly #options: IdempotencyOptions;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(options: IdempotencyOptions) {
    if (options === null || typeof options !== "object" || typeof options.vault?.compareAndSet !== "function") {
      throw new TypeError("IdempotentRunner needs { vault, namespace, ttlSeconds, leaseMs, waitMs, pollIntervalMs }");
    }
    for (const name of ["ttlSeconds", "leaseMs", "pollIntervalMs"] as const) {
      if (!(Number.isFinite(options[name]) && options[name] > 0)) throw new TypeError(`IdempotentRunner: ${name} must be a positive number`);
    }
    if (!(Number.isFinite(options.waitMs) && options.waitMs >= 0)) throw new TypeError("IdempotentRunner: waitMs must be a number ≥ 0");
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? ((ms) => sleepFor(ms));
  }

  /**
   * Runs `operation` unless `key` (within `scope`) already has a result.
   * `fingerprint` identifies the request's content; `result` must survive
   * JSON (it is stored as such).
   */
  async run<T>(scope: string, key: string, fingerprint: string, operation: () => Promise<T>): Promise<IdempotentOutcome<T>> {
    const vaultKey = `${this.#options.namespace}:${createHash("sha256").update(`${scope}\u0000${key}`).digest("hex")}`;
    const deadline = this.#now() + this.#options.waitMs;
    for (;;) {
      const claimed = await this.#write(vaultKey, null, { state: "pending", fingerprint, leaseUntil: this.#now() + this.#options.leaseMs });
      if (claimed !== undefined) return { result: await this.#execute(vaultKey, claimed, fingerprint, operation), replayed: false };

      const entry = await this.#options.vault.get(vaultKey);
      if (entry === undefined) continue; // expired or released between our two calls: claim again
      const record = parseRecord<T>(entry);
      if (record.fingerprint !== fingerprint) {
        throw new PasserelleError("PASSERELLE_IDEMPOTENCY_KEY_REUSED", {
          detail: "This idempotency key was already used for a request with other content; use a new key for a new request",
        });
      }
      if (record.state === "done") return { result: record.result, replayed: true };

      const now = this.#now();
      if (record.leaseUntil <= now) {
        const taken = await this.#write(vaultKey, entry.version, { state: "pending", fingerprint, leaseUntil: now + this.#options.leaseMs });
        if (taken !== undefined) return { result: await this.#execute(vaultKey, taken, fingerprint, operation), replayed: false };
        continue;
      }
      if (now >= deadline) {
        // The first request usually ends within seconds; its lease is only the worst case.
        const retryAfter = Math.min(5, Math.max(1, Math.ceil((record.leaseUntil - now) / 1000)));
        throw new PasserelleError("PASSERELLE_CONFLICT", {
          detail: "A request with this idempotency key is still in progress; retry later to get its result",
          extensions: { reason: "idempotency_key_in_progress" },
          headers: { "retry-after": String(retryAfter) },
        });
      }
      await this.#sleep(Math.max(1, Math.min(this.#options.pollIntervalMs, deadline - now, record.leaseUntil - now)));
    }
  }

  async #execute<T>(vaultKey: string, claim: VaultEntry, fingerprint: string, operation: () => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await operation();
    } catch (error) {
      // Released at once (lease in the past), only if the claim is still ours.
      await this.#write(vaultKey, claim.version, { state: "pending", fingerprint, leaseUntil: 0 }).catch(() => undefined);
      throw error;
    }
    // Unconditional: if our lease ran out and someone took over, they repeat the same (deduplicated) operation.
    try {
      await this.#options.vault.set(vaultKey, JSON.stringify({ state: "done", fingerprint, result } satisfies StoredRecord<T>), { ttlSeconds: this.#options.ttlSeconds });
    } catch (error) {
      // The operation did happen: report its result. A retry will find our claim, wait for its lease to
      // end, take it over and repeat the operation, which the upstream deduplicates.
      this.#options.logger?.warn({ err: error }, "idempotency: the result could not be stored in the vault");
    }
    return result;
  }

  #write<T>(vaultKey: string, expectedVersion: number | null, record: StoredRecord<T>): Promise<VaultEntry | undefined> {
    return this.#options.vault.compareAndSet(vaultKey, expectedVersion, JSON.stringify(record), { ttlSeconds: this.#options.ttlSeconds });
  }
}

function parseRecord<T>(entry: VaultEntry): StoredRecord<T> {
  try {
    const record = JSON.parse(entry.value) as StoredRecord<T>;
    if ((record.state === "pending" || record.state === "done") && typeof record.fingerprint === "string") return record;
  } catch {
    // fall through
  }
  throw new PasserelleError("PASSERELLE_INTERNAL", { detail: "An idempotency record in the vault is unreadable" });
}
