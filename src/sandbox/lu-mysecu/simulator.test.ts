/**
 * The mySecu simulator on its own (in process, `app.inject()`): the STS's
 * checks of signed requests and the assertion it issues, the syncexchange
 * service's checks, each refusal with its own fault code. The real-HTTPS
 * path through the client is tested in src/services/lu/mysecu/.
 */
import { X509Certificate } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Document } from "@xmldom/xmldom";
import { pino } from "pino";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parseXml, selectElements, serializeXml } from "../../protocols/xml/index.js";
import { signXml, verifyXmlSignature } from "../../protocols/xmldsig/index.js";
import { buildDepositRequest } from "../../services/lu/mysecu/deposit-message.js";
import { readSoapAnswer, type SoapVersion } from "../../services/lu/mysecu/soap-message.js";
import { buildIssueRequest } from "../../services/lu/mysecu/sts-request.js";
import { signSoapRequest } from "../../services/lu/mysecu/ws-security.js";
import { validateChain } from "../../trust/certificates/index.js";
import { SandboxPki } from "../../trust/pki/index.js";
import type { SoftwareSigner } from "../../trust/signers/index.js";
import { luhnCheckDigit, matriculeFor, isValidMatricule, verhoeffCheckDigit } from "./matricule.js";
import {
  DEPOSIT_DOCUMENT_ACTION,
  DS_NAMESPACE,
  SAML2_NAMESPACE,
  SOAP11_NAMESPACE,
  SYNCEXCHANGE_NAMESPACE,
  WSSE_NAMESPACE,
  WST_ISSUE_ACTION,
  WST_NAMESPACE,
  WSU_NAMESPACE,
} from "./namespaces.js";
import { issueSamlAssertion } from "./saml-assertion.js";
import { LU_MYSECU_PATHS, buildLuMySecuApp, sandboxMySecuStsSigner, type LuMySecuApp } from "./simulator.js";
import { testPdf, testPractitionerSigner, testSignedPdf, testVendorSigner } from "./test-fixtures.js";

const BASE_URL = "https://mysecu.test:7443";
const SYNC_URL = `${BASE_URL}${LU_MYSECU_PATHS.syncExchange}`;
const logger = pino({ level: "silent" });

let dataDir: string;
let pki: SandboxPki;
let app: LuMySecuApp;
let vendor: SoftwareSigner;
let foreignVendor: SoftwareSigner;
let anne: SoftwareSigner;
/** Moves the simulator's clock (and the messages we sign with it). */
let offsetMs = 0;
const now = (): Date => new Date(Date.now() + offsetMs);

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "passerelle-lu-mysecu-"));
  pki = await SandboxPki.open(dataDir);
  app = await buildLuMySecuApp({ pki, logger, url: BASE_URL, now });
  await app.ready();
  [vendor, foreignVendor, anne] = await Promise.all([testVendorSigner(pki, "LU"), testVendorSigner(pki, "FR"), testPractitionerSigner(pki, "101234-56")]);
});

afterAll(async () => {
  await app?.close();
  await rm(dataDir, { recursive: true, force: true });
});

beforeEach(async () => {
  offsetMs = 0;
  await app.inject({ method: "DELETE", url: "/_test/faults" });
});

const CONTENT_TYPES: Record<SoapVersion, (action: string) => string> = {
  "1.1": () => "text/xml; charset=utf-8",
  "1.2": (action) => `application/soap+xml; charset=utf-8; action="${action}"`,
};

async function post(path: string, body: string, version: SoapVersion = "1.1", action = path === LU_MYSECU_PATHS.trust ? WST_ISSUE_ACTION : DEPOSIT_DOCUMENT_ACTION) {
  return app.inject({
    method: "POST",
    url: path,
    headers: { "content-type": CONTENT_TYPES[version](action), ...(version === "1.1" ? { soapaction: `"${action}"` } : {}) },
    payload: body,
  });
}

/** The fault code of a SOAP answer (read by the client's own reader), or "payload". */
function faultCode(response: { statusCode: number; body: string }, version: SoapVersion = "1.1"): string {
  const answer = readSoapAnswer(Buffer.from(response.body), version, response.statusCode, 1 << 20);
  return answer.kind === "fault" ? answer.fault.code : "payload";
}

async function signedRst(options: { version?: SoapVersion; signer?: SoftwareSigner; at?: Date; appliesTo?: string; edit?: (doc: Document) => void } = {}): Promise<string> {
  const version = options.version ?? "1.1";
  const document = parseXml(buildIssueRequest(version, options.appliesTo ?? SYNC_URL));
  options.edit?.(document);
  return signSoapRequest(document, { signer: options.signer ?? vendor, version, now: options.at ?? now(), ttlSeconds: 300 });
}

/** A fresh assertion from the STS. */
async function issueAssertion(version: SoapVersion = "1.1"): Promise<string> {
  const response = await post(LU_MYSECU_PATHS.trust, await signedRst({ version }), version);
  expect(response.statusCode, response.body).toBe(200);
  const assertion = selectElements("//saml2:Assertion", parseXml(response.body), { saml2: SAML2_NAMESPACE })[0];
  if (assertion === undefined) throw new Error("no assertion");
  return serializeXml(assertion);
}

interface DepositOptions {
  providerCode?: string;
  pdf?: Buffer;
  reference?: string;
  matricule?: string;
  version?: SoapVersion;
}

let pdfCounter = 0;
async function depositBody(assertionXml: string, options: DepositOptions = {}): Promise<string> {
  return buildDepositRequest(
    options.version ?? "1.1",
    assertionXml,
    {
      clientReference: options.reference ?? `ref-${++pdfCounter}`,
      providerCode: options.providerCode ?? "101234-56",
      patientMatricule: options.matricule,
      documentType: "ECIT",
      title: "Certificat d'incapacité de travail",
      fileName: "ecit.pdf",
      pdf: options.pdf ?? (await testSignedPdf(anne, `eCIT ${pdfCounter}`)),
    },
    now(),
    300,
  );
}

describe("WSDLs", () => {
  it("serves the STS WSDL at ?wsdl, with its endpoint and WS-Trust operation", async () => {
    const response = await app.inject({ method: "GET", url: `${LU_MYSECU_PATHS.trust}?wsdl` });
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toBe("text/xml; charset=utf-8");
    const wsdl = parseXml(response.body);
    expect(wsdl.documentElement?.getAttribute("targetNamespace")).toBe(WST_NAMESPACE);
    const addresses = selectElements("//*[local-name()='address']", wsdl).map((a) => a.getAttribute("location"));
    expect(addresses).toEqual([`${BASE_URL}${LU_MYSECU_PATHS.trust}`, `${BASE_URL}${LU_MYSECU_PATHS.trust}`]);
    expect(response.body).toContain(`soapAction="${WST_ISSUE_ACTION}"`);
  });

  it("serves the syncexchange WSDL with the message schema and fault codes", async () => {
    const response = await app.inject({ method: "GET", url: `${LU_MYSECU_PATHS.syncExchange}?WSDL` });
    expect(response.statusCode).toBe(200);
    const wsdl = parseXml(response.body);
    expect(wsdl.documentElement?.getAttribute("targetNamespace")).toBe(SYNCEXCHANGE_NAMESPACE);
    const elements = selectElements("//*[local-name()='schema']/*[local-name()='element']", wsdl).map((e) => e.getAttribute("name"));
    expect(elements).toEqual(expect.arrayContaining(["DepositDocumentRequest", "DepositDocumentResponse", "PractitionerNotEnrolled", "InvalidDocumentSignature"]));
    expect(response.body).toContain(`location="${SYNC_URL}"`);
  });

  it("answers 405 to a GET without ?wsdl", async () => {
    const response = await app.inject({ method: "GET", url: LU_MYSECU_PATHS.syncExchange });
    expect(response.statusCode).toBe(405);
    expect(response.headers.allow).toBe("POST");
  });
});

describe("STS", () => {
  it("issues a SAML 2.0 bearer assertion for the vendor, signed by the STS, valid one hour for syncexchange", async () => {
    const response = await post(LU_MYSECU_PATHS.trust, await signedRst());
    expect(response.statusCode, response.body).toBe(200);
    expect(response.headers["content-type"]).toBe("text/xml; charset=utf-8");
    const document = parseXml(response.body);
    const ns = { soap: SOAP11_NAMESPACE, wst: WST_NAMESPACE, saml2: SAML2_NAMESPACE, wsu: WSU_NAMESPACE };
    const rstr = selectElements("/soap:Envelope/soap:Body/wst:RequestSecurityTokenResponseCollection/wst:RequestSecurityTokenResponse", document, ns);
    expect(rstr).toHaveLength(1);
    const assertion = selectElements("./wst:RequestedSecurityToken/saml2:Assertion", rstr[0] as never, ns)[0];
    const standalone = parseXml(serializeXml(assertion as never));
    const verified = await verifyXmlSignature(standalone, {
      trustedCertificates: [app.mySecu.stsCertificate],
      signatureXPath: "/saml2:Assertion/ds:Signature",
      requireSigned: ["/saml2:Assertion"],
      namespaces: { saml2: SAML2_NAMESPACE },
      idAttributes: ["ID"],
    });
    const signed = verified.signedElements[0] as never;
    const text = (xpath: string): string | undefined => selectElements(xpath, signed, ns)[0]?.textContent ?? undefined;
    expect(text("./saml2:Issuer")).toBe(`${BASE_URL}${LU_MYSECU_PATHS.trust}`);
    expect(text("./saml2:Subject/saml2:NameID")).toBe("CN=mySecu test vendor (LU),OU=eConnector generic keystore,O=Passerelle Sandbox,C=LU");
    expect(text("./saml2:Conditions/saml2:AudienceRestriction/saml2:Audience")).toBe(SYNC_URL);
    const conditions = selectElements("./saml2:Conditions", signed, ns)[0];
    const lifetime = Date.parse(conditions?.getAttribute("NotOnOrAfter") ?? "") - Date.parse(conditions?.getAttribute("NotBefore") ?? "");
    expect(lifetime).toBe(3600_000);
    expect(selectElements("./wst:Lifetime/wsu:Expires", rstr[0] as never, ns)[0]?.textContent).toBe(conditions?.getAttribute("NotOnOrAfter"));
    // The STS's own certificate comes from the sandbox LU CA.
    const chain = await validateChain(app.mySecu.stsCertificate, { anchors: [new X509Certificate(pki.caCertPem("LU"))], purpose: "signature" });
    expect(chain.valid).toBe(true);
  });

  it("speaks SOAP 1.2 too", async () => {
    const response = await post(LU_MYSECU_PATHS.trust, await signedRst({ version: "1.2" }), "1.2");
    expect(response.statusCode, response.body).toBe(200);
    expect(response.headers["content-type"]).toBe("application/soap+xml; charset=utf-8");
    expect(faultCode(response, "1.2")).toBe("payload");
  });

  it("refuses an unsigned request (wsse:InvalidSecurity), as a SOAP 1.1 fault with HTTP 500", async () => {
    const response = await post(LU_MYSECU_PATHS.trust, buildIssueRequest("1.1", SYNC_URL));
    expect(response.statusCode).toBe(500);
    expect(faultCode(response)).toBe("wsse:InvalidSecurity");
  });

  it("answers SOAP 1.2 faults as env:Sender subcodes with HTTP 400", async () => {
    const response = await post(LU_MYSECU_PATHS.trust, buildIssueRequest("1.2", SYNC_URL), "1.2");
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain("<soap:Value>soap:Sender</soap:Value>");
    expect(faultCode(response, "1.2")).toBe("wsse:InvalidSecurity");
  });

  it("refuses a tampered Body or Timestamp (wsse:FailedCheck)", async () => {
    const signed = await signedRst();
    expect(faultCode(await post(LU_MYSECU_PATHS.trust, signed.replace("/Bearer</wst:KeyType>", "/Bearer </wst:KeyType>")))).toBe("wsse:FailedCheck");
    const expires = /<wsu:Expires>([^<]+)<\/wsu:Expires>/.exec(signed)?.[1] as string;
    const later = new Date(Date.parse(expires) + 3600_000).toISOString();
    expect(faultCode(await post(LU_MYSECU_PATHS.trust, signed.replace(expires, later)))).toBe("wsse:FailedCheck");
  });

  it("refuses a signature that leaves the Timestamp out (wsse:FailedCheck)", async () => {
    const document = parseXml(await signedRst());
    const ns = { soap: SOAP11_NAMESPACE, wsse: WSSE_NAMESPACE, ds: DS_NAMESPACE };
    const signature = selectElements("//ds:Signature", document, ns)[0];
    const keyInfo = selectElements("./ds:KeyInfo", signature as never, ns)[0];
    signature?.parentNode?.removeChild(signature);
    const bodyId = selectElements("/soap:Envelope/soap:Body", document, ns)[0]?.getAttributeNS(WSU_NAMESPACE, "Id") as string;
    const resigned = await signXml(document, {
      signer: vendor,
      references: [{ id: bodyId }],
      location: { xpath: "/soap:Envelope/soap:Header/wsse:Security", action: "append" },
      namespaces: ns,
      idAttributes: ["wsu:Id"],
      keyInfo: "none",
    });
    resigned.signature.appendChild(keyInfo as never);
    const response = await post(LU_MYSECU_PATHS.trust, serializeXml(document));
    expect(faultCode(response)).toBe("wsse:FailedCheck");
    expect(response.body).toContain("wrapping");
  });

  it("refuses a wrapped message: the signed Body moved away and another one put in its place (wsse:FailedCheck)", async () => {
    const document = parseXml(await signedRst());
    const ns = { soap: SOAP11_NAMESPACE, wsse: WSSE_NAMESPACE };
    const body = selectElements("/soap:Envelope/soap:Body", document, ns)[0];
    const security = selectElements("/soap:Envelope/soap:Header/wsse:Security", document, ns)[0];
    if (body === undefined || security === undefined) throw new Error("unexpected message");
    const evil = body.cloneNode(true) as typeof body;
    evil.removeAttributeNS(WSU_NAMESPACE, "Id");
    const wrapper = document.createElementNS(WSSE_NAMESPACE, "wsse:Wrapper");
    body.parentNode?.replaceChild(evil, body);
    wrapper.appendChild(body);
    security.appendChild(wrapper);
    expect(faultCode(await post(LU_MYSECU_PATHS.trust, serializeXml(document)))).toBe("wsse:FailedCheck");
  });

  it("refuses a certificate the LU CA did not issue (wsse:FailedAuthentication)", async () => {
    const response = await post(LU_MYSECU_PATHS.trust, await signedRst({ signer: foreignVendor }));
    expect(faultCode(response)).toBe("wsse:FailedAuthentication");
    expect(response.body).toContain("signing certificate is not accepted");
  });

  it("refuses stale and future timestamps (wsse:MessageExpired)", async () => {
    expect(faultCode(await post(LU_MYSECU_PATHS.trust, await signedRst({ at: new Date(Date.now() - 10 * 60_000) })))).toBe("wsse:MessageExpired");
    expect(faultCode(await post(LU_MYSECU_PATHS.trust, await signedRst({ at: new Date(Date.now() + 10 * 60_000) })))).toBe("wsse:MessageExpired");
  });

  it("refuses a replayed message (wsse:InvalidSecurity)", async () => {
    const signed = await signedRst();
    expect(faultCode(await post(LU_MYSECU_PATHS.trust, signed))).toBe("payload");
    const replay = await post(LU_MYSECU_PATHS.trust, signed);
    expect(faultCode(replay)).toBe("wsse:InvalidSecurity");
    expect(replay.body).toContain("replay");
  });

  it("refuses tokens for another service (wst:InvalidScope) and other request types (wst:InvalidRequest)", async () => {
    expect(faultCode(await post(LU_MYSECU_PATHS.trust, await signedRst({ appliesTo: "https://elsewhere.test/service" })))).toBe("wst:InvalidScope");
    const renew = await signedRst({
      edit: (doc) => {
        const type = selectElements("//wst:RequestType", doc, { wst: WST_NAMESPACE })[0];
        if (type?.firstChild) type.firstChild.nodeValue = `${WST_NAMESPACE}/Renew`;
      },
    });
    expect(faultCode(await post(LU_MYSECU_PATHS.trust, renew))).toBe("wst:InvalidRequest");
  });

  it("refuses DTDs, non-SOAP bodies and a wrong SOAPAction before anything else (wst:InvalidRequest)", async () => {
    expect(faultCode(await post(LU_MYSECU_PATHS.trust, '<!DOCTYPE x [<!ENTITY a "a">]><x>&a;</x>'))).toBe("wst:InvalidRequest");
    expect(faultCode(await post(LU_MYSECU_PATHS.trust, "<hello/>"))).toBe("wst:InvalidRequest");
    expect(faultCode(await post(LU_MYSECU_PATHS.trust, await signedRst(), "1.1", `${WST_NAMESPACE}/RST/Cancel`))).toBe("wst:InvalidRequest");
  });
});

describe("syncexchange", () => {
  it("stores a PAdES-signed PDF for an enrolled practitioner and answers its deposit id", async () => {
    const pdf = await testSignedPdf(anne, "eCIT stored");
    const matricule = matriculeFor("19800101", 123);
    const response = await post(LU_MYSECU_PATHS.syncExchange, await depositBody(await issueAssertion(), { pdf, reference: "urn:uuid:stored", matricule }));
    expect(response.statusCode, response.body).toBe(200);
    const document = parseXml(response.body);
    const depositId = selectElements("//sx:DepositId", document, { sx: SYNCEXCHANGE_NAMESPACE })[0]?.textContent;
    expect(depositId).toMatch(/^MS-/);
    const listing = (await app.inject({ method: "GET", url: "/_test/deposits" })).json<{ deposits: Array<Record<string, unknown>> }>();
    const stored = listing.deposits.find((deposit) => deposit.depositId === depositId);
    expect(stored).toMatchObject({
      clientReference: "urn:uuid:stored",
      providerCode: "101234-56",
      patientMatricule: matricule,
      documentType: "ECIT",
      size: pdf.length,
      vendor: "CN=mySecu test vendor (LU),OU=eConnector generic keystore,O=Passerelle Sandbox,C=LU",
    });
    expect(String(stored?.signerSubject)).toContain("serialNumber=101234-56");
    const content = await app.inject({ method: "GET", url: `/_test/deposits/${depositId}/content` });
    expect(content.rawPayload.equals(pdf)).toBe(true);
  });

  it("answers the same deposit again for the same ClientReference and document, and refuses it for another (sx:DuplicateReference)", async () => {
    const assertion = await issueAssertion();
    const pdf = await testSignedPdf(anne, "eCIT twice");
    const first = await post(LU_MYSECU_PATHS.syncExchange, await depositBody(assertion, { pdf, reference: "ref-twice" }));
    const again = await post(LU_MYSECU_PATHS.syncExchange, await depositBody(assertion, { pdf, reference: "ref-twice" }));
    const id = (body: string): string | undefined => /<sx:DepositId>([^<]+)</.exec(body)?.[1];
    expect(id(first.body)).toBeDefined();
    expect(id(again.body)).toBe(id(first.body));
    const listing = (await app.inject({ method: "GET", url: "/_test/deposits" })).json<{ deposits: Array<{ clientReference: string }> }>();
    expect(listing.deposits.filter((deposit) => deposit.clientReference === "ref-twice")).toHaveLength(1);
    const other = await post(LU_MYSECU_PATHS.syncExchange, await depositBody(assertion, { reference: "ref-twice" }));
    expect(faultCode(other)).toBe("sx:DuplicateReference");
  });

  it("refuses a practitioner who is not enrolled (sx:PractitionerNotEnrolled)", async () => {
    const sandrine = await testPractitionerSigner(pki, "601678-90");
    const pdf = await testSignedPdf(sandrine, "eCIT by Sandrine");
    const response = await post(LU_MYSECU_PATHS.syncExchange, await depositBody(await issueAssertion(), { pdf, providerCode: "601678-90" }));
    expect(faultCode(response)).toBe("sx:PractitionerNotEnrolled");
  });

  it("refuses documents whose signature is missing, broken or untrusted, or by someone else", async () => {
    const assertion = await issueAssertion();
    const signed = await testSignedPdf(anne, "eCIT to tamper");
    const tampered = Buffer.from(signed);
    // A byte of the binary comment on the header's second line: inside the signed range, harmless to the parser.
    expect(tampered.subarray(0, 10).toString("latin1")).toMatch(/^%PDF-1\.\d\n%/);
    tampered[10] = (tampered[10] as number) ^ 1;
    const untrusted = await testSignedPdf(await testPractitionerSigner(pki, "101234-56", "FR"), "eCIT signed under the FR CA");
    const byMarc = await testSignedPdf(await testPractitionerSigner(pki, "102345-67"), "eCIT signed by Marc");
    const cases: Array<[string, Buffer, string]> = [
      ["unsigned", await testPdf("eCIT unsigned"), "sx:InvalidDocumentSignature"],
      ["tampered", tampered, "sx:InvalidDocumentSignature"],
      ["untrusted", untrusted, "sx:InvalidDocumentSignature"],
      ["another signer", byMarc, "sx:SignerMismatch"],
      ["not a PDF", Buffer.from("%PDF-1.7 nothing else"), "sx:InvalidDocument"],
    ];
    for (const [name, pdf, code] of cases) {
      expect(faultCode(await post(LU_MYSECU_PATHS.syncExchange, await depositBody(assertion, { pdf }))), name).toBe(code);
    }
  });

  it("refuses an invalid patient matricule (sx:InvalidMatricule)", async () => {
    const valid = matriculeFor("19750615", 42);
    const wrong = `${valid.slice(0, 12)}${(Number(valid[12]) + 1) % 10}`;
    const response = await post(LU_MYSECU_PATHS.syncExchange, await depositBody(await issueAssertion(), { matricule: wrong }));
    expect(faultCode(response)).toBe("sx:InvalidMatricule");
  });

  it("refuses a request without assertion, a forged one, and one of another STS", async () => {
    const assertion = await issueAssertion();
    const withoutAssertion = await depositBody("");
    expect(faultCode(await post(LU_MYSECU_PATHS.syncExchange, withoutAssertion))).toBe("wsse:InvalidSecurity");
    const forged = assertion.replace("CN=mySecu test vendor (LU)", "CN=Somebody else");
    expect(faultCode(await post(LU_MYSECU_PATHS.syncExchange, await depositBody(forged)))).toBe("wsse:InvalidSecurityToken");
    const other = await buildLuMySecuApp({ pki, logger, url: "https://other-mysecu.test" });
    try {
      const rst = await signSoapRequest(parseXml(buildIssueRequest("1.1", `https://other-mysecu.test${LU_MYSECU_PATHS.syncExchange}`)), {
        signer: vendor,
        version: "1.1",
        now: now(),
        ttlSeconds: 300,
      });
      const issued = await other.inject({ method: "POST", url: LU_MYSECU_PATHS.trust, headers: { "content-type": "text/xml" }, payload: rst });
      const foreign = serializeXml(selectElements("//saml2:Assertion", parseXml(issued.body), { saml2: SAML2_NAMESPACE })[0] as never);
      expect(faultCode(await post(LU_MYSECU_PATHS.syncExchange, await depositBody(foreign)))).toBe("wsse:InvalidSecurityToken");
    } finally {
      await other.close();
    }
  });

  it("refuses an assertion of this STS for another audience (sx:AudienceMismatch)", async () => {
    const assertion = await issueSamlAssertion({
      signer: await sandboxMySecuStsSigner(pki),
      issuer: `${BASE_URL}${LU_MYSECU_PATHS.trust}`,
      audience: "https://another-service.test/deposit",
      subjectName: "CN=mySecu test vendor (LU)",
      vendorCertificateSha256: "0".repeat(64),
      now: now(),
      lifetimeSeconds: 600,
    });
    expect(faultCode(await post(LU_MYSECU_PATHS.syncExchange, await depositBody(assertion.xml)))).toBe("sx:AudienceMismatch");
  });

  it("refuses an expired assertion (sx:TokenExpired)", async () => {
    const assertion = await issueAssertion();
    offsetMs = 3600_000 + 2 * 60_000; // one hour of life, plus more than the tolerated clock skew
    expect(faultCode(await post(LU_MYSECU_PATHS.syncExchange, await depositBody(assertion)))).toBe("sx:TokenExpired");
  });

  it("speaks SOAP 1.2 and checks the action", async () => {
    const assertion = await issueAssertion("1.2");
    const ok = await post(LU_MYSECU_PATHS.syncExchange, await depositBody(assertion, { version: "1.2" }), "1.2");
    expect(ok.statusCode, ok.body).toBe(200);
    const wrongAction = await post(LU_MYSECU_PATHS.syncExchange, await depositBody(assertion, { version: "1.2" }), "1.2", `${SYNCEXCHANGE_NAMESPACE}/Delete`);
    expect(wrongAction.statusCode).toBe(400);
    expect(faultCode(wrongAction, "1.2")).toBe("sx:InvalidRequest");
  });

  it("injects faults: down (503), reject-token (once)", async () => {
    const assertion = await issueAssertion();
    await app.inject({ method: "POST", url: "/_test/faults", payload: { mode: "down", service: "syncexchange", times: 1 } });
    const down = await post(LU_MYSECU_PATHS.syncExchange, await depositBody(assertion));
    expect(down.statusCode).toBe(503);
    expect(faultCode(down)).toBe("sx:ServiceUnavailable");
    await app.inject({ method: "POST", url: "/_test/faults", payload: { mode: "reject-token", times: 1 } });
    expect(faultCode(await post(LU_MYSECU_PATHS.syncExchange, await depositBody(assertion)))).toBe("wsse:InvalidSecurityToken");
    expect(faultCode(await post(LU_MYSECU_PATHS.syncExchange, await depositBody(assertion)))).toBe("payload");
    const bad = await app.inject({ method: "POST", url: "/_test/faults", payload: { mode: "reject-token", service: "sts" } });
    expect(bad.statusCode).toBe(400);
  });
});

describe("matricule", () => {
  it("computes Luhn and Verhoeff check digits (reference vectors)", () => {
    expect(luhnCheckDigit("7992739871")).toBe(3); // ISO/IEC 7812-1 Annex B example
    expect(verhoeffCheckDigit("236")).toBe(3); // Verhoeff's own example
    expect(verhoeffCheckDigit("12345")).toBe(1);
  });

  it("accepts well-formed matricules and refuses any single changed digit", () => {
    const matricule = matriculeFor("19800101", 123);
    expect(isValidMatricule(matricule)).toBe(true);
    for (let i = 0; i < 13; i++) {
      const changed = `${matricule.slice(0, i)}${(Number(matricule[i]) + 1) % 10}${matricule.slice(i + 1)}`;
      expect(isValidMatricule(changed), changed).toBe(false);
    }
    expect(isValidMatricule("1980130112345")).toBe(false);
    expect(isValidMatricule("198001011234")).toBe(false);
  });
});
