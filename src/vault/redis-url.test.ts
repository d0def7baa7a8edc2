import { describe, expect, it } from "vitest";

import { parseRedisUrl } from "./redis-url.js";

describe("parseRedisUrl", () => {
  it("parses a single node with defaults", () => {
    expect(parseRedisUrl("redis://cache.internal")).toEqual({
      mode: "standalone",
      tls: false,
      host: "cache.internal",
      port: 6379,
      db: 0,
      username: undefined,
      password: undefined,
    });
  });

  it("parses TLS, port, database and percent-encoded credentials", () => {
    expect(parseRedisUrl("rediss://gateway:p%40ss%3Aw0rd@10.0.0.5:6380/3")).toEqual({
      mode: "standalone",
      tls: true,
      host: "10.0.0.5",
      port: 6380,
      db: 3,
      username: "gateway",
      password: "p@ss:w0rd",
    });
  });

  it("takes a password without username and an IPv6 host", () => {
    expect(parseRedisUrl("redis://:secret@[::1]:7000")).toMatchObject({
      host: "::1",
      port: 7000,
      username: undefined,
      password: "secret",
    });
  });

  it("parses a Sentinel URL with several sentinels, master name and database", () => {
    expect(parseRedisUrl("redis+sentinel://:masterpw@s1.internal:26380,s2.internal,[fd00::2]:26381/mymaster/2")).toEqual({
      mode: "sentinel",
      sentinels: [
        { host: "s1.internal", port: 26380 },
        { host: "s2.internal", port: 26379 },
        { host: "fd00::2", port: 26381 },
      ],
      masterName: "mymaster",
      db: 2,
      username: undefined,
      password: "masterpw",
      sentinelUsername: undefined,
      sentinelPassword: undefined,
    });
  });

  it("parses Sentinel credentials given as query parameters", () => {
    expect(parseRedisUrl("redis+sentinel://127.0.0.1/m?sentinelUsername=watch&sentinelPassword=s%26ecret")).toMatchObject({
      masterName: "m",
      db: 0,
      sentinelUsername: "watch",
      sentinelPassword: "s&ecret",
    });
  });

  it("parses a Cluster URL", () => {
    expect(parseRedisUrl("redis+cluster://user:pw@n1:7000,n2:7001,n3")).toEqual({
      mode: "cluster",
      nodes: [
        { host: "n1", port: 7000 },
        { host: "n2", port: 7001 },
        { host: "n3", port: 6379 },
      ],
      username: "user",
      password: "pw",
    });
  });

  it.each([
    ["no master name", "redis+sentinel://s1:26379", /master name/],
    ["too many path segments", "redis+sentinel://s1/m/0/extra", /master name/],
    ["an unknown sentinel parameter", "redis+sentinel://s1/m?password=x", /"password" is not supported/],
    ["several hosts for redis://", "redis://a:6379,b:6379", /exactly one host/],
    ["a database in cluster mode", "redis+cluster://n1:7000/1", /single database/],
    ["a query on redis://", "redis://h?db=1", /no query parameters/],
    ["a non-numeric database", "redis://h/zero", /database/],
    ["a port out of range", "redis://h:70000", /port/],
    ["a missing host", "redis:///0", /no host/],
    ["a password without colon", "redis://secret@h", /note the colon/],
    ["a fragment", "redis://h#x", /fragment/],
    ["an unknown scheme", "memcached://h", /accepted: redis:\/\//],
    ["no scheme", "localhost:6379", /malformed/],
  ])("rejects %s with a TypeError", (_case, url, message) => {
    expect(() => parseRedisUrl(url)).toThrow(TypeError);
    expect(() => parseRedisUrl(url)).toThrow(message);
  });

  it("never repeats the password in an error", () => {
    let caught: unknown;
    try {
      parseRedisUrl("redis+sentinel://:hunter2@s1");
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TypeError);
    expect((caught as TypeError).message).not.toContain("hunter2");
  });
});
