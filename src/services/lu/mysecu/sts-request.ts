/**
 * The WS-Trust 1.3 Issue exchange with mySecu's STS: the
 * RequestSecurityToken (§4.1) for a SAML 2.0 bearer token applying to the
 * syncexchange service, and the token read out of the
 * RequestSecurityTokenResponse(Collection) (§4.3-4.4).
 *
 * The assertion is a bearer token for the vendor, passed on unchanged: the
 * client reads from it only its validity (to know when to renew), and only
 * from content it trusts — the assertion's signed Conditions when the STS's
 * signing CA is configured (`trust`), otherwise the response's wst:Lifetime,
 * which the STS sent over TLS (§4.4.4). Reading it wrong costs one refused
 * deposit and a renewal, never a forged document.
 */
import type { X509Certificate } from "node:crypto";
import type { Element } from "@xmldom/xmldom";
import { XMLNS_NAMESPACE, childElements, isNamed, parseXml, selectElements, serializeXml } from "../../../protocols/xml/index.js";
import { XmlSignatureError, verifyXmlSignature } from "../../../protocols/xmldsig/index.js";
import { validateChain } from "../../../trust/certificates/index.js";
import {
  SAML2_NAMESPACE,
  SAML2_TOKEN_TYPE,
  WSA_NAMESPACE,
  WSP_NAMESPACE,
  WST_BEARER_KEY,
  WST_ISSUE_REQUEST,
  WST_NAMESPACE,
  WSU_NAMESPACE,
} from "./namespaces.js";
import { escapeXml, soapNamespace, unexpectedAnswer, type SoapVersion } from "./soap-message.js";

/** Anchors that validate the STS's assertion-signing certificate. */
export interface MySecuTokenTrust {
  anchors: readonly X509Certificate[];
  intermediates?: readonly X509Certificate[];
}

/** A SAML token issued by the STS. */
export interface SamlToken {
  /** The saml2:Assertion element, serialized with every namespace it needs in scope. */
  assertionXml: string;
  /** The assertion's ID attribute. */
  id: string | undefined;
  /** When the client stops using it (NotOnOrAfter, or the RSTR's Lifetime Expires). */
  expiresAt: Date;
  /** Whether `expiresAt` comes from the assertion's verified signature. */
  verified: boolean;
}

/** The unsigned Issue request (./ws-security.ts signs it). */
export function buildIssueRequest(version: SoapVersion, appliesTo: string): string {
  return (
    `<soap:Envelope xmlns:soap="${soapNamespace(version)}"><soap:Header/><soap:Body>` +
    `<wst:RequestSecurityToken xmlns:wst="${WST_NAMESPACE}">` +
    `<wst:TokenType>${SAML2_TOKEN_TYPE}</wst:TokenType>` +
    `<wst:RequestType>${WST_ISSUE_REQUEST}</wst:RequestType>` +
    `<wsp:AppliesTo xmlns:wsp="${WSP_NAMESPACE}"><wsa:EndpointReference xmlns:wsa="${WSA_NAMESPACE}"><wsa:Address>${escapeXml(appliesTo)}</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>` +
    `<wst:KeyType>${WST_BEARER_KEY}</wst:KeyType>` +
    `</wst:RequestSecurityToken></soap:Body></soap:Envelope>`
  );
}

export interface ReadIssueResponseOptions {
  /** The audience the token must be for, when it is verified. */
  appliesTo: string;
  trust: MySecuTokenTrust | undefined;
  now: Date;
  status: number;
}

/** The token of an Issue answer's payload (RSTRC or a lone RSTR). */
export async function readIssueResponse(payload: Element, options: ReadIssueResponseOptions): Promise<SamlToken> {
  const responses = isNamed(payload, WST_NAMESPACE, "RequestSecurityTokenResponseCollection")
    ? childElements(payload).filter((child) => isNamed(child, WST_NAMESPACE, "RequestSecurityTokenResponse"))
    : isNamed(payload, WST_NAMESPACE, "RequestSecurityTokenResponse")
      ? [payload]
      : [];
  const response = responses[0];
  if (responses.length !== 1 || response === undefined) throw unexpectedAnswer("mySecu's STS did not answer with one RequestSecurityTokenResponse", options.status);
  const assertions = selectElements("./wst:RequestedSecurityToken/saml2:Assertion", response, { wst: WST_NAMESPACE, saml2: SAML2_NAMESPACE });
  const assertion = assertions[0];
  if (assertions.length !== 1 || assertion === undefined) throw unexpectedAnswer("mySecu's STS answered without a SAML 2.0 assertion", options.status);
  const assertionXml = serializeWithScope(assertion);

  if (options.trust !== undefined) {
    const expiresAt = await verifiedExpiry(assertionXml, options);
    return { assertionXml, id: assertion.getAttribute("ID") ?? undefined, expiresAt, verified: true };
  }
  const expires = selectElements("./wst:Lifetime/wsu:Expires", response, { wst: WST_NAMESPACE, wsu: WSU_NAMESPACE })[0];
  const expiresAt = parseDate(expires?.textContent ?? "");
  if (expiresAt === undefined) throw unexpectedAnswer("mySecu's STS answered without a token lifetime (wst:Lifetime/wsu:Expires)", options.status);
  return { assertionXml, id: assertion.getAttribute("ID") ?? undefined, expiresAt, verified: false };
}

/**
 * The assertion on its own, with the namespace declarations of its ancestors
 * copied onto it: a prefix it uses only in content (an xsi:type value, an
 * InclusiveNamespaces PrefixList) stays bound once it moves to another message.
 */
function serializeWithScope(assertion: Element): string {
  const declared = new Set<string>();
  for (let i = 0; i < assertion.attributes.length; i++) {
    const attribute = assertion.attributes.item(i);
    if (attribute?.namespaceURI === XMLNS_NAMESPACE) declared.add(attribute.name);
  }
  for (let ancestor = assertion.parentNode; ancestor !== null && ancestor.nodeType === 1; ancestor = ancestor.parentNode) {
    const element = ancestor as Element;
    for (let i = 0; i < element.attributes.length; i++) {
      const attribute = element.attributes.item(i);
      if (attribute === null || attribute.namespaceURI !== XMLNS_NAMESPACE || declared.has(attribute.name)) continue;
      declared.add(attribute.name);
      assertion.setAttributeNS(XMLNS_NAMESPACE, attribute.name, attribute.value);
    }
  }
  return serializeXml(assertion);
}

/** SAML 2.0 Core §5 signature, then §2.5.1 Conditions, read from the signed element only. */
async function verifiedExpiry(assertionXml: string, options: ReadIssueResponseOptions): Promise<Date> {
  const trust = options.trust as MySecuTokenTrust;
  let assertion: Element;
  try {
    const verification = await verifyXmlSignature(parseXml(assertionXml), {
      trustPolicy: async (certificates, { at }) => {
        const [leaf, ...others] = certificates;
        if (leaf === undefined) throw new XmlSignatureError("untrusted_key", "The assertion's KeyInfo carries no certificate");
        const result = await validateChain(leaf, { anchors: trust.anchors, intermediates: [...others, ...(trust.intermediates ?? [])], purpose: "signature", at });
        if (!result.valid) throw result.error;
        return leaf;
      },
      signatureXPath: "/saml2:Assertion/ds:Signature",
      requireSigned: ["/saml2:Assertion"],
      namespaces: { saml2: SAML2_NAMESPACE },
      idAttributes: ["ID"],
      at: options.now,
    });
    const signed = verification.signedElements[0];
    if (signed === undefined || signed !== verification.document.documentElement) throw new XmlSignatureError("wrapping", "The signature does not cover the assertion");
    assertion = signed;
  } catch (error) {
    if (error instanceof XmlSignatureError) throw unexpectedAnswer(`mySecu's STS issued an assertion whose signature is refused (${error.reason})`, options.status, error);
    throw error;
  }
  const conditions = selectElements("./saml2:Conditions", assertion, { saml2: SAML2_NAMESPACE })[0];
  const notOnOrAfter = parseDate(conditions?.getAttribute("NotOnOrAfter") ?? "");
  if (conditions === undefined || notOnOrAfter === undefined) throw unexpectedAnswer("mySecu's STS issued an assertion without NotOnOrAfter", options.status);
  const audiences = selectElements("./saml2:AudienceRestriction/saml2:Audience", conditions, { saml2: SAML2_NAMESPACE }).map((a) => (a.textContent ?? "").trim());
  if (audiences.length > 0 && !audiences.includes(options.appliesTo)) {
    throw unexpectedAnswer(`mySecu's STS issued an assertion for another audience than ${options.appliesTo}`, options.status);
  }
  return notOnOrAfter;
}

function parseDate(text: string): Date | undefined {
  const value = text.trim();
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value)) return undefined;
  const date = new Date(value);
  return Number.isFinite(date.getTime()) ? date : undefined;
}
