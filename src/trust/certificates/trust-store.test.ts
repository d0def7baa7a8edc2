import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { existsSync } from "node:fs";
import { appendFile, mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { PasserelleError } from "../../errors/index.js";
import { createLogger } from "../../observability/logger.js";
import { GatewayMetrics } from "../../observability/metrics.js";
import { TrustStore, loadTruststore, type TrustStoreOptions, type TrustStoreSnapshot } from "./index.js";

const run = promisify(execFile);

let workDir: string;
let rootA: string;
let rootB: string;
let rootC: string;
let leafOfB: string;

/** A CA certificate made by OpenSSL, the way an operator would. */
async function opensslRoot(name: string): Promise<string> {
  const base = join(workDir, name);
  await run("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
    "-keyout", `${base}.key`, "-out", `${base}.pem`, "-subj", `/O=Passerelle Tests/CN=${name}`,
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  return readFile(`${base}.pem`, "utf8");
}

async function opensslLeaf(name: string, issuer: string): Promise<string> {
  const base = join(workDir, name);
  await run("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
    "-keyout", `${base}.key`, "-out", `${base}.pem`, "-subj", `/CN=${name}`,
    "-CA", join(workDir, `${issuer}.pem`), "-CAkey", join(workDir, `${issuer}.key`),
    "-addext", "basicConstraints=critical,CA:FALSE", "-addext", "extendedKeyUsage=serverAuth",
  ]);
  return readFile(`${base}.pem`, "utf8");
}

const subjectOf = (pem: string): string => new X509Certificate(pem).subject;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "passerelle-truststore-"));
  [rootA, rootB, rootC] = await Promise.all([opensslRoot("root-a"), opensslRoot("root-b"), opensslRoot("root-c")]);
  leafOfB = await opensslLeaf("leaf-b", "root-b");
});

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

async function trustStoreError(promise: Promise<unknown>): Promise<PasserelleError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof PasserelleError && error.code === "PASSERELLE_TRUST_STORE_INVALID") return error;
    throw error;
  }
  throw new Error("expected PASSERELLE_TRUST_STORE_INVALID");
}

describe("loadTruststore", () => {
  it("reads a PEM bundle, ignoring text between the blocks", async () => {
    const file = join(workDir, "bundle.pem");
    await writeFile(file, `# operator comment\nBag Attributes\n    friendlyName: a\n${rootA}\n${rootB}`);
    const entries = await loadTruststore(file);
    expect(entries.map((entry) => entry.certificate.subject)).toEqual([subjectOf(rootA), subjectOf(rootB)]);
  });

  it("refuses a truncated PEM, a private key, an empty file and a missing file", async () => {
    const truncated = join(workDir, "truncated.pem");
    await writeFile(truncated, rootA + rootB.slice(0, rootB.length / 2));
    expect((await trustStoreError(loadTruststore(truncated))).detail).toMatch(/no END line/);
    const withKey = join(workDir, "with-key.pem");
    await writeFile(withKey, rootA + (await readFile(join(workDir, "root-a.key"), "utf8")));
    expect((await trustStoreError(loadTruststore(withKey))).detail).toMatch(/PRIVATE KEY block; a trust store holds certificates only/);
    const empty = join(workDir, "empty.pem");
    await writeFile(empty, "");
    expect((await trustStoreError(loadTruststore(empty))).detail).toMatch(/is empty/);
    expect((await trustStoreError(loadTruststore(join(workDir, "absent.pem")))).detail).toMatch(/ENOENT/);
  });

  it("reads a directory of PEM and DER files, named by file, ignoring other files", async () => {
    const dir = join(workDir, "anchors.d");
    await mkdir(dir);
    await writeFile(join(dir, "a.pem"), rootA);
    await writeFile(join(dir, "b.cer"), new X509Certificate(rootB).raw);
    await writeFile(join(dir, "notes.txt"), "not a certificate");
    await writeFile(join(dir, "a.pem~"), "editor backup");
    const entries = await loadTruststore(dir);
    expect(entries.map((entry) => [entry.alias, entry.certificate.subject])).toEqual([
      ["a.pem", subjectOf(rootA)],
      ["b.cer", subjectOf(rootB)],
    ]);
    expect((await loadTruststore(dir, { aliases: ["b.cer"] })).map((entry) => entry.alias)).toEqual(["b.cer"]);
  });

  it("reads an OpenSSL PKCS#12 truststore with its aliases, and refuses a wrong password or an unknown alias", async () => {
    const bundle = join(workDir, "p12-in.pem");
    await writeFile(bundle, rootA + rootB);
    const p12 = join(workDir, "openssl-truststore.p12");
    await run("openssl", ["pkcs12", "-export", "-nokeys", "-in", bundle, "-out", p12, "-passout", "pass:changeit", "-caname", "root-a", "-caname", "root-b"]);
    const entries = await loadTruststore(p12, { password: "changeit" });
    expect(entries.map((entry) => [entry.alias, entry.certificate.subject])).toEqual([
      ["root-a", subjectOf(rootA)],
      ["root-b", subjectOf(rootB)],
    ]);
    expect((await loadTruststore(p12, { password: "changeit", aliases: ["root-b"] })).map((entry) => entry.certificate.subject)).toEqual([subjectOf(rootB)]);
    expect((await trustStoreError(loadTruststore(p12, { password: "wrong" }))).detail).toMatch(/wrong truststore password/);
    expect((await trustStoreError(loadTruststore(p12, { password: "changeit", aliases: ["root-z"] }))).detail).toMatch(/no entry "root-z" \(it has "root-a", "root-b"\)/);
    const truncated = join(workDir, "truncated.p12");
    await writeFile(truncated, (await readFile(p12)).subarray(0, 200));
    await trustStoreError(loadTruststore(truncated, { password: "changeit" }));
  });

  it.skipIf(!existsSync("/usr/bin/keytool"))("reads a Java keytool truststore, trusting only its trustedCertEntry certificates", async () => {
    // A key entry (made by OpenSSL) whose chain certificate is root C, plus a trustedCertEntry for root A added by keytool.
    const keystore = join(workDir, "java-truststore.p12");
    await run("openssl", [
      "pkcs12", "-export", "-in", join(workDir, "root-c.pem"), "-inkey", join(workDir, "root-c.key"),
      "-name", "my-key", "-out", keystore, "-passout", "pass:changeit",
    ]);
    await run("keytool", [
      "-importcert", "-noprompt", "-alias", "LuxTrust-Root", "-file", join(workDir, "root-a.pem"),
      "-keystore", keystore, "-storetype", "PKCS12", "-storepass", "changeit",
    ]);
    const entries = await loadTruststore(keystore, { password: "changeit" });
    expect(entries.map((entry) => [entry.alias, entry.certificate.subject])).toEqual([["LuxTrust-Root", subjectOf(rootA)]]);
  });
});

// ------------------------------------------------------------- reloading

interface Harness {
  store: TrustStore;
  file: string;
  logs: Array<Record<string, unknown>>;
  metrics: GatewayMetrics;
  reloads: TrustStoreSnapshot[];
}

const opened: TrustStore[] = [];

afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});

async function openStore(name: string, content: string, watch: TrustStoreOptions["watch"]): Promise<Harness> {
  const dir = join(workDir, name);
  await mkdir(dir, { recursive: true });
  const file = join(dir, "anchors.pem");
  await writeFile(file, content);
  const logs: Array<Record<string, unknown>> = [];
  const logger = createLogger({ level: "debug", destination: { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) } });
  const metrics = new GatewayMetrics({ processMetrics: false });
  const store = await TrustStore.open({ name, sources: [{ path: file }], logger, metrics, watch });
  opened.push(store);
  const reloads: TrustStoreSnapshot[] = [];
  store.onReload((snapshot) => reloads.push(snapshot));
  return { store, file, logs, metrics, reloads };
}

async function reloadCount(metrics: GatewayMetrics, store: string, outcome: "success" | "error"): Promise<number> {
  const metric = await metrics.trustReloads.get();
  return metric.values.find((value) => value.labels.store === store && value.labels.outcome === outcome)?.value ?? 0;
}

async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs = 2_000): Promise<number> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Date.now() - started;
}

async function replaceAtomically(file: string, content: string): Promise<void> {
  await writeFile(`${file}.tmp`, content);
  await rename(`${file}.tmp`, file);
}

describe("TrustStore", () => {
  it("picks up an atomically replaced anchors file within a second, logs it, counts it and tells listeners", async () => {
    const { store, file, logs, metrics, reloads } = await openStore("atomic", rootA, { debounceMs: 50, pollIntervalMs: 0 });
    expect(store.anchors.map((c) => c.subject)).toEqual([subjectOf(rootA)]);
    expect(failureReason(await store.validate(leafOfB, { purpose: "tls-server" }))).toBe("issuer_not_found");

    await replaceAtomically(file, rootB);
    const elapsed = await eventually(() => reloads.length === 1);
    expect(elapsed).toBeLessThan(1_000);
    expect(store.anchors.map((c) => c.subject)).toEqual([subjectOf(rootB)]);
    expect(reloads[0]!.version).toBe(2);
    expect(await reloadCount(metrics, "atomic", "success")).toBe(1);
    expect(logs.find((line) => line.msg === "trust store reloaded")).toMatchObject({
      level: "info",
      store: "atomic",
      anchors: 1,
      added: [subjectOf(rootB)],
      removed: [subjectOf(rootA)],
    });
    expect((await store.validate(leafOfB, { purpose: "tls-server" })).valid).toBe(true);
  });

  it("keeps the previous anchors when the new file is garbage or half-written, counts an error, and recovers on the next good write", async () => {
    const { store, file, logs, metrics, reloads } = await openStore("garbage", rootA, { debounceMs: 50, pollIntervalMs: 0 });
    // Written in two steps, like `cat > file`: the first event sees half a certificate.
    await writeFile(file, rootB.slice(0, 150));
    await eventually(async () => (await reloadCount(metrics, "garbage", "error")) >= 1);
    expect(store.anchors.map((c) => c.subject)).toEqual([subjectOf(rootA)]);
    expect(reloads).toHaveLength(0);
    expect(logs.find((line) => line.msg === "trust store reload failed; keeping the previous certificates")).toMatchObject({ level: "error", store: "garbage" });

    await appendFile(file, rootB.slice(150));
    await eventually(() => reloads.length === 1);
    expect(store.anchors.map((c) => c.subject)).toEqual([subjectOf(rootB)]);
    expect(await reloadCount(metrics, "garbage", "success")).toBe(1);
  });

  it("notices changes by polling when file events are off", async () => {
    const { store, file, reloads } = await openStore("polling", rootA, { fileEvents: false, pollIntervalMs: 100 });
    await replaceAtomically(file, rootA + rootC);
    await eventually(() => reloads.length === 1);
    expect(store.anchors.map((c) => c.subject)).toEqual([subjectOf(rootA), subjectOf(rootC)]);
  });

  it("does not count a touch that changes nothing, and stops following after close", async () => {
    const { store, file, metrics, reloads } = await openStore("closing", rootA, { debounceMs: 20, pollIntervalMs: 50 });
    await replaceAtomically(file, rootA);
    expect(await store.reload()).toBe("unchanged");
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(reloads).toHaveLength(0);
    expect(await reloadCount(metrics, "closing", "success")).toBe(0);
    await store.close();
    await replaceAtomically(file, rootB);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(store.anchors.map((c) => c.subject)).toEqual([subjectOf(rootA)]);
    expect(await reloadCount(metrics, "closing", "error")).toBe(0);
  });

  it("refuses to start on unreadable trust material, and on caller mistakes", async () => {
    const file = join(workDir, "bad-start.pem");
    await writeFile(file, "-----BEGIN CERTIFICATE-----\nAAAA\n");
    const logger = createLogger({ level: "silent" });
    const error = await trustStoreError(TrustStore.open({ name: "bad", sources: [{ path: file }], logger, watch: false }));
    expect(error.status).toBe(500);
    await expect(TrustStore.open({ name: "has space", sources: [{ path: file }], logger })).rejects.toThrow(TypeError);
    await expect(TrustStore.open({ name: "x", sources: [], logger })).rejects.toThrow(TypeError);
    await expect(TrustStore.open({ name: "x", sources: [{ path: file, role: "intermediates" }], logger })).rejects.toThrow(/anchors/);
  });

  it("follows a directory source: a certificate dropped in is trusted", async () => {
    const dir = join(workDir, "dir-source");
    await mkdir(dir);
    await writeFile(join(dir, "a.pem"), rootA);
    const logger = createLogger({ level: "silent" });
    const store = await TrustStore.open({ name: "dir", sources: [{ path: dir }], logger, watch: { debounceMs: 50, pollIntervalMs: 0 } });
    opened.push(store);
    await replaceAtomically(join(dir, "b.pem"), rootB);
    await eventually(() => store.anchors.length === 2);
    expect(store.snapshot().entries.map((entry) => entry.alias).sort()).toEqual(["a.pem", "b.pem"]);
  });
});

function failureReason(result: Awaited<ReturnType<TrustStore["validate"]>>): string | undefined {
  return result.valid ? undefined : result.reason;
}
