/**
 * The mySecu business service "syncexchange": DepositDocument.
 *
 * Checks, in order, each refusal with its own fault (./soap-faults.ts):
 * the SAML bearer assertion (signature by the STS, issuer, validity window,
 * audience); the message against the schema of the WSDL (./wsdl.ts); the
 * patient's matricule; the practitioner's enrolment; then — unless the
 * vendor's ClientReference already names a deposit — the PDF's PAdES
 * signatures (every one valid, the signer chaining to the LU CA, a B-T
 * time-stamp verified against the sandbox root) and that the practitioner
 * signed it (the signing certificate's serialNumber is the provider code,
 * as in the KMS's certificates).
 */
import { createHash, type X509Certificate } from "node:crypto";
import type { Element } from "@xmldom/xmldom";
import { PasserelleError } from "../../errors/index.js";
import type { PdfSignatureReport } from "../../protocols/pades/index.js";
import { childElements } from "../../protocols/xml/index.js";
import { verifyTimestampToken } from "../../protocols/tsp/verify-timestamp-token.js";
import { validateChain } from "../../trust/certificates/index.js";
import type { DepositStore, NewDeposit } from "./deposit-store.js";
import type { EnrolmentRegistry } from "./enrolment.js";
import { isValidMatricule } from "./matricule.js";
import { SYNCEXCHANGE_NAMESPACE } from "./namespaces.js";
import { verifyBearerAssertion, xsdDateTime } from "./saml-assertion.js";
import { MySecuFault } from "./soap-faults.js";
import { bodyPayload, escapeXml, soapEnvelope, type SoapRequest } from "./soap-envelope.js";

export interface SyncExchangeSettings {
  /** This endpoint's URL: the audience tokens must name. */
  url: string;
  stsIssuer: string;
  /** The STS signing certificate (pinned). */
  stsCertificate: X509Certificate;
  /** The CA that issues practitioners' signing certificates (the sandbox LU CA). */
  signingCa: X509Certificate;
  /** Trust anchor of signature time-stamps (the sandbox root). */
  timestampRoot: X509Certificate;
  enrolment: EnrolmentRegistry;
  store: DepositStore;
  maxDocumentBytes: number;
  clockSkewMs: number;
}

interface DepositRequest {
  clientReference: string;
  providerCode: string;
  matricule: string | undefined;
  documentType: string | undefined;
  title: string | undefined;
  fileName: string | undefined;
  content: Buffer;
}

const SHA256_URI = "http://www.w3.org/2001/04/xmlenc#sha256";
const PROVIDER_CODE = /^[0-9]{6}-[0-9]{2}$/;
const CLIENT_REFERENCE = /^[A-Za-z0-9:._-]{1,128}$/;
const DOCUMENT_TYPE = /^[A-Z0-9_]{1,32}$/;

export async function depositDocument(request: SoapRequest, settings: SyncExchangeSettings, now: () => Date): Promise<string> {
  const assertion = await verifyBearerAssertion(request, {
    stsCertificate: settings.stsCertificate,
    issuer: settings.stsIssuer,
    audience: settings.url,
    now: now(),
    clockSkewMs: settings.clockSkewMs,
  });
  const deposit = readDepositRequest(bodyPayload(request.body, SYNCEXCHANGE_NAMESPACE, "DepositDocumentRequest", "badRequest"), settings.maxDocumentBytes);
  if (deposit.matricule !== undefined && !isValidMatricule(deposit.matricule)) {
    throw new MySecuFault("invalidMatricule", "Patient/Matricule is not a valid national identification number");
  }
  if (!settings.enrolment.isEnrolled(deposit.providerCode)) {
    throw new MySecuFault("practitionerNotEnrolled", `Practitioner ${deposit.providerCode} is not enrolled on mySecu`);
  }
  const documentSha256 = createHash("sha256").update(deposit.content).digest("hex");
  const outcome = await settings.store.deposit(
    { vendorCertificateSha256: assertion.vendorCertificateSha256, clientReference: deposit.clientReference, documentSha256, providerCode: deposit.providerCode },
    async (): Promise<NewDeposit> => ({
      clientReference: deposit.clientReference,
      vendor: assertion.subject,
      vendorCertificateSha256: assertion.vendorCertificateSha256,
      providerCode: deposit.providerCode,
      patientMatricule: deposit.matricule,
      documentType: deposit.documentType,
      title: deposit.title,
      fileName: deposit.fileName,
      documentSha256,
      size: deposit.content.length,
      signerSubject: await verifyDocumentSignature(deposit, settings, now()),
      content: deposit.content,
    }),
    now,
  );
  if (outcome.kind === "conflict") {
    throw new MySecuFault("duplicateReference", `ClientReference ${deposit.clientReference} was already used for another document`);
  }
  const record = outcome.record;
  const digest = Buffer.from(record.documentSha256, "hex").toString("base64");
  return soapEnvelope(
    request.version,
    `<sx:DepositDocumentResponse xmlns:sx="${SYNCEXCHANGE_NAMESPACE}">` +
      `<sx:DepositId>${escapeXml(record.depositId)}</sx:DepositId>` +
      `<sx:ClientReference>${escapeXml(record.clientReference)}</sx:ClientReference>` +
      `<sx:Status>ACCEPTED</sx:Status>` +
      `<sx:ReceivedAt>${xsdDateTime(record.receivedAt)}</sx:ReceivedAt>` +
      `<sx:DocumentDigest Algorithm="${SHA256_URI}">${digest}</sx:DocumentDigest>` +
      `</sx:DepositDocumentResponse>`,
  );
}

/** The elements of the WSDL's sequence, in order, nothing else. */
function readDepositRequest(payload: Element, maxDocumentBytes: number): DepositRequest {
  const reader = new SequenceReader(payload);
  const clientReference = reader.text("ClientReference", CLIENT_REFERENCE);
  const practitioner = new SequenceReader(reader.required("Practitioner"));
  const providerCode = practitioner.text("ProviderCode", PROVIDER_CODE);
  practitioner.end();
  const patientElement = reader.optional("Patient");
  let matricule: string | undefined;
  if (patientElement !== undefined) {
    const patient = new SequenceReader(patientElement);
    matricule = patient.text("Matricule", /^[0-9]{13}$/, "invalidMatricule");
    patient.end();
  }
  const document = new SequenceReader(reader.required("Document"));
  reader.end();
  const documentType = document.optionalText("DocumentType", DOCUMENT_TYPE);
  const title = document.optionalText("Title", /^[\s\S]{0,256}$/);
  const fileName = document.optionalText("FileName", /^[\s\S]{0,256}$/);
  const mimeType = document.text("MimeType", /^.*$/);
  if (mimeType !== "application/pdf") throw new MySecuFault("invalidDocument", `MimeType must be application/pdf, not ${mimeType}`);
  const base64 = (document.required("Content").textContent ?? "").replace(/[ \t\r\n]+/g, "");
  document.end();
  if (base64.length === 0) throw new MySecuFault("invalidDocument", "The document is empty");
  if (base64.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) throw new MySecuFault("badRequest", "Document/Content is not base64");
  if ((base64.length / 4) * 3 > maxDocumentBytes + 2) throw new MySecuFault("invalidDocument", `The document exceeds ${maxDocumentBytes} bytes`);
  return { clientReference, providerCode, matricule, documentType, title, fileName, content: Buffer.from(base64, "base64") };
}

/** PAdES (ETSI EN 319 142-1) verification; returns the subject of the practitioner's signing certificate. */
async function verifyDocumentSignature(deposit: DepositRequest, settings: SyncExchangeSettings, at: Date): Promise<string> {
  let reports: PdfSignatureReport[];
  try {
    // Loaded on the first deposit: the PDF stack is no part of the sandbox's start-up.
    const { verifyPdfSignatures } = await import("../../protocols/pades/index.js");
    reports = await verifyPdfSignatures(deposit.content, {
      verifyChain: async (chain) => {
        const [leaf, ...intermediates] = chain;
        if (leaf === undefined) throw new Error("No signing certificate");
        const result = await validateChain(leaf, { anchors: [settings.signingCa], intermediates, purpose: "signature", at });
        if (!result.valid) throw new Error(result.detail);
      },
      verifyTimestamp: async (token, signatureValue) => verifyTimestampToken(token, { data: signatureValue, trust: { anchors: [settings.timestampRoot] }, certificates: [settings.signingCa] }),
    });
  } catch (error) {
    if (error instanceof PasserelleError && (error.code === "PASSERELLE_PDF_INVALID" || error.code === "PASSERELLE_PDF_ENCRYPTED")) {
      throw new MySecuFault("invalidDocument", error.detail, error);
    }
    throw error;
  }
  if (reports.length === 0) throw new MySecuFault("invalidDocumentSignature", "The PDF carries no signature");
  const refused = reports.filter((report) => !report.valid);
  if (refused.length > 0) {
    const reasons = refused.flatMap((report) => report.reasons.map((reason) => `${report.fieldName}: ${reason.code} (${reason.detail})`));
    throw new MySecuFault("invalidDocumentSignature", `The PDF's signature is refused: ${reasons.join("; ")}`);
  }
  const byPractitioner = reports.find((report) => report.signerCertificate !== undefined && serialNumberOf(report.signerCertificate) === deposit.providerCode);
  if (byPractitioner?.signerCertificate === undefined) {
    throw new MySecuFault("signerMismatch", `The PDF is not signed by practitioner ${deposit.providerCode}`);
  }
  return byPractitioner.signerCertificate.subject.replaceAll("\n", ", ");
}

/** X.520 serialNumber (2.5.4.5) of the subject: how the sandbox's signing certificates carry the provider code. */
function serialNumberOf(certificate: X509Certificate): string | undefined {
  return certificate.subject
    .split("\n")
    .find((rdn) => rdn.startsWith("serialNumber="))
    ?.slice("serialNumber=".length);
}

/** Reads an xs:sequence of syncexchange elements, in order, refusing anything else. */
class SequenceReader {
  readonly #children: Element[];
  readonly #parent: string;
  #index = 0;

  constructor(parent: Element) {
    this.#parent = parent.localName ?? "element";
    this.#children = childElements(parent);
    for (let child = parent.firstChild; child !== null; child = child.nextSibling) {
      if ((child.nodeType === 3 || child.nodeType === 4) && /\S/.test(child.nodeValue ?? "")) {
        throw new MySecuFault("badRequest", `Unexpected text in ${this.#parent}`);
      }
    }
  }

  optional(localName: string): Element | undefined {
    const next = this.#children[this.#index];
    if (next === undefined || next.namespaceURI !== SYNCEXCHANGE_NAMESPACE || next.localName !== localName) return undefined;
    this.#index += 1;
    return next;
  }

  required(localName: string): Element {
    const element = this.optional(localName);
    if (element === undefined) throw new MySecuFault("badRequest", `${this.#parent} must hold sx:${localName} here`);
    return element;
  }

  text(localName: string, pattern: RegExp, fault: "badRequest" | "invalidMatricule" = "badRequest"): string {
    const value = this.#textOf(this.required(localName));
    if (!pattern.test(value)) throw new MySecuFault(fault, `sx:${localName} is not valid`);
    return value;
  }

  optionalText(localName: string, pattern: RegExp): string | undefined {
    const element = this.optional(localName);
    if (element === undefined) return undefined;
    const value = this.#textOf(element);
    if (!pattern.test(value)) throw new MySecuFault("badRequest", `sx:${localName} is not valid`);
    return value;
  }

  end(): void {
    const extra = this.#children[this.#index];
    if (extra !== undefined) throw new MySecuFault("badRequest", `Unexpected ${extra.tagName} in ${this.#parent}`);
  }

  #textOf(element: Element): string {
    if (childElements(element).length > 0) throw new MySecuFault("badRequest", `sx:${element.localName} must hold text only`);
    return (element.textContent ?? "").trim();
  }
}
