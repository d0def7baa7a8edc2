/**
 * SOAP 1.1 and 1.2 envelopes as the simulator receives and answers them.
 *
 * The version is the envelope's namespace (SOAP 1.2 Part 1 §5.4.7 asks a
 * node to answer a version mismatch; we refuse with a 1.1 fault, which every
 * client understands). The answer is always in the request's version:
 * SOAP 1.1 `text/xml` with HTTP 500 for faults (SOAP 1.1 §6.2), SOAP 1.2
 * `application/soap+xml` with HTTP 400 for env:Sender faults and 500 for
 * env:Receiver ones (SOAP 1.2 Part 2 §7.5.1.2).
 */
import type { Document, Element } from "@xmldom/xmldom";
import { XmlParseError, childElements, isNamed, parseXml } from "../../protocols/xml/index.js";
import { SOAP11_NAMESPACE, SOAP12_NAMESPACE } from "./namespaces.js";
import { MySecuFault, type FaultCodeInfo } from "./soap-faults.js";

export type SoapVersion = "1.1" | "1.2";

export interface SoapRequest {
  version: SoapVersion;
  /** The envelope namespace of `version`. */
  namespace: string;
  document: Document;
  envelope: Element;
  header: Element | undefined;
  body: Element;
}

export const SOAP_CONTENT_TYPES: Readonly<Record<SoapVersion, string>> = {
  "1.1": "text/xml; charset=utf-8",
  "1.2": "application/soap+xml; charset=utf-8",
};

/**
 * Parses a request body as a SOAP envelope (hardened parser: no DTD, size and
 * depth limits). A document that is not a SOAP envelope is refused as a
 * SOAP 1.1 `InvalidRequest`-class fault by the caller of this function.
 */
export function readSoapRequest(bytes: Buffer, maxBytes: number, fault: "invalidRequest" | "badRequest"): SoapRequest {
  let document: Document;
  try {
    document = parseXml(bytes, { maxBytes });
  } catch (error) {
    if (error instanceof XmlParseError) throw new MySecuFault(fault, `The request is not acceptable XML: ${error.detail}`, error);
    throw error;
  }
  const envelope = document.documentElement;
  const version: SoapVersion | undefined =
    envelope === null ? undefined : envelope.namespaceURI === SOAP11_NAMESPACE ? "1.1" : envelope.namespaceURI === SOAP12_NAMESPACE ? "1.2" : undefined;
  if (envelope === null || version === undefined || envelope.localName !== "Envelope") {
    throw new MySecuFault(fault, "The request is not a SOAP 1.1 or 1.2 Envelope");
  }
  const namespace = version === "1.1" ? SOAP11_NAMESPACE : SOAP12_NAMESPACE;
  // SOAP 1.1 §4.1 / SOAP 1.2 Part 1 §5.1: an optional Header, then one Body.
  const children = childElements(envelope);
  const [first, second, ...rest] = children;
  const header = first !== undefined && isNamed(first, namespace, "Header") ? first : undefined;
  const body = header === undefined ? first : second;
  if (body === undefined || !isNamed(body, namespace, "Body") || (header === undefined ? second !== undefined : rest.length > 0)) {
    throw new MySecuFault(fault, "The Envelope must hold an optional Header then exactly one Body");
  }
  return { version, namespace, document, envelope, header, body };
}

/** The one element child of the Body, which must be `namespace`:`localName`. */
export function bodyPayload(body: Element, namespace: string, localName: string, fault: "invalidRequest" | "badRequest"): Element {
  const children = childElements(body);
  const payload = children[0];
  if (children.length !== 1 || payload === undefined || !isNamed(payload, namespace, localName)) {
    throw new MySecuFault(fault, `The Body must hold exactly one ${localName} element of namespace ${namespace}`);
  }
  return payload;
}

/** A complete envelope around `bodyXml` (already serialized, namespaces declared inside). */
export function soapEnvelope(version: SoapVersion, bodyXml: string, headerXml = ""): string {
  const namespace = version === "1.1" ? SOAP11_NAMESPACE : SOAP12_NAMESPACE;
  const header = headerXml === "" ? "" : `<soap:Header>${headerXml}</soap:Header>`;
  return `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="${namespace}">${header}<soap:Body>${bodyXml}</soap:Body></soap:Envelope>`;
}

export interface SoapFaultMessage {
  status: number;
  contentType: string;
  body: string;
}

/** The fault message for `code`, in the request's SOAP version. */
export function soapFault(version: SoapVersion, code: FaultCodeInfo, reason: string): SoapFaultMessage {
  const text = escapeXml(reason);
  const qname = `${code.prefix}:${code.localName}`;
  if (version === "1.1") {
    // SOAP 1.1 §4.4: faultcode is a QName; the WS-Security / WS-Trust codes are used in place of Client/Server.
    const fault = `<soap:Fault><faultcode xmlns:${code.prefix}="${code.namespace}">${qname}</faultcode><faultstring xml:lang="en">${text}</faultstring></soap:Fault>`;
    return { status: 500, contentType: SOAP_CONTENT_TYPES["1.1"], body: soapEnvelope("1.1", fault) };
  }
  // SOAP 1.2 Part 1 §5.4.6: the specific code is a Subcode of env:Sender / env:Receiver.
  const value = code.side === "sender" ? "soap:Sender" : "soap:Receiver";
  const fault =
    `<soap:Fault><soap:Code><soap:Value>${value}</soap:Value><soap:Subcode><soap:Value xmlns:${code.prefix}="${code.namespace}">${qname}</soap:Value></soap:Subcode></soap:Code>` +
    `<soap:Reason><soap:Text xml:lang="en">${text}</soap:Text></soap:Reason></soap:Fault>`;
  return { status: code.side === "sender" ? 400 : 500, contentType: SOAP_CONTENT_TYPES["1.2"], body: soapEnvelope("1.2", fault) };
}

/** XML 1.0 §2.4: text and attribute values. */
export function escapeXml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c] as string);
}
