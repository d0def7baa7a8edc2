/**
 * The Redis vault: shared by every gateway replica, on a single Redis node,
 * behind Sentinel, or on Redis Cluster (see ./redis-url.ts for the URL forms):
 *
 *     redis://[[username]:password@]host[:port][/db]
 *     rediss://[[username]:password@]host[:port][/db]
 *     redis+sentinel://[[username]:password@]host1[:port1],host2[:port2]/masterName[/db][?sentinelPassword=...]
 *     redis+cluster://[[username]:password@]host1[:port1],host2[:port2]
 *
 * Keys (all under `keyPrefix`, default `passerelle:vault:`):
 *   `<prefix>entry:<key>`   one hash per entry (layout in ./redis-scripts.ts), with a Redis TTL
 *   `<prefix>owner:<owner>` sorted set of the owner's keys, scored by expiresAt
 *
 * The entry is the source of truth; the owner index is a hint. It is updated
 * in a second step after the entry write because in Cluster mode the two keys
 * hash to different slots and no script may touch both. `listByOwner` therefore
 * re-checks every indexed key against its entry (it may have expired, been
 * deleted or been rewritten for another owner) and prunes stale members.
 *
 * Failure behaviour: every operation ends within `operationTimeoutMs` (2 s by
 * default). A dead or unreachable Redis surfaces as
 * `PasserelleError("PASSERELLE_VAULT_UNAVAILABLE")` with the driver error as
 * `cause`, never as a hang. A write that timed out may still have been
 * applied by Redis: callers that must know re-read the entry (its version
 * tells).
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from "ioredis";

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
import { DELETE_ENTRY_LUA, INDEX_ADD_LUA, WRITE_ENTRY_LUA } from "./redis-scripts.js";
import { parseRedisUrl, type RedisConnectionPlan } from "./redis-url.js";
import type { Vault, VaultEntry, VaultSetOptions } from "./types.js";

export interface RedisVaultOptions {
  cipher: VaultCipher;
  metrics?: GatewayMetrics;
  /** Prefix of every Redis key the vault writes (default `passerelle:vault:`). */
  keyPrefix?: string;
  /** Upper bound of one vault operation, connection wait included (default 2000 ms). */
  operationTimeoutMs?: number;
  /** Called with each connection error ioredis reports (e.g. to log it); the vault keeps reconnecting. */
  onConnectionError?: (error: Error) => void;
}

export const DEFAULT_REDIS_KEY_PREFIX = "passerelle:vault:";
const DEFAULT_OPERATION_TIMEOUT_MS = 2000;
const CONNECT_TIMEOUT_MS = 1000;
const COMMAND_TIMEOUT_MS = 1500;
const MAX_RECONNECT_DELAY_MS = 2000;

/** The scripts of ./redis-scripts.ts, as ioredis `defineCommand` exposes them. */
interface VaultScriptCommands {
  passerelleVaultWrite(
    entryKey: string,
    expectedVersion: string,
    sealed: string,
    expiresAt: string,
    ttlMs: string,
    hasOwner: string,
    owner: string,
  ): Promise<unknown>;
  passerelleVaultDelete(entryKey: string): Promise<unknown>;
  passerelleVaultIndexAdd(indexKey: string, member: string, expiresAt: string, now: string): Promise<unknown>;
}

type VaultRedisClient = (Redis | Cluster) & VaultScriptCommands;

export class RedisVault implements Vault {
  readonly backend = "redis";

  readonly #client: VaultRedisClient;
  readonly #cipher: VaultCipher;
  readonly #metrics: GatewayMetrics | undefined;
  readonly #keyPrefix: string;
  readonly #operationTimeoutMs: number;
  #closed = false;

  /**
   * Wraps an ioredis client the caller created (and configured with bounded
   * timeouts, as {@link RedisVault.fromUrl} does). The vault owns it from then
   * on: `close()` quits it.
   */
  constructor(client: Redis | Cluster, options: RedisVaultOptions) {
    const operationTimeoutMs = options.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS;
    if (!Number.isFinite(operationTimeoutMs) || operationTimeoutMs <= 0) {
      throw new TypeError("RedisVault: operationTimeoutMs must be a number > 0");
    }
    client.defineCommand("passerelleVaultWrite", { numberOfKeys: 1, lua: WRITE_ENTRY_LUA });
    client.defineCommand("passerelleVaultDelete", { numberOfKeys: 1, lua: DELETE_ENTRY_LUA });
    client.defineCommand("passerelleVaultIndexAdd", { numberOfKeys: 1, lua: INDEX_ADD_LUA });
    // defineCommand adds the methods at run time; this tells the compiler.
    this.#client = client as VaultRedisClient;
    // Without a listener ioredis prints every reconnection failure to stderr.
    const onConnectionError = options.onConnectionError;
    client.on("error", (error: Error) => onConnectionError?.(error));
    this.#cipher = options.cipher;
    this.#metrics = options.metrics;
    this.#keyPrefix = options.keyPrefix ?? DEFAULT_REDIS_KEY_PREFIX;
    this.#operationTimeoutMs = operationTimeoutMs;
  }

  /**
   * Connects (lazily, on the first operation) to the Redis named by `url`.
   * Throws a `TypeError` for a malformed or unsupported URL.
   */
  static fromUrl(url: string, options: RedisVaultOptions): RedisVault {
    return new RedisVault(createRedisClient(parseRedisUrl(url)), options);
  }

  get(key: string): Promise<VaultEntry | undefined> {
    return this.#run("get", async (client) => {
      assertVaultKey(key, "get");
      const [version, sealed, expiresAt, owner] = await client.hmget(this.#entryKey(key), "v", "s", "e", "o");
      if (version == null || sealed == null || expiresAt == null) {
        return undefined;
      }
      return {
        value: this.#cipher.open(sealed, key),
        version: Number(version),
        owner: owner ?? undefined,
        expiresAt: Number(expiresAt),
      };
    });
  }

  set(key: string, value: string, options: VaultSetOptions): Promise<VaultEntry> {
    return this.#run("set", async (client) => {
      assertVaultKey(key, "set");
      assertValue(value, "set");
      const ttlMs = ttlMillisecondsOf(options, "set");
      const entry = await this.#write(client, key, "*", value, options.owner, ttlMs);
      if (entry === undefined) {
        throw new Error("Redis vault write script refused an unconditional write");
      }
      return entry;
    });
  }

  delete(key: string): Promise<boolean> {
    return this.#run("delete", async (client) => {
      assertVaultKey(key, "delete");
      const reply = await client.passerelleVaultDelete(this.#entryKey(key));
      const [deleted, owner] = expectArray(reply, 2, "delete");
      if (owner != null) {
        await client.zrem(this.#ownerIndexKey(expectString(owner, "delete")), key);
      }
      return expectInteger(deleted, "delete") > 0;
    });
  }

  compareAndSet(
    key: string,
    expectedVersion: number | null,
    value: string,
    options: VaultSetOptions,
  ): Promise<VaultEntry | undefined> {
    return this.#run("compare_and_set", async (client) => {
      assertVaultKey(key, "compareAndSet");
      assertExpectedVersion(expectedVersion);
      assertValue(value, "compareAndSet");
      const ttlMs = ttlMillisecondsOf(options, "compareAndSet");
      // Versions start at 1, so "0" in the script means "absent".
      return this.#write(client, key, String(expectedVersion ?? 0), value, options.owner, ttlMs);
    });
  }

  listByOwner(owner: string): Promise<string[]> {
    return this.#run("list_by_owner", async (client) => {
      assertOwner(owner, "listByOwner");
      const indexKey = this.#ownerIndexKey(owner);
      await client.zremrangebyscore(indexKey, "-inf", Date.now());
      const candidates = await client.zrange(indexKey, "0", "-1");
      // One command per key rather than a pipeline: in Cluster mode the
      // entries live in different slots (ioredis still batches them).
      const owners = await Promise.all(candidates.map((key) => client.hget(this.#entryKey(key), "o")));
      const live: string[] = [];
      const stale: string[] = [];
      candidates.forEach((key, index) => (owners[index] === owner ? live : stale).push(key));
      if (stale.length > 0) {
        await client.zrem(indexKey, ...stale);
      }
      return live;
    });
  }

  ping(): Promise<void> {
    return this.#run("ping", async (client) => {
      await client.ping();
    });
  }

  async close(): Promise<void> {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    const client = this.#client;
    if (client.status === "ready") {
      try {
        await withDeadline(client.quit(), this.#operationTimeoutMs);
        return;
      } catch {
        // Fall through: a Redis that does not answer QUIT is simply dropped.
      }
    }
    client.disconnect();
  }

  async #write(
    client: VaultRedisClient,
    key: string,
    expectedVersion: string,
    value: string,
    owner: string | undefined,
    ttlMs: number,
  ): Promise<VaultEntry | undefined> {
    const sealed = this.#cipher.seal(value, key);
    const expiresAt = Date.now() + ttlMs;
    const reply = await client.passerelleVaultWrite(
      this.#entryKey(key),
      expectedVersion,
      sealed,
      String(expiresAt),
      String(ttlMs),
      owner === undefined ? "0" : "1",
      owner ?? "",
    );
    if (reply == null) {
      return undefined;
    }
    const [version, previousOwner] = expectArray(reply, 2, "write");
    // Second step, see the module comment: the entry is already written.
    if (previousOwner != null && previousOwner !== owner) {
      await client.zrem(this.#ownerIndexKey(expectString(previousOwner, "write")), key);
    }
    if (owner !== undefined) {
      await client.passerelleVaultIndexAdd(this.#ownerIndexKey(owner), key, String(expiresAt), String(Date.now()));
    }
    return { value, version: expectInteger(version, "write"), owner, expiresAt };
  }

  #run<T>(operation: VaultOperation, body: (client: VaultRedisClient) => Promise<T>): Promise<T> {
    return observeVaultOperation(this.#metrics, this.backend, operation, async () => {
      if (this.#closed) {
        throw new PasserelleError("PASSERELLE_VAULT_UNAVAILABLE", { detail: "The vault is closed" });
      }
      try {
        return await withDeadline(body(this.#client), this.#operationTimeoutMs);
      } catch (error) {
        // Caller mistakes (TypeError) and integrity failures (PasserelleError
        // from the envelope) are not availability problems: pass them through.
        if (error instanceof TypeError || error instanceof PasserelleError) {
          throw error;
        }
        throw new PasserelleError("PASSERELLE_VAULT_UNAVAILABLE", {
          detail: "The session vault is unavailable",
          cause: error,
        });
      }
    });
  }

  #entryKey(key: string): string {
    return `${this.#keyPrefix}entry:${key}`;
  }

  #ownerIndexKey(owner: string): string {
    return `${this.#keyPrefix}owner:${owner}`;
  }
}

/**
 * Builds an ioredis client whose every wait is bounded: connecting, each
 * command (also while queued offline), and the number of reconnections a
 * command waits through. Reconnection itself never stops, so the vault
 * recovers by itself when Redis comes back.
 */
export function createRedisClient(plan: RedisConnectionPlan): Redis | Cluster {
  const retryStrategy = (attempt: number): number => Math.min(50 * 2 ** Math.min(attempt, 6), MAX_RECONNECT_DELAY_MS);
  const common = {
    username: plan.username,
    password: plan.password,
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout: COMMAND_TIMEOUT_MS,
    maxRetriesPerRequest: 1,
    // A command cut by a disconnection fails instead of being replayed later:
    // the caller was already told it failed, a silent replay of a write
    // would bump the version behind its back.
    autoResendUnfulfilledCommands: false,
  } satisfies RedisOptions;

  switch (plan.mode) {
    case "standalone":
      return new Redis({
        ...common,
        host: plan.host,
        port: plan.port,
        db: plan.db,
        ...(plan.tls ? { tls: {} } : {}),
        retryStrategy,
        lazyConnect: true,
      });
    case "sentinel":
      return new Redis({
        ...common,
        sentinels: plan.sentinels,
        name: plan.masterName,
        db: plan.db,
        sentinelUsername: plan.sentinelUsername,
        sentinelPassword: plan.sentinelPassword,
        sentinelCommandTimeout: COMMAND_TIMEOUT_MS,
        sentinelRetryStrategy: retryStrategy,
        // Subscribe to +switch-master so a failover is followed at once.
        failoverDetector: true,
        retryStrategy,
        lazyConnect: true,
      });
    case "cluster": {
      const options: ClusterOptions = {
        redisOptions: common,
        clusterRetryStrategy: retryStrategy,
        slotsRefreshTimeout: CONNECT_TIMEOUT_MS,
        lazyConnect: true,
      };
      return new Cluster(plan.nodes, options);
    }
  }
}

/**
 * Rejects with PASSERELLE_VAULT_UNAVAILABLE when `promise` has not settled
 * after `ms`. ioredis bounds single commands, but a Cluster's offline queue
 * waits for the slot map without any timeout, and an operation is several
 * commands: this is the one bound that holds in every mode.
 */
function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(
        new PasserelleError("PASSERELLE_VAULT_UNAVAILABLE", {
          detail: "The session vault is unavailable",
          cause: new Error(`Redis did not answer within ${ms} ms`),
        }),
      );
    }, ms);
  });
  // The losing promise may still reject later: keep that from becoming an
  // unhandled rejection.
  promise.catch(() => undefined);
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

function expectArray(reply: unknown, length: number, script: string): unknown[] {
  if (!Array.isArray(reply) || reply.length > length) {
    throw new Error(`Redis vault ${script} script returned an unexpected reply`);
  }
  return reply as unknown[];
}

function expectInteger(value: unknown, script: string): number {
  const number = typeof value === "string" ? Number(value) : value;
  if (typeof number !== "number" || !Number.isSafeInteger(number)) {
    throw new Error(`Redis vault ${script} script returned a non-integer`);
  }
  return number;
}

function expectString(value: unknown, script: string): string {
  if (typeof value === "string") {
    return value;
  }
  if (Buffer.isBuffer(value)) {
    return value.toString("utf8");
  }
  throw new Error(`Redis vault ${script} script returned a non-string`);
}
