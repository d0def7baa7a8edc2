/**
 * Parses the vault's Redis URL into a connection plan. Accepted forms:
 *
 *     redis://[[username]:password@]host[:port][/db]
 *     rediss://[[username]:password@]host[:port][/db]                 (TLS)
 *     redis+sentinel://[[username]:password@]host1[:port1],host2[:port2]/masterName[/db]
 *     redis+cluster://[[username]:password@]host1[:port1],host2[:port2]
 *
 * - Default ports: 6379 for Redis and Cluster nodes, 26379 for Sentinels.
 *   IPv6 hosts are written in brackets: `[::1]:6379`.
 * - The user info (percent-encoded) authenticates to Redis itself (the Sentinel
 *   master and its replicas, or every Cluster node). Sentinels are usually
 *   unauthenticated; when they are not, add `?sentinelPassword=...` (and
 *   optionally `sentinelUsername=...`) to a `redis+sentinel://` URL.
 * - No other query parameter is accepted: a typo must fail at start rather
 *   than be ignored.
 * - Cluster mode has a single database, so a `/db` path is rejected there.
 *
 * Error messages never repeat the URL, since it may carry a password.
 */

export interface RedisHostPort {
  host: string;
  port: number;
}

export interface RedisCredentials {
  username: string | undefined;
  password: string | undefined;
}

export type RedisConnectionPlan =
  | ({ mode: "standalone"; tls: boolean; db: number } & RedisHostPort & RedisCredentials)
  | ({
      mode: "sentinel";
      sentinels: RedisHostPort[];
      masterName: string;
      db: number;
      sentinelUsername: string | undefined;
      sentinelPassword: string | undefined;
    } & RedisCredentials)
  | ({ mode: "cluster"; nodes: RedisHostPort[] } & RedisCredentials);

const REDIS_PORT = 6379;
const SENTINEL_PORT = 26379;
// scheme://[userinfo@]hosts[/path][?query][#fragment]
const URL_SHAPE = /^([a-z][a-z0-9+.-]*):\/\/(?:([^@/?#]*)@)?([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?(#.*)?$/i;

export function parseRedisUrl(url: string): RedisConnectionPlan {
  if (typeof url !== "string") {
    throw new TypeError("Redis vault URL must be a string");
  }
  const match = URL_SHAPE.exec(url.trim());
  if (match === null) {
    throw new TypeError("Redis vault URL is malformed; expected scheme://[user:password@]host[:port][/...]");
  }
  const [, rawScheme = "", userInfo, rawHosts = "", path = "", query, fragment] = match;
  const scheme = rawScheme.toLowerCase();
  if (fragment !== undefined) {
    throw new TypeError("Redis vault URL must not have a #fragment");
  }
  const credentials = parseUserInfo(userInfo);
  const segments = path.split("/").filter((segment) => segment !== "");

  switch (scheme) {
    case "redis":
    case "rediss": {
      rejectQuery(query, scheme);
      const hosts = parseHostList(rawHosts, REDIS_PORT);
      const [only] = hosts;
      if (hosts.length !== 1 || only === undefined) {
        throw new TypeError(`${scheme}:// takes exactly one host; use redis+sentinel:// or redis+cluster:// for several`);
      }
      if (segments.length > 1) {
        throw new TypeError(`${scheme}:// path must be empty or a database number (/0)`);
      }
      return { mode: "standalone", tls: scheme === "rediss", ...only, db: parseDb(segments[0]), ...credentials };
    }
    case "redis+sentinel": {
      const sentinels = parseHostList(rawHosts, SENTINEL_PORT);
      const [masterName, db, ...rest] = segments;
      if (masterName === undefined || rest.length > 0) {
        throw new TypeError("redis+sentinel:// needs the master name as path: redis+sentinel://host:26379/mymaster[/db]");
      }
      const sentinelAuth = parseSentinelQuery(query);
      return {
        mode: "sentinel",
        sentinels,
        masterName: decodeComponent(masterName, "master name"),
        db: parseDb(db),
        ...credentials,
        ...sentinelAuth,
      };
    }
    case "redis+cluster": {
      rejectQuery(query, scheme);
      if (segments.length > 0) {
        throw new TypeError("redis+cluster:// takes no path: Redis Cluster has a single database");
      }
      return { mode: "cluster", nodes: parseHostList(rawHosts, REDIS_PORT), ...credentials };
    }
    default:
      throw new TypeError(
        `Unsupported Redis vault URL scheme "${scheme}:"; accepted: redis://, rediss://, redis+sentinel://, redis+cluster://`,
      );
  }
}

function parseUserInfo(userInfo: string | undefined): RedisCredentials {
  if (userInfo === undefined || userInfo === "") {
    return { username: undefined, password: undefined };
  }
  const colon = userInfo.indexOf(":");
  if (colon === -1) {
    // `redis://secret@host` is a common mistake for `redis://:secret@host`;
    // ioredis would silently treat it as a username without password.
    throw new TypeError("Redis vault URL user info must be [username]:password (note the colon)");
  }
  const username = decodeComponent(userInfo.slice(0, colon), "username");
  const password = decodeComponent(userInfo.slice(colon + 1), "password");
  return { username: username === "" ? undefined : username, password: password === "" ? undefined : password };
}

function parseHostList(rawHosts: string, defaultPort: number): RedisHostPort[] {
  if (rawHosts === "") {
    throw new TypeError("Redis vault URL has no host");
  }
  return rawHosts.split(",").map((item) => parseHostPort(item, defaultPort));
}

function parseHostPort(item: string, defaultPort: number): RedisHostPort {
  const bracketed = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(item);
  const plain = /^([A-Za-z0-9._-]+)(?::(\d+))?$/.exec(item);
  const found = bracketed ?? plain;
  if (found === null || found[1] === undefined) {
    throw new TypeError("Redis vault URL has an invalid host (expected host[:port] or [ipv6][:port], comma-separated)");
  }
  const port = found[2] === undefined ? defaultPort : Number(found[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new TypeError("Redis vault URL has an invalid port (1-65535)");
  }
  return { host: found[1], port };
}

function parseDb(segment: string | undefined): number {
  if (segment === undefined) {
    return 0;
  }
  if (!/^\d{1,5}$/.test(segment)) {
    throw new TypeError("Redis vault URL database must be a non-negative integer (/0, /1, ...)");
  }
  return Number(segment);
}

function rejectQuery(query: string | undefined, scheme: string): void {
  if (query !== undefined && query !== "") {
    throw new TypeError(`${scheme}:// URLs take no query parameters`);
  }
}

function parseSentinelQuery(
  query: string | undefined,
): { sentinelUsername: string | undefined; sentinelPassword: string | undefined } {
  const params = new URLSearchParams(query ?? "");
  for (const name of params.keys()) {
    if (name !== "sentinelUsername" && name !== "sentinelPassword") {
      throw new TypeError(
        `redis+sentinel:// query parameter "${name}" is not supported; accepted: sentinelUsername, sentinelPassword`,
      );
    }
  }
  return {
    sentinelUsername: params.get("sentinelUsername") ?? undefined,
    sentinelPassword: params.get("sentinelPassword") ?? undefined,
  };
}

function decodeComponent(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new TypeError(`Redis vault URL ${what} has an invalid percent-encoding`);
  }
}
