/**
 * Interoperability with an independent implementation, both ways: what we
 * sign, `xmlsec1 --verify` (libxml2 + OpenSSL) accepts; what `xmlsec1 --sign`
 * signs, we verify; and tampering is caught on both sides.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { XmlSignatureError } from "./errors.js";
import { signXml } from "./sign.js";
import { keySigner, openTestPki, xmlsec1, type TestPki } from "./test-support/fixtures.js";
import { chainToTrustAnchors } from "./trust.js";
import { verifyXmlSignature } from "./verify.js";
import { signXades } from "./xades.js";

let pki: TestPki;
beforeAll(async () => {
  pki = await openTestPki();
  await xmlsec1(pki.dir, ["--version"], {
    "root.pem": pki.rootPem,
    "intermediate.pem": pki.signer.chainPem.join(""),
    "signer-key.pem": pki.signer.keyPem,
    "signer-cert.pem": pki.signer.certPem,
  });
});
afterAll(async () => {
  await pki?.cleanup();
});

const signer = (): ReturnType<typeof keySigner> => keySigner({ privateKey: pki.signer.privateKey, chain: [pki.signer.certificate, ...pki.signer.intermediates] });

/** Content chosen to exercise canonicalization: namespaces, xmlns="", escapes, CR, PIs, CDATA, non-ASCII, xml:lang. */
const TRICKY = [
  '<?xml version="1.0" encoding="UTF-8"?>',
  '<?app-instruction before root?>',
  '<r:root xmlns:r="urn:root" xmlns="urn:default" xmlns:unused="urn:unused" xml:lang="fr">',
  '  <item b="2" a="1" r:z="3" note="tab&#9;nl&#10;cr&#13;quote&quot;lt&lt;amp&amp;">Élève &amp; &lt;x&gt; &#13; \u2028 <![CDATA[<cdata & stuff>]]></item>',
  '  <plain xmlns=""><inner/><?pi in content?></plain>',
  '  <Payload Id="p1"><value xmlns:v="urn:v" v:unit="mg">42</value></Payload>',
  '  <Header Id="h1">x</Header>',
  "</r:root>",
].join("\n");

async function ourRejection(xml: string): Promise<string> {
  const error = await verifyXmlSignature(xml, { trustPolicy: chainToTrustAnchors([pki.root], { intermediates: pki.signer.intermediates }) }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(XmlSignatureError);
  return (error as XmlSignatureError).reason;
}

describe("we sign, xmlsec1 verifies", () => {
  it("an enveloped RSA-SHA256 / exc-c14n signature with the chain in KeyInfo", async () => {
    const { xml } = await signXml(TRICKY, { signer: signer(), keyInfo: "chain" });
    const verified = await xmlsec1(pki.dir, ["--verify", "--trusted-pem", "root.pem", "ours-enveloped.xml"], { "ours-enveloped.xml": xml });
    expect(verified.output).toContain("OK");
    expect(verified.ok).toBe(true);
  });

  it("an Id-referenced signature over two elements, signing certificate only in KeyInfo", async () => {
    const { xml } = await signXml(TRICKY, { signer: signer(), references: [{ id: "p1" }, { id: "h1" }] });
    const args = ["--verify", "--trusted-pem", "root.pem", "--untrusted-pem", "intermediate.pem", "--id-attr:Id", "Payload", "--id-attr:Id", "Header"];
    const verified = await xmlsec1(pki.dir, [...args, "ours-ids.xml"], { "ours-ids.xml": xml });
    expect(verified.output).toContain("SignedInfo References (ok/all): 2/2");
    expect(verified.ok).toBe(true);
  });

  it("inclusive C14N for SignedInfo and for the Reference", async () => {
    const { xml } = await signXml(TRICKY, {
      signer: signer(),
      keyInfo: "chain",
      canonicalization: "c14n",
      references: [{ id: "p1", transforms: ["c14n"] }],
    });
    const verified = await xmlsec1(pki.dir, ["--verify", "--trusted-pem", "root.pem", "--id-attr:Id", "Payload", "ours-c14n.xml"], { "ours-c14n.xml": xml });
    expect(verified.ok).toBe(true);
  });

  it("a XAdES-BES signature (its SignedProperties reference included)", async () => {
    const { xml } = await signXades(TRICKY, { signer: signer(), keyInfo: "chain" });
    const args = ["--verify", "--trusted-pem", "root.pem", "--id-attr:Id", "http://uri.etsi.org/01903/v1.3.2#:SignedProperties"];
    const verified = await xmlsec1(pki.dir, [...args, "ours-xades.xml"], { "ours-xades.xml": xml });
    expect(verified.output).toContain("SignedInfo References (ok/all): 2/2");
    expect(verified.ok).toBe(true);
  });

  it("and xmlsec1 refuses what we signed once it is tampered with", async () => {
    const { xml } = await signXml(TRICKY, { signer: signer(), keyInfo: "chain" });
    const tampered = xml.replace("<value", '<value extra="1"');
    const verified = await xmlsec1(pki.dir, ["--verify", "--trusted-pem", "root.pem", "ours-tampered.xml"], { "ours-tampered.xml": tampered });
    expect(verified.ok).toBe(false);
  });

  it("and xmlsec1 does not trust our signature without our root", async () => {
    const { xml } = await signXml(TRICKY, { signer: signer(), keyInfo: "chain" });
    const verified = await xmlsec1(pki.dir, ["--verify", "ours-untrusted.xml"], { "ours-untrusted.xml": xml });
    expect(verified.ok).toBe(false);
  });
});

const TEMPLATE = (c14n: string, uri: string, transforms: string): string => `<?xml version="1.0" encoding="UTF-8"?>
${TRICKY.split("\n").slice(1, -1).join("\n")}
  <Signature xmlns="http://www.w3.org/2000/09/xmldsig#">
    <SignedInfo>
      <CanonicalizationMethod Algorithm="${c14n}"/>
      <SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>
      <Reference URI="${uri}">
        ${transforms === "" ? "" : `<Transforms>${transforms}</Transforms>`}
        <DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>
        <DigestValue/>
      </Reference>
    </SignedInfo>
    <SignatureValue/>
    <KeyInfo><X509Data/></KeyInfo>
  </Signature>
</r:root>`;
const EXC = "http://www.w3.org/2001/10/xml-exc-c14n#";
const ENVELOPED = '<Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>';

async function xmlsecSign(name: string, template: string, extra: string[] = []): Promise<string> {
  const key = "signer-key.pem,signer-cert.pem,intermediate.pem";
  const signed = await xmlsec1(pki.dir, ["--sign", "--privkey-pem", key, ...extra, "--output", `${name}.signed.xml`, `${name}.xml`], { [`${name}.xml`]: template });
  expect(signed.output).toBe("");
  expect(signed.ok).toBe(true);
  const { readFile } = await import("node:fs/promises");
  return readFile(`${pki.dir}/${name}.signed.xml`, "utf8");
}

describe("xmlsec1 signs, we verify", () => {
  it("an enveloped exc-c14n signature, with the chain xmlsec1 put in KeyInfo", async () => {
    const xml = await xmlsecSign("theirs-enveloped", TEMPLATE(EXC, "", `${ENVELOPED}<Transform Algorithm="${EXC}"/>`));
    expect(xml).toContain("<X509Certificate>");
    const result = await verifyXmlSignature(xml, { trustPolicy: chainToTrustAnchors([pki.root]), signatureXPath: "/*/ds:Signature" });
    expect(result.signedElements.map((e) => e.localName)).toEqual(["root"]);
    expect(result.certificate?.fingerprint256).toBe(pki.signer.certificate.fingerprint256);
  });

  it("an Id-referenced signature with inclusive C14N", async () => {
    const xml = await xmlsecSign("theirs-id", TEMPLATE("http://www.w3.org/TR/2001/REC-xml-c14n-20010315", "#p1", ""), ["--id-attr:Id", "Payload"]);
    const result = await verifyXmlSignature(xml, { trustedCertificates: [pki.signer.certificate] });
    expect(result.signedElements.map((e) => e.localName)).toEqual(["Payload"]);
    expect(result.signedElements[0]?.textContent).toBe("42");
  });

  it("and we catch tampering with what xmlsec1 signed", async () => {
    const xml = await xmlsecSign("theirs-tamper", TEMPLATE(EXC, "", `${ENVELOPED}<Transform Algorithm="${EXC}"/>`));
    expect(await ourRejection(xml.replace(">42<", ">4200<"))).toBe("digest_mismatch");
    expect(await ourRejection(xml.replace(/<SignatureValue>\s*(.)/, (_m, c: string) => `<SignatureValue>${c === "A" ? "B" : "A"}`))).toBe("signature_mismatch");
    expect(await ourRejection(xml.replace("rsa-sha256", "rsa-sha512"))).toBe("signature_mismatch");
  });
});
