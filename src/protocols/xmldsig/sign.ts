/**
 * XML-DSig signing (W3C XML Signature Syntax and Processing 1.1) with any
 * Signer: enveloped (`URI=""`) or detached by Id (`URI="#id"`, several
 * references allowed, as WS-Security and SAML need), exclusive C14N,
 * RSA-SHA256 by default.
 */
import type { Document, Element } from "@xmldom/xmldom";
import { isDocument } from "../xml/dom.js";
import { parseXml, serializeXml, type ParseXmlOptions } from "../xml/parse.js";
import { createSignature, type SignXmlOptions } from "./lib/sign-core.js";

export type {
  SignXmlOptions,
  XmlReferenceTransform,
  XmlSignatureLocation,
  XmlSignatureReference,
  XmlSigningAlgorithm,
  XmlSigningDigest,
} from "./lib/sign-core.js";

export interface SignedXml {
  /** The signed document, serialized. */
  xml: string;
  /** The signed document (the one passed in, when a Document was given). */
  document: Document;
  /** The ds:Signature element inserted. */
  signature: Element;
}

/**
 * Signs `input` and returns the signed document.
 *
 * A string or bytes are parsed with {@link parseXml} (so `parse` limits
 * apply); a Document is signed in place. On failure the document is left as
 * it was.
 *
 * @throws TypeError for options that cannot work (unknown algorithm, SHA-1
 *   without `allowSha1`, a Signer that does not offer the algorithm, an
 *   XPath that selects nothing, an Id that is not unique…).
 * @throws XmlParseError when `input` is text that is not acceptable XML.
 * @throws whatever the Signer throws (card absent, wrong PIN, KMS down).
 *
 * @example
 * ```ts
 * // SAML: sign the Assertion by its ID, Signature right after Issuer.
 * const { xml } = await signXml(assertionXml, {
 *   signer,
 *   references: [{ xpath: "/saml:Assertion" }],
 *   location: { xpath: "/saml:Assertion/saml:Issuer", action: "after" },
 *   namespaces: { saml: "urn:oasis:names:tc:SAML:2.0:assertion" },
 *   idAttributes: ["ID"],
 * });
 * ```
 */
export async function signXml(
  input: string | Uint8Array | Document,
  options: SignXmlOptions & { parse?: ParseXmlOptions },
): Promise<SignedXml> {
  const document = typeof input === "string" || input instanceof Uint8Array ? parseXml(input, options?.parse) : input;
  if (!isDocument(document)) throw new TypeError("signXml: input must be XML text, bytes or a Document");
  const signature = await createSignature(document, options);
  return { xml: serializeXml(document), document, signature };
}
