import { generateKeyPairSync } from "node:crypto";
import type { Element } from "@xmldom/xmldom";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { childElements } from "../xml/dom.js";
import { parseXml, serializeXml } from "../xml/parse.js";
import { XmlSignatureError } from "./errors.js";
import { WSU_NAMESPACE } from "./lib/ids.js";
import { signXml } from "./sign.js";
import { keySigner, openTestPki, type TestPki } from "./test-support/fixtures.js";
import { chainToTrustAnchors } from "./trust.js";
import { verifyXmlSignature } from "./verify.js";

const DSIG = "http://www.w3.org/2000/09/xmldsig#";
const SOAP = "http://www.w3.org/2003/05/soap-envelope";
const WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
const SAML = "urn:oasis:names:tc:SAML:2.0:assertion";

const SOAP_MESSAGE = `<soap:Envelope xmlns:soap="${SOAP}" xmlns:wsu="${WSU_NAMESPACE}">
  <soap:Header><wsse:Security xmlns:wsse="${WSSE}"><wsu:Timestamp wsu:Id="ts-1"><wsu:Created>2024-01-01T00:00:00Z</wsu:Created></wsu:Timestamp></wsse:Security></soap:Header>
  <soap:Body wsu:Id="body-1"><getDocument xmlns="urn:example"><id>42</id></getDocument></soap:Body>
</soap:Envelope>`;

const ASSERTION = `<saml:Assertion xmlns:saml="${SAML}" ID="_a1" Version="2.0" IssueInstant="2024-01-01T00:00:00Z"><saml:Issuer>https://idp.example</saml:Issuer><saml:Subject><saml:NameID>810000000001</saml:NameID></saml:Subject></saml:Assertion>`;

let pki: TestPki;
beforeAll(async () => {
  pki = await openTestPki();
});
afterAll(async () => {
  await pki?.cleanup();
});

function signerOf(identity = pki.signer, delayMs?: number): ReturnType<typeof keySigner> {
  return keySigner({ privateKey: identity.privateKey, chain: [identity.certificate, ...identity.intermediates], ...(delayMs === undefined ? {} : { delayMs }) });
}

async function rejection(promise: Promise<unknown>): Promise<XmlSignatureError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(XmlSignatureError);
  return error as XmlSignatureError;
}

describe("signXml: enveloped signature over the whole document", () => {
  it("signs with RSA-SHA256 and exclusive C14N by default, with the signing certificate in KeyInfo", async () => {
    const signer = signerOf();
    const { xml, signature } = await signXml("<doc><a>1</a></doc>", { signer });
    expect(signer.calls).toEqual([{ algorithm: "RSASSA-PKCS1-v1_5-SHA256", bytes: expect.any(Number) as number }]);
    expect(signature.parentNode).toBe(signature.ownerDocument?.documentElement);
    expect(xml).toContain('<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>');
    expect(xml).toContain('<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>');
    expect(xml).toContain('<ds:Reference URI=""><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>');
    expect(xml.match(/<ds:X509Certificate>/g)).toHaveLength(1);

    const result = await verifyXmlSignature(xml, { trustedCertificates: [pki.signer.certificate] });
    expect(result.valid).toBe(true);
    expect(result.algorithm).toBe("rsa-sha256");
    expect(result.signedElements.map((e) => e.localName)).toEqual(["doc"]);
    expect(result.certificate?.fingerprint256).toBe(pki.signer.certificate.fingerprint256);
  });

  it("puts the chain in KeyInfo on request, which a trust policy validates against the root", async () => {
    const { xml } = await signXml("<doc/>", { signer: signerOf(), keyInfo: "chain" });
    expect(xml.match(/<ds:X509Certificate>/g)).toHaveLength(2);
    const result = await verifyXmlSignature(xml, { trustPolicy: chainToTrustAnchors([pki.root]) });
    expect(result.certificate?.subject).toContain("Martin");
  });

  it("leaves KeyInfo out on request: pinned keys still verify, a trust policy has nothing to validate", async () => {
    const { xml } = await signXml("<doc/>", { signer: signerOf(), keyInfo: "none" });
    expect(xml).not.toContain("KeyInfo");
    await expect(verifyXmlSignature(xml, { trustedCertificates: [pki.other.certificate, pki.signer.certificate] })).resolves.toMatchObject({ valid: true });
    expect((await rejection(verifyXmlSignature(xml, { trustPolicy: chainToTrustAnchors([pki.root]) }))).reason).toBe("untrusted_key");
  });

  it("signs a Document in place and can use inclusive C14N, another prefix or none", async () => {
    const doc = parseXml('<doc xmlns="urn:d"><x xml:lang="fr">é</x></doc>');
    const signed = await signXml(doc, { signer: signerOf(), canonicalization: "c14n", prefix: "" });
    expect(signed.document).toBe(doc);
    expect(serializeXml(doc)).toBe(signed.xml);
    expect(signed.xml).toContain('<Signature xmlns="http://www.w3.org/2000/09/xmldsig#">');
    const result = await verifyXmlSignature(signed.xml, { trustedCertificates: [pki.signer.certificate] });
    expect(result.canonicalization).toBe("http://www.w3.org/TR/2001/REC-xml-c14n-20010315");
    const other = await signXml("<doc/>", { signer: signerOf(), prefix: "dsig" });
    expect(other.xml).toContain("<dsig:Signature");
    await expect(verifyXmlSignature(other.xml, { trustedCertificates: [pki.signer.certificate] })).resolves.toMatchObject({ valid: true });
  });

  it("uses RSA-SHA512 and SHA-512 digests when asked", async () => {
    const { xml } = await signXml("<doc/>", { signer: signerOf(), algorithm: "rsa-sha512", digestAlgorithm: "sha512" });
    const result = await verifyXmlSignature(xml, { trustedCertificates: [pki.signer.certificate] });
    expect(result.algorithm).toBe("rsa-sha512");
    expect(result.references[0]?.digestAlgorithm).toBe("sha512");
  });

  it("uses RSA-SHA1 only when the profile flag is set, and the default verifier policy refuses it", async () => {
    await expect(signXml("<doc/>", { signer: signerOf(), algorithm: "rsa-sha1" })).rejects.toThrow(TypeError);
    await expect(signXml("<doc/>", { signer: signerOf(), digestAlgorithm: "sha1" })).rejects.toThrow(/allowSha1/);
    const { xml } = await signXml("<doc/>", { signer: signerOf(), algorithm: "rsa-sha1", digestAlgorithm: "sha1", allowSha1: true });
    expect(xml).toContain("http://www.w3.org/2000/09/xmldsig#rsa-sha1");
    expect((await rejection(verifyXmlSignature(xml, { trustedCertificates: [pki.signer.certificate] }))).reason).toBe("algorithm_not_allowed");
    await expect(verifyXmlSignature(xml, { trustedCertificates: [pki.signer.certificate], allowSha1: true })).resolves.toMatchObject({ algorithm: "rsa-sha1" });
  });

  it("signs with an EC P-256 key as ECDSA-SHA256, r||s encoded", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const { xml } = await signXml("<doc/>", { signer: keySigner({ privateKey }), keyInfo: "none" });
    const value = /<ds:SignatureValue>([^<]+)</.exec(xml)?.[1] ?? "";
    expect(Buffer.from(value, "base64")).toHaveLength(64);
    const result = await verifyXmlSignature(xml, { trustedKeys: [publicKey] });
    expect(result.algorithm).toBe("ecdsa-sha256");
  });
});

describe("signXml with a Signer that is slow and asynchronous (a card, a remote KMS)", () => {
  it("awaits the signer without blocking the event loop", async () => {
    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 5);
    try {
      const { xml } = await signXml("<doc/>", { signer: signerOf(pki.signer, 120) });
      expect(ticks).toBeGreaterThanOrEqual(5);
      await expect(verifyXmlSignature(xml, { trustedCertificates: [pki.signer.certificate] })).resolves.toMatchObject({ valid: true });
    } finally {
      clearInterval(timer);
    }
  });

  it("signs several documents concurrently with one slow signer", async () => {
    const signer = signerOf(pki.signer, 50);
    const signed = await Promise.all([1, 2, 3].map((n) => signXml(`<doc n="${n}"/>`, { signer })));
    expect(signer.calls).toHaveLength(3);
    for (const [i, { xml }] of signed.entries()) {
      const result = await verifyXmlSignature(xml, { trustedCertificates: [pki.signer.certificate] });
      expect(result.signedElements[0]?.getAttribute("n")).toBe(String(i + 1));
    }
  });

  it("leaves the document as it was when the signer fails", async () => {
    const doc = parseXml("<doc><item/><item/></doc>");
    const before = serializeXml(doc);
    const failing = { ...signerOf(), sign: async (): Promise<Buffer> => Promise.reject(new Error("card removed")) };
    await expect(signXml(doc, { signer: failing, references: [{ xpath: "//item" }] })).rejects.toThrow("card removed");
    expect(serializeXml(doc)).toBe(before);
  });
});

describe("signXml: detached signatures by Id (WS-Security, SAML)", () => {
  const namespaces = { soap: SOAP, wsse: WSSE, wsu: WSU_NAMESPACE, saml: SAML };

  it("signs several elements by wsu:Id, with the Signature placed in the Security header", async () => {
    const { xml } = await signXml(SOAP_MESSAGE, {
      signer: signerOf(),
      references: [{ id: "body-1" }, { id: "ts-1" }],
      location: { xpath: "/soap:Envelope/soap:Header/wsse:Security", action: "append" },
      namespaces,
    });
    expect(xml).toContain('<ds:Reference URI="#body-1"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>');
    const result = await verifyXmlSignature(xml, {
      trustedCertificates: [pki.signer.certificate],
      signatureXPath: "/soap:Envelope/soap:Header/wsse:Security/ds:Signature",
      requireSigned: ["/soap:Envelope/soap:Body", "//wsu:Timestamp"],
      namespaces,
    });
    expect(result.signedElements.map((e) => e.localName)).toEqual(["Body", "Timestamp"]);
    expect(result.references.every((r) => !r.envelopedSignature)).toBe(true);
  });

  it("adds an Id, under the first configured name, to elements selected by XPath", async () => {
    const { xml, document } = await signXml("<order><item>a</item><item>b</item></order>", {
      signer: signerOf(),
      references: [{ xpath: "//item", inclusiveNamespacePrefixes: ["xs"] }],
      idAttributes: ["wsu:Id"],
    });
    const items = Array.from(document.getElementsByTagName("item"));
    const ids = items.map((item) => item.getAttributeNS(WSU_NAMESPACE, "Id"));
    expect(ids.every((id) => /^_[0-9a-f-]{36}$/.test(id ?? ""))).toBe(true);
    expect(xml).toContain('<ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="xs"/>');
    const result = await verifyXmlSignature(xml, { trustedCertificates: [pki.signer.certificate] });
    expect(result.signedElements.map((e) => e.textContent)).toEqual(["a", "b"]);
    expect(result.references.map((r) => r.uri)).toEqual(ids.map((id) => `#${id}`));
  });

  it("places a SAML assertion's Signature right after Issuer, with the enveloped transform since it signs its own parent", async () => {
    const { xml, signature } = await signXml(ASSERTION, {
      signer: signerOf(),
      references: [{ xpath: "/saml:Assertion" }],
      location: { xpath: "/saml:Assertion/saml:Issuer", action: "after" },
      namespaces,
      idAttributes: ["ID"],
    });
    const parent = signature.parentNode as Element;
    expect(childElements(parent).map((e) => e.localName)).toEqual(["Issuer", "Signature", "Subject"]);
    expect(xml).toContain('<ds:Reference URI="#_a1"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>');
    const result = await verifyXmlSignature(xml, {
      trustedCertificates: [pki.signer.certificate],
      signatureXPath: "/saml:Assertion/ds:Signature",
      requireSigned: ["/saml:Assertion/saml:Subject/saml:NameID"],
      namespaces,
    });
    expect(result.signedElements[0]?.getAttribute("ID")).toBe("_a1");
  });

  it("prepends and inserts before an element", async () => {
    const prepended = await signXml("<a><b/></a>", { signer: signerOf(), location: { xpath: "/a", action: "prepend" } });
    expect(childElements(prepended.document.documentElement as Element).map((e) => e.localName)).toEqual(["Signature", "b"]);
    const before = await signXml("<a><b/></a>", { signer: signerOf(), location: { xpath: "/a/b", action: "before" } });
    expect(childElements(before.document.documentElement as Element).map((e) => e.localName)).toEqual(["Signature", "b"]);
    for (const { xml } of [prepended, before]) {
      await expect(verifyXmlSignature(xml, { trustedCertificates: [pki.signer.certificate] })).resolves.toMatchObject({ valid: true });
    }
  });
});

describe("signXml refuses options that cannot work (TypeError)", () => {
  it.each([
    ["an XPath that selects nothing", { references: [{ xpath: "//missing" }] }],
    ["an unknown Id", { references: [{ id: "nope" }] }],
    ["a location that selects nothing", { location: { xpath: "/nope" } }],
    ["a location beside the document element", { location: { xpath: "/doc", action: "after" as const } }],
    ["a missing enveloped-signature transform", { transforms: true }],
    ["an invalid XPath", { references: [{ xpath: "//[" }] }],
    ["an unknown algorithm", { algorithm: "rsa-md5" as "rsa-sha256" }],
    ["an algorithm the key cannot do", { algorithm: "ecdsa-sha256" as const }],
    ["a prefix that is not an NCName", { prefix: "1ds" }],
  ])("%s", async (_name, extra) => {
    const options = { signer: signerOf(), ...extra } as Parameters<typeof signXml>[1] & { transforms?: boolean };
    if (options.transforms === true) {
      delete options.transforms;
      options.references = [{ wholeDocument: true, transforms: ["exc-c14n"] }];
    }
    await expect(signXml('<doc><x Id="a"/></doc>', options)).rejects.toThrow(TypeError);
  });

  it("refuses an Id carried twice, a signer without certificate asked for KeyInfo, and a non-Signer", async () => {
    await expect(signXml('<doc><x Id="a"/><y ID="a"/></doc>', { signer: signerOf(), references: [{ id: "a" }] })).rejects.toThrow(/exactly one/);
    await expect(signXml("<doc/>", { signer: keySigner({ privateKey: pki.signer.privateKey }) })).rejects.toThrow(/no certificate/);
    await expect(signXml("<doc/>", { signer: {} as never })).rejects.toThrow(TypeError);
  });

  it("refuses a policy without key material or with two kinds of it", async () => {
    const { xml } = await signXml("<doc/>", { signer: signerOf() });
    await expect(verifyXmlSignature(xml, {})).rejects.toThrow(TypeError);
    await expect(verifyXmlSignature(xml, { trustedCertificates: [pki.root], trustPolicy: chainToTrustAnchors([pki.root]) })).rejects.toThrow(TypeError);
    await expect(verifyXmlSignature(xml, { trustedCertificates: [] })).rejects.toThrow(TypeError);
  });
});

describe("signatures verify from bytes and from a DOM, not only from text", () => {
  it("verifies a Buffer and a parsed Document", async () => {
    const { xml } = await signXml(SOAP_MESSAGE, { signer: signerOf() });
    await expect(verifyXmlSignature(Buffer.from(xml), { trustedCertificates: [pki.signer.certificate] })).resolves.toMatchObject({ valid: true });
    const doc = parseXml(xml);
    const result = await verifyXmlSignature(doc, { trustedCertificates: [pki.signer.certificate] });
    expect(result.document).toBe(doc);
    expect(doc.getElementsByTagNameNS(DSIG, "Signature")).toHaveLength(1);
  });
});
