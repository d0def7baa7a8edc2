/**
 * Chooses the vault backend from its URL, medplum-style: the scheme names the
 * backend.
 *
 *     (unset) or memory:      MemoryVault, in this process only
 *     redis:// rediss://      RedisVault, single node
 *     redis+sentinel://       RedisVault through Sentinel
 *     redis+cluster://        RedisVault on Redis Cluster
 *
 * @example
 * ```ts
 * const vault = await createVault({ url: config.vault.url, key: parseVaultKey(config.vault.key), maxEntries: 100_000 });
 * ```
 */
import type { GatewayMetrics } from "../observability/metrics.js";
import { VaultCipher } from "./envelope.js";
import { MemoryVault } from "./memory.js";
import type { Vault } from "./types.js";

export interface CreateVaultOptions {
  /** Backend URL; undefined means the in-memory vault. */
  url: string | undefined;
  /** The 32-byte master key sealing every value (see parseVaultKey). */
  key: Buffer;
  /** Bound of the in-memory vault (ignored by Redis, which has its own maxmemory). */
  maxEntries: number;
  metrics?: GatewayMetrics;
}

const REDIS_SCHEMES = new Set(["redis:", "rediss:", "redis+sentinel:", "redis+cluster:"]);
const ACCEPTED = "memory:, redis://, rediss://, redis+sentinel://, redis+cluster://";

/**
 * Async because the Redis backend (ioredis, some 45 modules) is loaded only
 * when a Redis URL is configured: a gateway with the memory vault never pays
 * for it in start time or memory.
 */
export async function createVault(options: CreateVaultOptions): Promise<Vault> {
  const cipher = new VaultCipher(options.key);
  const { url, metrics } = options;
  if (url === undefined || url === "memory:" || url === "memory://") {
    return new MemoryVault({ cipher, maxEntries: options.maxEntries, metrics });
  }
  if (typeof url !== "string") {
    throw new TypeError(`Vault URL must be a string; accepted schemes: ${ACCEPTED}`);
  }
  // Only the scheme is ever echoed: the rest may hold a password.
  const scheme = /^([a-z][a-z0-9+.-]*:)/i.exec(url.trim())?.[1]?.toLowerCase();
  if (scheme !== undefined && REDIS_SCHEMES.has(scheme)) {
    const { RedisVault } = await import("./redis.js");
    return RedisVault.fromUrl(url, { cipher, metrics });
  }
  throw new TypeError(
    `Unsupported vault URL${scheme === undefined ? "" : ` scheme "${scheme}"`}; accepted schemes: ${ACCEPTED}`,
  );
}
