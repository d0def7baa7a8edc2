import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PasserelleError } from "../../../errors/index.js";
import { buildCatalogue, type PublishedPackage } from "../../../sandbox/lu-ihub/catalogue.js";
import { damagedBundle, type PackageFaultMode } from "../../../sandbox/lu-ihub/faults.js";
import { luIhubSigner, untrustedSigner, wrongPurposeSigner } from "../../../sandbox/lu-ihub/signing-identities.js";
import { SandboxPki } from "../../../trust/pki/index.js";
import { SoftwareSigner } from "../../../trust/signers/index.js";
import type { Signer } from "../../../trust/signer.js";
import {
  TemplatePackageError,
  TemplateStore,
  buildManifest,
  decodeBundle,
  encodeBundle,
  packageFrom,
  signManifest,
  type PackageRejectionReason,
  type PackageTrust,
  type TemplatePackage,
} from "./index.js";
import { sampleEcitData } from "./test-fixtures.js";

const run = promisify(execFile);
const logger = pino({ level: "silent" });
let workDir: string;
let pki: SandboxPki;
let signer: Signer;
let trust: PackageTrust;
let published: PublishedPackage[];
let v100: TemplatePackage;
let v110: TemplatePackage;
let directoryCounter = 0;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "passerelle-lu-template-store-"));
  pki = await SandboxPki.open(join(workDir, "sandbox"));
  signer = await luIhubSigner(pki);
  trust = { anchors: [pki.caCertPem("LU")] };
  published = await buildCatalogue(signer);
  [v100, v110] = published.map((entry) => entry.pkg) as [TemplatePackage, TemplatePackage];
});

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

function newDataDir(): string {
  return join(workDir, `store-${++directoryCounter}`);
}

/** A package made of `files` (manifest written for them), signed by `by`. */
async function makePackage(files: ReadonlyMap<string, Buffer>, version: string, by: Signer | undefined = signer): Promise<TemplatePackage> {
  const manifestBytes = buildManifest({ packageVersion: version, publisher: "test", files });
  return packageFrom(manifestBytes, files, by === undefined ? undefined : await signManifest(manifestBytes, by));
}

function editTemplate(pkg: TemplatePackage, path: string, edit: (template: Record<string, unknown>) => void): Map<string, Buffer> {
  const files = new Map(pkg.files);
  const template = JSON.parse(files.get(path)!.toString("utf8")) as Record<string, unknown>;
  edit(template);
  files.set(path, Buffer.from(JSON.stringify(template)));
  return files;
}

async function rejection(promise: Promise<unknown>): Promise<TemplatePackageError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(TemplatePackageError);
  const refused = error as TemplatePackageError;
  expect(refused.code).toBe("PASSERELLE_TEMPLATE_PACKAGE_REJECTED");
  expect(refused.status).toBe(502);
  return refused;
}

/** Everything a refused package must leave as it was: the active set, the state file, the package directories. */
async function storeState(store: TemplateStore, dataDir: string): Promise<{ digest: string; snapshot: unknown; state: string; packages: string[] }> {
  const state = await readFile(join(dataDir, "state.json"), "utf8").catch(() => "(none)");
  const packages = await readdir(join(dataDir, "packages")).catch(() => [] as string[]);
  return { digest: store.snapshot().digest, snapshot: store.snapshot(), state, packages: packages.sort() };
}

async function footerOf(pdf: Uint8Array): Promise<string> {
  const file = join(workDir, `render-${++directoryCounter}.pdf`);
  await writeFile(file, pdf);
  const { stdout } = await run("pdftotext", ["-layout", file, "-"], { encoding: "utf8" });
  return stdout.replaceAll("\u00a0", " ");
}

describe("TemplateStore", () => {
  it("applies a newer signed package, reports the change, and keeps in-flight snapshots on the old version", async () => {
    const dataDir = newDataDir();
    const store = await TemplateStore.open({ dataDir, logger });
    const before = store.snapshot();
    const inFlight = before.render("lu-ecit", sampleEcitData());

    const report = await store.applyPackage(v110, { trust });
    expect(report).toMatchObject({
      outcome: "applied",
      packageVersion: "1.1.0",
      previousPackageVersion: "1.0.0",
      digest: v110.digest,
      added: [],
      updated: [{ id: "lu-ecit", from: "1.0.0", to: "1.1.0" }],
      removed: [],
    });
    expect(report.signer?.subject).toContain("CN=iHub template signing (sandbox)");

    // The swap: new requests see 1.1.0, the one that started before finishes with 1.0.0.
    expect(store.snapshot()).not.toBe(before);
    expect(store.snapshot().packageVersion).toBe("1.1.0");
    expect((await inFlight).templateVersion).toBe("1.0.0");
    expect(await footerOf((await before.render("lu-ecit", sampleEcitData())).pdf)).toContain("modèle lu-ecit 1.0.0");
    const updated = await store.render("lu-ecit", sampleEcitData());
    expect(updated.templateVersion).toBe("1.1.0");
    const text = await footerOf(updated.pdf);
    expect(text).toContain("formulaire 2025");
    expect(text).toContain("modèle lu-ecit 1.1.0");

    // The schema changed too: the new member is accepted by 1.1.0 only.
    const withPartTime = sampleEcitData();
    (withPartTime.incapacity as Record<string, unknown>).therapeuticPartTime = true;
    expect(await footerOf((await store.render("lu-ecit", withPartTime)).pdf)).toMatch(/Reprise progressive[\s\S]*Oui/);
    expect(() => before.validate("lu-ecit", withPartTime)).toThrow(PasserelleError);
    // The previous version stays reachable by number while it is the rollback target.
    expect(store.get("lu-ecit", "1.0.0").version).toBe("1.0.0");
    expect((await store.render("lu-ecit", sampleEcitData(), { version: "1.0.0" })).templateVersion).toBe("1.0.0");

    const state = JSON.parse(await readFile(join(dataDir, "state.json"), "utf8")) as Record<string, unknown>;
    expect(state).toEqual({ format: 1, current: `1.1.0-${v110.digest.slice(0, 12)}`, previous: "builtin", rolledBack: [] });
    expect(await readdir(join(dataDir, "packages"))).toEqual([`1.1.0-${v110.digest.slice(0, 12)}`]);
    expect(await readFile(join(dataDir, "packages", `1.1.0-${v110.digest.slice(0, 12)}`, "manifest.p7s"))).toEqual(v110.signature);
  });

  it("reports templates added and removed", async () => {
    const store = await TemplateStore.open({ logger });
    const files = new Map(v110.files);
    files.delete("templates/lu-pid.json");
    const receipt = JSON.parse(files.get("templates/lu-fee-note.json")!.toString("utf8")) as Record<string, unknown>;
    files.set("templates/lu-receipt.json", Buffer.from(JSON.stringify({ ...receipt, id: "lu-receipt", version: "1.0.0", title: "Reçu" })));
    const report = await store.applyPackage(await makePackage(files, "2.0.0"), { trust });
    expect(report).toMatchObject({
      outcome: "applied",
      added: [{ id: "lu-receipt", version: "1.0.0" }],
      updated: [{ id: "lu-ecit", from: "1.0.0", to: "1.1.0" }],
      removed: [{ id: "lu-pid", version: "1.0.0" }],
    });
    expect(store.list().map((t) => t.id)).toEqual(["lu-ecit", "lu-fee-note", "lu-receipt"]);
  });

  it("keeps applied packages across restarts, rolls back, and does not re-apply what was rolled back", async () => {
    const dataDir = newDataDir();
    const first = await TemplateStore.open({ dataDir, logger });
    expect((await first.applyPackage(v100, { trust })).outcome).toBe("unchanged"); // the built-in package, signed
    await first.applyPackage(v110, { trust });

    const restarted = await TemplateStore.open({ dataDir, logger });
    expect(restarted.snapshot().packageVersion).toBe("1.1.0");
    expect(restarted.snapshot().digest).toBe(v110.digest);
    expect(restarted.previousSnapshot()?.packageVersion).toBe("1.0.0");

    const rollback = await restarted.rollback();
    expect(rollback).toEqual({ packageVersion: "1.0.0", rolledBackFrom: "1.1.0", added: [], updated: [{ id: "lu-ecit", from: "1.1.0", to: "1.0.0" }], removed: [] });
    expect(restarted.snapshot().packageVersion).toBe("1.0.0");
    expect(await readdir(join(dataDir, "packages"))).toEqual([]);

    const again = await TemplateStore.open({ dataDir, logger });
    expect(again.snapshot().packageVersion).toBe("1.0.0");
    expect(again.isRolledBack(v110.digest)).toBe(true);
    expect((await again.applyPackage(v110, { trust })).outcome).toBe("skipped");
    expect(again.snapshot().packageVersion).toBe("1.0.0");

    const error = await again.rollback().then(
      () => undefined,
      (caught: unknown) => caught as PasserelleError,
    );
    expect(error?.code).toBe("PASSERELLE_CONFLICT");
  });

  it("serialises concurrent applies: one applies, the other finds it active", async () => {
    const store = await TemplateStore.open({ dataDir: newDataDir(), logger });
    const outcomes = await Promise.all([store.applyPackage(v110, { trust }), store.applyPackage(v110, { trust })]);
    expect(outcomes.map((report) => report.outcome)).toEqual(["applied", "unchanged"]);
  });

  it("cleans up an interrupted write and survives a damaged applied package", async () => {
    const dataDir = newDataDir();
    const store = await TemplateStore.open({ dataDir, logger });
    await store.applyPackage(v110, { trust });
    const leftover = join(dataDir, "packages", ".tmp-crashed");
    await mkdir(leftover, { recursive: true });
    await writeFile(join(leftover, "manifest.json"), "{ half");

    const reopened = await TemplateStore.open({ dataDir, logger });
    expect(await readdir(join(dataDir, "packages"))).toEqual([`1.1.0-${v110.digest.slice(0, 12)}`]);
    expect(reopened.snapshot().packageVersion).toBe("1.1.0");

    // Someone edits an applied template on disk: its hash no longer matches, so it is not used.
    const ecit = join(dataDir, "packages", `1.1.0-${v110.digest.slice(0, 12)}`, "templates", "lu-ecit.json");
    await writeFile(ecit, (await readFile(ecit, "utf8")).replace("formulaire 2025", "formulaire 2099"));
    const fallback = await TemplateStore.open({ dataDir, logger });
    expect(fallback.snapshot().packageVersion).toBe("1.0.0");
    expect(fallback.snapshot().origin).toBe("builtin");
  });

  it("verifies the signature with OpenSSL too (the format is plain CMS)", async () => {
    const dir = join(workDir, "openssl");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "manifest.json"), v110.manifestBytes);
    await writeFile(join(dir, "manifest.p7s"), v110.signature!);
    await writeFile(join(dir, "anchors.pem"), pki.rootCertPem + pki.caCertPem("LU"));
    const verify = (content: string) =>
      run("openssl", ["cms", "-verify", "-binary", "-inform", "DER", "-in", join(dir, "manifest.p7s"), "-content", join(dir, content), "-CAfile", join(dir, "anchors.pem"), "-purpose", "any", "-out", "/dev/null"]);
    await expect(verify("manifest.json")).resolves.toBeDefined();
    await writeFile(join(dir, "altered.json"), Buffer.from(v110.manifestBytes.toString("utf8").replace("1.1.0", "1.1.1")));
    await expect(verify("altered.json")).rejects.toThrow();
  });
});

describe("TemplateStore refuses a bad package and changes nothing", () => {
  let store: TemplateStore;
  let dataDir: string;
  const faultSigners = {
    wrongPurpose: () => wrongPurposeSigner(pki),
    untrusted: () => untrustedSigner(),
  };

  beforeAll(async () => {
    dataDir = newDataDir();
    store = await TemplateStore.open({ dataDir, logger });
    await store.applyPackage(v110, { trust });
  });

  const damaged: [PackageFaultMode, PackageRejectionReason][] = [
    ["unsigned", "unsigned"],
    ["corrupt-file", "hash_mismatch"],
    ["tampered-manifest", "signature_invalid"],
    ["untrusted-signer", "signer_untrusted"],
    ["wrong-purpose", "signer_untrusted"],
    ["extra-file", "file_unexpected"],
  ];

  it.each(damaged)("%s → %s", async (mode, reason) => {
    // A newer version, so that only the damage can be the reason for refusal.
    const newer = await makePackage(v110.files, "1.2.0");
    const before = await storeState(store, dataDir);
    const refused = await rejection((async () => store.applyPackage(decodeBundle(await damagedBundle(newer, mode, faultSigners)), { trust }))());
    expect(refused.reason).toBe(reason);
    expect(refused.extensions).toMatchObject({ reason });
    expect(await storeState(store, dataDir)).toEqual(before);
  });

  it("refuses a truncated or garbled bundle before looking further", () => {
    const bundle = encodeBundle(v110);
    expect(() => decodeBundle(bundle.subarray(0, bundle.length - 10))).toThrow(TemplatePackageError);
    const garbled = JSON.parse(bundle.toString("utf8")) as { files: Record<string, string> };
    garbled.files["fonts/DejaVuSans.ttf"] = `${garbled.files["fonts/DejaVuSans.ttf"]!.slice(0, -4)}!!!!`;
    const error = (() => {
      try {
        decodeBundle(Buffer.from(JSON.stringify(garbled)));
      } catch (caught) {
        return caught as TemplatePackageError;
      }
      return undefined;
    })();
    expect(error?.reason).toBe("malformed");
  });

  it("refuses a signer from another CA, even with the code-signing usage", async () => {
    const identity = await pki.clientIdentity("fr-code-signer", {
      country: "FR",
      subject: { C: "FR", O: "Passerelle Sandbox", CN: "Not iHub" },
      extendedKeyUsages: ["codeSigning"],
    });
    const foreign = SoftwareSigner.fromPem({ keyPem: identity.keyPem, certificatePem: identity.certPem + identity.chainPem.join("") });
    const before = await storeState(store, dataDir);
    expect((await rejection(store.applyPackage(await makePackage(v110.files, "1.2.0", foreign), { trust }))).reason).toBe("signer_untrusted");
    expect(await storeState(store, dataDir)).toEqual(before);
  });

  const semantic: [string, () => Promise<TemplatePackage>, PackageRejectionReason][] = [
    ["an older package (downgrade)", () => makePackage(v100.files, "1.0.5"), "downgrade"],
    ["the active version with other content", () => makePackage(editTemplate(v110, "templates/lu-pid.json", (t) => (t.title = "PID modifié")), "1.1.0"), "version_reused"],
    ["a template going back a version", () => makePackage(editTemplate(v110, "templates/lu-ecit.json", (t) => (t.version = "0.9.0")), "1.2.0"), "downgrade"],
    ["a template that does not compile", () => makePackage(editTemplate(v110, "templates/lu-pid.json", (t) => ((t.layout as { footer: string }).footer = "{{ sum(a }}")), "1.2.0"), "template_invalid"],
    ["a template whose data schema is not a schema", () => makePackage(editTemplate(v110, "templates/lu-pid.json", (t) => ((t.schema as Record<string, unknown>).properties = 42)), "1.2.0"), "template_invalid"],
    [
      "a manifest listing a file the package lacks",
      async () => {
        const pkg = await makePackage(v110.files, "1.2.0");
        const files = new Map(pkg.files);
        files.delete("fonts/LICENSE-DejaVu.txt");
        return { ...pkg, files };
      },
      "file_missing",
    ],
  ];

  it.each(semantic)("%s", async (_label, make, reason) => {
    const before = await storeState(store, dataDir);
    expect((await rejection((async () => store.applyPackage(await make(), { trust }))())).reason).toBe(reason);
    expect(await storeState(store, dataDir)).toEqual(before);
  });

  // Data validators are compiled on first use: what would make that fail must still refuse the package before it applies.
  it.each([
    ["a pattern that is no regular expression", { type: "string", pattern: "([" }, /data schema is unusable: not a JSON Schema \(2020-12\): \/properties\/pidNumber\/pattern /],
    ["a reference to a definition the schema lacks", { $ref: "#/$defs/nowhere" }, /data schema is unusable: the reference "#\/\$defs\/nowhere" does not resolve/],
  ])("a template whose data schema has %s", async (_label, pidNumber, detail) => {
    const before = await storeState(store, dataDir);
    const files = editTemplate(v110, "templates/lu-pid.json", (t) => ((t.schema as { properties: Record<string, unknown> }).properties.pidNumber = pidNumber));
    const refused = await rejection((async () => store.applyPackage(await makePackage(files, "1.2.0"), { trust }))());
    expect(refused.reason).toBe("template_invalid");
    expect(refused.detail).toMatch(/^templates\/lu-pid\.json: /);
    expect(refused.detail).toMatch(detail);
    expect(await storeState(store, dataDir)).toEqual(before);
  });
});
