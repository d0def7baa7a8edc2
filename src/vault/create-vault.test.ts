import { describe, expect, it } from "vitest";

import { createVault } from "./create-vault.js";
import { generateVaultKey } from "./envelope.js";
import { MemoryVault } from "./memory.js";
import { RedisVault } from "./redis.js";

describe("createVault", () => {
  const key = generateVaultKey();

  it.each([undefined, "memory:", "memory://"])("builds the memory vault for %s", async (url) => {
    const vault = await createVault({ url, key, maxEntries: 10 });
    expect(vault).toBeInstanceOf(MemoryVault);
    expect(vault.backend).toBe("memory");
    await vault.set("k", "v", { ttlSeconds: 60 });
    expect((await vault.get("k"))?.value).toBe("v");
    await vault.close();
  });

  it.each(["redis://127.0.0.1:1", "rediss://h", "redis+sentinel://s1/m", "redis+cluster://n1,n2", "REDIS://h"])(
    "builds the Redis vault for %s without connecting yet",
    async (url) => {
      const vault = await createVault({ url, key, maxEntries: 10 });
      expect(vault).toBeInstanceOf(RedisVault);
      expect(vault.backend).toBe("redis");
      await vault.close();
    },
  );

  it.each(["memcached://h", "file:///var/vault", "", "127.0.0.1:6379"])("rejects %j naming the accepted schemes", async (url) => {
    await expect(createVault({ url, key, maxEntries: 10 })).rejects.toThrow(TypeError);
    await expect(createVault({ url, key, maxEntries: 10 })).rejects.toThrow(
      /accepted schemes: memory:, redis:\/\/, rediss:\/\/, redis\+sentinel:\/\/, redis\+cluster:\/\//,
    );
  });

  it("does not echo the URL, which may hold a password", async () => {
    await expect(createVault({ url: "postgres://u:hunter2@h/db", key, maxEntries: 10 })).rejects.toThrow(/^(?!.*hunter2)/s);
  });

  it("rejects a key of the wrong size", async () => {
    await expect(createVault({ url: undefined, key: Buffer.alloc(16), maxEntries: 10 })).rejects.toThrow(TypeError);
  });
});
