import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError, LicenseNotAcceptedError, formatIssue, hashApiKey, loadConfig } from "./index.js";

const KEY_HEX = "a".repeat(64);
const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), "passerelle-config-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function issuesOf(env: Record<string, string>): string[] {
  try {
    loadConfig({ env });
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map(formatIssue);
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfig", () => {
  it("starts with zero configuration in the sandbox profile", () => {
    const c = loadConfig({ env: {}, cwd: "/srv/app" });
    expect(c.profile).toBe("sandbox");
    expect(c.port).toBe(8080);
    expect(c.host).toBe("127.0.0.1");
    expect(c.dataDir).toBe("/srv/app/.passerelle");
    expect(c.auditFile).toBe("/srv/app/.passerelle/audit/audit.jsonl");
    expect(c.vaultKey).toHaveLength(32);
    expect(c.vaultKeyGenerated).toBe(true);
    expect(c.auditKey).toHaveLength(32);
    expect(c.effectiveLogLevel).toBe("info");
    expect(c.apiKeys).toEqual([]);
  });

  it("reads PORT and its eConnector alias SERVER_PORT", () => {
    expect(loadConfig({ env: { PORT: "9000" } }).port).toBe(9000);
    expect(loadConfig({ env: { SERVER_PORT: "9001" } }).port).toBe(9001);
    expect(issuesOf({ PORT: "9000", SERVER_PORT: "9001" })).toEqual([
      "config error: PORT: received PORT and SERVER_PORT with different values; expected one source for this setting",
    ]);
  });

  it("reports every bad setting at once, one line each, naming value and expectation", () => {
    const lines = issuesOf({ PORT: "http", DEBUG_LOG: "maybe", PROFILE: "prod", VAULT_URL: "mongodb://x" });
    expect(lines).toContain('config error: PORT: received "http"; expected an integer between 0 and 65535');
    expect(lines).toContain('config error: DEBUG_LOG: received "maybe"; expected a boolean (true/false)');
    expect(lines).toContain('config error: PROFILE: received "prod"; expected one of sandbox, integration, production');
    expect(lines).toContain(
      'config error: VAULT_URL: received "mongodb://x"; expected a URL with scheme memory or redis or rediss or redis+sentinel or redis+cluster',
    );
    expect(lines).toHaveLength(4);
  });

  it("masks secret values in errors", () => {
    const lines = issuesOf({ VAULT_KEY: "hunter2-not-a-key" });
    expect(lines).toEqual([
      "config error: VAULT_KEY: received <secret, 17 characters>; expected 32 bytes as 64 hex characters or base64 (openssl rand -hex 32)",
    ]);
    expect(lines.join()).not.toContain("hunter2");
  });

  it("reads secrets from NAME_FILE and refuses two different sources", () => {
    const d = tempDir();
    writeFileSync(path.join(d, "vault.key"), `${KEY_HEX}\n`);
    const c = loadConfig({ env: { VAULT_KEY_FILE: path.join(d, "vault.key") } });
    expect(c.vaultKey.toString("hex")).toBe(KEY_HEX);
    expect(c.vaultKeyGenerated).toBe(false);
    expect(issuesOf({ VAULT_KEY_FILE: path.join(d, "missing.key") })).toEqual([
      `config error: VAULT_KEY_FILE: received "${path.join(d, "missing.key")}"; expected a readable file (ENOENT)`,
    ]);
    expect(issuesOf({ VAULT_KEY_FILE: path.join(d, "vault.key"), VAULT_KEY: "b".repeat(64) })[0]).toContain(
      "VAULT_KEY and VAULT_KEY_FILE with different values",
    );
  });

  it("reads CONFIG_FILE, with the environment taking precedence, and rejects unknown keys", () => {
    const d = tempDir();
    const file = path.join(d, "passerelle.json");
    writeFileSync(file, JSON.stringify({ PORT: 7000, HOST: "0.0.0.0", DEBUG_LOG: true }));
    const c = loadConfig({ env: { CONFIG_FILE: file, HOST: "127.0.0.2" } });
    expect(c.port).toBe(7000);
    expect(c.host).toBe("127.0.0.2");
    expect(c.effectiveLogLevel).toBe("debug");
    writeFileSync(file, JSON.stringify({ PORTT: 7000 }));
    expect(issuesOf({ CONFIG_FILE: file })).toEqual([
      "config error: PORTT (in CONFIG_FILE): received an unknown setting; expected a setting listed by `passerelle --help`",
    ]);
    writeFileSync(file, "{not json");
    expect(issuesOf({ CONFIG_FILE: file })).toEqual([`config error: CONFIG_FILE: received "${file}"; expected valid JSON`]);
  });

  it("requires ACCEPT_LICENSE outside the sandbox profile", () => {
    expect(() => loadConfig({ env: { PROFILE: "production" } })).toThrow(LicenseNotAcceptedError);
  });

  it("requires a vault key and at least one caller outside the sandbox", () => {
    const lines = issuesOf({ PROFILE: "production", ACCEPT_LICENSE: "true" });
    expect(lines.some((l) => l.startsWith("config error: VAULT_KEY: received unset"))).toBe(true);
    expect(lines.some((l) => l.startsWith("config error: API_KEYS: received unset"))).toBe(true);
    const ok = loadConfig({
      env: { PROFILE: "production", ACCEPT_LICENSE: "true", VAULT_KEY: KEY_HEX, API_KEYS: `acme:${hashApiKey("k")}:admin` },
    });
    expect(ok.apiKeys).toEqual([{ id: "acme", sha256: hashApiKey("k"), roles: ["admin"] }]);
  });

  it("parses caller lists, including openssl-style fingerprints", () => {
    const fp = "AB:".repeat(31) + "AB";
    const c = loadConfig({
      env: {
        API_KEYS: `a:${"0".repeat(64)},b:${"1".repeat(64)}:admin`,
        TLS_CERT_FILE: "/c",
        TLS_KEY_FILE: "/k",
        TLS_CLIENT_AUTH: "optional",
        TLS_CLIENT_CA_FILE: "/ca",
        CLIENT_CERT_CALLERS: `hospital:${fp}`,
      },
    });
    expect(c.apiKeys.map((k) => [k.id, k.roles])).toEqual([
      ["a", []],
      ["b", ["admin"]],
    ]);
    expect(c.clientCertCallers[0]?.sha256).toBe("ab".repeat(32));
    expect(issuesOf({ API_KEYS: "a:123" })[0]).toContain('entry "a" has no 64-hex SHA-256');
    // A digest of letters only is still a digest, not a list of roles.
    expect(loadConfig({ env: { API_KEYS: `a:${"b".repeat(64)}` } }).apiKeys).toEqual([{ id: "a", sha256: "b".repeat(64), roles: [] }]);
    expect(issuesOf({ API_KEYS: `a:${"0".repeat(64)}:root` })[0]).toContain('unknown role "root"');
    expect(issuesOf({ API_KEYS: `a:${"0".repeat(64)},a:${"1".repeat(64)}` })[0]).toContain('duplicate id "a"');
  });

  it("checks TLS settings together", () => {
    expect(issuesOf({ TLS_CERT_FILE: "/c" })).toEqual([
      "config error: TLS_KEY_FILE: received unset; expected TLS_CERT_FILE and TLS_KEY_FILE set together",
    ]);
    const lines = issuesOf({ TLS_CLIENT_AUTH: "required" });
    expect(lines).toHaveLength(2);
    expect(issuesOf({ CLIENT_CERT_CALLERS: `h:${"0".repeat(64)}` })[0]).toContain("TLS_CLIENT_AUTH=optional or required");
  });

  it("derives a distinct audit key from the vault key unless AUDIT_KEY is set", () => {
    const a = loadConfig({ env: { VAULT_KEY: KEY_HEX } });
    const b = loadConfig({ env: { VAULT_KEY: KEY_HEX } });
    expect(a.auditKey.equals(b.auditKey)).toBe(true);
    expect(a.auditKey.equals(a.vaultKey)).toBe(false);
    expect(loadConfig({ env: { AUDIT_KEY: "x".repeat(40) } }).auditKey.toString()).toBe("x".repeat(40));
  });
});
