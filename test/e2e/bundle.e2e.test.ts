/**
 * The shipped command (dist/bin/passerelle.js, the esbuild bundle that
 * package.json "bin" and `npm start` run) driven through its REST API, so that
 * every protocol stack runs from the bundle and its chunks, not from src/:
 * X.509 (@peculiar/x509), RFC 3161 (pkijs/asn1js), XML-DSig and XAdES
 * (xml-crypto, xmldom, xpath), PAdES and CMS (pdf-lib, pkijs), OpenID Connect
 * on both sides (openid-client in the gateway, oidc-provider in the sandbox
 * process forked from the bundle), JWS access tokens and private_key_jwt
 * (jose), the Luxembourg stack (template rendering with its fonts read next to
 * the code, the KMS over mutual TLS from PKCS#12 files, WS-Trust and SOAP to
 * mySecu, iHub's signed template packages), OpenAPI (@fastify/swagger, kept
 * external) and metrics (prom-client).
 *
 * One gateway for the whole file, zero configuration (sandbox profile), as a
 * first-time user starts it. What it produces is checked by independent
 * tools where one exists: pdfsig, xmlsec1, openssl ts -verify.
 */
import { createHash, X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { PDFDocument, StandardFonts } from "pdf-lib";
import { Agent, fetch } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CertificatesView, PdfVerdict, TimestampView, XmlVerdict } from "../../src/services/trust/service.js";
import { spawnCli, waitForOutput, type RunningCli } from "../support/cli.js";
import { gatewayClient, loginThroughGateway, runTool, vendorAppAccessToken, type GatewayClient } from "../support/journeys.js";

const URL_LINE = /listening on (https?:\/\/[^\s]+)/;
const DEMO_KEY_LINE = /Demo API key \(admin\): (\S+)/;
/** Sandbox practitioner (src/sandbox/idp/lu-aes-practitioners.ts). */
const ANNE = { username: "101234-56", password: "anne-7314" };
/** Sandbox practitioner (src/sandbox/idp/fr-psc-practitioners.ts): RPPS and its PSC subject id. */
const MARIE = { rpps: "10001234565", subjectNameId: "810001234565" };
/** Where a sandbox login returns without AUTH_RETURN_URLS (src/services/identity/module.ts). */
const RETURN_URL = "http://127.0.0.1:3000/after-login";
/** The sandbox's public AeS client (src/sandbox/idp/sandbox-clients.ts): PKCE, any loopback redirect (RFC 8252 §7.3). */
const VENDOR_APP = { clientId: "passerelle-aes-app", redirectUri: "http://127.0.0.1:8080/v1/auth/callback" };
const AES_REALM_PATH = "/auth/realms/default";
const PRESCRIPTION =
  '<?xml version="1.0" encoding="UTF-8"?>\n<Prescription xmlns="urn:example:rx"><Patient>anonymous</Patient><Drug code="3400930000000">Amoxicilline 1 g</Drug></Prescription>';
const TIMEOUT = { timeout: 30_000 };

let cli: RunningCli;
let gateway: GatewayClient;
let browser: Agent;
let rootPem: string;
let aesUrl: string;
let pscUrl: string;
let scratch: string;
let ecitRequest: { template: string; data: Record<string, unknown> };

const file = async (name: string, data: Buffer | string): Promise<string> => {
  const target = path.join(scratch, name);
  await writeFile(target, data);
  return target;
};

async function onePagePdf(): Promise<Buffer> {
  const document = await PDFDocument.create();
  const page = document.addPage([595, 842]);
  page.drawText("Compte rendu de consultation", { x: 50, y: 780, size: 14, font: await document.embedFont(StandardFonts.Helvetica) });
  return Buffer.from(await document.save());
}

/** The same bytes with one bit flipped at `offset` (a negative offset counts from the end). */
function flipBit(data: Buffer, offset: number): Buffer {
  const copy = Buffer.from(data);
  const at = offset < 0 ? copy.length + offset : offset;
  copy[at] = (copy[at] ?? 0) ^ 0x01;
  return copy;
}

/** pdfsig's report; "Signature is Valid" is the CMS check over /ByteRange, whatever it thinks of the chain. */
async function pdfsig(name: string, pdf: Buffer): Promise<string> {
  const checked = await runTool("pdfsig", [await file(name, pdf)]);
  expect(checked.output).toContain("Signature Validation: Signature is Valid.");
  expect(checked.output).toContain("Total document signed");
  return checked.output;
}

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), "passerelle-bundle-e2e-"));
  cli = spawnCli(["start"]);
  const out = await waitForOutput(cli, (s) => URL_LINE.test(s) && DEMO_KEY_LINE.test(s), 45_000);
  gateway = gatewayClient(URL_LINE.exec(out)?.[1] ?? "", DEMO_KEY_LINE.exec(out)?.[1] ?? "");
  rootPem = await readFile(path.join(cli.dataDir, "pki/root-ca.cert.pem"), "utf8");
  await file("root.pem", rootPem);
  browser = new Agent({ connect: { ca: rootPem } });
  const sandbox = (await gateway.call("/sandbox", { apiKey: null })).json<{ trustAnchorPem: string; simulators: Array<{ id: string; url: string }> }>();
  expect(sandbox.trustAnchorPem).toBe(rootPem);
  aesUrl = sandbox.simulators.find((s) => s.id === "lu-aes")?.url ?? "";
  pscUrl = sandbox.simulators.find((s) => s.id === "fr-psc")?.url ?? "";
  const example = JSON.parse(await readFile(new URL("../../docs/examples/lu-ecit.json", import.meta.url), "utf8")) as { template: string; data: Record<string, unknown> };
  ecitRequest = { template: example.template, data: example.data };
}, 60_000);

afterAll(async () => {
  await browser?.close();
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  if (cli === undefined) return;
  if (cli.child.exitCode === null) cli.child.kill("SIGTERM");
  // A stop that hangs is a failure too, not a leaked process: SIGKILL after 15 s (cleanup).
  const code = await Promise.race([cli.exited, new Promise<"hung">((resolve) => setTimeout(() => resolve("hung"), 15_000).unref())]);
  cli.cleanup();
  expect(code, cli.stderr()).toBe(0);
  expect(cli.stdout()).toContain('"msg":"stopped"');
  // A library that broke in the bundle may show only in the log (a background task, a simulator).
  expect(cli.stdout().split("\n").filter((line) => /"level":"(error|fatal)"/.test(line))).toEqual([]);
}, 30_000);

describe("the bundled command through its REST API (sandbox profile)", () => {
  it("serves its OpenAPI document with the trust, identity and Luxembourg routes", TIMEOUT, async () => {
    const document = (await gateway.call("/openapi.json", { apiKey: null })).json<{ paths: Record<string, Record<string, unknown>> }>();
    for (const route of ["/v1/sign/pdf", "/v1/sign/xml", "/v1/timestamp", "/v1/verify/pdf", "/v1/verify/xml", "/v1/auth/login", "/v1/auth/token/validate", "/v1/lu/documents", "/v1/lu/templates/sync"]) {
      expect(Object.keys(document.paths), route).toContain(route);
    }
    expect(Object.keys(document.paths["/v1/trust/certificates"] ?? {})).toEqual(["get"]);
  });

  it("lists its signers with chains that verify up to the sandbox root in DATA_DIR/pki (X.509)", TIMEOUT, async () => {
    const answer = await gateway.call("/v1/trust/certificates");
    expect(answer.status, answer.text()).toBe(200);
    const view = answer.json<CertificatesView>();
    expect(view.trustSource).toBe("sandbox");
    expect(view.timestampAuthority).toEqual({ configured: true, upstream: "sandbox-tsa" });
    const root = new X509Certificate(rootPem);
    expect(view.trustAnchors.map((c) => c.fingerprintSha256)).toEqual([root.fingerprint256]);
    const anne = view.signers.find((s) => s.id === "lu-101234-56");
    expect(anne).toMatchObject({ available: true, country: "LU" });
    for (const signer of view.signers.filter((s) => s.available)) {
      const [leaf, ca] = signer.certificates.map((c) => new X509Certificate(c.pem));
      expect(leaf?.checkIssued(ca as X509Certificate), signer.id).toBe(true);
      expect(ca?.verify(root.publicKey), signer.id).toBe(true);
    }
  });

  it("time-stamps a digest with a verified RFC 3161 token that openssl ts -verify accepts", TIMEOUT, async () => {
    const data = Buffer.from("compte rendu de consultation");
    const digest = createHash("sha256").update(data).digest();
    const token = await gateway.postJson<TimestampView>("/v1/timestamp", { hashAlgorithm: "SHA-256", hash: digest.toString("base64") });
    expect(token).toMatchObject({ hashAlgorithm: "SHA-256", hash: digest.toString("hex") });
    expect(token.tsa.subject).toContain("CN=Passerelle Sandbox TSA");
    expect(Math.abs(Date.parse(token.genTime) - Date.now())).toBeLessThan(120_000);

    const intermediates = (await gateway.call("/v1/trust/certificates")).json<CertificatesView>().intermediates.map((c) => c.pem);
    const args = ["ts", "-verify", "-token_in", "-in", await file("token.der", Buffer.from(token.token, "base64")), "-CAfile", path.join(scratch, "root.pem")];
    args.push("-untrusted", await file("intermediates.pem", intermediates.join("\n")));
    const verified = await runTool("openssl", [...args, "-data", await file("data.txt", data)]);
    expect(verified.output).toContain("Verification: OK");
    // The token binds that digest: other data does not verify.
    const other = await runTool("openssl", [...args, "-data", await file("other.txt", "autre chose")]);
    expect(other.output).toContain("message imprint mismatch");
  });

  it("signs XML enveloped (XML-DSig): xmlsec1 and /v1/verify/xml accept it, and refuse it once tampered", TIMEOUT, async () => {
    const answer = await gateway.call("/v1/sign/xml?signer=be-12345625004", { body: PRESCRIPTION, contentType: "application/xml" });
    expect(answer.status, answer.text()).toBe(200);
    expect(answer.headers.get("x-signer")).toBe("be-12345625004");
    const signed = answer.text();
    expect(signed).toContain("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256");
    const xmlsec1 = await runTool("xmlsec1", ["--verify", "--trusted-pem", path.join(scratch, "root.pem"), await file("signed.xml", signed)]);
    expect(xmlsec1.code, xmlsec1.output).toBe(0);

    const verdict = (await gateway.call("/v1/verify/xml", { body: signed, contentType: "application/xml" })).json<XmlVerdict>();
    expect(verdict).toMatchObject({ valid: true, xades: false, signatureAlgorithm: "rsa-sha256", chain: { valid: true } });
    if (verdict.valid) expect(verdict.signer.subject).toContain("CN=Els PEETERS");
    expect(verdict.valid && verdict.signedElements[0]).toContain("Amoxicilline 1 g");

    const tampered = signed.replace("Amoxicilline 1 g", "Amoxicilline 3 g");
    expect(tampered).not.toBe(signed);
    const refused = (await gateway.call("/v1/verify/xml", { body: tampered, contentType: "application/xml" })).json<XmlVerdict>();
    expect(refused).toMatchObject({ valid: false, reason: "digest_mismatch", detail: 'The digest of Reference "" does not match' });
    expect((await runTool("xmlsec1", ["--verify", "--trusted-pem", path.join(scratch, "root.pem"), await file("tampered.xml", tampered)])).code).not.toBe(0);
  });

  it("signs XAdES-BES with ?xades=true: xmlsec1 and /v1/verify/xml accept it, and refuse it once tampered", TIMEOUT, async () => {
    const answer = await gateway.call("/v1/sign/xml?xades=true&signer=fr-10002457892", { body: PRESCRIPTION, contentType: "application/xml" });
    expect(answer.status, answer.text()).toBe(200);
    const signed = answer.text();
    expect(signed).toContain("xades:SigningCertificateV2");
    const xmlsec1 = await runTool("xmlsec1", [
      "--verify",
      "--trusted-pem",
      path.join(scratch, "root.pem"),
      "--id-attr:Id",
      "http://uri.etsi.org/01903/v1.3.2#:SignedProperties",
      await file("xades.xml", signed),
    ]);
    expect(xmlsec1.code, xmlsec1.output).toBe(0);

    const verdict = (await gateway.call("/v1/verify/xml", { body: signed, contentType: "application/xml" })).json<XmlVerdict>();
    expect(verdict).toMatchObject({ valid: true, xades: true, chain: { valid: true } });
    if (verdict.valid) {
      expect(verdict.signer.subject).toContain("serialNumber=810002457892");
      expect(Math.abs(Date.parse(verdict.signingTime ?? "") - Date.now())).toBeLessThan(120_000);
    }

    // The signing time is a signed property: changing it breaks the SignedProperties reference.
    const tampered = signed.replace(/<xades:SigningTime>([^<]+)<\/xades:SigningTime>/, "<xades:SigningTime>2001-01-01T00:00:00Z</xades:SigningTime>");
    expect(tampered).not.toBe(signed);
    const refused = (await gateway.call("/v1/verify/xml", { body: tampered, contentType: "application/xml" })).json<XmlVerdict>();
    expect(refused).toMatchObject({ valid: false, reason: "digest_mismatch", detail: expect.stringMatching(/^The digest of Reference "#xades-/) });
  });

  it("signs a PDF PAdES-B-T (CMS, RFC 3161 time-stamp): pdfsig and /v1/verify/pdf accept it, and refuse it once tampered", TIMEOUT, async () => {
    const pdf = await onePagePdf();
    const answer = await gateway.call("/v1/sign/pdf?signer=lu-101234-56&reason=Consultation&location=Luxembourg", { body: pdf, contentType: "application/pdf" });
    expect(answer.status, answer.text()).toBe(200);
    expect(answer.headers.get("content-type")).toBe("application/pdf");
    const signed = answer.body;
    // An incremental update: the original bytes come first, untouched.
    expect(signed.subarray(0, pdf.length).equals(pdf)).toBe(true);
    const report = await pdfsig("signed.pdf", signed);
    expect(report).toContain("Signature Type: ETSI.CAdES.detached");
    expect(report).toContain("Signer Certificate Common Name: Anne WEBER");

    const verdict = (await gateway.call("/v1/verify/pdf", { body: signed, contentType: "application/pdf" })).json<PdfVerdict>();
    expect(verdict).toMatchObject({ valid: true, signatures: [{ valid: true, integrity: true, coversWholeDocument: true, subFilter: "ETSI.CAdES.detached", reasons: [] }] });
    expect(verdict.signatures[0]?.timestamp?.verified).toBe(true);
    expect(verdict.signatures[0]?.chain).toMatchObject({ valid: true });

    const tampered = flipBit(signed, 10);
    const refused = (await gateway.call("/v1/verify/pdf", { body: tampered, contentType: "application/pdf" })).json<PdfVerdict>();
    expect(refused).toMatchObject({ valid: false, signatures: [{ valid: false, integrity: false }] });
    expect(refused.signatures[0]?.reasons.map((r) => r.code)).toEqual(["digest_mismatch"]);
  });

  it("signs a PDF with a sandbox CPS card whose key stays in SoftHSM (PKCS#11: the native module, external to the bundle)", { timeout: 60_000 }, async (context) => {
    const signers = (await gateway.call("/v1/trust/certificates")).json<CertificatesView>().signers;
    // The sandbox provisions the cards only where SoftHSM is installed (src/services/trust/sandbox-signers.ts).
    if (!signers.some((s) => s.id === "fr-10001234565-card")) context.skip();
    const answer = await gateway.call("/v1/sign/pdf?signer=fr-10001234565-card&level=B-B", { body: await onePagePdf(), contentType: "application/pdf" });
    expect(answer.status, answer.text()).toBe(200);
    expect(answer.headers.get("x-signer")).toBe("fr-10001234565-card");
    expect(await pdfsig("card.pdf", answer.body)).toContain("Signer Certificate Common Name: 810001234565/DURAND/MARIE");
    const verdict = (await gateway.call("/v1/verify/pdf", { body: answer.body, contentType: "application/pdf" })).json<PdfVerdict>();
    expect(verdict).toMatchObject({ valid: true, signatures: [{ valid: true, integrity: true, chain: { valid: true } }] });
  });

  it("logs Marie in by CIBA at Pro Santé Connect (the gateway authenticates with tls_client_auth), approved on her phone", TIMEOUT, async () => {
    const started = await gateway.call("/v1/auth/ciba", {
      body: JSON.stringify({ clientId: "passerelle-psc", loginHint: MARIE.subjectNameId, bindingMessage: "bundle e2e" }),
      contentType: "application/json",
    });
    expect(started.status, started.text()).toBe(202);
    const { id } = started.json<{ id: string }>();

    // The e-CPS app: the fr-psc simulator asks every client for a certificate (mutual TLS).
    const pki = path.join(cli.dataDir, "pki");
    const phoneCert = await readFile(path.join(pki, "clients/passerelle-psc-client.cert.pem"), "utf8");
    const phone = new Agent({
      connect: { ca: rootPem, cert: phoneCert + (await readFile(path.join(pki, "ca-fr.cert.pem"), "utf8")), key: await readFile(path.join(pki, "clients/passerelle-psc-client.key.pem"), "utf8") },
    });
    try {
      const listed = await fetch(`${pscUrl}/_sandbox/ciba/pending?login_hint=${MARIE.rpps}`, { dispatcher: phone });
      const { pending } = (await listed.json()) as { pending: Array<{ auth_req_id: string; binding_message: string }> };
      const request = pending.find((p) => p.binding_message === "bundle e2e");
      expect(request, JSON.stringify(pending)).toBeDefined();
      const approved = await fetch(`${pscUrl}/_sandbox/ciba/${request?.auth_req_id}/approve`, { method: "POST", dispatcher: phone });
      await approved.body?.cancel();
      expect(approved.status).toBe(200);
    } finally {
      await phone.close();
    }

    let view: { status: string; session?: string } = { status: "pending" };
    const deadline = Date.now() + 20_000;
    while (view.status === "pending" && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      view = (await gateway.call(`/v1/auth/ciba/${id}`)).json<{ status: string; session?: string }>();
    }
    expect(view.status).toBe("approved");
    const session = await gateway.call("/v1/auth/session", { headers: { "x-session": view.session ?? "" } });
    expect(session.json()).toMatchObject({ method: "ciba", provider: "fr-psc", practitioner: { id: MARIE.subjectNameId, familyName: "Durand" } });
  });

  describe("Luxembourg", () => {
    let session: string;
    let vendorToken: string;

    beforeAll(async () => {
      session = await loginThroughGateway(gateway, browser, ANNE, { clientId: "passerelle-aes", returnUrl: RETURN_URL });
      vendorToken = await vendorAppAccessToken(`${aesUrl}${AES_REALM_PATH}`, browser, ANNE, VENDOR_APP);
    }, 30_000);

    it("logs Anne in through the gateway at the AeS (OpenID Connect code flow): her session names her", TIMEOUT, async () => {
      const answer = await gateway.call("/v1/auth/session", { headers: { "x-session": session } });
      expect(answer.status, answer.text()).toBe(200);
      expect(answer.json()).toMatchObject({ provider: "lu-aes", clientId: "passerelle-aes", method: "code", practitioner: { id: "101234-56" } });
    });

    it("renders Anne's eCIT and signs it PAdES-B-T in her name through the KMS: pdfsig and /v1/verify/pdf find it valid", TIMEOUT, async () => {
      const answer = await gateway.call("/v1/lu/documents", {
        body: JSON.stringify(ecitRequest),
        contentType: "application/json",
        headers: { "x-session": session, accept: "application/pdf" },
      });
      expect(answer.status, answer.text()).toBe(200);
      expect(answer.headers.get("content-type")).toBe("application/pdf");
      expect(answer.headers.get("x-document-template")).toMatch(/^lu-ecit@/);
      const pdf = answer.body;
      expect(pdf.subarray(0, 5).toString("latin1")).toBe("%PDF-");
      expect(answer.headers.get("x-document-sha256")).toBe(createHash("sha256").update(pdf).digest("hex"));
      const text = pdf.toString("latin1");
      expect(text).toContain("/ByteRange");
      expect(text).toContain("/Contents");

      const report = await pdfsig("ecit.pdf", pdf);
      expect(report).toContain("serialNumber=101234-56");
      const verdict = (await gateway.call("/v1/verify/pdf", { body: pdf, contentType: "application/pdf" })).json<PdfVerdict>();
      expect(verdict).toMatchObject({ valid: true, signatures: [{ valid: true, integrity: true, coversWholeDocument: true, timestamp: { verified: true }, chain: { valid: true } }] });
      expect(verdict.signatures[0]?.signer?.subject).toContain("serialNumber=101234-56");
    });

    it("validates access tokens (JWS, JWKS): Anne's from her own app, a system client's (private_key_jwt); refuses a forged one", TIMEOUT, async () => {
      const anne = await gateway.postJson<{ provider: string; practitionerId?: string }>("/v1/auth/token/validate", { provider: "lu-aes", token: vendorToken });
      expect(anne).toMatchObject({ provider: "lu-aes", practitionerId: "101234-56" });

      // The gateway signs a client assertion (RFC 7523) with its system client's key to get this token.
      const system = await gateway.postJson<{ accessToken: string; tokenType: string }>("/v1/auth/system-token/passerelle-be-system", undefined);
      expect(system.tokenType.toLowerCase()).toBe("bearer");
      const validated = await gateway.postJson<{ subject: string; audience: string[] }>("/v1/auth/token/validate", { provider: "be-idp", token: system.accessToken });
      expect(validated).toMatchObject({ subject: "passerelle-be-system", audience: ["passerelle-be-system"] });

      // Another practitioner id in the payload, the signature kept: the signature no longer matches.
      const [header, payload, signature] = vendorToken.split(".");
      const claims = JSON.parse(Buffer.from(payload ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
      const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, provider_code: "102345-67" })).toString("base64url")}.${signature}`;
      const refused = await gateway.call("/v1/auth/token/validate", { body: JSON.stringify({ provider: "lu-aes", token: forged }), contentType: "application/json" });
      expect([refused.status, refused.json<{ code: string }>().code]).toEqual([401, "PASSERELLE_AUTH_TOKEN_INVALID"]);
    });

    it("signs an eCIT with Anne's own token and deposits it on mySecu (WS-Trust, SOAP) in the same call", TIMEOUT, async () => {
      const body = await gateway.postJson<{ document: { signer: { providerCode: string }; signatureLevel: string }; pdf: string; deposit: { status: string; providerCode: string } }>(
        "/v1/lu/documents",
        { ...ecitRequest, deposit: { idempotencyKey: `bundle-e2e-${Date.now()}` } },
        { "x-practitioner-token": vendorToken },
      );
      expect(body.document).toMatchObject({ signatureLevel: "PAdES-B-T", signer: { providerCode: "101234-56" } });
      expect(body.deposit).toMatchObject({ status: "ACCEPTED", providerCode: "101234-56" });
      await pdfsig("deposited.pdf", Buffer.from(body.pdf, "base64"));
    });

    it("updates its templates from iHub (a signed package, verified) and rolls back (admin)", TIMEOUT, async () => {
      const versionOf = async (): Promise<string | undefined> =>
        (await gateway.call("/v1/lu/templates")).json<{ templates: Array<{ id: string; version: string }> }>().templates.find((t) => t.id === "lu-ecit")?.version;
      const before = await versionOf();
      const applied = await gateway.postJson<{ outcome: string; updated: Array<{ id: string; from: string; to: string }> }>("/v1/lu/templates/sync", undefined);
      expect(applied.outcome).toBe("applied");
      expect(applied.updated).toContainEqual(expect.objectContaining({ id: "lu-ecit", from: before }));
      expect(await versionOf()).not.toBe(before);
      await gateway.postJson("/v1/lu/templates/rollback", undefined);
      expect(await versionOf()).toBe(before);
    });
  });

  it("records what it did in its audit trail and reports itself UP on /status, every check passing", TIMEOUT, async () => {
    const { records } = (await gateway.call("/v1/audit?limit=200")).json<{ records: Array<{ action: string; outcome: string }> }>();
    const succeeded = new Set(records.filter((r) => r.outcome === "success").map((r) => r.action));
    for (const action of ["trust.timestamp", "trust.sign.xml", "trust.sign.pdf", "trust.verify.pdf", "lu.document.create"]) expect([...succeeded], action).toContain(action);
    const status = (await gateway.call("/status", { apiKey: null })).json<{ status: string; checks: Array<{ name: string; status: string }> }>();
    expect(status.checks.filter((c) => c.status !== "pass")).toEqual([]);
    expect(status.status).toBe("UP");
    expect(status.checks.map((c) => c.name)).toEqual(expect.arrayContaining(["lu-templates", "upstream:lu-kms", "upstream:lu-mysecu"]));
  });

  it("counts what it served in /metrics (prom-client)", TIMEOUT, async () => {
    const text = (await gateway.call("/metrics", { apiKey: null })).text();
    const served = text
      .split("\n")
      .filter((line) => line.startsWith("passerelle_http_requests_total{") && line.includes('route="/v1/lu/documents"') && line.includes('status="200"'))
      .reduce((n, line) => n + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
    expect(served).toBe(2);
  });
});
