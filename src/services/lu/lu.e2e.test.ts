/**
 * The Luxembourg services end to end, through a real gateway (createGateway,
 * sandbox profile) over HTTP, against the sandbox simulators over real
 * HTTPS: a practitioner logs in at the AeS simulator (code + PKCE, her own
 * login page), the calling software asks for an eCIT, the gateway renders it,
 * signs it PAdES-B-T through the KMS simulator (mutual TLS with the
 * eConnector-style generic keystore, the practitioner's token, her key) and
 * time-stamps it; `pdfsig` checks the result independently.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { promisify } from "node:util";
import { Agent, fetch, request as httpRequest } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashApiKey } from "../../config/index.js";
import { createGateway, type Gateway } from "../../gateway/create-gateway.js";
import { verifyPdfSignatures } from "../../protocols/pades/index.js";
import { loginThroughSandboxPage, sandboxIdentitySimulators } from "../../sandbox/idp/index.js";
import type { RunningSandbox } from "../../sandbox/index.js";
import { luIhubSimulator } from "../../sandbox/lu-ihub/index.js";
import { luKmsSimulator } from "../../sandbox/lu-kms/index.js";
import { luMySecuSimulator } from "../../sandbox/lu-mysecu/index.js";
import { identityModule } from "../identity/module.js";
import { LU_MODULE, luModule, type LuModule } from "./module.js";
import { sampleEcitData } from "./templates/test-fixtures.js";

const run = promisify(execFile);
const RETURN_URL = "https://pms.example/after-login";
const KEY = "psk_sandbox_lu_e2e_0123456789";
const OTHER_KEY = "other-pms-key-0123456789";
const ANNE = { username: "101234-56", password: "anne-7314" };
const MARC = { username: "102345-67", password: "marc-2285" };
/** Not enrolled on the mySecu simulator. */
const SANDRINE = { username: "601678-90", password: "sandrine-8361" };

let dataDir: string;
let gateway: Gateway;
let url: string;
let sandbox: RunningSandbox;
let browser: Agent;
let anneSession: string;
let anneToken: string;
let marcToken: string;
let sandrineToken: string;

async function api(method: string, path: string, options: { key?: string; headers?: Record<string, string>; body?: unknown } = {}) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: {
      "x-api-key": options.key ?? KEY,
      ...(options.body === undefined ? {} : { "content-type": "application/json" }),
      ...options.headers,
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const type = response.headers.get("content-type") ?? "";
  const body: unknown = type.includes("json") ? await response.json() : Buffer.from(await response.arrayBuffer());
  return { status: response.status, headers: response.headers, body };
}

/** A practitioner's login through the gateway, as the vendor app does it; returns the session handle. */
async function login(who: { username: string; password: string }): Promise<string> {
  const started = await api("POST", "/v1/auth/login", { body: { clientId: "passerelle-aes", returnUrl: RETURN_URL } });
  const { loginUrl } = started.body as { loginUrl: string };
  const opened = await fetch(loginUrl, { redirect: "manual", dispatcher: browser });
  const cookie = (opened.headers.getSetCookie()[0] ?? "").split(";")[0] ?? "";
  const callback = await loginThroughSandboxPage(new URL(opened.headers.get("location") ?? ""), { ...who, dispatcher: browser });
  const back = await fetch(callback, { redirect: "manual", headers: { cookie } });
  const code = new URL(back.headers.get("location") ?? "").searchParams.get("code");
  const claimed = await api("POST", "/v1/auth/session", { body: { code } });
  return (claimed.body as { session: string }).session;
}

async function accessTokenOf(session: string): Promise<string> {
  const identity = gateway.modules.get("identity") as { service: { sessionTokens(ctx: { caller: string; requestId: string }, handle: string): Promise<{ accessToken: string }> } };
  return (await identity.service.sessionTokens({ caller: "sandbox-demo", requestId: "lu-e2e" }, session)).accessToken;
}

/** What the mySecu simulator has stored (its test API; it asks for no client certificate). */
async function mysecuDeposits(): Promise<Array<{ depositId: string }>> {
  const agent = new Agent({ connect: { ca: sandbox.pki.rootCertPem } });
  try {
    const answer = await httpRequest(`${sandbox.url("lu-mysecu")}/_test/deposits`, { dispatcher: agent });
    const body = (await answer.body.json()) as { deposits: Array<{ depositId: string }> };
    return body.deposits;
  } finally {
    await agent.close();
  }
}

/** The iHub simulator's test API: which package `latest` serves, possibly damaged. */
async function ihubLatest(override: Record<string, unknown> | undefined): Promise<void> {
  const agent = new Agent({ connect: { ca: sandbox.pki.rootCertPem } });
  try {
    const answer = await httpRequest(`${sandbox.url("lu-ihub")}/_test/latest`, {
      dispatcher: agent,
      ...(override === undefined ? { method: "DELETE" } : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(override) }),
    });
    await answer.body.dump();
    expect(answer.statusCode).toBeLessThan(300);
  } finally {
    await agent.close();
  }
}

/** The KMS simulator's fault API (it requires the vendor's client certificate, like the KMS). */
async function kmsFault(fault: Record<string, unknown> | undefined): Promise<void> {
  const lu = gateway.modules.get(LU_MODULE) as LuModule;
  const keystore = lu.material.kms?.genericKeystore;
  if (keystore === undefined) throw new Error("the sandbox configures the KMS");
  const agent = new Agent({ connect: { ca: sandbox.pki.rootCertPem, pfx: keystore.pkcs12, passphrase: keystore.password } });
  try {
    const answer = await httpRequest(`${sandbox.url("lu-kms")}/_test/faults`, {
      dispatcher: agent,
      ...(fault === undefined ? { method: "DELETE" } : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(fault) }),
    });
    await answer.body.dump();
    expect(answer.statusCode).toBeLessThan(300);
  } finally {
    await agent.close();
  }
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "passerelle-lu-e2e-"));
  gateway = await createGateway({
    env: {
      PORT: "0",
      DATA_DIR: dataDir,
      RATE_LIMIT_PER_MINUTE: "0",
      SANDBOX_API_KEY: KEY,
      API_KEYS: `other-pms:${hashApiKey(OTHER_KEY)}`,
      AUTH_RETURN_URLS: RETURN_URL,
    },
    simulators: [...sandboxIdentitySimulators(), luKmsSimulator(), luMySecuSimulator(), luIhubSimulator()],
    modules: [identityModule(), luModule()],
    logDestination: new Writable({ write: (_chunk, _encoding, callback) => callback() }),
  });
  url = await gateway.listen();
  if (gateway.sandbox === undefined) throw new Error("sandbox profile");
  sandbox = gateway.sandbox.sandbox;
  browser = new Agent({ connect: { ca: sandbox.pki.rootCertPem } });
  anneSession = await login(ANNE);
  anneToken = await accessTokenOf(anneSession);
  marcToken = await accessTokenOf(await login(MARC));
  sandrineToken = await accessTokenOf(await login(SANDRINE));
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  await browser?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe("Luxembourg documents through the gateway", () => {
  it("lists the CNS templates with their versions and data schemas", async () => {
    const answer = await api("GET", "/v1/lu/templates");
    expect(answer.status).toBe(200);
    const body = answer.body as { templates: Array<{ id: string; version: string; schema: { type: string } }> };
    expect(body.templates.map((t) => t.id).sort()).toEqual(["lu-ecit", "lu-fee-note", "lu-pid"]);
    expect(body.templates.every((t) => t.schema.type === "object")).toBe(true);
  });

  it("renders an eCIT, signs it PAdES-B-T in Anne's name through the KMS (with her token), and pdfsig finds it valid", async () => {
    const answer = await api("POST", "/v1/lu/documents", { headers: { "x-practitioner-token": anneToken }, body: { template: "lu-ecit", data: sampleEcitData() } });
    expect(answer.status).toBe(200);
    const body = answer.body as { document: { templateId: string; signer: { providerCode: string }; sha256: string; signatureLevel: string }; pdf: string };
    expect(body.document).toMatchObject({ templateId: "lu-ecit", signatureLevel: "PAdES-B-T", signer: { providerCode: "101234-56" } });
    const pdf = Buffer.from(body.pdf, "base64");
    const file = join(dataDir, "ecit.pdf");
    await writeFile(file, pdf);
    const { stdout } = await run("pdfsig", [file]);
    expect(stdout).toContain("Signature is Valid");
    expect(stdout).toContain("serialNumber=101234-56");
    const reports = await verifyPdfSignatures(pdf);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ integrity: true, coversWholeDocument: true, timestamp: { genTime: expect.any(Date) } });

    // The audit trail has the document, with the patient pseudonymised.
    const audit = await api("GET", "/v1/audit?limit=50");
    const records = (audit.body as { records: Array<{ action: string; outcome: string; patientRef?: string; caller: { practitioner?: string } }> }).records;
    const created = records.find((r) => r.action === "lu.document.create" && r.outcome === "success");
    expect(created).toMatchObject({ caller: { practitioner: "101234-56" }, patientRef: expect.stringMatching(/^hmac-sha256:/) });
    expect(JSON.stringify(records)).not.toContain((sampleEcitData().patient as { matricule: string }).matricule);
  });

  it("returns the PDF itself with Accept: application/pdf, and works from a gateway session (X-Session)", async () => {
    const answer = await api("POST", "/v1/lu/documents", {
      headers: { "x-session": anneSession, accept: "application/pdf" },
      body: { template: "lu-ecit", data: sampleEcitData() },
    });
    expect(answer.status).toBe(200);
    expect(answer.headers.get("content-type")).toBe("application/pdf");
    expect(answer.headers.get("x-document-template")).toMatch(/^lu-ecit@/);
    const pdf = answer.body as Buffer;
    expect(pdf.subarray(0, 5).toString()).toBe("%PDF-");
    expect(answer.headers.get("x-document-sha256")).toMatch(/^[0-9a-f]{64}$/);
  });

  it("accepts the README's example request (docs/examples/lu-ecit.json) from Anne's session", async () => {
    const example = JSON.parse(await readFile(new URL("../../../docs/examples/lu-ecit.json", import.meta.url), "utf8")) as Record<string, unknown>;
    const answer = await api("POST", "/v1/lu/documents", { headers: { "x-session": anneSession }, body: { ...example, deposit: { idempotencyKey: "readme-example" } } });
    expect(answer.status).toBe(200);
    expect((answer.body as { deposit: { status: string } }).deposit.status).toBe("ACCEPTED");
  });

  it("lists every schema violation as a 422 pointing into /data, before any upstream call", async () => {
    const data = sampleEcitData();
    (data.patient as Record<string, unknown>).matricule = "12345";
    delete data.diagnoses;
    const answer = await api("POST", "/v1/lu/documents", { headers: { "x-practitioner-token": anneToken }, body: { template: "lu-ecit", data } });
    expect(answer.status).toBe(422);
    const pointers = (answer.body as { errors: Array<{ pointer: string }> }).errors.map((e) => e.pointer);
    expect(pointers).toEqual(expect.arrayContaining(["/data/patient/matricule", "/data/diagnoses"]));
  });

  it("refuses an unknown template, a forged token, a missing token, and another practitioner's token", async () => {
    const unknown = await api("POST", "/v1/lu/documents", { headers: { "x-practitioner-token": anneToken }, body: { template: "lu-nope", data: {} } });
    expect([unknown.status, (unknown.body as { code: string }).code]).toEqual([404, "PASSERELLE_TEMPLATE_UNKNOWN"]);

    const forgedToken = anneToken.slice(0, -4) + (anneToken.endsWith("AAAA") ? "BBBB" : "AAAA");
    const forged = await api("POST", "/v1/lu/documents", { headers: { "x-practitioner-token": forgedToken }, body: { template: "lu-ecit", data: sampleEcitData() } });
    expect([forged.status, (forged.body as { code: string }).code]).toEqual([401, "PASSERELLE_AUTH_TOKEN_INVALID"]);

    const missing = await api("POST", "/v1/lu/documents", { body: { template: "lu-ecit", data: sampleEcitData() } });
    expect(missing.status).toBe(401);

    // Marc's valid token cannot sign a document written in Anne's name.
    const other = await api("POST", "/v1/lu/documents", { headers: { "x-practitioner-token": marcToken }, body: { template: "lu-ecit", data: sampleEcitData() } });
    expect([other.status, (other.body as { code: string }).code]).toEqual([403, "PASSERELLE_FORBIDDEN"]);

    // Anne's session belongs to the software that logged her in.
    const stolen = await api("POST", "/v1/lu/documents", { key: OTHER_KEY, headers: { "x-session": anneSession }, body: { template: "lu-ecit", data: sampleEcitData() } });
    expect(stolen.status).toBe(401);
  });

  it("maps a KMS that is down to a 503 naming lu-kms, an untrusted signing certificate or TSA to a 502 — never a PDF (slow KMS: 504, see kms/kms.test.ts)", async () => {
    const ask = () => api("POST", "/v1/lu/documents", { headers: { "x-practitioner-token": anneToken }, body: { template: "lu-ecit", data: sampleEcitData() } });
    try {
      await kmsFault({ mode: "down" });
      const down = await ask();
      expect([down.status, (down.body as { upstream: string }).upstream]).toEqual([503, "lu-kms"]);

      await kmsFault({ mode: "untrusted-certificate" });
      const untrusted = await ask();
      expect([untrusted.status, (untrusted.body as { code: string }).code]).toEqual([502, "PASSERELLE_KMS_CERTIFICATE_UNTRUSTED"]);

      await kmsFault({ mode: "untrusted-timestamp" });
      const badTsa = await ask();
      expect([badTsa.status, (badTsa.body as { code: string }).code]).toEqual([502, "PASSERELLE_TIMESTAMP_INVALID"]);
      expect(JSON.stringify(badTsa.body)).not.toContain("JVBERi0"); // no PDF in the problem
    } finally {
      await kmsFault(undefined);
    }
    expect((await ask()).status).toBe(200);
  });

  it("signs and deposits on mySecu in one call; a retry with the same key returns the same deposit, deposited once", async () => {
    const ask = () =>
      api("POST", "/v1/lu/documents", {
        headers: { "x-practitioner-token": anneToken },
        body: { template: "lu-ecit", data: sampleEcitData(), deposit: { idempotencyKey: "pms-42-ecit-0001" } },
      });
    const first = await ask();
    expect(first.status).toBe(200);
    const deposit = (first.body as { deposit: { depositId: string; status: string; replayed: boolean; providerCode: string } }).deposit;
    expect(deposit).toMatchObject({ status: "ACCEPTED", replayed: false, providerCode: "101234-56" });
    const again = await ask();
    expect((again.body as { deposit: { depositId: string; replayed: boolean } }).deposit).toMatchObject({ depositId: deposit.depositId, replayed: true });
    // The very same signed PDF comes back: nothing was signed again — and its second release is audited too.
    expect((again.body as { pdf: string }).pdf).toBe((first.body as { pdf: string }).pdf);
    const audit = (await api("GET", "/v1/audit?limit=200")).body as { records: Array<{ action: string; detail?: string }> };
    expect(audit.records.some((r) => r.action === "lu.document.create" && (r.detail ?? "").includes("replayed=true"))).toBe(true);
    // The same key for other content is a mistake, not a retry.
    const reused = await api("POST", "/v1/lu/documents", {
      headers: { "x-practitioner-token": anneToken },
      body: { template: "lu-ecit", data: { ...sampleEcitData(), issuedAt: "Esch-sur-Alzette" }, deposit: { idempotencyKey: "pms-42-ecit-0001" } },
    });
    expect([reused.status, (reused.body as { code: string }).code]).toEqual([422, "PASSERELLE_IDEMPOTENCY_KEY_REUSED"]);
    const stored = await mysecuDeposits();
    expect(stored.filter((d) => d.depositId === deposit.depositId)).toHaveLength(1);
  });

  it("deposits an already signed PDF (POST /v1/lu/mysecu/deposits), idempotent on Idempotency-Key; refuses an unsigned PDF and a practitioner not enrolled", async () => {
    const created = await api("POST", "/v1/lu/documents", {
      headers: { "x-practitioner-token": anneToken, accept: "application/pdf" },
      body: { template: "lu-ecit", data: sampleEcitData() },
    });
    const pdf = created.body as Buffer;
    const deposit = (key: string, token: string, body: Buffer = pdf) =>
      fetch(`${url}/v1/lu/mysecu/deposits?documentType=ECIT`, {
        method: "POST",
        headers: {
          "x-api-key": KEY,
          "x-practitioner-token": token,
          "idempotency-key": key,
          "x-patient-matricule": (sampleEcitData().patient as { matricule: string }).matricule,
          "content-type": "application/pdf",
        },
        body,
      });
    const first = await deposit("pms-42-upload-1", anneToken);
    expect(first.status).toBe(201);
    const firstBody = (await first.json()) as { depositId: string };
    const retry = await deposit("pms-42-upload-1", anneToken);
    expect(retry.status).toBe(200);
    expect(((await retry.json()) as { depositId: string; replayed: boolean })).toMatchObject({ depositId: firstBody.depositId, replayed: true });

    const unsigned = await deposit("pms-42-upload-2", anneToken, Buffer.from(pdf.toString("latin1").replace("/ByteRange", "/ByteRangX"), "latin1"));
    expect(unsigned.status).toBe(422);

    const notEnrolled = await api("POST", "/v1/lu/documents", {
      headers: { "x-practitioner-token": sandrineToken },
      body: { template: "lu-ecit", data: { ...sampleEcitData(), practitioner: { providerCode: "601678-90", lastName: "Wagner", firstName: "Sandrine" } }, deposit: { idempotencyKey: "pms-42-sandrine" } },
    });
    expect([notEnrolled.status, (notEnrolled.body as { code: string }).code]).toEqual([422, "PASSERELLE_MYSECU_NOT_ENROLLED"]);

    const missingKey = await fetch(`${url}/v1/lu/mysecu/deposits`, {
      method: "POST",
      headers: { "x-api-key": KEY, "x-practitioner-token": anneToken, "content-type": "application/pdf" },
      body: pdf,
    });
    expect(missingKey.status).toBe(400);
  });

  it("updates the templates live from iHub (admin), refuses a corrupt package keeping the current ones, and rolls back", async () => {
    const versionOf = async (id: string) =>
      ((await api("GET", "/v1/lu/templates")).body as { templates: Array<{ id: string; version: string }> }).templates.find((t) => t.id === id)?.version;
    const before = await versionOf("lu-ecit");
    expect((await api("POST", "/v1/lu/templates/sync", { key: OTHER_KEY })).status).toBe(403);

    await ihubLatest({ mode: "tampered-manifest" });
    const corrupt = await api("POST", "/v1/lu/templates/sync");
    expect([corrupt.status, (corrupt.body as { code: string }).code, (corrupt.body as { upstream: string }).upstream]).toEqual([
      502,
      "PASSERELLE_TEMPLATE_PACKAGE_REJECTED",
      "lu-ihub",
    ]);
    expect(await versionOf("lu-ecit")).toBe(before);

    await ihubLatest(undefined);
    const applied = await api("POST", "/v1/lu/templates/sync");
    expect(applied.status).toBe(200);
    const report = applied.body as { outcome: string; updated: Array<{ id: string; from: string; to: string }> };
    expect(report.outcome).toBe("applied");
    expect(report.updated).toContainEqual(expect.objectContaining({ id: "lu-ecit", from: before }));
    const after = await versionOf("lu-ecit");
    expect(after).not.toBe(before);
    // Live: the next document is rendered with the new version, no restart.
    const document = await api("POST", "/v1/lu/documents", { headers: { "x-practitioner-token": anneToken }, body: { template: "lu-ecit", data: sampleEcitData() } });
    expect(document.status === 200 ? (document.body as { document: { templateVersion: string } }).document.templateVersion : document.body).toBe(after);

    expect(((await api("POST", "/v1/lu/templates/sync")).body as { outcome: string }).outcome).toBe("unchanged");
    const rolledBack = await api("POST", "/v1/lu/templates/rollback");
    expect(rolledBack.status).toBe(200);
    expect(await versionOf("lu-ecit")).toBe(before);
  });

  it("is reported by /status and its eConnector alias", async () => {
    const status = await fetch(`${url}/econnector/status`);
    const body = (await status.json()) as { status: string; checks: Array<{ name: string; status: string }> };
    expect(body.status).toBe("UP");
    expect(body.checks.map((c) => c.name)).toEqual(expect.arrayContaining(["lu-templates", "upstream:lu-kms", "upstream:lu-mysecu"]));
  });

  it("configures the sandbox like production: eConnector files (generic keystore, KMS truststore with aliases) under DATA_DIR/lu", async () => {
    const lu = gateway.modules.get(LU_MODULE) as LuModule;
    expect(lu.material.kms?.truststore.aliases).toEqual({ signingCa: "test_signing_ca", timestampCa: "test_timestamp_ca", rootSigningCa: "test_root_signing_ca" });
    expect((await readFile(lu.material.kms?.truststore.path ?? "")).length).toBeGreaterThan(0);
  });
});
