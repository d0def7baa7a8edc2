// Trust benchmark (issue #4, "Performance"), every figure a ratio to a raw
// node:crypto operation measured in the same run with the same RSA-2048 key:
//  a. baselines: crypto.sign("sha256") and crypto.sign + crypto.verify pairs;
//  b. XML-DSig sign + verify of a ~10 kB SOAP message (WS-Security style: Body
//     and Timestamp referenced by wsu:Id, exclusive C14N, RSA-SHA256) with
//     protocols/xmldsig and a SoftwareSigner, compared with xmlsec1 on the same
//     document (one process per operation, spawn cost measured and subtracted);
//  c. PAdES-B-B signing of a one-page PDF (protocols/pades signPdf);
//  d. signing through PKCS#11 with a SoftHSM token (Pkcs11Signer).
// Needs xmlsec1 and softhsm2 (Debian packages) and a build (npm run bench builds first).
import { spawnSync } from "node:child_process";
import { X509Certificate, createPrivateKey, createPublicKey, sign as cryptoSign, verify as cryptoVerify } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { PDFDocument, StandardFonts } from "pdf-lib";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = (p) => import(path.join(root, "dist", p));
const { SandboxPki } = await dist("trust/pki/index.js");
const { SoftwareSigner } = await dist("trust/signers/index.js");
const { Pkcs11Signer, createSoftHsmToken, importIdentity, isSoftHsmAvailable } = await dist("trust/pkcs11/index.js");
const { signXml, verifyXmlSignature, chainToTrustAnchors } = await dist("protocols/xmldsig/index.js");
const { signPdf, verifyPdfSignatures } = await dist("protocols/pades/index.js");

const NS = {
  soap: "http://schemas.xmlsoap.org/soap/envelope/",
  wsse: "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
  wsu: "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd",
};
const EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#";
const ROUNDS = 8;
const ROUND_MS = 250;
const XMLSEC_OPS = 50;

const fmt = (n, d = 0) => n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
const load = () => loadavg()[0].toFixed(2);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Awaits `fn` back to back for `ms` milliseconds; ops/s. */
async function opsPerSecond(fn, ms) {
  let n = 0;
  const t0 = performance.now();
  const end = t0 + ms;
  while (performance.now() < end) {
    await fn();
    n += 1;
  }
  return n / ((performance.now() - t0) / 1000);
}

function xmlsec1(dir, args) {
  const r = spawnSync("xmlsec1", args, { cwd: dir, encoding: "utf8" });
  if (r.error) throw r.error;
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

/** A SOAP 1.1 response of ~`size` bytes: a WS-Security header with a Timestamp, a Body of medication records. */
function soapMessage(size, signatureTemplate = "") {
  const created = new Date("2025-06-02T08:30:00Z");
  const expires = new Date(created.getTime() + 5 * 60_000);
  const head = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<soap:Envelope xmlns:soap="${NS.soap}" xmlns:wsse="${NS.wsse}" xmlns:wsu="${NS.wsu}">`,
    "  <soap:Header>",
    '    <wsse:Security soap:mustUnderstand="1">',
    `      <wsu:Timestamp wsu:Id="TS-1"><wsu:Created>${created.toISOString()}</wsu:Created><wsu:Expires>${expires.toISOString()}</wsu:Expires></wsu:Timestamp>`,
    signatureTemplate,
    "    </wsse:Security>",
    "  </soap:Header>",
    '  <soap:Body wsu:Id="Body-1">',
    '    <med:GetMedicationHistoryResponse xmlns:med="urn:passerelle:bench:medication:v1" xmlns:cd="urn:passerelle:bench:codes:v1">',
    '      <med:Status code="200">OK — historique médicamenteux complet</med:Status>',
    '      <med:Patient><med:Ssin>85073003328</med:Ssin><med:Name given="Anne" family="Weber"/></med:Patient>',
  ];
  const tail = ["    </med:GetMedicationHistoryResponse>", "  </soap:Body>", "</soap:Envelope>", ""];
  const items = [];
  const fixed = head.join("\n").length + tail.join("\n").length;
  for (let i = 1; fixed + items.join("\n").length < size; i++) {
    items.push(
      `      <med:Delivery id="d${i}" date="2025-05-${String((i % 28) + 1).padStart(2, "0")}">` +
        `<cd:Cnk>${String(1_234_567 + i * 37).padStart(7, "0")}</cd:Cnk><med:Product>Amoxicilline 500 mg &amp; acide clavulanique, gélules</med:Product>` +
        `<med:Quantity unit="box">${(i % 3) + 1}</med:Quantity><med:Prescriber nihii="1${String(i).padStart(7, "0")}00"/></med:Delivery>`,
    );
  }
  return [...head, ...items, ...tail].join("\n");
}

const XMLSEC_SIGNATURE_TEMPLATE = `      <ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
        <ds:SignedInfo>
          <ds:CanonicalizationMethod Algorithm="${EXC_C14N}"/>
          <ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>
          <ds:Reference URI="#Body-1"><ds:Transforms><ds:Transform Algorithm="${EXC_C14N}"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference>
          <ds:Reference URI="#TS-1"><ds:Transforms><ds:Transform Algorithm="${EXC_C14N}"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference>
        </ds:SignedInfo>
        <ds:SignatureValue/>
        <ds:KeyInfo><ds:X509Data/></ds:KeyInfo>
      </ds:Signature>`;
/** A document with almost nothing to digest: what xmlsec1 costs per process before the document matters. */
const XMLSEC_TINY_TEMPLATE = `<?xml version="1.0" encoding="UTF-8"?>
<r><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="${EXC_C14N}"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI=""><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="${EXC_C14N}"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature></r>
`;
const XMLSEC_IDS = ["--id-attr:Id", `${NS.soap}:Body`, "--id-attr:Id", `${NS.wsu}:Timestamp`];

// --- setup ----------------------------------------------------------------------
const dir = mkdtempSync(path.join(tmpdir(), "passerelle-bench-trust-"));
const file = (name) => path.join(dir, name);
let hsmSigner;
const cleanup = async () => {
  await hsmSigner?.close().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
};

let setup;
try {
  if (spawnSync("xmlsec1", ["--version"]).error) throw new Error("xmlsec1 is missing: apt-get install -y xmlsec1");
  if (!(await isSoftHsmAvailable())) throw new Error("SoftHSM is missing: apt-get install -y softhsm2 opensc");

  const pki = await SandboxPki.open(file("pki"));
  const identity = await pki.clientIdentity("bench-signer", {
    country: "FR",
    subject: { C: "FR", O: "Cabinet Bench", CN: "Martin, Claire", serialNumber: "810000000001" },
    keyUsages: ["digitalSignature", "nonRepudiation"],
  });
  const privateKey = createPrivateKey(identity.keyPem);
  if (privateKey.asymmetricKeyDetails?.modulusLength !== 2048) throw new Error("the sandbox PKI no longer issues RSA-2048 keys");
  const publicKey = createPublicKey(privateKey);
  const software = SoftwareSigner.fromPem({ keyPem: identity.keyPem, certificatePem: identity.certPem + identity.chainPem.join("") });
  const rootCertificate = new X509Certificate(pki.rootCertPem);

  // The same key in a SoftHSM token, as a card would hold it.
  const token = await createSoftHsmToken({ label: "PASSERELLE-BENCH", soPin: "12345678", userPin: "1234", dir: file("hsm") });
  await importIdentity(token, { keyPem: identity.keyPem, certPem: identity.certPem, label: "Signature", id: "02" });
  process.env.SOFTHSM2_CONF = token.configPath; // read by SoftHSM at C_Initialize
  hsmSigner = await Pkcs11Signer.open({ tokenLabel: token.label, pin: token.userPin, certificateLabel: "Signature" });

  const soap = soapMessage(10 * 1024);
  const soapBytes = Buffer.from(soap);
  const signPolicy = {
    signer: software,
    references: [{ id: "Body-1" }, { id: "TS-1" }],
    location: { xpath: "/soap:Envelope/soap:Header/wsse:Security", action: "append" },
    namespaces: NS,
    keyInfo: "chain",
  };
  const verifyPolicy = {
    trustPolicy: chainToTrustAnchors([rootCertificate]),
    signatureXPath: "/soap:Envelope/soap:Header/wsse:Security/ds:Signature",
    requireSigned: ["/soap:Envelope/soap:Body", "/soap:Envelope/soap:Header/wsse:Security/wsu:Timestamp"],
    namespaces: NS,
  };

  const pdfDocument = await PDFDocument.create();
  const page = pdfDocument.addPage([595, 842]);
  const font = await pdfDocument.embedFont(StandardFonts.Helvetica);
  page.drawText("Certificat d'incapacite de travail - patient 1234", { x: 50, y: 780, size: 14, font });
  page.drawText("Le medecin soussigne certifie avoir examine le patient ce jour.", { x: 50, y: 750, size: 11, font });
  const pdf = Buffer.from(await pdfDocument.save());

  // xmlsec1 works on files: the key with its chain, the trust anchor, the template.
  writeFileSync(file("key.pem"), identity.keyPem);
  writeFileSync(file("cert.pem"), identity.certPem);
  writeFileSync(file("ca.pem"), identity.chainPem.join(""));
  writeFileSync(file("root.pem"), pki.rootCertPem);
  writeFileSync(file("template.xml"), soapMessage(10 * 1024, XMLSEC_SIGNATURE_TEMPLATE));
  writeFileSync(file("tiny.xml"), XMLSEC_TINY_TEMPLATE);

  // Sanity, once: each side verifies what the other signed, and every path produces a verifiable signature.
  const ours = await signXml(soap, signPolicy);
  writeFileSync(file("ours.xml"), ours.xml);
  const theirsVerifyOurs = xmlsec1(dir, ["--verify", "--trusted-pem", "root.pem", ...XMLSEC_IDS, "ours.xml"]);
  if (!theirsVerifyOurs.ok) throw new Error(`xmlsec1 refuses our signature: ${theirsVerifyOurs.output}`);
  const signedByXmlsec = xmlsec1(dir, ["--sign", "--privkey-pem", "key.pem,cert.pem,ca.pem", ...XMLSEC_IDS, "--output", "theirs.xml", "template.xml"]);
  if (!signedByXmlsec.ok) throw new Error(`xmlsec1 --sign failed: ${signedByXmlsec.output}`);
  const oursVerifyTheirs = await verifyXmlSignature(readFileSync(file("theirs.xml"), "utf8"), verifyPolicy);
  if (oursVerifyTheirs.signedElements.length !== 2) throw new Error("xmlsec1's signature does not cover Body and Timestamp");
  const [report] = await verifyPdfSignatures(await signPdf(pdf, { signer: software }));
  if (report?.integrity !== true) throw new Error(`the PAdES signature does not verify: ${JSON.stringify(report)}`);
  const cardSignature = await hsmSigner.sign(soapBytes, "RSASSA-PKCS1-v1_5-SHA256");
  if (!cryptoVerify("sha256", soapBytes, publicKey, cardSignature)) throw new Error("the SoftHSM signature does not verify");

  setup = { privateKey, publicKey, software, soap, soapBytes, signPolicy, verifyPolicy, pdf, signedSize: ours.xml.length };
} catch (error) {
  console.error("setup failed:", error);
  await cleanup();
  process.exit(1);
}

const { privateKey, publicKey, software, soap, soapBytes, signPolicy, verifyPolicy, pdf } = setup;
const signAsync = promisify(cryptoSign);
const signedXml = (await signXml(soap, signPolicy)).xml;

// --- in-process measurements, interleaved ---------------------------------------
const candidates = {
  rawSign: () => cryptoSign("sha256", soapBytes, privateKey),
  rawSignAsync: () => signAsync("sha256", soapBytes, privateKey),
  rawPair: () => cryptoVerify("sha256", soapBytes, publicKey, cryptoSign("sha256", soapBytes, privateKey)),
  xmlPair: async () => verifyXmlSignature((await signXml(soap, signPolicy)).xml, verifyPolicy),
  xmlSign: () => signXml(soap, signPolicy),
  xmlVerify: () => verifyXmlSignature(signedXml, verifyPolicy),
  pades: () => signPdf(pdf, { signer: software }),
  softhsm: () => hsmSigner.sign(soapBytes, "RSASSA-PKCS1-v1_5-SHA256"),
};

console.log(`RSA-2048, SHA-256; SOAP message ${fmt(soapBytes.length)} bytes (${fmt(setup.signedSize)} signed), one-page PDF ${fmt(pdf.length)} bytes`);
const loadBefore = load();
for (const fn of Object.values(candidates)) await opsPerSecond(fn, 200); // warm-up
const rates = Object.fromEntries(Object.keys(candidates).map((k) => [k, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, fn] of Object.entries(candidates)) rates[name].push(await opsPerSecond(fn, ROUND_MS));
}
const loadAfter = load();
/** Median over rounds of the per-round ratio: each round's baseline was measured next to it. */
const ratio = (name, baseline) => median(rates[name].map((rate, r) => rate / rates[baseline][r]));
const rate = (name) => median(rates[name]);

// --- xmlsec1, one process per operation -------------------------------------------
const loadXmlsec = load();
/** ms of one xmlsec1 sign + verify pair on `template`. */
function xmlsecPair(template) {
  const start = performance.now();
  const signed = xmlsec1(dir, ["--sign", "--privkey-pem", "key.pem,cert.pem,ca.pem", ...XMLSEC_IDS, "--output", `${template}.signed`, template]);
  const verified = xmlsec1(dir, ["--verify", "--trusted-pem", "root.pem", ...XMLSEC_IDS, `${template}.signed`]);
  if (!signed.ok || !verified.ok) throw new Error(`xmlsec1 failed on ${template}: ${signed.output}${verified.output}`);
  return performance.now() - start;
}
// Interleaved, so that the three series see the same background load; medians.
const spawnSamples = [];
const pairSamples = [];
const tinySamples = [];
try {
  for (let i = 0; i < XMLSEC_OPS; i++) {
    const start = performance.now();
    xmlsec1(dir, ["--version"]);
    spawnSamples.push(performance.now() - start);
    pairSamples.push(xmlsecPair("template.xml"));
    if (i % 2 === 0) tinySamples.push(xmlsecPair("tiny.xml"));
  }
} catch (error) {
  console.error(error);
  await cleanup();
  process.exit(1);
}
const spawnMs = median(spawnSamples);
const xmlsecPairMs = median(pairSamples);
const xmlsecTinyPairMs = median(tinySamples);
const xmlsecNetMs = xmlsecPairMs - 2 * spawnMs;
const rawPairMs = 1000 / rate("rawPair");

await cleanup();

// --- report ---------------------------------------------------------------------
const rows = [
  ["crypto.sign (baseline)", rate("rawSign"), 1, "sync, main thread"],
  ["crypto.sign, callback", rate("rawSignAsync"), ratio("rawSignAsync", "rawSign"), "libuv pool, as SoftwareSigner signs"],
  ["crypto.sign + crypto.verify (pair baseline)", rate("rawPair"), ratio("rawPair", "rawSign"), "ratio to crypto.sign"],
  ["XML-DSig sign + verify, 10 kB SOAP", rate("xmlPair"), ratio("xmlPair", "rawPair"), "ratio to sign+verify pair; 2 refs, exc-c14n, chain trust"],
  ["  XML-DSig sign only", rate("xmlSign"), ratio("xmlSign", "rawSign"), "ratio to crypto.sign; parse + c14n + serialize"],
  ["  XML-DSig verify only", rate("xmlVerify"), ratio("xmlVerify", "rawPair"), "ratio to sign+verify pair"],
  [
    "xmlsec1 --sign + --verify, same doc",
    1000 / xmlsecPairMs,
    1000 / xmlsecPairMs / rate("rawPair"),
    `${fmt(xmlsecPairMs, 1)} ms/pair incl. 2 process spawns (ratio to pair)`,
  ],
  [
    "  xmlsec1, spawn subtracted",
    xmlsecNetMs > 0 ? 1000 / xmlsecNetMs : NaN,
    xmlsecNetMs > 0 ? 1000 / xmlsecNetMs / rate("rawPair") : NaN,
    `minus 2 x ${fmt(spawnMs, 1)} ms (xmlsec1 --version: exec + dynamic linking, not crypto init)`,
  ],
  [
    "  xmlsec1 on a tiny document, same key",
    1000 / xmlsecTinyPairMs,
    1000 / xmlsecTinyPairMs / rate("rawPair"),
    `${fmt(xmlsecTinyPairMs, 1)} ms/pair: xmlsec1's per-process start (crypto init, key + chain loading)`,
  ],
  ["PAdES-B-B signPdf, 1-page PDF", rate("pades"), ratio("pades", "rawSign"), "SoftwareSigner; ratio to crypto.sign"],
  ["SoftHSM C_Sign via Pkcs11Signer", rate("softhsm"), ratio("softhsm", "rawSign"), "ratio to crypto.sign; same key in the token"],
];
console.log(`${ROUNDS} interleaved rounds of ${ROUND_MS} ms per in-process operation; medians (ops/s, per-round ratios); xmlsec1: medians of ${XMLSEC_OPS} pairs (${XMLSEC_OPS / 2} tiny), interleaved with the spawn probe`);
console.log(`${"operation".padEnd(46)} ${"ops/s".padStart(9)}  ${"ratio".padStart(6)}  note`);
for (const [name, ops, r, note] of rows) console.log(`${name.padEnd(46)} ${fmt(ops).padStart(9)}  ${fmt(r, 3).padStart(6)}  ${note}`);
console.log(
  `xmlsec1 vs us: ${fmt(xmlsecPairMs, 2)} ms per sign+verify (${fmt(xmlsecNetMs, 2)} ms without exec); ` +
    `the 10 kB document itself costs xmlsec1 ~${fmt(xmlsecPairMs - xmlsecTinyPairMs, 2)} ms over its tiny-document pair; ` +
    `us ${fmt(1000 / rate("xmlPair"), 2)} ms in process; raw pair ${fmt(rawPairMs, 2)} ms`,
);
console.log(`loadavg(1m): ${loadBefore} before, ${loadAfter} after the in-process rounds, ${loadXmlsec} before xmlsec1 (2 shared cores; includes this benchmark)`);
