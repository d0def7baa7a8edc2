export type { Vault, VaultEntry, VaultSetOptions } from "./types.js";
export { VaultCipher, generateVaultKey, parseVaultKey } from "./envelope.js";
export { MemoryVault, type MemoryVaultOptions } from "./memory.js";
export { DEFAULT_REDIS_KEY_PREFIX, RedisVault, createRedisClient, type RedisVaultOptions } from "./redis.js";
export { parseRedisUrl, type RedisConnectionPlan, type RedisCredentials, type RedisHostPort } from "./redis-url.js";
export { createVault, type CreateVaultOptions } from "./create-vault.js";
export { MAX_KEY_LENGTH, MAX_TTL_SECONDS } from "./assert-arguments.js";
