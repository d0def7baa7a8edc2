/**
 * What the trust endpoints do with bad input, each case through HTTP on a
 * real sandbox gateway: malformed XML, DTDs (external entities, billion
 * laughs) refused before expansion, untrusted and wrapped signatures,
 * tampered documents, non-PDFs, empty bodies, wrong media types, unknown
 * and forbidden signers, and a TSA that fails, is slow or is not trusted —
 * with a problem document, an audit record, and never a half-signed output.
 */
import { createHash } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { hashApiKey } from "../../config/index.js";
import { signPdf } from "../../protocols/pades/index.js";
import { signXml } from "../../protocols/xmldsig/index.js";
import { sandboxTsaSimulator } from "../../sandbox/tsa/simulator.js";
import { UpstreamClient } from "../../transport/index.js";
import { SoftwareSigner } from "../../trust/signers/index.js";
import type { CertificatesView, PdfVerdict, XmlVerdict } from "./service.js";
import { onePagePdf, startTrustGateway, type Answer, type TrustGateway } from "./test-support/harness.js";
import { selfSignedIdentity } from "./test-support/test-ca.js";

const ACME_KEY = "acme-pms-key-0123456789abcdef";
const BODY_LIMIT = 262_144;
const TSA_TIMEOUT_MS = 800;

let gw: TrustGateway;
let pdf: Buffer;

beforeAll(async () => {
  gw = await startTrustGateway({
    simulators: [sandboxTsaSimulator()],
    trust: { sandboxCards: false },
    env: {
      API_KEYS: `acme-pms:${hashApiKey(ACME_KEY)}`,
      SIGNER_CALLERS: "acme-pms:lu-101234-56+be-12345625004",
      TSA_TIMEOUT_MS: String(TSA_TIMEOUT_MS),
      BODY_LIMIT_BYTES: String(BODY_LIMIT),
    },
  });
  pdf = await onePagePdf();
});

afterAll(async () => {
  await gw?.close();
});

function expectProblem(answer: Answer, status: number, code: string): Record<string, unknown> {
  expect(answer.status, answer.text()).toBe(status);
  expect(answer.headers.get("content-type")).toBe("application/problem+json; charset=utf-8");
  const problem = answer.json();
  expect(problem.code).toBe(code);
  return problem;
}

async function lastAudit(action: string) {
  const { records } = await gw.gateway.audit.query({ limit: 500, action });
  return records.at(-1);
}

describe("XML that must not be parsed", () => {
  const doctypes = {
    "an external entity": '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
    "billion laughs": `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">${Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? "" : i};`.repeat(10)}">`).join("")}]><lolz>&lol9;</lolz>`,
    "a bare DOCTYPE": '<!DOCTYPE html SYSTEM "http://127.0.0.1:1/evil.dtd"><html/>',
  };

  for (const [name, xml] of Object.entries(doctypes)) {
    it(`refuses ${name} with PASSERELLE_XML_FORBIDDEN before expanding anything, to sign and to verify`, async () => {
      const started = performance.now();
      for (const path of ["/v1/sign/xml", "/v1/verify/xml"]) {
        const problem = expectProblem(await gw.call(path, { body: xml, contentType: "application/xml" }), 400, "PASSERELLE_XML_FORBIDDEN");
        expect(problem.reason).toBe("dtd");
      }
      // 10^9 "lol"s would take far longer than this to expand.
      expect(performance.now() - started).toBeLessThan(2_000);
      expect(await lastAudit("trust.sign.xml")).toMatchObject({ outcome: "failure", caller: { software: "sandbox-demo" } });
      expect((await lastAudit("trust.sign.xml"))?.detail).toContain("error=PASSERELLE_XML_FORBIDDEN");
    });
  }

  it("refuses malformed XML with its line and column", async () => {
    for (const path of ["/v1/sign/xml", "/v1/verify/xml"]) {
      const problem = expectProblem(await gw.call(path, { body: "<a>\n  <b></a>", contentType: "text/xml" }), 400, "PASSERELLE_XML_MALFORMED");
      expect(problem).toMatchObject({ reason: "malformed", line: 2 });
    }
  });
});

describe("signatures that must not be trusted", () => {
  it("refuses an XML signature by a key outside the trust store, although KeyInfo carries its certificate", async () => {
    const stranger = await selfSignedIdentity("CN=Mallory,O=Nowhere");
    const signer = SoftwareSigner.fromPem({ keyPem: stranger.keyPem, certificatePem: stranger.certPem });
    const { xml } = await signXml("<Order><Amount>10</Amount></Order>", { signer, keyInfo: "chain" });
    const answer = await gw.call("/v1/verify/xml", { body: xml, contentType: "application/xml" });
    expect(answer.status).toBe(200);
    const verdict = answer.json<XmlVerdict>();
    expect(verdict).toMatchObject({ valid: false, reason: "untrusted_key", chain: { valid: false, reason: "untrusted_root" } });
    expect(verdict).not.toHaveProperty("signedElements");
    expect((await lastAudit("trust.verify.xml"))?.detail).toContain("valid=false reason=untrusted_key");
  });

  it("refuses a PDF signature by a key outside the trust store, and a tampered one", async () => {
    const stranger = await selfSignedIdentity("CN=Mallory,O=Nowhere");
    const forged = await signPdf(pdf, { signer: SoftwareSigner.fromPem({ keyPem: stranger.keyPem, certificatePem: stranger.certPem }) });
    const untrusted = (await gw.call("/v1/verify/pdf", { body: forged, contentType: "application/pdf" })).json<PdfVerdict>();
    expect(untrusted.valid).toBe(false);
    expect(untrusted.signatures[0]).toMatchObject({ valid: false, integrity: true, chain: { valid: false, reason: "untrusted_root" } });
    expect(untrusted.signatures[0]?.reasons.map((r) => r.code)).toEqual(["untrusted"]);

    const signed = (await gw.call("/v1/sign/pdf?level=B-B", { body: pdf, contentType: "application/pdf" })).body;
    const tampered = Buffer.from(signed);
    // A byte of the signed range, in the binary comment after the header: the file still parses.
    tampered[10] = (tampered[10] ?? 0) ^ 0x01;
    const verdict = (await gw.call("/v1/verify/pdf", { body: tampered, contentType: "application/pdf" })).json<PdfVerdict>();
    expect(verdict).toMatchObject({ valid: false, signatures: [{ valid: false, integrity: false }] });
    expect(verdict.signatures[0]?.reasons.map((r) => r.code)).toEqual(["digest_mismatch"]);
  });

  describe("signature wrapping", () => {
    let signedXml: string;

    beforeAll(async () => {
      // A document signed by a trusted key (the sandbox FR CA), over its Body by Id, as SOAP-like profiles do.
      const pki = gw.gateway.sandbox?.sandbox.pki;
      if (pki === undefined) throw new Error("sandbox expected");
      const identity = await pki.clientIdentity("trust-test-wrapping", {
        country: "FR",
        subject: { C: "FR", O: "Passerelle Sandbox", CN: "Wrapping Test" },
        extendedKeyUsages: ["emailProtection"],
        keyUsages: ["nonRepudiation", "digitalSignature"],
      });
      const signer = SoftwareSigner.fromPem({ keyPem: identity.keyPem, certificatePem: [identity.certPem, ...identity.chainPem].join("") });
      signedXml = (await signXml('<Envelope><Body Id="body"><Amount>10</Amount></Body></Envelope>', { signer, references: [{ id: "body" }], keyInfo: "chain" })).xml;
      const genuine = (await gw.call("/v1/verify/xml", { body: signedXml, contentType: "application/xml" })).json<XmlVerdict>();
      expect(genuine).toMatchObject({ valid: true, signedElements: ['<Body Id="body"><Amount>10</Amount></Body>'] });
    });

    it("refuses a second element with the signed Id (duplicate_id)", async () => {
      const wrapped = signedXml.replace("<Envelope>", '<Envelope><Body Id="body"><Amount>1000</Amount></Body>');
      expect(wrapped).not.toBe(signedXml);
      const verdict = (await gw.call("/v1/verify/xml", { body: wrapped, contentType: "application/xml" })).json<XmlVerdict>();
      expect(verdict).toMatchObject({ valid: false, reason: "duplicate_id" });
    });

    it("returns only the signed element when the signed Body was moved aside and another put in its place", async () => {
      const wrapped = signedXml.replace('<Body Id="body"><Amount>10</Amount></Body>', '<Body><Amount>1000</Amount></Body><Wrapper><Body Id="body"><Amount>10</Amount></Body></Wrapper>');
      expect(wrapped).not.toBe(signedXml);
      const verdict = (await gw.call("/v1/verify/xml", { body: wrapped, contentType: "application/xml" })).json<XmlVerdict>();
      // The signature is genuine — over the moved element, which is all the caller gets to read.
      expect(verdict).toMatchObject({ valid: true, signedElements: ['<Body Id="body"><Amount>10</Amount></Body>'] });
      if (verdict.valid) expect(verdict.signedElements.join("")).not.toContain("1000");
    });
  });
});

describe("bodies that are not what the route takes", () => {
  it("refuses a body that is not a PDF (422), to sign and to verify", async () => {
    for (const path of ["/v1/sign/pdf?level=B-B", "/v1/verify/pdf"]) {
      expectProblem(await gw.call(path, { body: Buffer.from("GIF89a this is not a PDF at all"), contentType: "application/pdf" }), 422, "PASSERELLE_PDF_INVALID");
    }
    // A truncated PDF too.
    expectProblem(await gw.call("/v1/sign/pdf?level=B-B", { body: pdf.subarray(0, 200), contentType: "application/pdf" }), 422, "PASSERELLE_PDF_INVALID");
  });

  it("refuses an empty body (400)", async () => {
    for (const [path, contentType] of [
      ["/v1/sign/pdf", "application/pdf"],
      ["/v1/sign/xml", "application/xml"],
      ["/v1/verify/pdf", "application/pdf"],
      ["/v1/verify/xml", "application/xml"],
    ] as const) {
      expectProblem(await gw.call(path, { method: "POST", body: "", contentType }), 400, "PASSERELLE_MALFORMED_BODY");
    }
  });

  it("refuses another media type (415) without reading the body", async () => {
    expectProblem(await gw.call("/v1/sign/pdf", { body: pdf, contentType: "application/octet-stream" }), 415, "PASSERELLE_UNSUPPORTED_MEDIA_TYPE");
    expectProblem(await gw.call("/v1/sign/pdf", { body: "<x/>", contentType: "application/xml" }), 415, "PASSERELLE_UNSUPPORTED_MEDIA_TYPE");
    expectProblem(await gw.call("/v1/verify/xml", { body: '{"xml":"<x/>"}', contentType: "application/json" }), 415, "PASSERELLE_UNSUPPORTED_MEDIA_TYPE");
    expectProblem(await gw.call("/v1/verify/pdf", { body: pdf }), 415, "PASSERELLE_UNSUPPORTED_MEDIA_TYPE");
    // And the other way round: a PDF where JSON is expected.
    expectProblem(await gw.call("/v1/timestamp", { body: pdf, contentType: "application/pdf" }), 415, "PASSERELLE_UNSUPPORTED_MEDIA_TYPE");
  });

  it("refuses a document over BODY_LIMIT_BYTES (413)", async () => {
    expectProblem(await gw.call("/v1/verify/pdf", { body: Buffer.alloc(BODY_LIMIT + 1, 0x20), contentType: "application/pdf" }), 413, "PASSERELLE_PAYLOAD_TOO_LARGE");
  });

  it("validates the time-stamp request: algorithm, digest length and encoding", async () => {
    const post = (body: unknown) => gw.call("/v1/timestamp", { body: JSON.stringify(body), contentType: "application/json" });
    expectProblem(await post({ hashAlgorithm: "SHA-1", hash: "a".repeat(40) }), 400, "PASSERELLE_VALIDATION");
    const wrongLength = expectProblem(await post({ hashAlgorithm: "SHA-256", hash: "ab".repeat(48) }), 400, "PASSERELLE_VALIDATION");
    expect(wrongLength.errors).toEqual([{ in: "body", pointer: "/hash", detail: expect.stringContaining("32-byte SHA-256 digest") }]);
    expectProblem(await post({ hashAlgorithm: "SHA-256", hash: "zz".repeat(32) }), 400, "PASSERELLE_VALIDATION");
  });
});

describe("signers", () => {
  it("answers 404 for an unknown signer, and audits it", async () => {
    const problem = expectProblem(await gw.call("/v1/sign/pdf?signer=fr-00000000000", { body: pdf, contentType: "application/pdf" }), 404, "PASSERELLE_SIGNER_UNKNOWN");
    expect(problem.signer).toBe("fr-00000000000");
    expect(await lastAudit("trust.sign.pdf")).toMatchObject({ outcome: "failure" });
  });

  it("lets a non-admin caller use only the signers SIGNER_CALLERS lists for it, the first by default", async () => {
    const asAcme = { apiKey: ACME_KEY };
    const forbidden = expectProblem(await gw.call("/v1/sign/xml?signer=fr-10001234565", { body: "<a/>", contentType: "application/xml", ...asAcme }), 403, "PASSERELLE_FORBIDDEN");
    expect(forbidden.detail).toContain("acme-pms may not use signer fr-10001234565");
    expect(await lastAudit("trust.sign.xml")).toMatchObject({ outcome: "denied", caller: { software: "acme-pms" } });

    const signed = await gw.call("/v1/sign/xml", { body: "<a/>", contentType: "application/xml", ...asAcme });
    expect(signed.status, signed.text()).toBe(200);
    expect(signed.headers.get("x-signer")).toBe("lu-101234-56");
    const view = (await gw.call("/v1/trust/certificates", asAcme)).json<CertificatesView>();
    expect(view.signers.map((s) => [s.id, s.default])).toEqual([
      ["lu-101234-56", true],
      ["be-12345625004", false],
    ]);
    // The admin (the sandbox demo key) may use any.
    expect((await gw.call("/v1/sign/xml?signer=fr-10001234565", { body: "<a/>", contentType: "application/xml" })).status).toBe(200);
  });

  it("refuses callers without credentials", async () => {
    expectProblem(await gw.call("/v1/sign/pdf", { body: pdf, contentType: "application/pdf", apiKey: null }), 401, "PASSERELLE_UNAUTHENTICATED");
  });
});

describe("a TSA that fails", () => {
  const tsa = (): UpstreamClient => {
    const client = gw.gateway.upstreams.get("sandbox-tsa");
    if (!(client instanceof UpstreamClient)) throw new Error("the gateway registers an UpstreamClient per simulator");
    return client;
  };
  const inject = async (fault: Record<string, unknown>): Promise<void> => {
    await tsa().request({ method: "POST", path: "/_test/faults", headers: { "content-type": "application/json" }, body: JSON.stringify(fault) });
  };

  afterEach(async () => {
    await tsa().request({ method: "DELETE", path: "/_test/faults" });
  });

  it("answers 502 naming the TSA when it fails, with no PDF", async () => {
    await inject({ mode: "error500", times: 1 });
    const problem = expectProblem(await gw.call("/v1/sign/pdf", { body: pdf, contentType: "application/pdf" }), 502, "PASSERELLE_UPSTREAM_BAD_RESPONSE");
    expect(problem).toMatchObject({ upstream: "sandbox-tsa", upstreamStatus: 500 });
    const record = await lastAudit("trust.sign.pdf");
    expect(record).toMatchObject({ outcome: "failure" });
    expect(record?.detail).toContain("error=PASSERELLE_UPSTREAM_BAD_RESPONSE");
    expect(record?.detail).not.toContain("output=");
  });

  it("answers 504 naming the TSA when it is slower than TSA_TIMEOUT_MS", async () => {
    await inject({ mode: "slow", delayMs: 5_000, times: 1 });
    const started = performance.now();
    const digest = createHash("sha256").update("x").digest("hex");
    const problem = expectProblem(
      await gw.call("/v1/timestamp", { body: JSON.stringify({ hashAlgorithm: "SHA-256", hash: digest }), contentType: "application/json" }),
      504,
      "PASSERELLE_UPSTREAM_TIMEOUT",
    );
    expect(problem).toMatchObject({ upstream: "sandbox-tsa", detail: `Time-stamping authority sandbox-tsa did not answer within ${TSA_TIMEOUT_MS} ms` });
    expect(performance.now() - started).toBeLessThan(TSA_TIMEOUT_MS + 1_500);
    const slowSign = await gw.call("/v1/sign/pdf", { body: pdf, contentType: "application/pdf" });
    expect(slowSign.status).toBe(200); // the fault applied once
  });

  it("answers 502 when the TSA's token is signed by a certificate outside the trust store", async () => {
    await inject({ mode: "untrusted-cert", times: 1 });
    const problem = expectProblem(await gw.call("/v1/sign/pdf", { body: pdf, contentType: "application/pdf" }), 502, "PASSERELLE_TIMESTAMP_INVALID");
    expect(problem).toMatchObject({ upstream: "sandbox-tsa", reason: "untrusted-tsa" });
  });
});
