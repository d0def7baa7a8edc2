/**
 * The mySecu authentication service: a WS-Trust 1.3 STS answering Issue
 * requests (§4.1) for a SAML 2.0 bearer token, after the checks of
 * ./request-signature.ts. The answer is the RequestSecurityTokenResponseCollection
 * WS-Trust 1.3 §4.3 prescribes for a final Issue response, with the token's
 * references (§4.4.2-3, WSS SAML Token Profile 1.1 §3.4.4) and Lifetime (§4.4.4).
 */
import type { X509Certificate } from "node:crypto";
import type { Element } from "@xmldom/xmldom";
import { selectElements } from "../../protocols/xml/index.js";
import type { Signer } from "../../trust/signer.js";
import {
  SAML2_ID_VALUE_TYPE,
  SAML2_NAMESPACE,
  SAML2_TOKEN_TYPE,
  WSA_NAMESPACE,
  WSP15_NAMESPACE,
  WSP_NAMESPACE,
  WSSE11_NAMESPACE,
  WSSE_NAMESPACE,
  WST_BEARER_KEY,
  WST_ISSUE_REQUEST,
  WST_NAMESPACE,
  WSU_NAMESPACE,
} from "./namespaces.js";
import { verifySignedRequest, childrenNamed, type ReplayCache } from "./request-signature.js";
import { issueSamlAssertion, xsdDateTime } from "./saml-assertion.js";
import { MySecuFault } from "./soap-faults.js";
import { bodyPayload, escapeXml, soapEnvelope, type SoapRequest } from "./soap-envelope.js";

export interface StsSettings {
  /** The STS's issuer name: its endpoint URL. */
  issuer: string;
  /** The one service tokens are issued for (wsp:AppliesTo and Audience). */
  syncExchangeUrl: string;
  /** Signs the assertions. */
  signer: Signer;
  /** Issuer of the vendors' certificates (the sandbox LU CA). */
  vendorCa: X509Certificate;
  tokenLifetimeSeconds: number;
  clockSkewMs: number;
  /** Freshness limit of the request's wsu:Created. */
  maxRequestAgeMs: number;
  replay: ReplayCache;
}

export interface IssuedTokenSummary {
  id: string;
  subject: string;
  issuedAt: string;
  notOnOrAfter: string;
}

/** Answers an Issue request with the SOAP response text; throws MySecuFault for refusals. */
export async function issueToken(request: SoapRequest, settings: StsSettings, now: Date): Promise<{ response: string; token: IssuedTokenSummary }> {
  const verified = await verifySignedRequest(request, {
    issuingCa: settings.vendorCa,
    now,
    clockSkewMs: settings.clockSkewMs,
    maxAgeMs: settings.maxRequestAgeMs,
    replay: settings.replay,
  });
  const rst = bodyPayload(verified.body, WST_NAMESPACE, "RequestSecurityToken", "invalidRequest");
  checkRequest(rst, settings.syncExchangeUrl);

  const fingerprint = verified.certificate.fingerprint256.replaceAll(":", "").toLowerCase();
  const assertion = await issueSamlAssertion({
    signer: settings.signer,
    issuer: settings.issuer,
    audience: settings.syncExchangeUrl,
    subjectName: rfc4514Name(verified.certificate),
    vendorCertificateSha256: fingerprint,
    now,
    lifetimeSeconds: settings.tokenLifetimeSeconds,
  });
  const reference = (element: string): string =>
    `<wst:${element}><wsse:SecurityTokenReference wsse11:TokenType="${SAML2_TOKEN_TYPE}"><wsse:KeyIdentifier ValueType="${SAML2_ID_VALUE_TYPE}">${assertion.id}</wsse:KeyIdentifier></wsse:SecurityTokenReference></wst:${element}>`;
  const body =
    `<wst:RequestSecurityTokenResponseCollection xmlns:wst="${WST_NAMESPACE}" xmlns:wsse="${WSSE_NAMESPACE}" xmlns:wsse11="${WSSE11_NAMESPACE}" xmlns:wsu="${WSU_NAMESPACE}" xmlns:wsp="${WSP_NAMESPACE}" xmlns:wsa="${WSA_NAMESPACE}">` +
    `<wst:RequestSecurityTokenResponse>` +
    `<wst:TokenType>${SAML2_TOKEN_TYPE}</wst:TokenType>` +
    `<wst:RequestedSecurityToken>${assertion.xml}</wst:RequestedSecurityToken>` +
    `<wsp:AppliesTo><wsa:EndpointReference><wsa:Address>${escapeXml(settings.syncExchangeUrl)}</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>` +
    reference("RequestedAttachedReference") +
    reference("RequestedUnattachedReference") +
    `<wst:Lifetime><wsu:Created>${xsdDateTime(assertion.notBefore)}</wsu:Created><wsu:Expires>${xsdDateTime(assertion.notOnOrAfter)}</wsu:Expires></wst:Lifetime>` +
    `<wst:KeyType>${WST_BEARER_KEY}</wst:KeyType>` +
    `</wst:RequestSecurityTokenResponse></wst:RequestSecurityTokenResponseCollection>`;
  return {
    response: soapEnvelope(request.version, body),
    token: {
      id: assertion.id,
      subject: rfc4514Name(verified.certificate),
      issuedAt: now.toISOString(),
      notOnOrAfter: assertion.notOnOrAfter.toISOString(),
    },
  };
}

/** WS-Trust 1.3 §4.1: what this STS issues — SAML 2.0, bearer, for the syncexchange service. */
function checkRequest(rst: Element, syncExchangeUrl: string): void {
  const single = (localName: string): Element | undefined => {
    const found = childrenNamed(rst, WST_NAMESPACE, localName);
    if (found.length > 1) throw new MySecuFault("invalidRequest", `wst:${localName} appears more than once`);
    return found[0];
  };
  const requestType = single("RequestType");
  if (requestType === undefined || (requestType.textContent ?? "").trim() !== WST_ISSUE_REQUEST) {
    throw new MySecuFault("invalidRequest", `wst:RequestType must be ${WST_ISSUE_REQUEST}`);
  }
  const tokenType = single("TokenType");
  // The SAML 2.0 namespace is the other TokenType commonly sent for SAML 2.0 tokens.
  if (tokenType !== undefined && ![SAML2_TOKEN_TYPE, SAML2_NAMESPACE].includes((tokenType.textContent ?? "").trim())) {
    throw new MySecuFault("invalidRequest", `This STS issues ${SAML2_TOKEN_TYPE} tokens only`);
  }
  const keyType = single("KeyType");
  if (keyType !== undefined && (keyType.textContent ?? "").trim() !== WST_BEARER_KEY) {
    throw new MySecuFault("invalidRequest", `This STS issues bearer tokens only (${WST_BEARER_KEY})`);
  }
  const appliesTo = [...childrenNamed(rst, WSP_NAMESPACE, "AppliesTo"), ...childrenNamed(rst, WSP15_NAMESPACE, "AppliesTo")];
  if (appliesTo.length > 1) throw new MySecuFault("invalidRequest", "wsp:AppliesTo appears more than once");
  if (appliesTo[0] !== undefined) {
    const addresses = selectElements("./wsa:EndpointReference/wsa:Address", appliesTo[0], { wsa: WSA_NAMESPACE });
    const address = addresses.length === 1 ? (addresses[0]?.textContent ?? "").trim() : undefined;
    if (address !== syncExchangeUrl) throw new MySecuFault("invalidScope", `Tokens are issued for ${syncExchangeUrl} only`);
  }
}

/** RFC 4514 §2.1: the RDNs in reverse order of the certificate's sequence, special characters escaped. */
export function rfc4514Name(certificate: X509Certificate): string {
  return certificate.subject
    .split("\n")
    .reverse()
    .map((rdn) => {
      const at = rdn.indexOf("=");
      const value = rdn.slice(at + 1).replace(/[,+"\\<>;]/g, (c) => `\\${c}`);
      return `${rdn.slice(0, at)}=${value}`;
    })
    .join(",");
}
