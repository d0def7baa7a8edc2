/**
 * Attacks on XML signature verification, each refused with its reason.
 * Where an attack needs a SignedInfo the trusted key really signed (so that
 * only the check under test can catch it), `resign` re-signs the mutated
 * SignedInfo with the trusted key.
 */
import { execFile } from "node:child_process";
import { X509Certificate, createPrivateKey, generateKeyPairSync, sign as nodeSign, type KeyObject } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Document, Element } from "@xmldom/xmldom";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canonicalize } from "../xml/canonicalize.js";
import { XmlParseError } from "../xml/errors.js";
import { parseXml, serializeXml } from "../xml/parse.js";
import { XmlSignatureError, type XmlSignatureFailure } from "./errors.js";
import { WSU_NAMESPACE } from "./lib/ids.js";
import { signXml } from "./sign.js";
import { keySigner, openTestPki, replaceText, type TestPki } from "./test-support/fixtures.js";
import { chainToTrustAnchors } from "./trust.js";
import { verifyXmlSignature, type XmlSignaturePolicy } from "./verify.js";

const DSIG = "http://www.w3.org/2000/09/xmldsig#";
const SOAP = "http://www.w3.org/2003/05/soap-envelope";
const SAML = "urn:oasis:names:tc:SAML:2.0:assertion";
const namespaces = { soap: SOAP, wsu: WSU_NAMESPACE, saml: SAML };

const MESSAGE = `<soap:Envelope xmlns:soap="${SOAP}" xmlns:wsu="${WSU_NAMESPACE}"><soap:Header/><soap:Body wsu:Id="body"><pay><amount>10</amount></pay></soap:Body></soap:Envelope>`;

let pki: TestPki;
let attacker: { privateKey: KeyObject; certificate: X509Certificate };
/** The Body signed by Id, Signature in the Header. */
let signedMessage: string;

beforeAll(async () => {
  pki = await openTestPki();
  // The attacker's own self-signed certificate, made by an independent tool.
  await promisify(execFile)("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "attacker.key", "-out", "attacker.crt", "-subj", "/CN=Attacker", "-days", "30"], {
    cwd: pki.dir,
  });
  attacker = {
    privateKey: createPrivateKey(await readFile(join(pki.dir, "attacker.key"))),
    certificate: new X509Certificate(await readFile(join(pki.dir, "attacker.crt"))),
  };
  signedMessage = (
    await signXml(MESSAGE, {
      signer: legitimateSigner(),
      references: [{ id: "body" }],
      location: { xpath: "/soap:Envelope/soap:Header" },
      namespaces,
    })
  ).xml;
});
afterAll(async () => {
  await pki?.cleanup();
});

const legitimateSigner = (): ReturnType<typeof keySigner> => keySigner({ privateKey: pki.signer.privateKey, chain: [pki.signer.certificate, ...pki.signer.intermediates] });
const trusted = (extra: Partial<XmlSignaturePolicy> = {}): XmlSignaturePolicy => ({
  trustedCertificates: [pki.signer.certificate],
  signatureXPath: "//ds:Signature",
  namespaces,
  ...extra,
});

async function reason(xml: string | Document, policy: XmlSignaturePolicy = trusted()): Promise<XmlSignatureFailure> {
  const error = await verifyXmlSignature(xml, policy).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(XmlSignatureError);
  return (error as XmlSignatureError).reason;
}

function element(doc: Document, namespace: string, localName: string, index = 0): Element {
  const found = doc.getElementsByTagNameNS(namespace, localName)[index];
  if (found === undefined) throw new Error(`no ${localName}`);
  return found;
}

/** Mutates a signed document, then makes the trusted key sign its (mutated) SignedInfo again. */
function resign(xml: string, mutate: (doc: Document, signedInfo: Element) => void): string {
  const doc = parseXml(xml);
  const signedInfo = element(doc, DSIG, "SignedInfo");
  mutate(doc, signedInfo);
  const value = nodeSign("sha256", Buffer.from(canonicalize(signedInfo, { mode: "exc-c14n" })), pki.signer.privateKey).toString("base64");
  replaceText(element(doc, DSIG, "SignatureValue"), value);
  return serializeXml(doc);
}

describe("the untouched message", () => {
  it("verifies, and its signed element is the Body", async () => {
    const result = await verifyXmlSignature(signedMessage, trusted({ requireSigned: ["/soap:Envelope/soap:Body"] }));
    expect(result.signedElements.map((e) => e.textContent)).toEqual(["10"]);
  });
});

describe("signature wrapping", () => {
  it("original Body moved into the Header, forged Body with the same Id: duplicate Id", async () => {
    const doc = parseXml(signedMessage);
    const original = element(doc, SOAP, "Body");
    element(doc, SOAP, "Header").appendChild(original);
    const forged = parseXml(`<soap:Body xmlns:soap="${SOAP}" xmlns:wsu="${WSU_NAMESPACE}" wsu:Id="body"><pay><amount>10000</amount></pay></soap:Body>`).documentElement as Element;
    doc.documentElement?.appendChild(doc.importNode(forged, true));
    expect(await reason(serializeXml(doc))).toBe("duplicate_id");
  });

  it("original Body moved into a ds:Object of the Signature, forged Body without Id: reference inside the signature", async () => {
    const doc = parseXml(signedMessage);
    const original = element(doc, SOAP, "Body");
    const object = doc.createElementNS(DSIG, "ds:Object");
    object.appendChild(original);
    element(doc, DSIG, "Signature").appendChild(object);
    const forged = parseXml(`<soap:Body xmlns:soap="${SOAP}"><pay><amount>10000</amount></pay></soap:Body>`).documentElement as Element;
    doc.documentElement?.appendChild(doc.importNode(forged, true));
    expect(await reason(serializeXml(doc))).toBe("reference_inside_signature");
  });

  it("original Body moved into a Header extension, forged Body without Id: caught by requireSigned, harmless to callers that read signedElements", async () => {
    const doc = parseXml(signedMessage);
    const original = element(doc, SOAP, "Body");
    const wrapper = doc.createElementNS("urn:attacker", "x:Wrapper");
    wrapper.appendChild(original);
    element(doc, SOAP, "Header").appendChild(wrapper);
    const forged = parseXml(`<soap:Body xmlns:soap="${SOAP}"><pay><amount>10000</amount></pay></soap:Body>`).documentElement as Element;
    doc.documentElement?.appendChild(doc.importNode(forged, true));
    const wrapped = serializeXml(doc);

    expect(await reason(wrapped, trusted({ requireSigned: ["/soap:Envelope/soap:Body"] }))).toBe("wrapping");
    const result = await verifyXmlSignature(wrapped, trusted());
    expect(result.signedElements[0]?.textContent).toBe("10");
    expect((result.signedElements[0]?.parentNode as Element).localName).toBe("Wrapper");
  });

  it("the same Id under two different Id attribute names", async () => {
    const doc = parseXml(signedMessage);
    const decoy = doc.createElementNS("urn:attacker", "x:Decoy");
    decoy.setAttribute("ID", "body");
    element(doc, SOAP, "Header").appendChild(decoy);
    expect(await reason(serializeXml(doc))).toBe("duplicate_id");
  });

  it("a second Signature where one is expected", async () => {
    const doc = parseXml(signedMessage);
    const copy = element(doc, DSIG, "Signature").cloneNode(true);
    doc.documentElement?.appendChild(copy);
    expect(await reason(serializeXml(doc))).toBe("multiple_signatures");
    expect(await reason(MESSAGE)).toBe("signature_not_found");
  });

  it("an enveloped signature whose Reference was re-pointed to a harmless element", async () => {
    const doc = parseXml(signedMessage);
    element(doc, SOAP, "Header").setAttributeNS(WSU_NAMESPACE, "wsu:Id", "header");
    const pointed = resign(serializeXml(doc), (signedDoc) => element(signedDoc, DSIG, "Reference").setAttribute("URI", "#header"));
    // The trusted key "signed" the header only (digest is wrong too, but the structural check comes first).
    expect(await reason(pointed, trusted({ requireSigned: ["/soap:Envelope/soap:Body"] }))).toBe("wrapping");
  });
});

describe("comments", () => {
  it("refuses a comment injected into signed content (the SAML NameID truncation attack)", async () => {
    const assertion = `<saml:Assertion xmlns:saml="${SAML}" ID="_a"><saml:Issuer>idp</saml:Issuer><saml:Subject><saml:NameID>admin@example.com.evil.example</saml:NameID></saml:Subject></saml:Assertion>`;
    const { xml } = await signXml(assertion, { signer: legitimateSigner(), references: [{ id: "_a" }], location: { xpath: "/saml:Assertion/saml:Issuer", action: "after" }, namespaces });
    const policy = trusted({ signatureXPath: "/saml:Assertion/ds:Signature" });
    await expect(verifyXmlSignature(xml, policy)).resolves.toMatchObject({ valid: true });
    // Same canonical form (comments are not digested), different meaning to a naive reader of the first text node.
    const injected = xml.replace("admin@example.com.evil.example", "admin@example.com<!---->.evil.example");
    expect(await reason(injected, policy)).toBe("comment_in_signed_content");
  });

  it("refuses a comment inside SignedInfo", async () => {
    expect(await reason(signedMessage.replace("<ds:SignedInfo>", "<ds:SignedInfo><!-- x -->"))).toBe("comment_in_signed_content");
  });

  it("accepts comments outside the signed content", async () => {
    await expect(verifyXmlSignature(signedMessage.replace("<soap:Header>", "<soap:Header><!-- routing note -->"), trusted())).resolves.toMatchObject({ valid: true });
  });
});

describe("keys", () => {
  async function attackerSigned(keyInfoCertificate: X509Certificate): Promise<string> {
    const signer = keySigner({ privateKey: attacker.privateKey, chain: [keyInfoCertificate] });
    return (await signXml(MESSAGE.replace(">10<", ">10000<"), { signer })).xml;
  }

  it("an attacker's own certificate in KeyInfo is an untrusted key, pinned or chained", async () => {
    const xml = await attackerSigned(attacker.certificate);
    expect(await reason(xml, { trustedCertificates: [pki.signer.certificate] })).toBe("untrusted_key");
    expect(await reason(xml, { trustPolicy: chainToTrustAnchors([pki.root]) })).toBe("untrusted_key");
  });

  it("the legitimate certificate in KeyInfo over the attacker's signature does not verify", async () => {
    const xml = await attackerSigned(pki.signer.certificate);
    expect(await reason(xml, { trustedCertificates: [pki.signer.certificate] })).toBe("signature_mismatch");
    expect(await reason(xml, { trustPolicy: chainToTrustAnchors([pki.root], { intermediates: pki.signer.intermediates }) })).toBe("signature_mismatch");
  });

  it("a certificate from another branch of the PKI does not chain to a narrower anchor", async () => {
    const signer = keySigner({ privateKey: pki.other.privateKey, chain: [pki.other.certificate, ...pki.other.intermediates] });
    const { xml } = await signXml(MESSAGE, { signer, keyInfo: "chain" });
    await expect(verifyXmlSignature(xml, { trustPolicy: chainToTrustAnchors([pki.root]) })).resolves.toMatchObject({ valid: true });
    expect(await reason(xml, { trustPolicy: chainToTrustAnchors(pki.signer.intermediates) })).toBe("untrusted_key");
  });

  it("refuses the signing certificate outside its validity period", async () => {
    const { xml } = await signXml(MESSAGE, { signer: legitimateSigner(), keyInfo: "chain" });
    const future = new Date(pki.signer.certificate.validToDate.getTime() + 86_400_000);
    const past = new Date(pki.signer.certificate.validFromDate.getTime() - 86_400_000);
    expect(await reason(xml, { trustedCertificates: [pki.signer.certificate], at: future })).toBe("certificate_expired");
    expect(await reason(xml, { trustedCertificates: [pki.signer.certificate], at: past })).toBe("certificate_not_yet_valid");
    expect(await reason(xml, { trustPolicy: chainToTrustAnchors([pki.root]), at: future })).toBe("certificate_expired");
    await expect(verifyXmlSignature(xml, { trustedCertificates: [pki.signer.certificate], at: future, checkValidity: false })).resolves.toMatchObject({ valid: true });
  });

  it("refuses a pinned RSA key shorter than 2048 bits", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 1024 });
    const { xml } = await signXml(MESSAGE, { signer: keySigner({ privateKey }), keyInfo: "none" });
    expect(await reason(xml, { trustedKeys: [publicKey] })).toBe("weak_key");
    await expect(verifyXmlSignature(xml, { trustedKeys: [publicKey], minRsaModulusBits: 1024 })).resolves.toMatchObject({ valid: true });
  });

  it("maps a trust policy's PasserelleError verdicts and lets its bugs through", async () => {
    const { xml } = await signXml(MESSAGE, { signer: legitimateSigner() });
    const { PasserelleError } = await import("../../errors/index.js");
    const expired = Object.assign(new PasserelleError("PASSERELLE_UNPROCESSABLE", { detail: "expired" }), { reason: "expired" });
    expect(await reason(xml, { trustPolicy: () => Promise.reject(expired) })).toBe("certificate_expired");
    expect(await reason(xml, { trustPolicy: () => Promise.reject(new PasserelleError("PASSERELLE_UNPROCESSABLE", { detail: "revoked" })) })).toBe("untrusted_key");
    await expect(verifyXmlSignature(xml, { trustPolicy: () => Promise.reject(new RangeError("bug")) })).rejects.toThrow(RangeError);
  });

  it("refuses a KeyInfo certificate that does not parse", async () => {
    expect(await reason(signedMessage.replace(/<ds:X509Certificate>[^<]{8}/, "<ds:X509Certificate>AAAAAAAA"))).toBe("malformed_signature");
  });
});

describe("structure and algorithms", () => {
  it("refuses two SignedInfo elements", async () => {
    const doc = parseXml(signedMessage);
    const signedInfo = element(doc, DSIG, "SignedInfo");
    signedInfo.parentNode?.insertBefore(signedInfo.cloneNode(true), signedInfo);
    expect(await reason(serializeXml(doc))).toBe("malformed_signature");
  });

  it("refuses two SignatureValue elements and unknown children", async () => {
    const doc = parseXml(signedMessage);
    const value = element(doc, DSIG, "SignatureValue");
    value.parentNode?.insertBefore(value.cloneNode(true), value);
    expect(await reason(serializeXml(doc))).toBe("malformed_signature");
    expect(await reason(signedMessage.replace("</ds:SignedInfo>", "</ds:SignedInfo><ds:Extra/>").replace(/<ds:SignatureValue>.*<\/ds:SignatureValue>/, ""))).toBe(
      "malformed_signature",
    );
  });

  it("refuses HMAC, with and without truncation", async () => {
    const hmac = (extra: string): string =>
      signedMessage.replace(
        /<ds:SignatureMethod [^>]*\/>/,
        `<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#hmac-sha256">${extra}</ds:SignatureMethod>`,
      );
    expect(await reason(hmac("<ds:HMACOutputLength>80</ds:HMACOutputLength>"))).toBe("hmac_truncation");
    expect(await reason(hmac(""))).toBe("algorithm_not_allowed");
  });

  it.each([
    ["an XPath transform", '<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"><ds:XPath>1</ds:XPath></ds:Transform>'],
    ["an XSLT transform", '<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116"/>'],
    ["exclusive C14N with comments", '<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#WithComments"/>'],
    ["C14N with comments", '<ds:Transform Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"/>'],
    ["base64", '<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#base64"/>'],
  ])("refuses %s, even signed by the trusted key", async (_name, transform) => {
    const xml = resign(signedMessage, (doc) => {
      const transforms = element(doc, DSIG, "Transforms");
      while (transforms.firstChild) transforms.removeChild(transforms.firstChild);
      transforms.appendChild(doc.importNode(parseXml(`<t xmlns:ds="${DSIG}">${transform}</t>`).documentElement?.firstChild as Element, true));
    });
    expect(await reason(xml)).toBe("transform_not_allowed");
  });

  it("refuses the canonicalization of SignedInfo with comments", async () => {
    expect(await reason(signedMessage.replace('<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"', '<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#WithComments"'))).toBe(
      "algorithm_not_allowed",
    );
  });

  it.each([
    ["an external URI", "http://127.0.0.1:9/data.xml", "unsupported_reference"],
    ["a file URI", "file:///etc/passwd", "unsupported_reference"],
    ["an XPointer", "#xpointer(/)", "unsupported_reference"],
    ["an Id present nowhere", "#nowhere", "reference_not_found"],
  ] as const)("refuses a Reference to %s, even signed by the trusted key", async (_name, uri, expected) => {
    const xml = resign(signedMessage, (doc) => element(doc, DSIG, "Reference").setAttribute("URI", uri));
    const started = performance.now();
    expect(await reason(xml)).toBe(expected);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it("refuses a Reference without URI, more References than allowed, and SHA-1 digests", async () => {
    expect(await reason(resign(signedMessage, (doc) => element(doc, DSIG, "Reference").removeAttribute("URI")))).toBe("unsupported_reference");
    const two = await signXml(MESSAGE, { signer: legitimateSigner(), references: [{ id: "body" }, { wholeDocument: true }] });
    expect(await reason(two.xml, { ...trusted(), maxReferences: 1 })).toBe("too_many_references");
    const sha1 = resign(signedMessage, (doc) => {
      element(doc, DSIG, "DigestMethod").setAttribute("Algorithm", "http://www.w3.org/2000/09/xmldsig#sha1");
    });
    expect(await reason(sha1)).toBe("algorithm_not_allowed");
  });

  it("refuses bad base64 and a digest of the wrong length", async () => {
    expect(await reason(signedMessage.replace(/<ds:SignatureValue>/, "<ds:SignatureValue>!"))).toBe("malformed_signature");
    expect(await reason(resign(signedMessage, (doc) => {
      replaceText(element(doc, DSIG, "DigestValue"), "AAAA");
    }))).toBe("malformed_signature");
  });

  it("refuses a document with a DTD before looking at the signature", async () => {
    const withDtd = signedMessage.replace("<soap:Envelope", '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><soap:Envelope');
    await expect(verifyXmlSignature(withDtd, trusted())).rejects.toBeInstanceOf(XmlParseError);
  });
});
