import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../config/index.js";
import { PasserelleError } from "../../errors/index.js";
import type { Signer } from "../../trust/signer.js";
import { checkTrustSettings, TRUST_SETTINGS } from "./config.js";
import { decodeDigest } from "./service.js";
import { SignerRegistry, lazySignerSource, type SignerSource } from "./signer-registry.js";

const integration = { PROFILE: "integration", ACCEPT_LICENSE: "true", VAULT_KEY: "ab".repeat(32), API_KEYS: `ops:${"0".repeat(64)}:admin` };

describe("trust settings", () => {
  it("parse SIGNER_CALLERS into each caller's signers, in order", () => {
    expect(TRUST_SETTINGS.signerCallers.parse("acme-pms:keystore+pkcs11, cabinet.b:fr-10001234565-card")).toEqual({
      "acme-pms": ["keystore", "pkcs11"],
      "cabinet.b": ["fr-10001234565-card"],
    });
    for (const bad of ["acme", "acme:", "acme:a b", "a:x,a:y", "bad id:x", " , "]) {
      expect(() => TRUST_SETTINGS.signerCallers.parse(bad), bad).toThrow(/callerId:signerId/);
    }
  });

  it("are read by the gateway's loader, with defaults and secrets from *_FILE", async () => {
    const dir = await mkdtemp(join(tmpdir(), "passerelle-trust-settings-"));
    try {
      await writeFile(join(dir, "pin"), "4321\n");
      const config = loadConfig({
        env: { ...integration, SIGNER_PKCS11_TOKEN_LABEL: "CPS-10001234565", SIGNER_PKCS11_PIN_FILE: join(dir, "pin"), SIGNER_PKCS11_KEY_ID: "0A", TSA_URL: "https://tsa.example/tsa" },
      });
      expect(config).toMatchObject({ signerPkcs11TokenLabel: "CPS-10001234565", signerPkcs11Pin: "4321", signerPkcs11KeyId: "0a", tsaUrl: "https://tsa.example/tsa", tsaTimeoutMs: 10_000 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("report bad values with the variable's name, secrets masked", () => {
    const error = (() => {
      try {
        loadConfig({ env: { ...integration, TSA_URL: "ftp://tsa.example", TSA_TIMEOUT_MS: "5", TSA_POLICY: "policy", SIGNER_PKCS11_KEY_ID: "xyz", SIGNER_KEYSTORE_PASSWORD: "" } });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((issue) => issue.name).sort()).toEqual(["SIGNER_PKCS11_KEY_ID", "TSA_POLICY", "TSA_TIMEOUT_MS", "TSA_URL"]);
  });

  it("check the rules between settings, all at once", () => {
    const issues = (settings: Parameters<typeof checkTrustSettings>[0]): string[] => {
      try {
        checkTrustSettings(settings);
        return [];
      } catch (error) {
        return (error as ConfigError).issues.map((issue) => issue.name).sort();
      }
    };
    expect(issues({})).toEqual([]);
    expect(issues({ signerKeystoreFile: "/k.p12" })).toEqual(["SIGNER_KEYSTORE_PASSWORD", "TRUST_ANCHORS_FILE"]);
    expect(issues({ signerKeystoreFile: "/k.pem", trustAnchorsFile: "/a.pem" })).toEqual([]);
    expect(issues({ signerPkcs11TokenLabel: "CPS", trustAnchorsFile: "/a.pem" })).toEqual(["SIGNER_PKCS11_PIN"]);
    expect(issues({ tsaUrl: "http://tsa", tsaCaFile: "/ca.pem", trustAnchorsFile: "/a.pem" })).toEqual(["TSA_CA_FILE"]);
    expect(issues({ tsaPolicy: "1.2.3", trustCrlFiles: ["/x.crl"], signerKeystoreAlias: "a" })).toEqual(["SIGNER_KEYSTORE_ALIAS", "TRUST_CRL_FILES", "TSA_POLICY"]);
  });
});

describe("decodeDigest", () => {
  const digest = createHash("sha256").update("data").digest();

  it("reads hex, base64 and base64url of the algorithm's length", () => {
    expect(decodeDigest(digest.toString("hex"), "SHA-256")).toEqual(digest);
    expect(decodeDigest(digest.toString("hex").toUpperCase(), "SHA-256")).toEqual(digest);
    expect(decodeDigest(digest.toString("base64"), "SHA-256")).toEqual(digest);
    expect(decodeDigest(digest.toString("base64url"), "SHA-256")).toEqual(digest);
    const sha384 = createHash("sha384").update("data").digest();
    // 64 characters that happen to be hex digits only are base64 here: 48 bytes are 96 hex digits.
    expect(decodeDigest(sha384.toString("base64"), "SHA-384")).toEqual(sha384);
  });

  it("refuses another length or something that is neither", () => {
    for (const [text, algorithm] of [
      [digest.toString("hex"), "SHA-512"],
      [digest.subarray(1).toString("base64"), "SHA-256"],
      ["g".repeat(64), "SHA-256"],
      [`${digest.toString("base64")}!`, "SHA-256"],
    ] as const) {
      expect(() => decodeDigest(text, algorithm)).toThrow(PasserelleError);
    }
  });
});

describe("SignerRegistry", () => {
  const fake = (id: string): SignerSource =>
    lazySignerSource({ id, kind: "software", label: id }, async () => ({ id, keyType: "RSA", algorithms: [], sign: async () => Buffer.alloc(0), certificateChain: async () => [] }) satisfies Signer);
  const sources = ["a", "b", "c"].map(fake);
  const admin = { id: "ops", roles: ["admin"] };
  const acme = { id: "acme", roles: [] };

  it("gives admins every signer, listed callers theirs (first = default), others none", () => {
    const registry = new SignerRegistry(sources, { callers: { acme: ["c", "a"] }, openWhenUnlisted: true });
    expect(registry.usableBy(admin).map((s) => s.id)).toEqual(["a", "b", "c"]);
    expect(registry.usableBy(acme).map((s) => s.id)).toEqual(["c", "a"]);
    expect(registry.resolve(acme, undefined).id).toBe("c");
    expect(registry.usableBy({ id: "other", roles: [] })).toEqual([]);
    expect(() => registry.resolve(acme, "b")).toThrow(expect.objectContaining({ code: "PASSERELLE_FORBIDDEN" }));
    expect(() => registry.resolve(acme, "zz")).toThrow(expect.objectContaining({ code: "PASSERELLE_SIGNER_UNKNOWN" }));
    expect(() => registry.resolve({ id: "other", roles: [] }, undefined)).toThrow(expect.objectContaining({ code: "PASSERELLE_FORBIDDEN" }));
  });

  it("opens to every caller only when asked (the sandbox) and nothing is listed", () => {
    expect(new SignerRegistry(sources, { openWhenUnlisted: true }).usableBy(acme)).toHaveLength(3);
    expect(new SignerRegistry(sources, { openWhenUnlisted: false }).usableBy(acme)).toHaveLength(0);
    expect(() => new SignerRegistry([], { openWhenUnlisted: false }).resolve(admin, undefined)).toThrow(expect.objectContaining({ code: "PASSERELLE_SIGNER_UNKNOWN" }));
  });

  it("refuses misuse when built", () => {
    expect(() => new SignerRegistry([fake("a"), fake("a")], { openWhenUnlisted: false })).toThrow(TypeError);
    expect(() => new SignerRegistry(sources, { callers: { acme: ["x"] }, openWhenUnlisted: false })).toThrow(TypeError);
  });

  it("opens a lazy signer once, and again after a failure", async () => {
    let opened = 0;
    const flaky = lazySignerSource({ id: "f", kind: "pkcs11", label: "f" }, async () => {
      opened += 1;
      if (opened === 1) throw new Error("card absent");
      return { id: "f", keyType: "RSA", algorithms: [], sign: async () => Buffer.alloc(0), certificateChain: async () => [] };
    });
    await expect(flaky.acquire()).rejects.toThrow("card absent");
    const first = await flaky.acquire();
    expect(await flaky.acquire()).toBe(first);
    expect(opened).toBe(2);
    await flaky.close();
    await expect(flaky.acquire()).rejects.toThrow(/closed/);
  });
});
