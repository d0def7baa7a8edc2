import { readFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { MANIFEST_FILE, builtinTemplatesDirectory, decodeBundle, verifyPackageSignature } from "../../services/lu/templates/index.js";
import { SandboxPki } from "../../trust/pki/index.js";
import { LU_IHUB_BASE_PATH, buildLuIhubApp, type LuIhubApp } from "./simulator.js";

const logger = pino({ level: "silent" });
let dataDir: string;
let pki: SandboxPki;
let app: LuIhubApp;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "passerelle-lu-ihub-"));
  pki = await SandboxPki.open(dataDir);
  app = await buildLuIhubApp(pki, logger);
  await app.ready();
});

afterAll(async () => {
  await app.close();
  await rm(dataDir, { recursive: true, force: true });
});

afterEach(async () => {
  await app.inject({ method: "DELETE", url: "/_test/latest" });
});

describe("iHub simulator", () => {
  it("publishes 1.0.0 (the built-in templates) and 1.1.0, both signed by the LU code-signing certificate", async () => {
    const index = await app.inject({ method: "GET", url: `${LU_IHUB_BASE_PATH}/templates/packages` });
    expect(index.statusCode).toBe(200);
    const body = index.json<{ latest: string; packages: { version: string; digest: string; size: number }[] }>();
    expect(body.latest).toBe("1.1.0");
    expect(body.packages.map((entry) => entry.version)).toEqual(["1.0.0", "1.1.0"]);

    const v100 = await app.inject({ method: "GET", url: `${LU_IHUB_BASE_PATH}/templates/packages/1.0.0` });
    const pkg = decodeBundle(v100.rawPayload);
    expect(pkg.manifestBytes.equals(await readFile(join(builtinTemplatesDirectory(), MANIFEST_FILE)))).toBe(true);
    expect(pkg.digest).toBe(body.packages[0]!.digest);
    const signer = await verifyPackageSignature(pkg, { anchors: [pki.caCertPem("LU")] });
    expect(signer.subject).toContain("OU=iHub");

    const latest = await app.inject({ method: "GET", url: `${LU_IHUB_BASE_PATH}/templates/packages/latest` });
    expect(latest.headers["content-type"]).toContain("application/json");
    const newest = decodeBundle(latest.rawPayload);
    expect(newest.manifest.packageVersion).toBe("1.1.0");
    expect(newest.manifest.templates.find((t) => t.id === "lu-ecit")?.version).toBe("1.1.0");
    expect(latest.headers.etag).toBe(`"${newest.digest}"`);
  });

  it("answers 304 to the current ETag and 404 to an unknown version", async () => {
    const latest = await app.inject({ method: "GET", url: `${LU_IHUB_BASE_PATH}/templates/packages/latest` });
    const again = await app.inject({ method: "GET", url: `${LU_IHUB_BASE_PATH}/templates/packages/latest`, headers: { "if-none-match": String(latest.headers.etag) } });
    expect(again.statusCode).toBe(304);
    expect(again.rawPayload.length).toBe(0);
    const other = await app.inject({ method: "GET", url: `${LU_IHUB_BASE_PATH}/templates/packages/latest`, headers: { "if-none-match": '"0000"' } });
    expect(other.statusCode).toBe(200);
    const missing = await app.inject({ method: "GET", url: `${LU_IHUB_BASE_PATH}/templates/packages/9.9.9` });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: "PASSERELLE_NOT_FOUND" });
  });

  it("pins latest to an older version or damages it on demand, and validates the test API", async () => {
    expect((await app.inject({ method: "POST", url: "/_test/latest", payload: { version: "1.0.0" } })).statusCode).toBe(200);
    const pinned = await app.inject({ method: "GET", url: `${LU_IHUB_BASE_PATH}/templates/packages/latest` });
    expect(decodeBundle(pinned.rawPayload).manifest.packageVersion).toBe("1.0.0");

    await app.inject({ method: "POST", url: "/_test/latest", payload: { mode: "unsigned" } });
    expect((await app.inject({ method: "GET", url: "/_test/latest" })).json()).toEqual({ mode: "unsigned" });
    const unsigned = await app.inject({ method: "GET", url: `${LU_IHUB_BASE_PATH}/templates/packages/latest` });
    expect(decodeBundle(unsigned.rawPayload).signature).toBeUndefined();

    for (const payload of [{ mode: "melted" }, { version: "3.0.0" }, { colour: "red" }, {}]) {
      const refused = await app.inject({ method: "POST", url: "/_test/latest", payload });
      expect(refused.statusCode, JSON.stringify(payload)).toBe(400);
      expect(refused.json()).toMatchObject({ code: "PASSERELLE_VALIDATION" });
    }
  });

  it("has no test API when fault injection is off", async () => {
    const production = await buildLuIhubApp(pki, logger, { faultInjection: false });
    try {
      expect((await production.inject({ method: "POST", url: "/_test/latest", payload: { mode: "unsigned" } })).statusCode).toBe(404);
    } finally {
      await production.close();
    }
  });
});
