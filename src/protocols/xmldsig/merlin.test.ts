/**
 * Conformance: the Baltimore "merlin-xmldsig-twenty-three" interop samples
 * (W3C XML-DSig interop, 2002). They are SHA-1, 1024-bit RSA/DSA and expired
 * certificates: the legacy policy verifies them with the right key, the
 * default policy refuses them, and what we do not support (external
 * references) is refused with a reason.
 */
import { X509Certificate, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseXml } from "../xml/parse.js";
import { XmlSignatureError, type XmlSignatureFailure } from "./errors.js";
import { chainToTrustAnchors } from "./trust.js";
import { verifyXmlSignature, type XmlSignaturePolicy } from "./verify.js";

const MERLIN = new URL("../../../../shared/conformance/xmldsig/merlin-xmldsig-twenty-three/", import.meta.url);
const DSIG = "http://www.w3.org/2000/09/xmldsig#";
const LEGACY = { allowSha1: true, allowDsa: true, minRsaModulusBits: 1024 } as const;
/** Inside the Merlin certificates' validity (2002-04-03 .. 2012-04-02). */
const IN_2005 = new Date("2005-06-01T00:00:00Z");

const sample = (name: string): string => readFileSync(new URL(name, MERLIN), "utf8");
const certificates = readdirSync(new URL("certs/", MERLIN))
  .filter((name) => name.endsWith(".crt"))
  .map((name) => ({ name, certificate: new X509Certificate(readFileSync(new URL(`certs/${name}`, MERLIN))) }));
const merlinCertificate = (name: string): X509Certificate => {
  const found = certificates.find((c) => c.name === name);
  if (found === undefined) throw new Error(`no certs/${name}`);
  return found.certificate;
};

async function rejection(xml: string, policy: XmlSignaturePolicy): Promise<XmlSignatureError> {
  const error = await verifyXmlSignature(xml, policy).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(XmlSignatureError);
  return error as XmlSignatureError;
}

async function reason(xml: string, policy: XmlSignaturePolicy): Promise<XmlSignatureFailure> {
  const error = await rejection(xml, policy);
  expect(error.code).toBe("PASSERELLE_XML_SIGNATURE_INVALID");
  expect(error.status).toBe(422);
  return error.reason;
}

/** The KeyValue of a sample, as the caller's "right key" (the verifier never takes it from KeyInfo itself). */
function keyValueOf(xml: string): KeyObject {
  const doc = parseXml(xml);
  const text = (name: string): Buffer => Buffer.from(doc.getElementsByTagNameNS(DSIG, name)[0]?.textContent?.replace(/\s+/g, "") ?? "", "base64");
  if (doc.getElementsByTagNameNS(DSIG, "RSAKeyValue").length === 1) {
    return createPublicKey({ key: { kty: "RSA", n: text("Modulus").toString("base64url"), e: text("Exponent").toString("base64url") }, format: "jwk" });
  }
  // DSA has no JWK form: SubjectPublicKeyInfo { dsa OID, Dss-Parms { p, q, g }, BIT STRING { INTEGER y } } (RFC 3279 §2.3.2).
  const der = (tag: number, ...parts: Buffer[]): Buffer => {
    const content = Buffer.concat(parts);
    const length = content.length < 0x80 ? Buffer.from([content.length]) : Buffer.from([0x82, content.length >> 8, content.length & 0xff]);
    return Buffer.concat([Buffer.from([tag]), length, content]);
  };
  const integer = (value: Buffer): Buffer => der(0x02, (value[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), value]) : value);
  const dsaOid = Buffer.from("06072a8648ce380401", "hex");
  const spki = der(
    0x30,
    der(0x30, dsaOid, der(0x30, integer(text("P")), integer(text("Q")), integer(text("G")))),
    der(0x03, Buffer.from([0]), integer(text("Y"))),
  );
  return createPublicKey({ key: spki, format: "der", type: "spki" });
}

describe("Merlin: signature-enveloping-rsa.xml (rsa-sha1, Reference to a ds:Object)", () => {
  const xml = sample("signature-enveloping-rsa.xml");
  const key = keyValueOf(xml);
  const where = { signatureXPath: "/ds:Signature", allowEnveloping: true };

  it("verifies with the right key under the legacy policy, and returns the signed Object", async () => {
    const result = await verifyXmlSignature(xml, { ...LEGACY, ...where, trustedKeys: [key] });
    expect(result.algorithm).toBe("rsa-sha1");
    expect(result.references.map((r) => [r.uri, r.digestAlgorithm])).toEqual([["#object", "sha1"]]);
    expect(result.signedElements).toHaveLength(1);
    expect(result.signedElements[0]?.localName).toBe("Object");
    expect(result.signedElements[0]?.textContent).toBe("some text");
    expect(result.certificate).toBeUndefined();
  });

  it("is refused by the default policy (SHA-1)", async () => {
    expect(await reason(xml, { ...where, trustedKeys: [key] })).toBe("algorithm_not_allowed");
  });

  it("is refused for its 1024-bit key unless the policy lowers the minimum", async () => {
    expect(await reason(xml, { allowSha1: true, ...where, trustedKeys: [key] })).toBe("weak_key");
  });

  it("is refused when enveloping references are not allowed", async () => {
    expect(await reason(xml, { ...LEGACY, signatureXPath: "/ds:Signature", trustedKeys: [key] })).toBe("reference_inside_signature");
  });

  it("does not verify with another key", async () => {
    const other = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey;
    expect(await reason(xml, { ...LEGACY, ...where, trustedKeys: [other] })).toBe("signature_mismatch");
  });

  it("is not found where the default policy looks (a child of the document element)", async () => {
    expect(await reason(xml, { ...LEGACY, trustedKeys: [key] })).toBe("signature_not_found");
  });

  it("detects a change to the signed Object", async () => {
    expect(await reason(xml.replace("some text", "some other text"), { ...LEGACY, ...where, trustedKeys: [key] })).toBe("digest_mismatch");
  });
});

describe("Merlin: signature-enveloped-dsa.xml (dsa-sha1, enveloped-signature)", () => {
  const xml = sample("signature-enveloped-dsa.xml");
  const key = keyValueOf(xml);

  it("verifies with the right key when the policy allows SHA-1 and DSA, and returns the signed document element", async () => {
    const result = await verifyXmlSignature(xml, { ...LEGACY, trustedKeys: [key] });
    expect(result.algorithm).toBe("dsa-sha1");
    expect(result.signedElements.map((e) => e.localName)).toEqual(["Envelope"]);
    expect(result.references[0]?.envelopedSignature).toBe(true);
  });

  it("is refused by the default policy, and by a policy that allows SHA-1 but not DSA", async () => {
    expect(await reason(xml, { trustedKeys: [key] })).toBe("algorithm_not_allowed");
    expect(await reason(xml, { allowSha1: true, minRsaModulusBits: 1024, trustedKeys: [key] })).toBe("algorithm_not_allowed");
  });

  it("does not verify with the key of another sample", async () => {
    const rsa = keyValueOf(sample("signature-enveloping-rsa.xml"));
    const otherDsa = merlinCertificate("lugh.crt").publicKey;
    expect(await reason(xml, { ...LEGACY, trustedKeys: [rsa] })).toBe("untrusted_key");
    expect(await reason(xml, { ...LEGACY, trustedKeys: [otherDsa] })).toBe("signature_mismatch");
  });
});

describe("Merlin: HMAC samples", () => {
  const anyKey = keyValueOf(sample("signature-enveloping-rsa.xml"));
  const policy = { ...LEGACY, signatureXPath: "/ds:Signature", allowEnveloping: true, trustedKeys: [anyKey] };

  it("refuses HMACOutputLength truncation explicitly (CVE-2009-0217)", async () => {
    expect(await reason(sample("signature-enveloping-hmac-sha1-40.xml"), policy)).toBe("hmac_truncation");
  });

  it("refuses HMAC signatures, whatever the policy", async () => {
    const error = await rejection(sample("signature-enveloping-hmac-sha1.xml"), policy);
    expect(error.reason).toBe("algorithm_not_allowed");
    expect(error.message).toMatch(/HMAC/);
  });
});

describe("Merlin: X.509 samples (dsa-sha1, external Reference to http://www.w3.org/TR/xml-stylesheet)", () => {
  const ca = merlinCertificate("ca.crt");
  // These signatures are the document element.
  const ROOT = { signatureXPath: "/ds:Signature" };

  it("signature-x509-crt.xml: the chain to the Merlin CA validates in 2005, then the external reference is refused", async () => {
    const error = await rejection(sample("signature-x509-crt.xml"), { ...LEGACY, ...ROOT, at: IN_2005, trustPolicy: chainToTrustAnchors([ca]) });
    expect(error.reason).toBe("unsupported_reference");
    expect(error.message).toContain("http://www.w3.org/TR/xml-stylesheet");
  });

  it("signature-x509-crt.xml: the expired certificate is refused at the current time", async () => {
    const error = await rejection(sample("signature-x509-crt.xml"), { ...LEGACY, ...ROOT, trustPolicy: chainToTrustAnchors([ca]) });
    expect(error.reason).toBe("certificate_expired");
    expect(error.message).toContain("Morigu");
  });

  it("signature-x509-crt.xml: a certificate that does not chain to the anchors is an untrusted key", async () => {
    expect(await reason(sample("signature-x509-crt.xml"), { ...LEGACY, ...ROOT, at: IN_2005, trustPolicy: chainToTrustAnchors([merlinCertificate("mullan.crt")]) })).toBe(
      "untrusted_key",
    );
  });

  it("signature-x509-crt.xml: the default policy refuses dsa-sha1 first", async () => {
    expect(await reason(sample("signature-x509-crt.xml"), { ...ROOT, trustPolicy: chainToTrustAnchors([ca]) })).toBe("algorithm_not_allowed");
  });

  it.each(["signature-x509-is.xml", "signature-x509-ski.xml", "signature-x509-sn.xml", "signature-keyname.xml", "signature-x509-crt-crl.xml"])(
    "%s: the signing key is found among the trusted certificates; expired now, external reference refused in 2005",
    async (name) => {
      const trustedCertificates = certificates.map((c) => c.certificate);
      expect(await reason(sample(name), { ...LEGACY, ...ROOT, trustedCertificates })).toBe("certificate_expired");
      expect(await reason(sample(name), { ...LEGACY, ...ROOT, trustedCertificates, at: IN_2005 })).toBe("unsupported_reference");
      expect(await reason(sample(name), { ...LEGACY, ...ROOT, trustedCertificates, checkValidity: false })).toBe("unsupported_reference");
      expect(await reason(sample(name), { ...ROOT, trustedCertificates })).toBe("algorithm_not_allowed");
    },
  );

  it("signature-x509-crt.xml: a pinned certificate that is not the KeyInfo one is an untrusted key", async () => {
    expect(await reason(sample("signature-x509-crt.xml"), { ...LEGACY, ...ROOT, at: IN_2005, trustedCertificates: [merlinCertificate("lugh.crt")] })).toBe("untrusted_key");
  });
});
