/**
 * Lua scripts of the Redis vault. Redis runs a script atomically (no other
 * command runs in between, https://redis.io/docs/latest/develop/interactive-programmability/eval-intro/),
 * which is what makes compare-and-set safe across gateway replicas. Each
 * script touches exactly one key, so it also runs on Redis Cluster.
 *
 * ioredis sends them with EVALSHA and falls back to EVAL on NOSCRIPT (after a
 * restart or SCRIPT FLUSH).
 *
 * Entry layout: one hash per vault key.
 *   v  version (integer, 1 on creation)
 *   s  sealed value (see ./envelope.ts)
 *   e  expiresAt, epoch milliseconds (as computed by the gateway)
 *   o  owner (absent when none)
 * The hash carries a PX time to live, so Redis itself drops expired entries.
 */

/**
 * KEYS[1] entry hash
 * ARGV[1] expected version: "*" = unconditional write, "0" = only if absent, "n" = only at version n
 * ARGV[2] sealed value   ARGV[3] expiresAt (ms)   ARGV[4] time to live (ms)
 * ARGV[5] "1" when an owner is given, "0" otherwise   ARGV[6] owner
 * Returns {newVersion, previousOwner|false}, or false when the version did not match.
 */
export const WRITE_ENTRY_LUA = `
local current = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if ARGV[1] ~= '*' and tonumber(ARGV[1]) ~= current then
  return false
end
local previousOwner = redis.call('HGET', KEYS[1], 'o')
local version = current + 1
-- DEL first so that no field of the previous entry (e.g. its owner) survives.
redis.call('DEL', KEYS[1])
if ARGV[5] == '1' then
  redis.call('HSET', KEYS[1], 'v', version, 's', ARGV[2], 'e', ARGV[3], 'o', ARGV[6])
else
  redis.call('HSET', KEYS[1], 'v', version, 's', ARGV[2], 'e', ARGV[3])
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {version, previousOwner}
`;

/**
 * KEYS[1] entry hash
 * Returns {deletedCount, owner|false}.
 */
export const DELETE_ENTRY_LUA = `
local owner = redis.call('HGET', KEYS[1], 'o')
local deleted = redis.call('DEL', KEYS[1])
return {deleted, owner}
`;

/**
 * Adds a key to an owner's index (a sorted set scored by expiresAt), drops
 * members that have expired, and makes the index itself expire with its
 * longest-lived member so that abandoned indexes do not accumulate.
 *
 * KEYS[1] owner index   ARGV[1] vault key   ARGV[2] expiresAt (ms)   ARGV[3] now (ms)
 */
export const INDEX_ADD_LUA = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], last[2])
return 1
`;
