/**
 * The WS-Security signature of the STS request is standard: xmlsec1
 * (libxml2 + OpenSSL, an independent implementation) verifies it with the
 * vendor's certificate, over the Body and the Timestamp, and refuses it once
 * either is changed.
 */
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseXml, selectElements } from "../../../protocols/xml/index.js";
import { SandboxPki } from "../../../trust/pki/index.js";
import { SoftwareSigner } from "../../../trust/signers/index.js";
import { DS_NAMESPACE, SOAP11_NAMESPACE, SOAP12_NAMESPACE, WSSE_NAMESPACE, WSU_NAMESPACE, X509V3_VALUE_TYPE } from "./namespaces.js";
import { buildIssueRequest } from "./sts-request.js";
import { signSoapRequest } from "./ws-security.js";

const run = promisify(execFile);
let dir: string;
let signer: SoftwareSigner;
let vendorCertificate: X509Certificate;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "passerelle-mysecu-wss-"));
  const pki = await SandboxPki.open(dir);
  const vendor = await pki.clientIdentity("mysecu-wss-test-vendor", {
    country: "LU",
    subject: { C: "LU", O: "Passerelle Sandbox", OU: "eConnector generic keystore", CN: "WS-Security test vendor" },
    keyUsages: ["digitalSignature"],
  });
  signer = SoftwareSigner.fromPem({ keyPem: vendor.keyPem, certificatePem: [vendor.certPem, ...vendor.chainPem].join("") });
  vendorCertificate = new X509Certificate(vendor.certPem);
  await writeFile(join(dir, "vendor.pem"), vendor.certPem);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function xmlsec1Verify(name: string, xml: string, soapNamespace: string): Promise<{ ok: boolean; output: string }> {
  await writeFile(join(dir, name), xml);
  // wsu:Id is not a DTD ID: tell xmlsec1 which attribute is one, on which elements (its --id-attr matches the local name).
  const args = ["--verify", "--pubkey-cert-pem", "vendor.pem", "--id-attr:Id", `${soapNamespace}:Body`, "--id-attr:Id", `${WSU_NAMESPACE}:Timestamp`, name];
  try {
    const { stdout, stderr } = await run("xmlsec1", args, { cwd: dir, timeout: 20_000 });
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const failure = error as { code?: unknown; stdout?: string; stderr?: string };
    if (failure.code === "ENOENT") throw new Error("xmlsec1 is not installed (apt-get install xmlsec1)", { cause: error });
    return { ok: false, output: `${failure.stdout ?? ""}${failure.stderr ?? ""}` };
  }
}

async function signedIssueRequest(version: "1.1" | "1.2"): Promise<string> {
  return signSoapRequest(parseXml(buildIssueRequest(version, "https://ws.mysecu.example/ws/soap/espinst/syncexchange")), {
    signer,
    version,
    now: new Date("2025-06-02T08:30:00.000Z"),
    ttlSeconds: 300,
  });
}

describe("WS-Security signed STS request", () => {
  it("is verified by xmlsec1, SOAP 1.1, both references", async () => {
    const xml = await signedIssueRequest("1.1");
    const result = await xmlsec1Verify("rst11.xml", xml, SOAP11_NAMESPACE);
    expect(result.output).toContain("SignedInfo References (ok/all): 2/2");
    expect(result.ok).toBe(true);
  });

  it("is verified by xmlsec1, SOAP 1.2", async () => {
    const result = await xmlsec1Verify("rst12.xml", await signedIssueRequest("1.2"), SOAP12_NAMESPACE);
    expect(result.ok).toBe(true);
  });

  it("is refused by xmlsec1 once the Body or the Timestamp changes", async () => {
    const xml = await signedIssueRequest("1.1");
    const body = await xmlsec1Verify("rst-body.xml", xml.replace("/Bearer</wst:KeyType>", "/PublicKey</wst:KeyType>"), SOAP11_NAMESPACE);
    expect(body.ok).toBe(false);
    const timestamp = await xmlsec1Verify("rst-ts.xml", xml.replace("2025-06-02T08:35:00.000Z", "2025-06-02T09:35:00.000Z"), SOAP11_NAMESPACE);
    expect(timestamp.ok).toBe(false);
  });

  it("has the WS-Security 1.1 structure: Timestamp, X.509 token, then a Signature referencing it", async () => {
    const document = parseXml(await signedIssueRequest("1.1"));
    const ns = { soap: SOAP11_NAMESPACE, wsse: WSSE_NAMESPACE, wsu: WSU_NAMESPACE, ds: DS_NAMESPACE };
    const security = selectElements("/soap:Envelope/soap:Header/wsse:Security", document, ns)[0];
    expect(security?.getAttributeNS(SOAP11_NAMESPACE, "mustUnderstand")).toBe("1");
    const children = selectElements("./*", security as never, ns).map((child) => `${child.namespaceURI}#${child.localName}`);
    expect(children).toEqual([`${WSU_NAMESPACE}#Timestamp`, `${WSSE_NAMESPACE}#BinarySecurityToken`, `${DS_NAMESPACE}#Signature`]);
    const token = selectElements("./wsse:BinarySecurityToken", security as never, ns)[0];
    expect(Buffer.from(token?.textContent ?? "", "base64").equals(vendorCertificate.raw)).toBe(true);
    const reference = selectElements("./ds:Signature/ds:KeyInfo/wsse:SecurityTokenReference/wsse:Reference", security as never, ns)[0];
    expect(reference?.getAttribute("URI")).toBe(`#${token?.getAttributeNS(WSU_NAMESPACE, "Id")}`);
    expect(reference?.getAttribute("ValueType")).toBe(X509V3_VALUE_TYPE);
    const uris = selectElements("./ds:Signature/ds:SignedInfo/ds:Reference", security as never, ns).map((r) => r.getAttribute("URI"));
    const timestampId = selectElements("./wsu:Timestamp", security as never, ns)[0]?.getAttributeNS(WSU_NAMESPACE, "Id");
    const bodyId = selectElements("/soap:Envelope/soap:Body", document, ns)[0]?.getAttributeNS(WSU_NAMESPACE, "Id");
    expect(uris).toEqual([`#${timestampId}`, `#${bodyId}`]);
  });
});
