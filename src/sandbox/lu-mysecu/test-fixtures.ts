/**
 * Test material for the mySecu simulator and client: a vendor's generic
 * keystore and practitioners' signing identities from the sandbox PKI, and
 * PAdES-signed PDFs. Used by tests only.
 */
import { PDFDocument, StandardFonts } from "pdf-lib";
import { signPdf } from "../../protocols/pades/index.js";
import type { SandboxCountry, SandboxPki } from "../../trust/pki/index.js";
import { SoftwareSigner } from "../../trust/signers/index.js";

/**
 * A vendor's generic keystore as a Signer: a client certificate of
 * `country`'s sandbox CA (LU for the real thing; another country's to be refused).
 */
export async function testVendorSigner(pki: SandboxPki, country: SandboxCountry = "LU", name = "mysecu-test-vendor"): Promise<SoftwareSigner> {
  const identity = await pki.clientIdentity(`${name}-${country.toLowerCase()}`, {
    country,
    subject: { C: country, O: "Passerelle Sandbox", OU: "eConnector generic keystore", CN: `mySecu test vendor (${country})` },
    keyUsages: ["digitalSignature"],
  });
  return SoftwareSigner.fromPem({ keyPem: identity.keyPem, certificatePem: [identity.certPem, ...identity.chainPem].join("") });
}

/**
 * A practitioner's document-signing identity, shaped like the KMS's
 * (src/sandbox/lu-kms/practitioner-keys.ts): serialNumber = provider code.
 */
export async function testPractitionerSigner(pki: SandboxPki, providerCode: string, country: SandboxCountry = "LU"): Promise<SoftwareSigner> {
  const identity = await pki.clientIdentity(`mysecu-test-signer-${providerCode}-${country.toLowerCase()}`, {
    country,
    subject: { C: country, O: "Passerelle Sandbox", OU: "Remote signature (KMS)", serialNumber: providerCode, CN: `Practitioner ${providerCode}` },
    keyUsages: ["nonRepudiation"],
    extendedKeyUsages: ["emailProtection"],
  });
  return SoftwareSigner.fromPem({ keyPem: identity.keyPem, certificatePem: [identity.certPem, ...identity.chainPem].join("") });
}

/** A one-page PDF whose text makes it unique. */
export async function testPdf(text: string): Promise<Buffer> {
  const document = await PDFDocument.create();
  document.setTitle("Certificat d'incapacite de travail");
  const page = document.addPage([595, 842]);
  page.drawText(text, { x: 50, y: 780, size: 12, font: await document.embedFont(StandardFonts.Helvetica) });
  return Buffer.from(await document.save({ useObjectStreams: false }));
}

/** The same, signed PAdES-B-B by `signer`. */
export async function testSignedPdf(signer: SoftwareSigner, text: string): Promise<Buffer> {
  return signPdf(await testPdf(text), { signer, reason: "Certificat d'incapacité de travail", signingTime: new Date() });
}
