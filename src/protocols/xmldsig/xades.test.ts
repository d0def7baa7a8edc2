import { execFile } from "node:child_process";
import { createHash, sign as nodeSign } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Document, Element } from "@xmldom/xmldom";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canonicalize } from "../xml/canonicalize.js";
import { parseXml, serializeXml } from "../xml/parse.js";
import { XmlSignatureError, type XmlSignatureFailure } from "./errors.js";
import { keySigner, openTestPki, replaceText, type TestPki } from "./test-support/fixtures.js";
import { chainToTrustAnchors } from "./trust.js";
import { verifyXmlSignature, type XmlSignaturePolicy } from "./verify.js";
import { XADES_NAMESPACE, XADES_SIGNED_PROPERTIES_TYPE, signXades, verifyXades } from "./xades.js";

const DSIG = "http://www.w3.org/2000/09/xmldsig#";
const SIGNING_TIME = new Date("2025-03-14T15:09:26.535Z");
const DOCUMENT = '<invoice xmlns="urn:example:invoice"><amount currency="EUR">25.00</amount></invoice>';

let pki: TestPki;
let signed: string;
beforeAll(async () => {
  pki = await openTestPki();
  signed = (await signXades(DOCUMENT, { signer: signerOf(), signingTime: SIGNING_TIME, keyInfo: "chain" })).xml;
});
afterAll(async () => {
  await pki?.cleanup();
});

const signerOf = (): ReturnType<typeof keySigner> => keySigner({ privateKey: pki.signer.privateKey, chain: [pki.signer.certificate, ...pki.signer.intermediates] });
const policy = (): XmlSignaturePolicy => ({ trustPolicy: chainToTrustAnchors([pki.root]) });

async function reason(xml: string, p: XmlSignaturePolicy = policy()): Promise<XmlSignatureFailure> {
  const error = await verifyXades(xml, p).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(XmlSignatureError);
  return (error as XmlSignatureError).reason;
}

function first(doc: Document, namespace: string, localName: string): Element {
  const found = doc.getElementsByTagNameNS(namespace, localName)[0];
  if (found === undefined) throw new Error(`no ${localName}`);
  return found;
}

/** Edits the SignedProperties, then recomputes their digest and the SignatureValue with the signer's own key. */
function editSignedProperties(xml: string, edit: (doc: Document, signedProperties: Element) => void): string {
  const doc = parseXml(xml);
  const signedProperties = first(doc, XADES_NAMESPACE, "SignedProperties");
  edit(doc, signedProperties);
  const reference = Array.from(doc.getElementsByTagNameNS(DSIG, "Reference")).find((r) => r.getAttribute("Type") === XADES_SIGNED_PROPERTIES_TYPE);
  const digestValue = reference?.getElementsByTagNameNS(DSIG, "DigestValue")[0];
  replaceText(digestValue, createHash("sha256").update(canonicalize(signedProperties, { mode: "exc-c14n" })).digest("base64"));
  const signedInfo = first(doc, DSIG, "SignedInfo");
  const value = nodeSign("sha256", Buffer.from(canonicalize(signedInfo, { mode: "exc-c14n" })), pki.signer.privateKey).toString("base64");
  replaceText(first(doc, DSIG, "SignatureValue"), value);
  return serializeXml(doc);
}

describe("signXades / verifyXades", () => {
  it("signs XAdES-BES: SignedProperties with SigningTime and SigningCertificateV2, referenced from SignedInfo", async () => {
    const doc = parseXml(signed);
    const signature = first(doc, DSIG, "Signature");
    const qualifying = first(doc, XADES_NAMESPACE, "QualifyingProperties");
    expect(qualifying.getAttribute("Target")).toBe(`#${signature.getAttribute("Id") ?? "?"}`);
    expect(first(doc, XADES_NAMESPACE, "SigningTime").textContent).toBe("2025-03-14T15:09:26Z");
    const certDigest = first(doc, XADES_NAMESPACE, "CertDigest");
    expect(certDigest.getElementsByTagNameNS(DSIG, "DigestMethod")[0]?.getAttribute("Algorithm")).toBe("http://www.w3.org/2001/04/xmlenc#sha256");
    expect(certDigest.getElementsByTagNameNS(DSIG, "DigestValue")[0]?.textContent).toBe(createHash("sha256").update(pki.signer.certificate.raw).digest("base64"));
    const references = Array.from(doc.getElementsByTagNameNS(DSIG, "Reference"));
    expect(references.map((r) => [r.getAttribute("URI"), r.getAttribute("Type")])).toEqual([
      ["", null],
      [`#${first(doc, XADES_NAMESPACE, "SignedProperties").getAttribute("Id") ?? "?"}`, XADES_SIGNED_PROPERTIES_TYPE],
    ]);

    const result = await verifyXades(signed, policy());
    expect(result.signingTime.toISOString()).toBe("2025-03-14T15:09:26.000Z");
    expect(result.signedElements.map((e) => e.localName)).toEqual(["invoice"]);
    expect(result.signedProperties.localName).toBe("SignedProperties");
    expect(result.certificate.fingerprint256).toBe(pki.signer.certificate.fingerprint256);
  });

  it("writes an IssuerSerialV2 that openssl reads as the issuer's name and the serial number", async () => {
    const doc = parseXml(signed);
    const der = Buffer.from(first(doc, XADES_NAMESPACE, "IssuerSerialV2").textContent ?? "", "base64");
    const file = join(pki.dir, "issuer-serial.der");
    await writeFile(file, der);
    const { stdout } = await promisify(execFile)("openssl", ["asn1parse", "-inform", "DER", "-in", file]);
    expect(stdout).toMatch(/cont \[ 4 \]/);
    expect(stdout).toContain(":Passerelle Sandbox FR CA");
    // Both print the serial byte by byte: a first byte under 0x10 keeps its leading 0 ("06F3…"); only whole zero bytes go.
    expect(stdout.toUpperCase()).toContain(`INTEGER           :${pki.signer.certificate.serialNumber.toUpperCase().replace(/^(00)+(?=.)/, "")}`);
  });

  it("is also a plain XML-DSig signature, once the SignedProperties inside the Signature are allowed", async () => {
    const error = await verifyXmlSignature(signed, policy()).catch((e: unknown) => e);
    expect((error as XmlSignatureError).reason).toBe("reference_inside_signature");
    const plain = await verifyXmlSignature(signed, { ...policy(), allowEnveloping: true });
    expect(plain.signedElements.map((e) => e.localName)).toEqual(["invoice", "SignedProperties"]);
  });

  it("detects tampering with the signing time and with the data", async () => {
    expect(await reason(signed.replace("2025-03-14T15:09:26Z", "2025-03-13T15:09:26Z"))).toBe("digest_mismatch");
    expect(await reason(signed.replace("25.00", "2500.00"))).toBe("digest_mismatch");
  });

  it("refuses a signature whose SigningCertificateV2 names another certificate than the key's", async () => {
    // The key is the practitioner's, the certificate claimed in SignedProperties someone else's.
    const lying = keySigner({ privateKey: pki.signer.privateKey, chain: [pki.other.certificate] });
    const { xml } = await signXades(DOCUMENT, { signer: lying, keyInfo: "none" });
    expect(await reason(xml, { trustedCertificates: [pki.signer.certificate] })).toBe("signing_certificate_mismatch");
    expect(await reason(editSignedProperties(signed, (doc) => {
      const issuerSerial = first(doc, XADES_NAMESPACE, "IssuerSerialV2");
      replaceText(issuerSerial, Buffer.from("3000", "hex").toString("base64"));
    }))).toBe("signing_certificate_mismatch");
  });

  it("accepts the older SigningCertificate (XAdES 1.3.2) with a matching digest and serial number", async () => {
    const v1 = (serial: string): string =>
      editSignedProperties(signed, (doc) => {
        const v2 = first(doc, XADES_NAMESPACE, "SigningCertificateV2");
        const replacement = parseXml(
          `<xades:SigningCertificate xmlns:xades="${XADES_NAMESPACE}" xmlns:ds="${DSIG}"><xades:Cert><xades:CertDigest>` +
            `<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>${createHash("sha256").update(pki.signer.certificate.raw).digest("base64")}</ds:DigestValue>` +
            `</xades:CertDigest><xades:IssuerSerial><ds:X509IssuerName>CN=whatever</ds:X509IssuerName><ds:X509SerialNumber>${serial}</ds:X509SerialNumber></xades:IssuerSerial></xades:Cert></xades:SigningCertificate>`,
        ).documentElement as Element;
        v2.parentNode?.replaceChild(doc.importNode(replacement, true), v2);
      });
    const serial = BigInt(`0x${pki.signer.certificate.serialNumber}`).toString(10);
    await expect(verifyXades(v1(serial), policy())).resolves.toMatchObject({ valid: true });
    expect(await reason(v1((BigInt(serial) + 1n).toString(10)))).toBe("signing_certificate_mismatch");
  });

  it("refuses a SignedProperties without SigningTime or with a SHA-1 certificate digest", async () => {
    expect(await reason(editSignedProperties(signed, (doc) => {
      const time = first(doc, XADES_NAMESPACE, "SigningTime");
      time.parentNode?.removeChild(time);
    }))).toBe("malformed_signature");
    expect(await reason(editSignedProperties(signed, (doc) => {
      const method = first(doc, XADES_NAMESPACE, "CertDigest").getElementsByTagNameNS(DSIG, "DigestMethod")[0];
      method?.setAttribute("Algorithm", "http://www.w3.org/2000/09/xmldsig#sha1");
    }))).toBe("algorithm_not_allowed");
  });

  it("refuses SignedProperties that belong to another signature (QualifyingProperties Target)", async () => {
    const retargeted = signed.replace(/Target="#[^"]+"/, 'Target="#someone-else"');
    expect(await reason(retargeted)).toBe("reference_inside_signature");
  });

  it("refuses a XAdES signature whose SignedInfo does not cover the SignedProperties", async () => {
    const doc = parseXml(signed);
    const reference = Array.from(doc.getElementsByTagNameNS(DSIG, "Reference")).find((r) => r.getAttribute("Type") === XADES_SIGNED_PROPERTIES_TYPE);
    reference?.parentNode?.removeChild(reference);
    const signedInfo = first(doc, DSIG, "SignedInfo");
    replaceText(first(doc, DSIG, "SignatureValue"), nodeSign("sha256", Buffer.from(canonicalize(signedInfo, { mode: "exc-c14n" })), pki.signer.privateKey).toString("base64"));
    expect(await reason(serializeXml(doc))).toBe("malformed_signature");
  });

  it("needs certificates, not bare keys, in the policy", async () => {
    await expect(verifyXades(signed, { trustedKeys: [pki.signer.certificate.publicKey] })).rejects.toThrow(TypeError);
  });
});
