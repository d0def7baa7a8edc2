/**
 * The trust endpoints end to end in the sandbox profile: a real gateway on
 * loopback with the sandbox TSA, called over HTTP, and what it produces
 * checked by independent tools — pdfsig and qpdf for PDFs, xmlsec1 for XML
 * signatures, `openssl ts -verify` for time-stamp tokens.
 */
import { createHash, X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isSoftHsmAvailable } from "../../trust/pkcs11/index.js";
import { sandboxTsaSimulator } from "../../sandbox/tsa/simulator.js";
import type { CertificatesView, PdfVerdict, TimestampView, XmlVerdict } from "./service.js";
import { onePagePdf, scratchDirectory, startTrustGateway, tool, type TrustGateway } from "./test-support/harness.js";

const hsm = await isSoftHsmAvailable();

let gw: TrustGateway;
let files: Awaited<ReturnType<typeof scratchDirectory>>;
let rootPem: string;
let pdf: Buffer;

beforeAll(async () => {
  gw = await startTrustGateway({ simulators: [sandboxTsaSimulator()], trust: { maxSandboxCards: 1 } });
  files = await scratchDirectory();
  rootPem = gw.gateway.sandbox?.sandbox.pki.rootCertPem ?? "";
  await files.write("root.pem", rootPem);
  pdf = await onePagePdf();
});

afterAll(async () => {
  await gw?.close();
  await files?.remove();
});

describe("POST /v1/sign/pdf", () => {
  it("returns a PAdES-B-T PDF that pdfsig, qpdf and /v1/verify/pdf accept", async () => {
    const answer = await gw.call("/v1/sign/pdf?signer=lu-101234-56&reason=Certificat%20d%27incapacit%C3%A9&location=Luxembourg", {
      body: pdf,
      contentType: "application/pdf",
    });
    expect(answer.status, answer.text()).toBe(200);
    expect(answer.headers.get("content-type")).toBe("application/pdf");
    expect(answer.headers.get("x-signer")).toBe("lu-101234-56");
    const signed = answer.body;
    // An incremental update: the original bytes come first, untouched.
    expect(signed.subarray(0, pdf.length).equals(pdf)).toBe(true);

    const path = await files.write("signed.pdf", signed);
    const pdfsig = await tool("pdfsig", ["-nocert", path]);
    expect(pdfsig.output).toContain("Signature Validation: Signature is Valid.");
    expect(pdfsig.output).toContain("Signature Type: ETSI.CAdES.detached");
    expect(pdfsig.output).toContain("Signer Certificate Common Name: Anne WEBER");
    expect(pdfsig.output).toContain("Total document signed");
    expect((await tool("qpdf", ["--check", path])).output).toContain("No syntax or stream encoding errors found");

    const verdict = (await gw.call("/v1/verify/pdf", { body: signed, contentType: "application/pdf" })).json<PdfVerdict>();
    expect(verdict.valid).toBe(true);
    expect(verdict.signatures).toHaveLength(1);
    const [signature] = verdict.signatures;
    expect(signature).toMatchObject({ field: "Signature1", valid: true, integrity: true, subFilter: "ETSI.CAdES.detached", coversWholeDocument: true, reasons: [] });
    expect(signature?.timestamp?.verified).toBe(true);
    expect(signature?.signer?.subject).toContain("CN=Anne WEBER");
    expect(signature?.chain).toMatchObject({ valid: true });
    expect(signature?.chain?.path?.at(-1)).toContain("Passerelle Sandbox Root CA");
  });

  it("signs with the caller's default signer and records who signed what in the audit trail", async () => {
    const answer = await gw.call("/v1/sign/pdf?level=B-B", { body: pdf, contentType: "application/pdf" });
    expect(answer.status, answer.text()).toBe(200);
    expect(answer.headers.get("x-signer")).toBe("fr-10001234565");
    const { records } = await gw.gateway.audit.query({ limit: 10, action: "trust.sign.pdf" });
    const record = records.at(-1);
    expect(record).toMatchObject({ outcome: "success", caller: { software: "sandbox-demo", practitioner: "810001234565" } });
    expect(record?.detail).toContain("signer=fr-10001234565 ");
    expect(record?.detail).toContain(`input=sha256:${createHash("sha256").update(pdf).digest("hex")}`);
    expect(record?.detail).toContain(`output=sha256:${createHash("sha256").update(answer.body).digest("hex")}`);
    expect(record?.detail).toContain("level=B-B");
  });

  it.skipIf(!hsm)("signs with a CPS card whose key stays in SoftHSM", async () => {
    const answer = await gw.call("/v1/sign/pdf?signer=fr-10001234565-card", { body: pdf, contentType: "application/pdf" });
    expect(answer.status, answer.text()).toBe(200);
    const path = await files.write("card.pdf", answer.body);
    const pdfsig = await tool("pdfsig", ["-nocert", path]);
    expect(pdfsig.output).toContain("Signature Validation: Signature is Valid.");
    expect(pdfsig.output).toContain("Signer Certificate Common Name: 810001234565/DURAND/MARIE");
    const verdict = (await gw.call("/v1/verify/pdf", { body: answer.body, contentType: "application/pdf" })).json<PdfVerdict>();
    expect(verdict).toMatchObject({ valid: true, signatures: [{ valid: true, timestamp: { verified: true }, chain: { valid: true } }] });
    expect(gw.logs.some((line) => line.msg === "sandbox CPS cards provisioned in SoftHSM")).toBe(true);
  });
});

describe("POST /v1/sign/xml", () => {
  const document = '<?xml version="1.0" encoding="UTF-8"?>\n<Prescription xmlns="urn:example:rx"><Patient>anonymous</Patient><Drug code="3400930000000">Amoxicilline 1 g</Drug></Prescription>';

  it("returns an enveloped XML-DSig signature that xmlsec1 verifies against the sandbox root, and /v1/verify/xml returns what it signs", async () => {
    const answer = await gw.call("/v1/sign/xml?signer=be-12345625004", { body: document, contentType: "application/xml" });
    expect(answer.status, answer.text()).toBe(200);
    expect(answer.headers.get("content-type")).toBe("application/xml; charset=utf-8");
    const signed = answer.text();
    expect(signed).toContain("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256");

    const path = await files.write("signed.xml", signed);
    const xmlsec1 = await tool("xmlsec1", ["--verify", "--trusted-pem", `${files.dir}/root.pem`, path]);
    expect(xmlsec1.output).toContain("OK");
    expect(xmlsec1.code).toBe(0);

    const verdict = (await gw.call("/v1/verify/xml", { body: signed, contentType: "text/xml" })).json<XmlVerdict>();
    expect(verdict).toMatchObject({ valid: true, xades: false, signatureAlgorithm: "rsa-sha256", chain: { valid: true } });
    if (!verdict.valid) throw new Error("unreachable");
    expect(verdict.signer.subject).toContain("CN=Els PEETERS");
    expect(verdict.signedElements).toHaveLength(1);
    expect(verdict.signedElements[0]).toMatch(/^<Prescription xmlns="urn:example:rx"><Patient>anonymous<\/Patient><Drug code="3400930000000">Amoxicilline 1 g<\/Drug><ds:Signature/);
  });

  it("signs XAdES-BES with ?xades=true, verified as such by us and by xmlsec1", async () => {
    const answer = await gw.call("/v1/sign/xml?xades=true&signer=fr-10002457892", { body: document, contentType: "application/xml" });
    expect(answer.status, answer.text()).toBe(200);
    expect(answer.text()).toContain("xades:SigningCertificateV2");
    const path = await files.write("xades.xml", answer.body);
    const xmlsec1 = await tool("xmlsec1", ["--verify", "--trusted-pem", `${files.dir}/root.pem`, "--id-attr:Id", "http://uri.etsi.org/01903/v1.3.2#:SignedProperties", path]);
    expect(xmlsec1.code, xmlsec1.output).toBe(0);
    const verdict = (await gw.call("/v1/verify/xml", { body: answer.body, contentType: "application/xml" })).json<XmlVerdict>();
    expect(verdict).toMatchObject({ valid: true, xades: true });
    if (!verdict.valid) throw new Error("unreachable");
    expect(Math.abs(Date.parse(verdict.signingTime ?? "") - Date.now())).toBeLessThan(60_000);
    expect(verdict.signer.subject).toContain("serialNumber=810002457892");
  });
});

describe("POST /v1/timestamp", () => {
  it("returns a verified RFC 3161 token that openssl ts -verify accepts", async () => {
    const data = Buffer.from("compte rendu de consultation");
    const digest = createHash("sha256").update(data).digest();
    const answer = await gw.call("/v1/timestamp", { body: JSON.stringify({ hashAlgorithm: "SHA-256", hash: digest.toString("base64") }), contentType: "application/json" });
    expect(answer.status, answer.text()).toBe(200);
    const token = answer.json<TimestampView>();
    expect(token).toMatchObject({ hashAlgorithm: "SHA-256", hash: digest.toString("hex") });
    expect(token.tsa.subject).toContain("CN=Passerelle Sandbox TSA");
    expect(Math.abs(Date.parse(token.genTime) - Date.now())).toBeLessThan(60_000);

    const tokenPath = await files.write("token.der", Buffer.from(token.token, "base64"));
    const dataPath = await files.write("data.txt", data);
    const lu = gw.gateway.sandbox?.sandbox.pki.caCertPem("LU") ?? "";
    const untrusted = await files.write("lu-ca.pem", lu);
    const verified = await tool("openssl", ["ts", "-verify", "-token_in", "-in", tokenPath, "-data", dataPath, "-CAfile", `${files.dir}/root.pem`, "-untrusted", untrusted]);
    expect(verified.output).toContain("Verification: OK");

    // The same digest in hex is the same request.
    const hex = await gw.call("/v1/timestamp", { body: JSON.stringify({ hashAlgorithm: "SHA-256", hash: digest.toString("hex") }), contentType: "application/json" });
    expect(hex.json<TimestampView>().hash).toBe(digest.toString("hex"));
    const { records } = await gw.gateway.audit.query({ limit: 10, action: "trust.timestamp" });
    expect(records.at(-1)).toMatchObject({ outcome: "success", caller: { software: "sandbox-demo" } });
    expect(records.at(-1)?.detail).toContain(`hash=SHA-256:${digest.toString("hex")}`);
  });
});

describe("GET /v1/trust/certificates", () => {
  it("lists every sandbox practitioner's signer with its chain, and the sandbox root as anchor", async () => {
    const answer = await gw.call("/v1/trust/certificates");
    expect(answer.status, answer.text()).toBe(200);
    const view = answer.json<CertificatesView>();
    expect(view.trustSource).toBe("sandbox");
    expect(view.timestampAuthority).toEqual({ configured: true, upstream: "sandbox-tsa" });
    expect(view.trustAnchors.map((c) => c.pem)).toEqual([new X509Certificate(rootPem).toString()]);
    expect(view.intermediates.map((c) => c.subject)).toEqual([
      expect.stringContaining("FR CA"),
      expect.stringContaining("LU CA"),
      expect.stringContaining("BE CA"),
    ]);
    const ids = view.signers.map((s) => s.id);
    expect(ids.slice(0, hsm ? 3 : 2)).toEqual(hsm ? ["fr-10001234565", "fr-10001234565-card", "fr-10002457892"] : ["fr-10001234565", "fr-10002457892"]);
    expect(ids).toContain("lu-101234-56");
    expect(ids).toContain("be-17890164003");
    expect(view.signers).toHaveLength(18 + (hsm ? 1 : 0));
    expect(view.signers.filter((s) => s.default).map((s) => s.id)).toEqual(["fr-10001234565"]);
    for (const signer of view.signers) {
      expect(signer.available, signer.problem).toBe(true);
      expect(signer.certificates).toHaveLength(2);
      const [leaf, ca] = signer.certificates.map((c) => new X509Certificate(c.pem));
      expect(leaf?.checkIssued(ca as X509Certificate)).toBe(true);
      expect(ca?.subject).toContain(`Passerelle Sandbox ${signer.country ?? ""} CA`);
    }
    const card = view.signers.find((s) => s.id === "fr-10001234565-card");
    if (hsm) expect(card).toMatchObject({ kind: "pkcs11", practitionerId: "810001234565" });
    // The card holds the practitioner's signature certificate.
    if (hsm) expect(card?.certificates[0]?.pem).toBe(view.signers[0]?.certificates[0]?.pem);
  });

  it("is documented in the OpenAPI document with binary bodies and the trust tag", async () => {
    const document = (await gw.call("/openapi.json", { apiKey: null })).json<{ paths: Record<string, Record<string, { tags: string[]; requestBody?: { content: Record<string, unknown> }; responses: Record<string, { content?: Record<string, unknown> }> }>> }>();
    expect(document.paths["/v1/sign/pdf"]?.post?.tags).toEqual(["trust"]);
    expect(Object.keys(document.paths["/v1/sign/pdf"]?.post?.requestBody?.content ?? {})).toEqual(["application/pdf"]);
    expect(Object.keys(document.paths["/v1/sign/pdf"]?.post?.responses["200"]?.content ?? {})).toEqual(["application/pdf"]);
    expect(Object.keys(document.paths["/v1/verify/xml"]?.post?.requestBody?.content ?? {})).toEqual(["application/xml", "text/xml"]);
    for (const path of ["/v1/sign/xml", "/v1/timestamp", "/v1/verify/pdf"]) expect(document.paths[path]?.post?.tags).toEqual(["trust"]);
    expect(document.paths["/v1/trust/certificates"]?.get?.tags).toEqual(["trust"]);
  });
});
