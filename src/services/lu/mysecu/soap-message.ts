/**
 * SOAP 1.1 / 1.2 answers as the mySecu client reads them: safely
 * (src/protocols/xml), as either the Body's payload or a Fault with its code
 * resolved to a namespace. The versions' namespaces and HTTP headers are in
 * soap-http.ts.
 */
import type { Document, Element } from "@xmldom/xmldom";
import { XmlParseError, childElements, isNamed, parseXml } from "../../../protocols/xml/index.js";
import { UpstreamError } from "../../../transport/index.js";
import { SOAP11_NAMESPACE, SOAP12_NAMESPACE, SYNCEXCHANGE_NAMESPACE, WSSE_NAMESPACE, WST_NAMESPACE } from "./namespaces.js";
import { MYSECU_UPSTREAM, soapNamespace, type SoapVersion } from "./soap-http.js";

export { MYSECU_UPSTREAM, soapNamespace, soapRequestHeaders, type SoapVersion } from "./soap-http.js";

/** A SOAP fault, its code as `prefix:LocalName` with the prefixes of this module (`wsse:FailedCheck`, `sx:PractitionerNotEnrolled`). */
export interface SoapFault {
  code: string;
  namespace: string | undefined;
  localName: string;
  /** faultstring / Reason text: the service's words, for logs. */
  reason: string;
}

export type SoapAnswer = { kind: "payload"; payload: Element; document: Document } | { kind: "fault"; fault: SoapFault };

const KNOWN_PREFIXES: Readonly<Record<string, string>> = {
  [WSSE_NAMESPACE]: "wsse",
  [WST_NAMESPACE]: "wst",
  [SYNCEXCHANGE_NAMESPACE]: "sx",
  [SOAP11_NAMESPACE]: "soap",
  [SOAP12_NAMESPACE]: "soap",
};

/**
 * Reads a SOAP answer of `version`. Anything that is not one (HTML error
 * page, other version, several payloads) is an `UpstreamError` of kind
 * `bad_response` naming lu-mysecu (502).
 */
export function readSoapAnswer(body: Buffer, version: SoapVersion, status: number, maxBytes: number): SoapAnswer {
  const namespace = soapNamespace(version);
  let document: Document;
  try {
    document = parseXml(body, { maxBytes });
  } catch (error) {
    if (error instanceof XmlParseError) throw badResponse(`mySecu answered HTTP ${status} with a body that is not acceptable XML (${error.reason})`, status, body, error);
    throw error;
  }
  const envelope = document.documentElement;
  if (envelope === null || !isNamed(envelope, namespace, "Envelope")) throw badResponse(`mySecu answered HTTP ${status} without a SOAP ${version} envelope`, status, body);
  const bodyElement = childElements(envelope).find((child) => isNamed(child, namespace, "Body"));
  const payloads = bodyElement === undefined ? [] : childElements(bodyElement);
  const payload = payloads[0];
  if (payloads.length !== 1 || payload === undefined) throw badResponse(`mySecu answered HTTP ${status} with a SOAP Body that does not hold one element`, status, body);
  if (isNamed(payload, namespace, "Fault")) return { kind: "fault", fault: readFault(payload, version) };
  if (status !== 200) throw badResponse(`mySecu answered HTTP ${status} with a non-fault SOAP message`, status, body);
  return { kind: "payload", payload, document };
}

function readFault(fault: Element, version: SoapVersion): SoapFault {
  const namespace = soapNamespace(version);
  let codeElement: Element | undefined;
  let reason: string;
  if (version === "1.1") {
    // SOAP 1.1 §4.4: faultcode and faultstring are unqualified.
    codeElement = childElements(fault).find((child) => child.localName === "faultcode" && !child.namespaceURI);
    reason = childElements(fault).find((child) => child.localName === "faultstring" && !child.namespaceURI)?.textContent ?? "";
  } else {
    // SOAP 1.2 Part 1 §5.4.1: Code/Value, then nested Subcode/Value: the innermost is the most specific.
    let code = childElements(fault).find((child) => isNamed(child, namespace, "Code"));
    while (code !== undefined) {
      codeElement = childElements(code).find((child) => isNamed(child, namespace, "Value")) ?? codeElement;
      code = childElements(code).find((child) => isNamed(child, namespace, "Subcode"));
    }
    const reasonElement = childElements(fault).find((child) => isNamed(child, namespace, "Reason"));
    reason = (reasonElement === undefined ? undefined : childElements(reasonElement).find((child) => isNamed(child, namespace, "Text"))?.textContent) ?? "";
  }
  const qname = (codeElement?.textContent ?? "").trim();
  const colon = qname.indexOf(":");
  const prefix = colon < 0 ? null : qname.slice(0, colon);
  const localName = colon < 0 ? qname : qname.slice(colon + 1);
  const resolved = codeElement?.lookupNamespaceURI(prefix) ?? undefined;
  const known = resolved === undefined ? undefined : KNOWN_PREFIXES[resolved];
  return {
    code: known !== undefined ? `${known}:${localName}` : resolved !== undefined ? `{${resolved}}${localName}` : qname,
    namespace: resolved,
    localName,
    reason: reason.trim().slice(0, 500),
  };
}

function badResponse(detail: string, status: number, body: Buffer, cause?: unknown): UpstreamError {
  return new UpstreamError({ upstream: MYSECU_UPSTREAM, kind: "bad_response", detail, upstreamStatus: status, upstreamBody: body, cause });
}

/** An answer that is SOAP but not what the operation returns. */
export function unexpectedAnswer(detail: string, status: number, cause?: unknown): UpstreamError {
  return new UpstreamError({ upstream: MYSECU_UPSTREAM, kind: "bad_response", detail, upstreamStatus: status, cause });
}

/** XML 1.0 §2.4: text and attribute values. */
export function escapeXml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c] as string);
}
