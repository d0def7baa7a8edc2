/**
 * The SAML 2.0 bearer assertion the STS issues to a vendor, and its check by
 * the syncexchange service.
 *
 * ```xml
 * <saml2:Assertion ID="_…" IssueInstant="…" Version="2.0">
 *   <saml2:Issuer>{STS URL}</saml2:Issuer>
 *   <ds:Signature>…enveloped, exc-c14n, RSA-SHA256, signing certificate in KeyInfo…</ds:Signature>
 *   <saml2:Subject>
 *     <saml2:NameID Format="…:X509SubjectName">CN=Vendor,OU=…,O=…,C=LU</saml2:NameID>
 *     <saml2:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">
 *       <saml2:SubjectConfirmationData NotOnOrAfter="…"/>
 *     </saml2:SubjectConfirmation>
 *   </saml2:Subject>
 *   <saml2:Conditions NotBefore="…" NotOnOrAfter="…">
 *     <saml2:AudienceRestriction><saml2:Audience>{syncexchange URL}</saml2:Audience></saml2:AudienceRestriction>
 *   </saml2:Conditions>
 *   <saml2:AuthnStatement AuthnInstant="…">…classes:X509…</saml2:AuthnStatement>
 *   <saml2:AttributeStatement>vendor certificate SHA-256</saml2:AttributeStatement>
 * </saml2:Assertion>
 * ```
 *
 * Every namespace the assertion uses is declared on the Assertion element
 * itself and no attribute value holds a QName, so the assertion can be moved
 * into another message (the syncexchange request's Security header) without
 * changing its exclusive canonical form (Exclusive XML Canonicalization §1.1).
 */
import { randomUUID, type X509Certificate } from "node:crypto";
import type { Element } from "@xmldom/xmldom";
import { selectElements, serializeXml } from "../../protocols/xml/index.js";
import { XmlSignatureError, signXml, verifyXmlSignature } from "../../protocols/xmldsig/index.js";
import type { Signer } from "../../trust/signer.js";
import {
  DS_NAMESPACE,
  SAML2_NAMESPACE,
  SAML_BEARER_CONFIRMATION,
  SAML_URI_ATTRIBUTE_NAME_FORMAT,
  SAML_X509_AUTHN_CONTEXT,
  SAML_X509_SUBJECT_NAME_FORMAT,
  VENDOR_CERTIFICATE_ATTRIBUTE,
  WSSE_NAMESPACE,
} from "./namespaces.js";
import { childrenNamed, parseXsdDateTime, securityHeader } from "./request-signature.js";
import { MySecuFault } from "./soap-faults.js";
import { escapeXml, type SoapRequest } from "./soap-envelope.js";

export interface IssueAssertionOptions {
  signer: Signer;
  issuer: string;
  audience: string;
  /** The vendor, as an RFC 4514 distinguished name. */
  subjectName: string;
  /** SHA-256 of the vendor's certificate, lower-case hex. */
  vendorCertificateSha256: string;
  now: Date;
  lifetimeSeconds: number;
}

export interface IssuedAssertion {
  id: string;
  xml: string;
  notBefore: Date;
  notOnOrAfter: Date;
}

export async function issueSamlAssertion(options: IssueAssertionOptions): Promise<IssuedAssertion> {
  const id = `_${randomUUID()}`;
  const notBefore = options.now;
  const notOnOrAfter = new Date(options.now.getTime() + options.lifetimeSeconds * 1000);
  const instant = xsdDateTime(notBefore);
  const until = xsdDateTime(notOnOrAfter);
  const unsigned =
    `<saml2:Assertion xmlns:saml2="${SAML2_NAMESPACE}" ID="${id}" IssueInstant="${instant}" Version="2.0">` +
    `<saml2:Issuer>${escapeXml(options.issuer)}</saml2:Issuer>` +
    `<saml2:Subject><saml2:NameID Format="${SAML_X509_SUBJECT_NAME_FORMAT}">${escapeXml(options.subjectName)}</saml2:NameID>` +
    `<saml2:SubjectConfirmation Method="${SAML_BEARER_CONFIRMATION}"><saml2:SubjectConfirmationData NotOnOrAfter="${until}"/></saml2:SubjectConfirmation></saml2:Subject>` +
    `<saml2:Conditions NotBefore="${instant}" NotOnOrAfter="${until}"><saml2:AudienceRestriction><saml2:Audience>${escapeXml(options.audience)}</saml2:Audience></saml2:AudienceRestriction></saml2:Conditions>` +
    `<saml2:AuthnStatement AuthnInstant="${instant}"><saml2:AuthnContext><saml2:AuthnContextClassRef>${SAML_X509_AUTHN_CONTEXT}</saml2:AuthnContextClassRef></saml2:AuthnContext></saml2:AuthnStatement>` +
    `<saml2:AttributeStatement><saml2:Attribute Name="${VENDOR_CERTIFICATE_ATTRIBUTE}" NameFormat="${SAML_URI_ATTRIBUTE_NAME_FORMAT}">` +
    `<saml2:AttributeValue>${options.vendorCertificateSha256}</saml2:AttributeValue></saml2:Attribute></saml2:AttributeStatement>` +
    `</saml2:Assertion>`;
  // SAML 2.0 Core §5.4.1-2: enveloped signature over the assertion by its ID, placed right after Issuer.
  const { document } = await signXml(unsigned, {
    signer: options.signer,
    references: [{ id }],
    location: { xpath: "/saml2:Assertion/saml2:Issuer", action: "after" },
    namespaces: { saml2: SAML2_NAMESPACE },
    idAttributes: ["ID"],
    keyInfo: "certificate",
  });
  const root = document.documentElement;
  if (root === null) throw new Error("unreachable: the signed assertion has no root");
  return { id, xml: serializeXml(root), notBefore, notOnOrAfter };
}

export interface AssertionPolicy {
  /** The STS signing certificate (pinned). */
  stsCertificate: X509Certificate;
  issuer: string;
  /** This service's URL: the assertion must name it in an AudienceRestriction. */
  audience: string;
  now: Date;
  clockSkewMs: number;
}

export interface VerifiedAssertion {
  id: string;
  /** The vendor's distinguished name. */
  subject: string;
  vendorCertificateSha256: string;
  notOnOrAfter: Date;
}

/**
 * Checks the bearer assertion of a request's wsse:Security header (WSS SAML
 * Token Profile 1.1 §3.3; SAML 2.0 Profiles §4.1.4.2-3 for the checks a
 * relying party makes) and returns what it says, read from the signed
 * element only.
 */
export async function verifyBearerAssertion(request: SoapRequest, policy: AssertionPolicy): Promise<VerifiedAssertion> {
  const security = securityHeader(request);
  const assertions = childrenNamed(security, SAML2_NAMESPACE, "Assertion");
  if (assertions.length !== 1) throw new MySecuFault("invalidSecurity", "The Security header must hold exactly one saml2:Assertion");
  const path = "/soap:Envelope/soap:Header/wsse:Security/saml2:Assertion";
  let assertion: Element;
  try {
    const verified = await verifyXmlSignature(request.document, {
      trustedCertificates: [policy.stsCertificate],
      signatureXPath: `${path}/ds:Signature`,
      requireSigned: [path],
      namespaces: { soap: request.namespace, wsse: WSSE_NAMESPACE, saml2: SAML2_NAMESPACE },
      idAttributes: ["ID"],
      at: policy.now,
    });
    const signed = verified.signedElements[0];
    if (signed === undefined || signed !== assertions[0]) throw new XmlSignatureError("wrapping", "The signature does not sign the assertion itself");
    assertion = signed;
  } catch (error) {
    if (error instanceof XmlSignatureError) {
      throw new MySecuFault("invalidSecurityToken", `The SAML assertion's signature is refused (${error.reason}): ${error.detail}`, error);
    }
    throw error;
  }

  const ns = { saml2: SAML2_NAMESPACE, ds: DS_NAMESPACE };
  const text = (xpath: string): string | undefined => {
    const found = selectElements(xpath, assertion, ns);
    return found.length === 1 ? (found[0]?.textContent ?? "").trim() : undefined;
  };
  if (assertion.getAttribute("Version") !== "2.0") throw new MySecuFault("invalidSecurityToken", "Only SAML 2.0 assertions are accepted");
  if (text("./saml2:Issuer") !== policy.issuer) throw new MySecuFault("invalidSecurityToken", "The assertion was not issued by the mySecu STS");

  const conditions = selectElements("./saml2:Conditions", assertion, ns);
  const condition = conditions[0];
  if (conditions.length !== 1 || condition === undefined) throw new MySecuFault("invalidSecurityToken", "The assertion must have one Conditions element");
  const notBefore = parseXsdDateTime(condition.getAttribute("NotBefore") ?? "");
  const notOnOrAfter = parseXsdDateTime(condition.getAttribute("NotOnOrAfter") ?? "");
  if (notBefore === undefined || notOnOrAfter === undefined) throw new MySecuFault("invalidSecurityToken", "The assertion's Conditions need NotBefore and NotOnOrAfter");
  const now = policy.now.getTime();
  // SAML 2.0 Core §2.5.1.2: valid from NotBefore (inclusive) to NotOnOrAfter (exclusive), with some skew.
  if (now + policy.clockSkewMs < notBefore.getTime()) throw new MySecuFault("tokenExpired", "The assertion is not valid yet (NotBefore)");
  if (now - policy.clockSkewMs >= notOnOrAfter.getTime()) throw new MySecuFault("tokenExpired", "The assertion has expired (NotOnOrAfter)");
  const audiences = selectElements("./saml2:AudienceRestriction/saml2:Audience", condition, ns).map((a) => (a.textContent ?? "").trim());
  if (!audiences.includes(policy.audience)) throw new MySecuFault("audienceMismatch", `The assertion is not for ${policy.audience}`);

  const confirmation = selectElements("./saml2:Subject/saml2:SubjectConfirmation", assertion, ns);
  if (confirmation.length !== 1 || confirmation[0]?.getAttribute("Method") !== SAML_BEARER_CONFIRMATION) {
    throw new MySecuFault("invalidSecurityToken", "The assertion must carry one bearer SubjectConfirmation");
  }
  const subject = text("./saml2:Subject/saml2:NameID");
  const fingerprint = text(`./saml2:AttributeStatement/saml2:Attribute[@Name="${VENDOR_CERTIFICATE_ATTRIBUTE}"]/saml2:AttributeValue`);
  if (subject === undefined || subject === "" || fingerprint === undefined || !/^[0-9a-f]{64}$/.test(fingerprint)) {
    throw new MySecuFault("invalidSecurityToken", "The assertion does not name the vendor");
  }
  return { id: assertion.getAttribute("ID") ?? "", subject, vendorCertificateSha256: fingerprint, notOnOrAfter };
}

/** xsd:dateTime in UTC, second precision (SAML 2.0 Core §1.3.3). */
export function xsdDateTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}
