/**
 * Signs a SOAP request the WS-Security 1.1 way, with X.509 Token Profile 1.1
 * key references — what the mySecu STS expects of a vendor's generic keystore:
 *
 * ```xml
 * <wsse:Security soap:mustUnderstand="1">
 *   <wsu:Timestamp wsu:Id="TS-…"><wsu:Created/><wsu:Expires/></wsu:Timestamp>
 *   <wsse:BinarySecurityToken ValueType="…#X509v3" EncodingType="…#Base64Binary" wsu:Id="X509-…">…</wsse:BinarySecurityToken>
 *   <ds:Signature>
 *     <ds:SignedInfo>exc-c14n, RSA-SHA256, References #TS-… and #Body-…</ds:SignedInfo>
 *     <ds:SignatureValue/>
 *     <ds:KeyInfo><wsse:SecurityTokenReference><wsse:Reference URI="#X509-…" ValueType="…#X509v3"/></wsse:SecurityTokenReference></ds:KeyInfo>
 *   </ds:Signature>
 * </wsse:Security>
 * ```
 *
 * The token precedes the signature that uses it (WS-Security 1.1 §5, "prepend"
 * processing order); the Timestamp is signed so it cannot be replaced (§10);
 * KeyInfo is added after signing — it is not part of SignedInfo.
 */
import { randomUUID } from "node:crypto";
import type { Document, Element } from "@xmldom/xmldom";
import { XMLNS_NAMESPACE, childElements, isNamed, serializeXml } from "../../../protocols/xml/index.js";
import { signXml } from "../../../protocols/xmldsig/index.js";
import type { Signer } from "../../../trust/signer.js";
import { BASE64_ENCODING_TYPE, DS_NAMESPACE, WSSE_NAMESPACE, WSU_NAMESPACE, X509V3_VALUE_TYPE } from "./namespaces.js";
import { soapNamespace, type SoapVersion } from "./soap-message.js";

export interface SignSoapRequestOptions {
  signer: Signer;
  version: SoapVersion;
  /** wsu:Created. */
  now: Date;
  /** wsu:Expires − wsu:Created, in seconds. */
  ttlSeconds: number;
}

/**
 * Adds a signed wsse:Security header to `envelope` (a SOAP envelope of
 * `options.version` with a Body) and returns the serialized message.
 *
 * @throws TypeError when the envelope is not one, or the Signer has no certificate.
 */
export async function signSoapRequest(envelope: Document, options: SignSoapRequestOptions): Promise<string> {
  const soap = soapNamespace(options.version);
  const root = envelope.documentElement;
  if (root === null || !isNamed(root, soap, "Envelope")) throw new TypeError(`signSoapRequest: not a SOAP ${options.version} envelope`);
  const body = childElements(root).find((child) => isNamed(child, soap, "Body"));
  if (body === undefined) throw new TypeError("signSoapRequest: the envelope has no Body");
  const [certificate] = await options.signer.certificateChain();
  if (certificate === undefined) throw new TypeError(`signSoapRequest: signer ${options.signer.id} has no certificate`);

  let header = childElements(root).find((child) => isNamed(child, soap, "Header"));
  if (header === undefined) {
    header = envelope.createElementNS(soap, `${root.prefix ?? "soap"}:Header`);
    root.insertBefore(header, body);
  }
  root.setAttributeNS(XMLNS_NAMESPACE, "xmlns:wsse", WSSE_NAMESPACE);
  root.setAttributeNS(XMLNS_NAMESPACE, "xmlns:wsu", WSU_NAMESPACE);
  const element = (namespace: string, name: string, text?: string): Element => {
    const created = envelope.createElementNS(namespace, name);
    if (text !== undefined) created.appendChild(envelope.createTextNode(text));
    return created;
  };
  const suffix = randomUUID();
  const ids = { timestamp: `TS-${suffix}`, token: `X509-${suffix}`, body: `Body-${suffix}` };

  const security = element(WSSE_NAMESPACE, "wsse:Security");
  // SOAP 1.1 §4.2.3 / SOAP 1.2 Part 1 §5.2.3: the receiver must process the header or fault.
  security.setAttributeNS(soap, `${root.prefix ?? "soap"}:mustUnderstand`, options.version === "1.1" ? "1" : "true");
  const timestamp = element(WSU_NAMESPACE, "wsu:Timestamp");
  timestamp.setAttributeNS(WSU_NAMESPACE, "wsu:Id", ids.timestamp);
  timestamp.appendChild(element(WSU_NAMESPACE, "wsu:Created", xsdDateTime(options.now)));
  timestamp.appendChild(element(WSU_NAMESPACE, "wsu:Expires", xsdDateTime(new Date(options.now.getTime() + options.ttlSeconds * 1000))));
  const token = element(WSSE_NAMESPACE, "wsse:BinarySecurityToken", certificate.raw.toString("base64"));
  token.setAttribute("EncodingType", BASE64_ENCODING_TYPE);
  token.setAttribute("ValueType", X509V3_VALUE_TYPE);
  token.setAttributeNS(WSU_NAMESPACE, "wsu:Id", ids.token);
  security.appendChild(timestamp);
  security.appendChild(token);
  header.appendChild(security);
  body.setAttributeNS(WSU_NAMESPACE, "wsu:Id", ids.body);

  const { signature } = await signXml(envelope, {
    signer: options.signer,
    references: [{ id: ids.timestamp }, { id: ids.body }],
    location: { xpath: "/soap:Envelope/soap:Header/wsse:Security", action: "append" },
    namespaces: { soap, wsse: WSSE_NAMESPACE },
    idAttributes: ["wsu:Id"],
    keyInfo: "none",
  });
  // X.509 Token Profile 1.1 §3.3.2: a direct reference to the BinarySecurityToken.
  const keyInfo = element(DS_NAMESPACE, "ds:KeyInfo");
  const reference = element(WSSE_NAMESPACE, "wsse:Reference");
  reference.setAttribute("URI", `#${ids.token}`);
  reference.setAttribute("ValueType", X509V3_VALUE_TYPE);
  const tokenReference = element(WSSE_NAMESPACE, "wsse:SecurityTokenReference");
  tokenReference.appendChild(reference);
  keyInfo.appendChild(tokenReference);
  signature.appendChild(keyInfo);
  return serializeXml(envelope);
}

/** xsd:dateTime in UTC (WS-Security 1.1 §10 wants UTC), millisecond precision. */
export function xsdDateTime(date: Date): string {
  return date.toISOString();
}
