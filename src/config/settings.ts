/**
 * Every setting Passerelle reads, in one table: its environment name (and
 * aliases), how to parse it, its default, and whether it is secret. The
 * table is the schema: `loadConfig` reads it, `passerelle --help` prints it,
 * and docs/configuration.md is checked against it by a test.
 *
 * Secrets may also be given as `NAME_FILE` (a path whose content is the
 * value), the Docker/Kubernetes secrets convention.
 *
 * Service modules contribute their own rows (spread at the end of SETTINGS),
 * built from the parsers passed in so that no module cycle arises.
 */
import { isIP } from "node:net";
import { identitySettingSpecs } from "../services/identity/settings.js";
import { luSettingSpecs } from "../services/lu/settings.js";
import { trustSettingSpecs } from "../services/trust/settings.js";

export const PROFILES = ["sandbox", "integration", "production"] as const;
export type Profile = (typeof PROFILES)[number];

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const CLIENT_AUTH_MODES = ["none", "optional", "required"] as const;
export type ClientAuthMode = (typeof CLIENT_AUTH_MODES)[number];

/** A value parser: returns the parsed value, or throws SettingError with what was expected. */
export type Parser<T> = (raw: string) => T;

export class SettingError extends Error {
  constructor(readonly expected: string) {
    super(expected);
    this.name = "SettingError";
  }
}

export interface SettingSpec<T> {
  /** Environment variable (and config-file key). */
  env: string;
  aliases?: readonly string[];
  description: string;
  parse: Parser<T>;
  /** Default value, or a function of the profile. Absent: the setting is optional (undefined). */
  default?: T | ((profile: Profile) => T | undefined);
  secret?: boolean;
}

/** Keeps the literal shape (which keys have a default) for the Settings type. */
function spec<T, const S extends SettingSpec<T> = SettingSpec<T>>(s: S & SettingSpec<T>): S {
  return s;
}

export const parseString: Parser<string> = (raw) => {
  if (raw.trim() === "") throw new SettingError("a non-empty string");
  return raw;
};

export const parseBoolean: Parser<boolean> = (raw) => {
  const v = raw.trim().toLowerCase();
  if (["true", "1", "yes", "on"].includes(v)) return true;
  if (["false", "0", "no", "off"].includes(v)) return false;
  throw new SettingError("a boolean (true/false)");
};

export function parseInteger(min: number, max: number): Parser<number> {
  return (raw) => {
    const v = raw.trim();
    if (!/^-?\d+$/.test(v)) throw new SettingError(`an integer between ${min} and ${max}`);
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new SettingError(`an integer between ${min} and ${max}`);
    return n;
  };
}

export function parseEnum<const T extends string>(values: readonly T[]): Parser<T> {
  return (raw) => {
    const v = raw.trim() as T;
    if (!values.includes(v)) throw new SettingError(`one of ${values.join(", ")}`);
    return v;
  };
}

/** A secret-free URL with one of the given schemes. */
export function parseUrl(schemes: readonly string[]): Parser<string> {
  return (raw) => {
    let url: URL;
    try {
      url = new URL(raw.trim());
    } catch {
      throw new SettingError(`a URL (${schemes.join(", ")})`);
    }
    if (!schemes.includes(url.protocol.replace(/:$/, ""))) throw new SettingError(`a URL with scheme ${schemes.join(" or ")}`);
    return raw.trim();
  };
}

/**
 * TRUST_PROXY: the reverse proxies whose `X-Forwarded-For` is believed, as
 * addresses or CIDR blocks (Fastify/proxy-addr's list), or a number of hops.
 * `true` (believe anyone) is refused: any client could then choose its own
 * address and escape per-address rate limits.
 */
export const parseTrustProxy: Parser<string[] | number> = (raw) => {
  const v = raw.trim();
  const expected = "proxy addresses or CIDR blocks, comma-separated (e.g. 10.0.0.0/8,192.168.1.10), or a hop count 1–10";
  if (/^\d+$/.test(v)) {
    const hops = Number(v);
    if (hops < 1 || hops > 10) throw new SettingError(expected);
    return hops;
  }
  const entries = v.split(",").map((e) => e.trim());
  for (const entry of entries) {
    const [address = "", prefix, extra] = entry.split("/");
    const family = isIP(address);
    const maxPrefix = family === 4 ? 32 : 128;
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= maxPrefix);
    if (family === 0 || !prefixOk || extra !== undefined) throw new SettingError(expected);
  }
  return entries;
};

/** A caller credential: `id:sha256hex[:role+role]`, see src/http/auth/callers.ts. */
export interface CallerCredentialSpec {
  id: string;
  sha256: string;
  roles: string[];
}

const CALLER_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const ROLES = ["admin"] as const;

/**
 * `id:sha256hex[:role+role],...` — the configured list of calling software.
 * For API keys the hash is SHA-256 of the key (`passerelle hash-key`); for
 * client certificates it is the SHA-256 fingerprint of the DER certificate
 * (colons allowed, as `openssl x509 -fingerprint -sha256` prints it).
 */
export const parseCallerList: Parser<CallerCredentialSpec[]> = (raw) => {
  const expected = "a comma-separated list of id:sha256hex[:admin] entries";
  const out: CallerCredentialSpec[] = [];
  const seen = new Set<string>();
  for (const item of raw.split(",").map((s) => s.trim()).filter(Boolean)) {
    const parts = item.split(":");
    // A fingerprint printed by openssl contains colons: re-join the hex pairs.
    const id = parts[0] ?? "";
    let roles: string[] = [];
    let hexParts = parts.slice(1);
    const last = hexParts.at(-1);
    // Roles are letters; a digest (whole, or a pair of an openssl fingerprint) is hex — even one of letters only.
    if (last !== undefined && /^[a-z+]+$/.test(last) && !/^(?:[0-9a-f]{2}|[0-9a-f]{64})$/i.test(last)) {
      roles = last.split("+");
      hexParts = hexParts.slice(0, -1);
    }
    const sha256 = hexParts.join("").toLowerCase();
    if (!CALLER_ID.test(id)) throw new SettingError(`${expected} (bad id "${id}")`);
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new SettingError(`${expected} (entry "${id}" has no 64-hex SHA-256)`);
    for (const r of roles) {
      if (!(ROLES as readonly string[]).includes(r)) throw new SettingError(`${expected} (unknown role "${r}")`);
    }
    if (seen.has(id)) throw new SettingError(`${expected} (duplicate id "${id}")`);
    seen.add(id);
    out.push({ id, sha256, roles });
  }
  return out;
};

export const SETTINGS = {
  profile: spec({
    env: "PROFILE",
    aliases: ["PASSERELLE_PROFILE"],
    description: "Deployment profile: sandbox (simulators, generated keys), integration or production",
    parse: parseEnum(PROFILES),
    default: "sandbox" as Profile,
  }),
  acceptLicense: spec({
    env: "ACCEPT_LICENSE",
    description: "Acknowledge the terms of use; required outside the sandbox profile",
    parse: parseBoolean,
    default: false,
  }),
  trustProxy: spec({
    env: "TRUST_PROXY",
    description:
      "Behind a reverse proxy or load balancer: the proxies whose X-Forwarded-For is believed (addresses or CIDRs, comma-separated, or a hop count). Sets the client address used by per-address rate limits and logs; unset: the TCP peer",
    parse: parseTrustProxy,
  }),
  host: spec({
    env: "HOST",
    description: "Address to listen on (0.0.0.0 to accept remote callers)",
    parse: parseString,
    default: "127.0.0.1",
  }),
  port: spec({
    env: "PORT",
    aliases: ["SERVER_PORT"],
    description: "TCP port of the gateway",
    parse: parseInteger(0, 65535),
    default: 8080,
  }),
  dataDir: spec({
    env: "DATA_DIR",
    description: "Directory for the sandbox PKI, the audit trail and other local state",
    parse: parseString,
    default: "./.passerelle",
  }),
  debugLog: spec({
    env: "DEBUG_LOG",
    description: "Raise the log level to debug",
    parse: parseBoolean,
    default: false,
  }),
  logLevel: spec({
    env: "LOG_LEVEL",
    description: "Log level (overridden by DEBUG_LOG=true)",
    parse: parseEnum(LOG_LEVELS),
    default: "info" as LogLevel,
  }),
  tlsCertFile: spec({
    env: "TLS_CERT_FILE",
    description: "PEM certificate chain: when set, the gateway serves HTTPS",
    parse: parseString,
  }),
  tlsKeyFile: spec({
    env: "TLS_KEY_FILE",
    description: "PEM private key of TLS_CERT_FILE",
    parse: parseString,
  }),
  tlsKeyPassword: spec({
    env: "TLS_KEY_PASSWORD",
    description: "Passphrase of TLS_KEY_FILE, if encrypted",
    parse: parseString,
    secret: true,
  }),
  tlsClientAuth: spec({
    env: "TLS_CLIENT_AUTH",
    description: "Client-certificate authentication of callers over HTTPS: none, optional or required",
    parse: parseEnum(CLIENT_AUTH_MODES),
    default: "none" as ClientAuthMode,
  }),
  tlsClientCaFile: spec({
    env: "TLS_CLIENT_CA_FILE",
    description: "PEM CA certificates that issue caller client certificates",
    parse: parseString,
  }),
  apiKeys: spec({
    env: "API_KEYS",
    description: "Calling software authenticated by API key: id:sha256(key)[:admin],... (see `passerelle hash-key`)",
    parse: parseCallerList,
    default: [] as CallerCredentialSpec[],
    secret: true,
  }),
  clientCertCallers: spec({
    env: "CLIENT_CERT_CALLERS",
    description: "Calling software authenticated by client certificate: id:sha256-fingerprint[:admin],...",
    parse: parseCallerList,
    default: [] as CallerCredentialSpec[],
  }),
  sandboxApiKey: spec({
    env: "SANDBOX_API_KEY",
    description: "Sandbox profile only: use this demo API key instead of generating one per run",
    parse: parseString,
    secret: true,
  }),
  rateLimitPerMinute: spec({
    env: "RATE_LIMIT_PER_MINUTE",
    description: "Requests per minute allowed per caller on /v1, and failed authentications per client address (0 disables both)",
    parse: parseInteger(0, 1_000_000),
    default: 600,
  }),
  bodyLimitBytes: spec({
    env: "BODY_LIMIT_BYTES",
    description: "Largest accepted request body, in bytes",
    parse: parseInteger(1024, 512 * 1024 * 1024),
    default: 20 * 1024 * 1024,
  }),
  requestTimeoutMs: spec({
    env: "REQUEST_TIMEOUT_MS",
    description: "Time budget of one request before it is answered 503/timeout",
    parse: parseInteger(100, 10 * 60_000),
    default: 60_000,
  }),
  shutdownTimeoutMs: spec({
    env: "SHUTDOWN_TIMEOUT_MS",
    description: "How long in-flight requests may run after SIGTERM before the process exits",
    parse: parseInteger(0, 10 * 60_000),
    default: 10_000,
  }),
  vaultUrl: spec({
    env: "VAULT_URL",
    description: "Session/token store: memory: (default) or redis://, rediss://, redis+sentinel://, redis+cluster://",
    parse: parseUrl(["memory", "redis", "rediss", "redis+sentinel", "redis+cluster"]),
  }),
  vaultKey: spec({
    env: "VAULT_KEY",
    description: "32-byte key (64 hex or base64) encrypting the vault; generated per run in the sandbox profile",
    parse: (raw) => {
      const v = raw.trim();
      if (/^[0-9a-fA-F]{64}$/.test(v)) return Buffer.from(v, "hex");
      const b = Buffer.from(v.replaceAll("-", "+").replaceAll("_", "/"), "base64");
      if (b.length === 32 && /^[A-Za-z0-9+/_-]+={0,2}$/.test(v)) return b;
      throw new SettingError("32 bytes as 64 hex characters or base64 (openssl rand -hex 32)");
    },
    secret: true,
  }),
  vaultMaxEntries: spec({
    env: "VAULT_MAX_ENTRIES",
    description: "Memory vault: most entries kept before evicting the least recently used",
    parse: parseInteger(100, 100_000_000),
    default: 100_000,
  }),
  auditFile: spec({
    env: "AUDIT_FILE",
    description: "Append-only JSON Lines audit trail (default <DATA_DIR>/audit/audit.jsonl)",
    parse: parseString,
  }),
  auditKey: spec({
    env: "AUDIT_KEY",
    description: "Key pseudonymising patient identifiers in the audit trail (default: derived from VAULT_KEY)",
    parse: (raw) => {
      if (raw.trim().length < 32) throw new SettingError("at least 32 characters of secret material");
      return Buffer.from(raw.trim(), "utf8");
    },
    secret: true,
  }),
  sandboxHost: spec({
    env: "SANDBOX_HOST",
    description: "Sandbox profile: address the embedded simulators listen on",
    parse: parseString,
    default: "127.0.0.1",
  }),
  ...identitySettingSpecs({ parseString, parseUrl, parseEnum, SettingError }),
  ...trustSettingSpecs({ parseString, parseUrl, parseInteger, SettingError }),
  ...luSettingSpecs({ parseString, parseUrl, parseEnum, parseInteger, SettingError }),
} as const;

export type SettingName = keyof typeof SETTINGS;
type ValueOf<S> = S extends { parse: Parser<infer T> } ? T : never;
type HasDefault<S> = S extends { default: unknown } ? true : false;

/** The parsed settings: a key per entry of SETTINGS, optional when it has no default. */
export type Settings = {
  [K in SettingName as HasDefault<(typeof SETTINGS)[K]> extends true ? K : never]: ValueOf<(typeof SETTINGS)[K]>;
} & {
  [K in SettingName as HasDefault<(typeof SETTINGS)[K]> extends true ? never : K]?: ValueOf<(typeof SETTINGS)[K]>;
};
