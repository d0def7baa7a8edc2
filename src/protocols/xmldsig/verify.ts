/**
 * Safe XML-DSig verification: one expected Signature, allow-listed
 * algorithms and transforms, unique Ids, no comments in signed content, a key
 * from the caller's trust configuration, and the signed elements returned so
 * that callers read only what was signed. See `lib/verify-core.ts` for the
 * reasoning and the references.
 */
import type { Document } from "@xmldom/xmldom";
import { verifySignatureCore, type XmlSignaturePolicy, type XmlSignatureVerification } from "./lib/verify-core.js";

export type { VerifiedReference, XmlSignaturePolicy, XmlSignatureVerification } from "./lib/verify-core.js";

/**
 * Verifies the one signature `policy` expects in `input` and returns what it
 * signs.
 *
 * @throws XmlSignatureError (`PASSERELLE_XML_SIGNATURE_INVALID`, 422) with a
 *   `reason` when the signature is rejected.
 * @throws XmlParseError when `input` is text that is not acceptable XML.
 * @throws TypeError for a policy that cannot work (no key material, both
 *   pinned keys and a trust policy, an invalid XPath).
 *
 * @example
 * ```ts
 * // A SOAP response signed by a known service certificate: read the Body only
 * // from the result, never from the document.
 * const { signedElements } = await verifyXmlSignature(responseXml, {
 *   trustedCertificates: [serviceCertificate],
 *   signatureXPath: "/soap:Envelope/soap:Header/wsse:Security/ds:Signature",
 *   requireSigned: ["/soap:Envelope/soap:Body"],
 *   namespaces: { soap: SOAP12_NS, wsse: WSSE_NS },
 * });
 * const body = signedElements.find((e) => e.localName === "Body");
 * ```
 */
export function verifyXmlSignature(input: string | Uint8Array | Document, policy: XmlSignaturePolicy): Promise<XmlSignatureVerification> {
  return verifySignatureCore(input, policy);
}
