/**
 * XAdES-BES (ETSI EN 319 132-1): an XML-DSig signature whose SignedInfo also
 * covers a `SignedProperties` element carrying the signing time and a
 * reference to the signing certificate (its SHA-256 digest and its
 * IssuerSerialV2), so that the signature cannot be re-attributed to another
 * certificate with the same key and says when it was made.
 *
 * ```xml
 * <ds:Signature Id="sig-…">
 *   <ds:SignedInfo>… <ds:Reference URI="#xades-sig-…" Type="http://uri.etsi.org/01903#SignedProperties">…</ds:SignedInfo>
 *   …
 *   <ds:Object><xades:QualifyingProperties Target="#sig-…">
 *     <xades:SignedProperties Id="xades-sig-…"><xades:SignedSignatureProperties>
 *       <xades:SigningTime>…</xades:SigningTime>
 *       <xades:SigningCertificateV2><xades:Cert><xades:CertDigest>…</xades:CertDigest>
 *         <xades:IssuerSerialV2>…</xades:IssuerSerialV2></xades:Cert></xades:SigningCertificateV2>
 *     </xades:SignedSignatureProperties></xades:SignedProperties>
 *   </xades:QualifyingProperties></ds:Object>
 * </ds:Signature>
 * ```
 */
import { createHash, timingSafeEqual, type X509Certificate } from "node:crypto";
import type { Document, Element } from "@xmldom/xmldom";
import { XMLNS_NAMESPACE, childElements, isDocument, isNamed } from "../xml/dom.js";
import { parseXml, serializeXml, type ParseXmlOptions } from "../xml/parse.js";
import { XmlSignatureError } from "./errors.js";
import { DIGEST_LENGTHS, DIGEST_URIS, DSIG_NAMESPACE, digestByUri } from "./lib/algorithms.js";
import { issuerSerialDer } from "./lib/issuer-serial.js";
import { createSignature, type SignXmlOptions } from "./lib/sign-core.js";
import { verifySignatureCore, type XmlSignaturePolicy, type XmlSignatureVerification } from "./lib/verify-core.js";
import type { SignedXml } from "./sign.js";

/** The XAdES 1.3.2 namespace, which EN 319 132-1 keeps (SigningCertificateV2 included). */
export const XADES_NAMESPACE = "http://uri.etsi.org/01903/v1.3.2#";
/** Reference Type of the SignedProperties (EN 319 132-1 §4.3.1). */
export const XADES_SIGNED_PROPERTIES_TYPE = "http://uri.etsi.org/01903#SignedProperties";

export interface SignXadesOptions extends SignXmlOptions {
  /** The claimed signing time. Default now. */
  signingTime?: Date;
  parse?: ParseXmlOptions;
}

/**
 * Signs `input` as XAdES-BES: an XML-DSig signature (see {@link signXml};
 * enveloped over the whole document by default) whose SignedInfo also
 * references the SignedProperties.
 *
 * @example
 * ```ts
 * const { xml } = await signXades(invoiceXml, { signer: cardSigner });
 * ```
 */
export async function signXades(input: string | Uint8Array | Document, options: SignXadesOptions): Promise<SignedXml> {
  const signingTime = options.signingTime ?? new Date();
  if (!(signingTime instanceof Date) || !Number.isFinite(signingTime.getTime())) throw new TypeError("signXades: signingTime must be a valid Date");
  const document = typeof input === "string" || input instanceof Uint8Array ? parseXml(input, options.parse) : input;
  if (!isDocument(document)) throw new TypeError("signXades: input must be XML text, bytes or a Document");
  const signature = await createSignature(document, options, {
    addToSignature: ({ doc, signature: signatureElement, signatureId, chain, createDsElement }) => {
      const signingCertificate = chain[0] as X509Certificate;
      const xades = (localName: string): Element => doc.createElementNS(XADES_NAMESPACE, `xades:${localName}`);
      const text = (element: Element, value: string): Element => {
        element.appendChild(doc.createTextNode(value));
        return element;
      };

      const qualifyingProperties = xades("QualifyingProperties");
      qualifyingProperties.setAttributeNS(XMLNS_NAMESPACE, "xmlns:xades", XADES_NAMESPACE);
      qualifyingProperties.setAttribute("Target", `#${signatureId}`);
      const signedProperties = xades("SignedProperties");
      signedProperties.setAttribute("Id", `xades-${signatureId}`);
      const signatureProperties = xades("SignedSignatureProperties");
      // xsd:dateTime in UTC, to the second (EN 319 132-1 §5.2.1).
      signatureProperties.appendChild(text(xades("SigningTime"), signingTime.toISOString().replace(/\.\d{3}Z$/, "Z")));
      const signingCertificateV2 = xades("SigningCertificateV2");
      const cert = xades("Cert");
      const certDigest = xades("CertDigest");
      const digestMethod = createDsElement("DigestMethod");
      digestMethod.setAttribute("Algorithm", DIGEST_URIS.sha256);
      certDigest.appendChild(digestMethod);
      certDigest.appendChild(text(createDsElement("DigestValue"), createHash("sha256").update(signingCertificate.raw).digest("base64")));
      cert.appendChild(certDigest);
      cert.appendChild(text(xades("IssuerSerialV2"), issuerSerialDer(signingCertificate.raw).toString("base64")));
      signingCertificateV2.appendChild(cert);
      signatureProperties.appendChild(signingCertificateV2);
      signedProperties.appendChild(signatureProperties);
      qualifyingProperties.appendChild(signedProperties);
      const object = createDsElement("Object");
      object.appendChild(qualifyingProperties);
      signatureElement.appendChild(object);
      return [{ element: signedProperties, type: XADES_SIGNED_PROPERTIES_TYPE }];
    },
  });
  return { xml: serializeXml(document), document, signature };
}

export interface XadesVerification extends XmlSignatureVerification {
  /** The signed data objects only (the SignedProperties reference left out). */
  signedElements: Element[];
  signedProperties: Element;
  /** The signing time the signer claimed (not a trusted timestamp). */
  signingTime: Date;
  /** Always set: XAdES binds the signature to a certificate. */
  certificate: X509Certificate;
}

/**
 * Verifies a XAdES-BES signature: the XML-DSig checks of
 * {@link verifyXmlSignature} (with the SignedProperties allowed inside the
 * Signature), then that exactly one Reference of type SignedProperties covers
 * this signature's QualifyingProperties, that SigningTime is present, and
 * that SigningCertificateV2 (or the older SigningCertificate) names the
 * certificate whose key verified — digest and, when present, issuer and
 * serial number.
 *
 * The policy must give certificates (`trustedCertificates` or `trustPolicy`),
 * since the check is about a certificate.
 *
 * @throws XmlSignatureError as verifyXmlSignature does, plus
 *   `signing_certificate_mismatch`.
 *
 * @example
 * ```ts
 * const { signingTime, signedElements } = await verifyXades(xml, { trustPolicy: chainToTrustAnchors([root]) });
 * ```
 */
export async function verifyXades(input: string | Uint8Array | Document, policy: XmlSignaturePolicy): Promise<XadesVerification> {
  if (policy?.trustedKeys !== undefined && policy.trustedCertificates === undefined) {
    throw new TypeError("verifyXades: XAdES binds a certificate; give trustedCertificates or a trustPolicy, not bare keys");
  }
  const result = await verifySignatureCore(input, policy, {
    allowInsideSignature: (reference, element, signature) =>
      reference.type === XADES_SIGNED_PROPERTIES_TYPE && signedPropertiesOf(signature) === element,
  });
  const propertiesReferences = result.references.filter((r) => r.type === XADES_SIGNED_PROPERTIES_TYPE);
  const signedProperties = signedPropertiesOf(result.signature);
  if (propertiesReferences.length !== 1 || signedProperties === undefined || propertiesReferences[0]?.element !== signedProperties) {
    throw new XmlSignatureError("malformed_signature", "XAdES: exactly one Reference must cover this signature's SignedProperties");
  }
  const certificate = result.certificate;
  if (certificate === undefined) throw new XmlSignatureError("untrusted_key", "XAdES: the verifying key has no certificate");

  const [signatureProperties, ...others] = childElements(signedProperties);
  if (signatureProperties === undefined || !isNamed(signatureProperties, XADES_NAMESPACE, "SignedSignatureProperties")) {
    throw new XmlSignatureError("malformed_signature", "XAdES: SignedSignatureProperties is missing");
  }
  if (others.some((e) => !isNamed(e, XADES_NAMESPACE, "SignedDataObjectProperties"))) {
    throw new XmlSignatureError("malformed_signature", "XAdES: unexpected content in SignedProperties");
  }
  const properties = childElements(signatureProperties);
  const signingTime = parseSigningTime(properties.filter((e) => isNamed(e, XADES_NAMESPACE, "SigningTime")));
  const v2 = properties.filter((e) => isNamed(e, XADES_NAMESPACE, "SigningCertificateV2"));
  const v1 = properties.filter((e) => isNamed(e, XADES_NAMESPACE, "SigningCertificate"));
  if (v2.length + v1.length !== 1) {
    throw new XmlSignatureError("malformed_signature", "XAdES: exactly one SigningCertificateV2 (or SigningCertificate) is required");
  }
  const references = childElements((v2[0] ?? v1[0]) as Element);
  if (references.length === 0 || !references.some((cert) => certNames(cert, certificate, v2.length === 1, policy))) {
    throw new XmlSignatureError("signing_certificate_mismatch", "XAdES: the signing certificate in SignedProperties is not the certificate that verified");
  }
  return {
    ...result,
    certificate,
    signedElements: result.references.filter((r) => r.type !== XADES_SIGNED_PROPERTIES_TYPE).map((r) => r.element),
    signedProperties,
    signingTime,
  };
}

/** The SignedProperties of `signature`'s one QualifyingProperties, if it targets this signature. */
function signedPropertiesOf(signature: Element): Element | undefined {
  const qualifying = childElements(signature)
    .filter((e) => isNamed(e, DSIG_NAMESPACE, "Object"))
    .flatMap((object) => childElements(object).filter((e) => isNamed(e, XADES_NAMESPACE, "QualifyingProperties")));
  const id = signature.getAttribute("Id");
  if (qualifying.length !== 1 || id === null || id === "" || qualifying[0]?.getAttribute("Target") !== `#${id}`) return undefined;
  const signedProperties = childElements(qualifying[0]).filter((e) => isNamed(e, XADES_NAMESPACE, "SignedProperties"));
  return signedProperties.length === 1 ? signedProperties[0] : undefined;
}

function parseSigningTime(elements: Element[]): Date {
  const text = elements.length === 1 ? (elements[0]?.textContent ?? "").trim() : "";
  // xsd:dateTime with a time zone (EN 319 132-1 §5.2.1).
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(text) || !Number.isFinite(Date.parse(text))) {
    throw new XmlSignatureError("malformed_signature", "XAdES: exactly one SigningTime with a time zone is required");
  }
  return new Date(text);
}

/** Whether a xades:Cert element designates `certificate`. */
function certNames(cert: Element, certificate: X509Certificate, version2: boolean, policy: XmlSignaturePolicy): boolean {
  if (!isNamed(cert, XADES_NAMESPACE, "Cert")) throw new XmlSignatureError("malformed_signature", "XAdES: unexpected content in the signing certificate");
  const [certDigest, issuerSerial] = childElements(cert);
  if (certDigest === undefined || !isNamed(certDigest, XADES_NAMESPACE, "CertDigest")) {
    throw new XmlSignatureError("malformed_signature", "XAdES: Cert without CertDigest");
  }
  const [method, value] = childElements(certDigest);
  const digest = digestByUri(method?.getAttribute("Algorithm") ?? "");
  if (method === undefined || value === undefined || digest === undefined || digest === "sha224" || (digest === "sha1" && policy.allowSha1 !== true)) {
    throw new XmlSignatureError("algorithm_not_allowed", "XAdES: CertDigest algorithm is not accepted");
  }
  const claimed = Buffer.from((value.textContent ?? "").replace(/\s+/g, ""), "base64");
  const actual = createHash(digest).update(certificate.raw).digest();
  if (claimed.length !== DIGEST_LENGTHS[digest] || !timingSafeEqual(claimed, actual)) return false;
  if (issuerSerial === undefined) return true;
  if (version2) {
    if (!isNamed(issuerSerial, XADES_NAMESPACE, "IssuerSerialV2")) throw new XmlSignatureError("malformed_signature", "XAdES: unexpected content in Cert");
    return Buffer.from((issuerSerial.textContent ?? "").replace(/\s+/g, ""), "base64").equals(issuerSerialDer(certificate.raw));
  }
  // XAdES 1.3.2 SigningCertificate: ds:X509SerialNumber is a decimal integer. The issuer
  // name is an RFC 4514 string with too many spellings to compare; the digest already binds it.
  const serial = childElements(issuerSerial).find((e) => isNamed(e, DSIG_NAMESPACE, "X509SerialNumber"))?.textContent?.trim() ?? "";
  return /^\d+$/.test(serial) && BigInt(serial) === BigInt(`0x${certificate.serialNumber}`);
}
