import { randomUUID } from "node:crypto";

import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { PasserelleError } from "../errors/index.js";
import { GatewayMetrics } from "../observability/metrics.js";
import {
  findFreePort,
  sendRedisCommand,
  startRedisCluster,
  startRedisSentinel,
  startRedisServer,
  type RedisClusterHandle,
  type RedisSentinelHandle,
  type RedisServerHandle,
} from "../test-support/redis-server.js";
import { VaultCipher, generateVaultKey } from "./envelope.js";
import { RedisVault } from "./redis.js";
import { describeVaultContract } from "./vault.contract.js";

async function failureOf(promise: Promise<unknown>): Promise<PasserelleError> {
  const error: unknown = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(PasserelleError);
  return error as PasserelleError;
}

describe("RedisVault on a single node", () => {
  let server: RedisServerHandle;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  describeVaultContract("redis (single node)", async () => {
    const vault = RedisVault.fromUrl(server.url, {
      cipher: new VaultCipher(generateVaultKey()),
      keyPrefix: `test:${randomUUID()}:`,
    });
    return { vault, cleanup: () => vault.close() };
  });

  describe("storage", () => {
    const cipher = new VaultCipher(generateVaultKey());
    let raw: Redis;
    let vault: RedisVault;
    let prefix: string;
    beforeAll(() => {
      raw = new Redis(server.port, "127.0.0.1");
    });
    afterAll(async () => {
      await raw?.quit();
    });
    beforeAll(() => {
      prefix = `storage:${randomUUID()}:`;
      vault = RedisVault.fromUrl(server.url, { cipher, keyPrefix: prefix });
    });
    afterAll(async () => {
      await vault?.close();
    });

    it("keeps one sealed hash per entry, with a Redis TTL, and an owner index scored by expiresAt", async () => {
      const entry = await vault.set("session:7", "access-token-7", { ttlSeconds: 60, owner: "app-7" });
      const hash = await raw.hgetall(`${prefix}entry:session:7`);
      expect(hash).toEqual({ v: "1", s: expect.stringMatching(/^v1\./), e: String(entry.expiresAt), o: "app-7" });
      expect(hash.s).not.toContain("access-token-7");
      const ttl = await raw.pttl(`${prefix}entry:session:7`);
      expect(ttl).toBeGreaterThan(55_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
      expect(await raw.zscore(`${prefix}owner:app-7`, "session:7")).toBe(String(entry.expiresAt));
      // The index expires with its longest-lived member.
      expect(await raw.pttl(`${prefix}owner:app-7`)).toBeGreaterThan(55_000);
    });

    it("refuses a sealed value copied under another key (AAD binds it to its key)", async () => {
      await vault.set("session:alice", "alice-token", { ttlSeconds: 60 });
      await vault.set("session:mallory", "mallory-token", { ttlSeconds: 60 });
      const aliceSealed = await raw.hget(`${prefix}entry:session:alice`, "s");
      await raw.hset(`${prefix}entry:session:mallory`, "s", aliceSealed ?? "");
      const error = await failureOf(vault.get("session:mallory"));
      expect(error.code).toBe("PASSERELLE_INTERNAL");
      expect(error.message).toMatch(/moved to another key/);
    });

    it("reports entries sealed under another master key as an integrity failure, not an outage", async () => {
      await vault.set("session:rotated", "token", { ttlSeconds: 60 });
      const otherKeyVault = RedisVault.fromUrl(server.url, { cipher: new VaultCipher(generateVaultKey()), keyPrefix: prefix });
      try {
        const error = await failureOf(otherKeyVault.get("session:rotated"));
        expect(error.code).toBe("PASSERELLE_INTERNAL");
      } finally {
        await otherKeyVault.close();
      }
    });

    it("keeps vaults with different key prefixes apart", async () => {
      const other = RedisVault.fromUrl(server.url, { cipher, keyPrefix: `other:${randomUUID()}:` });
      try {
        await vault.set("shared-name", "mine", { ttlSeconds: 60, owner: "app-x" });
        expect(await other.get("shared-name")).toBeUndefined();
        expect(await other.listByOwner("app-x")).toEqual([]);
      } finally {
        await other.close();
      }
    });

    it("reloads its scripts after SCRIPT FLUSH (EVALSHA falls back on NOSCRIPT)", async () => {
      await vault.set("flush", "a", { ttlSeconds: 60 });
      await raw.script("FLUSH");
      expect((await vault.compareAndSet("flush", 1, "b", { ttlSeconds: 60 }))?.version).toBe(2);
    });

    it("writes no token into the RDB dump", async () => {
      const token = `eyJ-recognisable-token-${randomUUID()}`;
      await vault.set("session:dump", token, { ttlSeconds: 300, owner: "app-dump" });

      // Control: the same token stored in clear is found, so the search works.
      await raw.hset("control:clear", "s", token);
      expect((await server.dump()).includes(token)).toBe(true);
      await raw.del("control:clear");

      const dump = await server.dump();
      expect(dump.includes(`${prefix}entry:session:dump`)).toBe(true);
      expect(dump.includes(token)).toBe(false);
      expect(dump.includes(Buffer.from(token).toString("base64"))).toBe(false);
    });

    it("observes operations in the vault histogram", async () => {
      const metrics = new GatewayMetrics({ processMetrics: false });
      const observed = RedisVault.fromUrl(server.url, { cipher, metrics, keyPrefix: prefix });
      try {
        await observed.set("metric", "v", { ttlSeconds: 60 });
        await observed.get("metric");
        await observed.listByOwner("nobody");
      } finally {
        await observed.close();
      }
      const samples = (await metrics.vaultDuration.get()).values.filter(
        (sample) => sample.metricName === "passerelle_vault_operation_duration_seconds_count",
      );
      expect(samples.map((sample) => ({ ...sample.labels, count: sample.value }))).toEqual(
        expect.arrayContaining([
          { backend: "redis", operation: "set", outcome: "ok", count: 1 },
          { backend: "redis", operation: "get", outcome: "ok", count: 1 },
          { backend: "redis", operation: "list_by_owner", outcome: "ok", count: 1 },
        ]),
      );
    });
  });
});

describe("RedisVault when Redis is down", () => {
  const cipher = new VaultCipher(generateVaultKey());
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup();
    }
  });

  it("fails calls with PASSERELLE_VAULT_UNAVAILABLE within about 2 s when nothing listens", async () => {
    const port = await findFreePort();
    const metrics = new GatewayMetrics({ processMetrics: false });
    const vault = RedisVault.fromUrl(`redis://127.0.0.1:${port}`, { cipher, metrics });
    cleanups.push(() => vault.close());

    const started = performance.now();
    const error = await failureOf(vault.ping());
    expect(performance.now() - started).toBeLessThan(2500);
    expect(error.code).toBe("PASSERELLE_VAULT_UNAVAILABLE");
    expect(error.status).toBe(503);
    expect(error.cause).toBeInstanceOf(Error);

    const writeError = await failureOf(vault.set("k", "v", { ttlSeconds: 60 }));
    expect(writeError.code).toBe("PASSERELLE_VAULT_UNAVAILABLE");
    const errors = (await metrics.vaultDuration.get()).values.filter(
      (sample) => sample.metricName === "passerelle_vault_operation_duration_seconds_count" && sample.labels.outcome === "error",
    );
    expect(errors.map((sample) => sample.labels.operation).sort()).toEqual(["ping", "set"]);
  });

  it("fails calls within about 2 s once a live Redis dies, then recovers when it is back", async () => {
    const server = await startRedisServer();
    cleanups.push(() => server.stop());
    const connectionErrors: Error[] = [];
    const vault = RedisVault.fromUrl(server.url, { cipher, onConnectionError: (error) => connectionErrors.push(error) });
    cleanups.push(() => vault.close());
    await vault.set("k", "v", { ttlSeconds: 60 });

    await server.stop();
    for (const operation of [() => vault.get("k"), () => vault.compareAndSet("k", 1, "w", { ttlSeconds: 60 }), () => vault.listByOwner("o")]) {
      const started = performance.now();
      const error = await failureOf(operation());
      expect(performance.now() - started).toBeLessThan(2500);
      expect(error.code).toBe("PASSERELLE_VAULT_UNAVAILABLE");
    }
    expect(connectionErrors.length).toBeGreaterThan(0);

    // Same port, empty data set (persistence is off): the client reconnects by itself.
    const restarted = await startRedisServer({ port: server.port });
    cleanups.push(() => restarted.stop());
    await expect.poll(() => vault.ping().then(() => "up", () => "down"), { timeout: 10_000, interval: 200 }).toBe("up");
    expect(await vault.get("k")).toBeUndefined();
    expect((await vault.set("k", "again", { ttlSeconds: 60 })).version).toBe(1);
  });
});

describe("RedisVault through Sentinel", () => {
  let master: RedisServerHandle;
  let sentinel: RedisSentinelHandle;
  beforeAll(async () => {
    master = await startRedisServer();
    sentinel = await startRedisSentinel(master.port);
  });
  afterAll(async () => {
    await sentinel?.stop();
    await master?.stop();
  });

  it("the sentinel knows the master", async () => {
    const reply = await sendRedisCommand(sentinel.port, ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", sentinel.masterName]);
    expect(reply).not.toMatch(/^-/);
  });

  describeVaultContract("redis (sentinel)", async () => {
    const vault = RedisVault.fromUrl(`${sentinel.url}/1`, {
      cipher: new VaultCipher(generateVaultKey()),
      keyPrefix: `sentinel:${randomUUID()}:`,
    });
    return { vault, cleanup: () => vault.close() };
  });

  it("writes to the master the sentinel names, in the database of the URL", async () => {
    const vault = RedisVault.fromUrl(`${sentinel.url}/1`, { cipher: new VaultCipher(generateVaultKey()), keyPrefix: "via-sentinel:" });
    const raw = new Redis({ port: master.port, host: "127.0.0.1", db: 1 });
    try {
      await vault.set("k", "v", { ttlSeconds: 60 });
      expect(await raw.hget("via-sentinel:entry:k", "v")).toBe("1");
    } finally {
      await vault.close();
      await raw.quit();
    }
  });
});

describe("RedisVault on Redis Cluster", () => {
  let cluster: RedisClusterHandle;
  beforeAll(async () => {
    cluster = await startRedisCluster(3);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  describeVaultContract("redis (cluster)", async () => {
    const vault = RedisVault.fromUrl(cluster.url, {
      cipher: new VaultCipher(generateVaultKey()),
      keyPrefix: `cluster:${randomUUID()}:`,
    });
    return { vault, cleanup: () => vault.close() };
  });

  it("spreads entries of one owner over several nodes and still lists them", async () => {
    const vault = RedisVault.fromUrl(cluster.url, { cipher: new VaultCipher(generateVaultKey()), keyPrefix: "spread:" });
    try {
      const keys = Array.from({ length: 30 }, (_, index) => `session:${index}`);
      for (const key of keys) {
        await vault.set(key, "v", { ttlSeconds: 60, owner: "app-c" });
      }
      const perNode = await Promise.all(
        cluster.nodes.map(async (node) => Number(await sendRedisCommand(node.port, ["DBSIZE"]))),
      );
      expect(perNode.filter((count) => count > 0).length).toBeGreaterThan(1);
      expect((await vault.listByOwner("app-c")).sort()).toEqual([...keys].sort());
    } finally {
      await vault.close();
    }
  });
});
