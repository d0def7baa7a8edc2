/**
 * Template sync end to end: the iHub simulator over real HTTPS (sandbox
 * TLS), the transport's UpstreamClient, signature and hash verification,
 * the atomic swap, rollback, and each damaged package refused.
 */
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { Agent, request } from "undici";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { GatewayMetrics } from "../../../observability/metrics.js";
import { LU_IHUB_BASE_PATH, LU_IHUB_SIMULATOR_ID, luIhubSimulator } from "../../../sandbox/lu-ihub/index.js";
import { startSandbox, type RunningSandbox } from "../../../sandbox/start-sandbox.js";
import { UpstreamError } from "../../../transport/index.js";
import { IhubClient, TemplatePackageError, TemplateStore, syncTemplates, type PackageRejectionReason, type PackageTrust } from "./index.js";
import { sampleEcitData } from "./test-fixtures.js";

const logger = pino({ level: "silent" });
let workDir: string;
let sandbox: RunningSandbox;
let ihub: IhubClient;
let trust: PackageTrust;
let storeCounter = 0;

async function setLatest(body: Record<string, unknown> | undefined): Promise<void> {
  const response = await fetchSimulator("/_test/latest", body === undefined ? { method: "DELETE" } : { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
  expect(response.status).toBeLessThan(300);
}

/** Test-API calls (not the code under test) go through undici's fetch with the sandbox root trusted. */
async function fetchSimulator(path: string, init: { method: string; body?: string; headers?: Record<string, string> }): Promise<{ status: number }> {
  const dispatcher = new Agent({ connect: { ca: sandbox.pki.rootCertPem } });
  try {
    const answer = await request(`${sandbox.url(LU_IHUB_SIMULATOR_ID)}${path}`, { method: init.method as "POST", body: init.body ?? null, headers: init.headers ?? {}, dispatcher });
    await answer.body.dump();
    return { status: answer.statusCode };
  } finally {
    await dispatcher.close();
  }
}

async function openStore(): Promise<{ store: TemplateStore; dataDir: string }> {
  const dataDir = join(workDir, `store-${++storeCounter}`);
  return { store: await TemplateStore.open({ dataDir, logger }), dataDir };
}

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "passerelle-lu-ihub-sync-"));
  sandbox = await startSandbox({ dataDir: join(workDir, "sandbox"), simulators: [luIhubSimulator()], logger });
  ihub = new IhubClient({
    baseUrl: `${sandbox.url(LU_IHUB_SIMULATOR_ID)}${LU_IHUB_BASE_PATH}`,
    tls: { ca: sandbox.pki.rootCertPem },
    metrics: new GatewayMetrics(),
    timeoutMs: 10_000,
  });
  // The iHub truststore: the Luxembourg CA that issues iHub's signing certificate.
  trust = { anchors: [sandbox.pki.caCertPem("LU")] };
});

afterAll(async () => {
  await ihub?.close();
  await sandbox?.close();
  await rm(workDir, { recursive: true, force: true });
});

afterEach(async () => {
  await setLatest(undefined);
});

describe("syncTemplates from the iHub simulator", () => {
  it("lists the published versions", async () => {
    const index = await ihub.listPackages();
    expect(index.latest).toBe("1.1.0");
    expect(index.packages.map((entry) => entry.version)).toEqual(["1.0.0", "1.1.0"]);
  });

  it("applies the new version live, reports it, keeps in-flight renders on the old one, and rolls back", async () => {
    const { store, dataDir } = await openStore();
    const requestSnapshot = store.snapshot(); // a request that started before the sync
    const report = await syncTemplates({ store, ihub, trust });
    expect(report).toMatchObject({
      outcome: "applied",
      packageVersion: "1.1.0",
      previousPackageVersion: "1.0.0",
      added: [],
      updated: [{ id: "lu-ecit", from: "1.0.0", to: "1.1.0" }],
      removed: [],
    });
    expect(report.signer?.issuer).toContain("LU");

    const [inFlight, fresh] = await Promise.all([requestSnapshot.render("lu-ecit", sampleEcitData()), store.render("lu-ecit", sampleEcitData())]);
    expect(inFlight.templateVersion).toBe("1.0.0");
    expect(fresh.templateVersion).toBe("1.1.0");
    expect(fresh.sha256).not.toBe(inFlight.sha256);

    // Nothing new: iHub answers 304 to the active package's ETag.
    expect(await syncTemplates({ store, ihub, trust })).toMatchObject({ outcome: "unchanged", packageVersion: "1.1.0", updated: [] });

    // A restart keeps the applied package, and renders the same bytes.
    const restarted = await TemplateStore.open({ dataDir, logger });
    expect(restarted.snapshot().packageVersion).toBe("1.1.0");
    expect((await restarted.render("lu-ecit", sampleEcitData())).sha256).toBe(fresh.sha256);

    const rollback = await store.rollback();
    expect(rollback).toMatchObject({ packageVersion: "1.0.0", rolledBackFrom: "1.1.0", updated: [{ id: "lu-ecit", from: "1.1.0", to: "1.0.0" }] });
    expect((await store.render("lu-ecit", sampleEcitData())).templateVersion).toBe("1.0.0");
    // The operator's rollback holds: the next sync does not bring 1.1.0 back.
    expect((await syncTemplates({ store, ihub, trust })).outcome).toBe("skipped");
    expect(store.snapshot().packageVersion).toBe("1.0.0");
  });

  it("refuses a downgrade once the newer version is active", async () => {
    const { store } = await openStore();
    await syncTemplates({ store, ihub, trust });
    await setLatest({ version: "1.0.0" });
    const error = await syncTemplates({ store, ihub, trust }).then(
      () => undefined,
      (caught: unknown) => caught as TemplatePackageError,
    );
    expect(error).toBeInstanceOf(TemplatePackageError);
    expect(error?.reason).toBe("downgrade");
    expect(error?.extensions).toMatchObject({ reason: "downgrade", upstream: "lu-ihub" });
    expect(store.snapshot().packageVersion).toBe("1.1.0");
  });

  const damaged: [string, PackageRejectionReason][] = [
    ["corrupt-file", "hash_mismatch"],
    ["tampered-manifest", "signature_invalid"],
    ["unsigned", "unsigned"],
    ["untrusted-signer", "signer_untrusted"],
    ["wrong-purpose", "signer_untrusted"],
    ["extra-file", "file_unexpected"],
    ["truncated", "malformed"],
  ];

  it.each(damaged)("refuses a %s package (%s) and the current templates stay", async (mode, reason) => {
    const { store, dataDir } = await openStore();
    const before = store.snapshot();
    await setLatest({ mode });
    const error = await syncTemplates({ store, ihub, trust }).then(
      () => undefined,
      (caught: unknown) => caught as TemplatePackageError,
    );
    expect(error).toBeInstanceOf(TemplatePackageError);
    expect(error?.reason).toBe(reason);
    expect(error?.status).toBe(502);
    expect(error?.detail).toMatch(/^iHub package refused: /);
    expect(store.snapshot()).toBe(before);
    expect(store.snapshot().packageVersion).toBe("1.0.0");
    expect((await store.render("lu-ecit", sampleEcitData())).templateVersion).toBe("1.0.0");
    // Nothing was written: no state file, no package directory.
    await expect(readFile(join(dataDir, "state.json"))).rejects.toThrow();
    expect(await readdir(join(dataDir, "packages")).catch(() => [])).toEqual([]);
  });

  it("reports an unreachable iHub as an upstream error and keeps the templates", async () => {
    const { store } = await openStore();
    const unreachable = new IhubClient({ baseUrl: "https://127.0.0.1:1/ws/rest/ihub/v1", tls: { ca: sandbox.pki.rootCertPem }, timeoutMs: 2_000 });
    try {
      const error = await syncTemplates({ store, ihub: unreachable, trust }).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(UpstreamError);
      expect((error as UpstreamError).code).toBe("PASSERELLE_UPSTREAM_UNAVAILABLE");
      expect(store.snapshot().packageVersion).toBe("1.0.0");
    } finally {
      await unreachable.close();
    }
  });
});
