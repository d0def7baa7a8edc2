import { createHash, hkdfSync, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { SETTINGS, SettingError, type Profile, type SettingName, type SettingSpec, type Settings } from "./settings.js";

/** One bad setting, printed on its own line at start. */
export interface ConfigIssue {
  name: string;
  /** What was received, masked when the setting is secret. */
  received: string;
  expected: string;
}

export class ConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(`Invalid configuration:\n${issues.map(formatIssue).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Thrown when a non-sandbox profile starts without ACCEPT_LICENSE=true. */
export class LicenseNotAcceptedError extends Error {
  constructor(readonly profile: Profile) {
    super(`The ${profile} profile requires ACCEPT_LICENSE=true`);
    this.name = "LicenseNotAcceptedError";
  }
}

export function formatIssue(issue: ConfigIssue): string {
  return `config error: ${issue.name}: received ${issue.received}; expected ${issue.expected}`;
}

/** The validated configuration handed to createGateway. */
export interface GatewayConfig extends Omit<Settings, "vaultKey" | "auditKey" | "auditFile" | "dataDir"> {
  /** Absolute. */
  dataDir: string;
  auditFile: string;
  vaultKey: Buffer;
  auditKey: Buffer;
  /** True when the vault key was generated for this run (sandbox): sessions do not survive a restart. */
  vaultKeyGenerated: boolean;
  effectiveLogLevel: Settings["logLevel"];
}

export interface LoadConfigOptions {
  env?: Record<string, string | undefined>;
  /** Used to resolve relative paths. */
  cwd?: string;
  readFile?: (file: string) => string;
}

type RawSource = { value: string; from: string };

function mask(spec: SettingSpec<unknown>, raw: string): string {
  if (spec.secret) return `<secret, ${raw.length} characters>`;
  const shown = raw.length > 80 ? `${raw.slice(0, 77)}...` : raw;
  return JSON.stringify(shown);
}

/**
 * Reads the settings from the environment (and CONFIG_FILE, a JSON object
 * keyed by the same names; the environment wins), validates every one and
 * reports every problem at once.
 */
export function loadConfig(options: LoadConfigOptions = {}): GatewayConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const readFile = options.readFile ?? ((file: string) => readFileSync(file, "utf8"));
  const issues: ConfigIssue[] = [];

  const fileValues = new Map<string, string>();
  const configFile = env.CONFIG_FILE;
  if (configFile !== undefined && configFile !== "") {
    readConfigFile(path.resolve(cwd, configFile), readFile, fileValues, issues);
  }

  const raw = (name: string): RawSource | undefined => {
    const fromEnv = env[name];
    if (fromEnv !== undefined && fromEnv !== "") return { value: fromEnv, from: name };
    const fromFile = fileValues.get(name);
    if (fromFile !== undefined) return { value: fromFile, from: `${name} (in CONFIG_FILE)` };
    return undefined;
  };

  const values: Partial<Record<SettingName, unknown>> = {};
  const profileSpec = SETTINGS.profile;
  let profile: Profile = "sandbox";
  for (const [key, s] of Object.entries(SETTINGS) as Array<[SettingName, SettingSpec<unknown>]>) {
    const candidates = [s.env, ...(s.aliases ?? [])];
    const found: RawSource[] = [];
    for (const name of candidates) {
      const direct = raw(name);
      if (direct) found.push(direct);
      if (s.secret) {
        const fileName = raw(`${name}_FILE`);
        if (fileName) {
          try {
            found.push({ value: readFile(path.resolve(cwd, fileName.value)).replace(/\r?\n$/, ""), from: `${name}_FILE` });
          } catch (err) {
            issues.push({
              name: `${name}_FILE`,
              received: JSON.stringify(fileName.value),
              expected: `a readable file (${(err as NodeJS.ErrnoException).code ?? "unreadable"})`,
            });
            continue;
          }
        }
      }
    }
    if (found.length > 1 && new Set(found.map((f) => f.value)).size > 1) {
      issues.push({
        name: s.env,
        received: `${found.map((f) => f.from).join(" and ")} with different values`,
        expected: "one source for this setting",
      });
      continue;
    }
    const source = found[0];
    if (source === undefined) {
      values[key] = undefined;
      continue;
    }
    try {
      values[key] = s.parse(source.value);
      if (s === (profileSpec as SettingSpec<unknown>)) profile = values[key] as Profile;
    } catch (err) {
      if (!(err instanceof SettingError)) throw err;
      issues.push({ name: source.from, received: mask(s, source.value), expected: err.expected });
    }
  }

  for (const [key, s] of Object.entries(SETTINGS) as Array<[SettingName, SettingSpec<unknown>]>) {
    if (values[key] === undefined && s.default !== undefined) {
      values[key] = typeof s.default === "function" ? (s.default as (p: Profile) => unknown)(profile) : s.default;
    }
  }
  const settings = values as Settings;

  // The terms come first: nothing else matters until they are accepted.
  if (settings.profile !== "sandbox" && !settings.acceptLicense) throw new LicenseNotAcceptedError(settings.profile);
  checkCrossFieldRules(settings, issues);
  if (issues.length > 0) throw new ConfigError(issues);

  const dataDir = path.resolve(cwd, settings.dataDir);
  const vaultKeyGenerated = settings.vaultKey === undefined;
  const vaultKey = settings.vaultKey ?? randomBytes(32);
  // The audit pseudonymisation key must outlive a vault key rotation only if
  // the operator sets it; by default it is derived so that one secret suffices.
  const auditKey =
    settings.auditKey ?? Buffer.from(hkdfSync("sha256", vaultKey, Buffer.alloc(0), "passerelle audit patient-ref v1", 32));
  return {
    ...settings,
    dataDir,
    auditFile: path.resolve(cwd, settings.auditFile ?? path.join(dataDir, "audit", "audit.jsonl")),
    vaultKey,
    auditKey,
    vaultKeyGenerated,
    effectiveLogLevel: settings.debugLog ? "debug" : settings.logLevel,
  };
}

function readConfigFile(
  file: string,
  readFile: (file: string) => string,
  into: Map<string, string>,
  issues: ConfigIssue[],
): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFile(file));
  } catch (err) {
    const reason = err instanceof SyntaxError ? "valid JSON" : `a readable file (${(err as NodeJS.ErrnoException).code ?? "error"})`;
    issues.push({ name: "CONFIG_FILE", received: JSON.stringify(file), expected: reason });
    return;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    issues.push({ name: "CONFIG_FILE", received: JSON.stringify(file), expected: "a JSON object of SETTING_NAME: value" });
    return;
  }
  const known = new Set<string>();
  for (const s of Object.values(SETTINGS) as Array<SettingSpec<unknown>>) {
    for (const n of [s.env, ...(s.aliases ?? [])]) {
      known.add(n);
      if (s.secret) known.add(`${n}_FILE`);
    }
  }
  for (const [k, v] of Object.entries(parsed)) {
    if (!known.has(k)) {
      issues.push({ name: `${k} (in CONFIG_FILE)`, received: "an unknown setting", expected: "a setting listed by `passerelle --help`" });
      continue;
    }
    if (typeof v === "string") into.set(k, v);
    else if (typeof v === "number" || typeof v === "boolean") into.set(k, String(v));
    else issues.push({ name: `${k} (in CONFIG_FILE)`, received: JSON.stringify(v), expected: "a string, number or boolean" });
  }
}

function checkCrossFieldRules(s: Settings, issues: ConfigIssue[]): void {
  const sandbox = s.profile === "sandbox";
  if ((s.tlsCertFile === undefined) !== (s.tlsKeyFile === undefined)) {
    issues.push({
      name: s.tlsCertFile === undefined ? "TLS_CERT_FILE" : "TLS_KEY_FILE",
      received: "unset",
      expected: "TLS_CERT_FILE and TLS_KEY_FILE set together",
    });
  }
  if (s.tlsClientAuth !== "none") {
    if (s.tlsCertFile === undefined && s.saasKeystore === undefined) {
      issues.push({
        name: "TLS_CLIENT_AUTH",
        received: JSON.stringify(s.tlsClientAuth),
        expected: "none unless TLS_CERT_FILE or SAAS_KEYSTORE is set (client certificates need HTTPS)",
      });
    }
    if (s.tlsClientCaFile === undefined) {
      issues.push({ name: "TLS_CLIENT_CA_FILE", received: "unset", expected: "the CA file that issues caller certificates when TLS_CLIENT_AUTH is optional or required" });
    }
  }
  if (s.clientCertCallers.length > 0 && s.tlsClientAuth === "none") {
    issues.push({ name: "CLIENT_CERT_CALLERS", received: `${s.clientCertCallers.length} entries`, expected: "TLS_CLIENT_AUTH=optional or required to authenticate callers by certificate" });
  }
  if (!sandbox) {
    if (s.vaultKey === undefined) {
      issues.push({ name: "VAULT_KEY", received: "unset", expected: "a 32-byte key (VAULT_KEY or VAULT_KEY_FILE) outside the sandbox profile" });
    }
    if (s.apiKeys.length === 0 && s.clientCertCallers.length === 0) {
      issues.push({ name: "API_KEYS", received: "unset", expected: "at least one caller (API_KEYS or CLIENT_CERT_CALLERS) outside the sandbox profile" });
    }
    if (s.sandboxApiKey !== undefined) {
      issues.push({ name: "SANDBOX_API_KEY", received: "<secret>", expected: "unset outside the sandbox profile" });
    }
  }
}

/** SHA-256 hex of an API key, as API_KEYS stores it. */
export function hashApiKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}
