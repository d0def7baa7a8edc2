/**
 * The syncexchange DepositDocument exchange (schema in the service's WSDL):
 * the request carries the STS's SAML assertion, unchanged, in its
 * wsse:Security header (WSS SAML Token Profile 1.1 §3.3, bearer) with a
 * wsu:Timestamp; the Body names the practitioner, optionally the patient,
 * and holds the PDF in base64.
 */
import type { Element } from "@xmldom/xmldom";
import { childElements, isNamed } from "../../../protocols/xml/index.js";
import { SYNCEXCHANGE_NAMESPACE, WSSE_NAMESPACE, WSU_NAMESPACE } from "./namespaces.js";
import { escapeXml, soapNamespace, unexpectedAnswer, type SoapVersion } from "./soap-message.js";
import { xsdDateTime } from "./ws-security.js";

export interface DepositMessage {
  clientReference: string;
  providerCode: string;
  patientMatricule: string | undefined;
  documentType: string | undefined;
  title: string | undefined;
  fileName: string | undefined;
  pdf: Uint8Array;
}

export interface DepositReceipt {
  depositId: string;
  clientReference: string;
  status: "ACCEPTED";
  receivedAt: Date;
  /** SHA-256 of the document as mySecu received it, lower-case hex. */
  documentSha256: string;
}

export function buildDepositRequest(version: SoapVersion, assertionXml: string, message: DepositMessage, now: Date, ttlSeconds: number): string {
  const optional = (name: string, value: string | undefined): string => (value === undefined ? "" : `<sx:${name}>${escapeXml(value)}</sx:${name}>`);
  const expires = new Date(now.getTime() + ttlSeconds * 1000);
  // The assertion is inserted as text: it is the serialization of a DOM we parsed safely, so it is well-formed and carries no DTD.
  return (
    `<soap:Envelope xmlns:soap="${soapNamespace(version)}"><soap:Header>` +
    `<wsse:Security xmlns:wsse="${WSSE_NAMESPACE}" xmlns:wsu="${WSU_NAMESPACE}" soap:mustUnderstand="${version === "1.1" ? "1" : "true"}">` +
    `<wsu:Timestamp><wsu:Created>${xsdDateTime(now)}</wsu:Created><wsu:Expires>${xsdDateTime(expires)}</wsu:Expires></wsu:Timestamp>` +
    assertionXml +
    `</wsse:Security></soap:Header><soap:Body>` +
    `<sx:DepositDocumentRequest xmlns:sx="${SYNCEXCHANGE_NAMESPACE}">` +
    `<sx:ClientReference>${escapeXml(message.clientReference)}</sx:ClientReference>` +
    `<sx:Practitioner><sx:ProviderCode>${escapeXml(message.providerCode)}</sx:ProviderCode></sx:Practitioner>` +
    (message.patientMatricule === undefined ? "" : `<sx:Patient><sx:Matricule>${escapeXml(message.patientMatricule)}</sx:Matricule></sx:Patient>`) +
    `<sx:Document>` +
    optional("DocumentType", message.documentType) +
    optional("Title", message.title) +
    optional("FileName", message.fileName) +
    `<sx:MimeType>application/pdf</sx:MimeType>` +
    `<sx:Content>${Buffer.from(message.pdf.buffer, message.pdf.byteOffset, message.pdf.byteLength).toString("base64")}</sx:Content>` +
    `</sx:Document></sx:DepositDocumentRequest></soap:Body></soap:Envelope>`
  );
}

/** The DepositDocumentResponse payload, checked against what was sent. */
export function readDepositResponse(payload: Element, sent: { clientReference: string; documentSha256: string }, status: number): DepositReceipt {
  if (!isNamed(payload, SYNCEXCHANGE_NAMESPACE, "DepositDocumentResponse")) throw unexpectedAnswer("mySecu did not answer with a DepositDocumentResponse", status);
  const field = (name: string): Element | undefined => childElements(payload).find((child) => isNamed(child, SYNCEXCHANGE_NAMESPACE, name));
  const text = (name: string): string => (field(name)?.textContent ?? "").trim();
  const depositId = text("DepositId");
  const receivedAt = new Date(text("ReceivedAt"));
  const digest = field("DocumentDigest");
  if (depositId === "" || !/^[\x21-\x7e]{1,128}$/.test(depositId) || !Number.isFinite(receivedAt.getTime()) || text("Status") !== "ACCEPTED") {
    throw unexpectedAnswer("mySecu's DepositDocumentResponse is incomplete", status);
  }
  // The service acknowledges what it received: our reference, and the SHA-256 of our bytes.
  if (text("ClientReference") !== sent.clientReference) throw unexpectedAnswer("mySecu acknowledged another ClientReference than the one sent", status);
  if (digest?.getAttribute("Algorithm") !== "http://www.w3.org/2001/04/xmlenc#sha256" || Buffer.from(text("DocumentDigest"), "base64").toString("hex") !== sent.documentSha256) {
    throw unexpectedAnswer("mySecu acknowledged a document digest that is not the one of the document sent", status);
  }
  return { depositId, clientReference: sent.clientReference, status: "ACCEPTED", receivedAt, documentSha256: sent.documentSha256 };
}
