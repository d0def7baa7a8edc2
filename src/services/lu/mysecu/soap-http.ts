/**
 * SOAP 1.1 / 1.2 on the wire, as the mySecu client sends it: the envelope's
 * namespace and the HTTP headers of each version (SOAP 1.1 §6.1.1
 * SOAPAction; SOAP 1.2 Part 2 §7.1.4 the `action` media-type parameter).
 * Apart from the messages (soap-message.ts and the modules that build and
 * read them), which load with the XML stack on the first call (messages.ts).
 */
import { SOAP11_NAMESPACE, SOAP12_NAMESPACE } from "./namespaces.js";

export type SoapVersion = "1.1" | "1.2";

export const MYSECU_UPSTREAM = "lu-mysecu";

export function soapNamespace(version: SoapVersion): string {
  return version === "1.1" ? SOAP11_NAMESPACE : SOAP12_NAMESPACE;
}

export function soapRequestHeaders(version: SoapVersion, action: string): Record<string, string> {
  return version === "1.1"
    ? { "content-type": "text/xml; charset=utf-8", soapaction: `"${action}"`, accept: "text/xml" }
    : { "content-type": `application/soap+xml; charset=utf-8; action="${action}"`, accept: "application/soap+xml" };
}
