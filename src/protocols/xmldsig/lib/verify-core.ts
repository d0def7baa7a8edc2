/**
 * Core validation of one XML signature (XML-DSig 1.1 §3.2), hardened along
 * the lines of the W3C "XML Signature Best Practices" (2013) and the
 * signature-wrapping literature (McIntosh & Austel 2005; Somorovsky et al.,
 * "On Breaking SAML", 2012):
 *
 * 1. the caller says which Signature is expected, and exactly one must be there;
 * 2. SignedInfo is canonicalized, and everything read from it afterwards is
 *    read from that canonical form re-parsed: what was signed is what is used;
 * 3. every algorithm and transform is checked against allow-lists before any
 *    cryptography (no XPath/XSLT, no comments variants, no HMAC, SHA-1 and
 *    DSA only when the policy says so);
 * 4. the key comes from the caller's trust configuration, never from KeyInfo
 *    alone, and must verify SignatureValue over SignedInfo;
 * 5. References are same-document only ("" or "#id", no external URIs, no
 *    XPointer); Ids must be unique across every configured Id attribute name,
 *    so each Reference resolves to exactly one element; comments in signed
 *    content are refused (canonicalization drops them, so they could change
 *    meaning without changing the digest);
 * 6. each digest is checked, and the elements that were actually digested are
 *    returned, so callers read only signed content.
 */
import { X509Certificate, createHash, timingSafeEqual, verify as verifySignatureValue, type KeyObject } from "node:crypto";
import type { Document, Element, Node } from "@xmldom/xmldom";
import { PasserelleError } from "../../../errors/index.js";
import { canonicalize, type CanonicalizationMode } from "../../xml/canonicalize.js";
import { childElements, isInside, isNamed, walk } from "../../xml/dom.js";
import { parseXml, type ParseXmlOptions } from "../../xml/parse.js";
import { selectElements, type XPathNamespaces } from "../../xml/xpath.js";
import { XmlSignatureError } from "../errors.js";
import { assertValidAt, type TrustPolicy } from "../trust.js";
import {
  C14N,
  C14N_WITH_COMMENTS,
  DIGEST_LENGTHS,
  DSIG_NAMESPACE,
  EC_CURVE_SIZES,
  ENVELOPED_SIGNATURE,
  EXC_C14N,
  EXC_C14N_NAMESPACE,
  EXC_C14N_WITH_COMMENTS,
  digestByUri,
  isHmacUri,
  signatureMethodByUri,
  type SignatureMethodInfo,
  type XmlDigestAlgorithm,
  type XmlSignatureMethod,
} from "./algorithms.js";
import { indexIds, isNcName, resolveIdAttributes, type IdAttribute } from "./ids.js";

/**
 * What a verification accepts. Give the key material with exactly one of
 * `trustedCertificates` / `trustedKeys` (pinned keys, e.g. from SAML
 * metadata) or `trustPolicy` (a chain from KeyInfo validated against anchors).
 */
export interface XmlSignaturePolicy {
  /** Pinned signing certificates. A KeyInfo certificate, if present, must carry one of their keys. */
  trustedCertificates?: readonly X509Certificate[];
  /** Pinned public keys (no certificate: no validity check). */
  trustedKeys?: readonly KeyObject[];
  /** Validates the certificates in KeyInfo and returns the signing certificate. */
  trustPolicy?: TrustPolicy;
  /**
   * XPath selecting the one expected ds:Signature (prefix `ds` is predefined).
   * Default `/*\/ds:Signature`: the signature that is a child of the document element.
   */
  signatureXPath?: string;
  /** Prefixes for `signatureXPath` and `requireSigned`. */
  namespaces?: XPathNamespaces;
  /**
   * XPaths that must each select exactly one element, covered by a Reference
   * (e.g. `/soap:Envelope/soap:Body`): the structural defence against wrapping.
   */
  requireSigned?: readonly string[];
  /** Attribute names that carry Ids. Default `Id`, `ID`, `wsu:Id`. */
  idAttributes?: readonly IdAttribute[];
  /** Accept SHA-1 digests and signature methods (legacy profiles only). */
  allowSha1?: boolean;
  /** Accept DSA signatures (legacy; `dsa-sha1` also needs `allowSha1`). */
  allowDsa?: boolean;
  /** Shortest RSA (and DSA) modulus accepted. Default 2048. */
  minRsaModulusBits?: number;
  /** Accept References to ds:Object content of the Signature itself (enveloping signatures). */
  allowEnveloping?: boolean;
  /** Most References accepted. Default 32. */
  maxReferences?: number;
  /** Validation time for certificates. Default now. */
  at?: Date;
  /** Check the validity period of the signing certificate. Default true. */
  checkValidity?: boolean;
  /** Limits for parsing a string or bytes input. */
  parse?: ParseXmlOptions;
}

export interface VerifiedReference {
  uri: string;
  type: string | undefined;
  /** The element digested: the document element for `URI=""`. */
  element: Element;
  /** Whether the Signature was cut out of `element` before digesting (enveloped-signature). */
  envelopedSignature: boolean;
  digestAlgorithm: XmlDigestAlgorithm;
}

export interface XmlSignatureVerification {
  valid: true;
  document: Document;
  /** The verified ds:Signature element. */
  signature: Element;
  /**
   * The signed elements, one per Reference in order. Read the signed data
   * from these nodes only: anything else in the document is unauthenticated.
   */
  signedElements: Element[];
  references: VerifiedReference[];
  /** The trusted certificate whose key verified, if the key came with one. */
  certificate: X509Certificate | undefined;
  publicKey: KeyObject;
  algorithm: XmlSignatureMethod;
  /** Canonicalization method URI of SignedInfo. */
  canonicalization: string;
}

/** Lets XAdES accept a reference to its SignedProperties, which live inside the Signature. */
export interface VerifyHooks {
  allowInsideSignature?(reference: { uri: string; type: string | undefined }, element: Element, signature: Element): boolean;
}

interface ParsedReference {
  uri: string;
  type: string | undefined;
  enveloped: boolean;
  mode: CanonicalizationMode;
  inclusivePrefixes: readonly string[];
  digest: XmlDigestAlgorithm;
  digestValue: Buffer;
}

interface KeyCandidate {
  key: KeyObject;
  certificate: X509Certificate | undefined;
}

const COMMENT_NODE = 8;
const DEFAULT_SIGNATURE_XPATH = "/*/ds:Signature";

export async function verifySignatureCore(
  input: string | Uint8Array | Document,
  policy: XmlSignaturePolicy,
  hooks: VerifyHooks = {},
): Promise<XmlSignatureVerification> {
  assertPolicy(policy);
  const doc = typeof input === "string" || input instanceof Uint8Array ? parseXml(input, policy.parse) : input;
  if (doc === null || typeof doc !== "object" || doc.nodeType !== 9) throw new TypeError("verifyXmlSignature: input must be XML text, bytes or a Document");
  if (doc.doctype !== null) throw new XmlSignatureError("malformed_signature", "Documents with a DOCTYPE are not verified");
  const namespaces = { ds: DSIG_NAMESPACE, ...policy.namespaces };
  const idAttributes = resolveIdAttributes(policy.idAttributes);

  // 1. The expected Signature, exactly once.
  const found = selectElements(policy.signatureXPath ?? DEFAULT_SIGNATURE_XPATH, doc, namespaces);
  if (found.length === 0) throw new XmlSignatureError("signature_not_found", "No Signature element where one is expected");
  if (found.length > 1) throw new XmlSignatureError("multiple_signatures", `${found.length} Signature elements where one is expected`);
  const signature = found[0] as Element;
  if (!isNamed(signature, DSIG_NAMESPACE, "Signature")) throw new XmlSignatureError("signature_not_found", "The selected element is not a ds:Signature");
  const parts = signatureParts(signature);

  // 2. SignedInfo, canonicalized, then re-read from its canonical form.
  if (containsComment(parts.signedInfo)) throw new XmlSignatureError("comment_in_signed_content", "SignedInfo contains a comment");
  const c14nMethod = childElements(parts.signedInfo)[0];
  if (c14nMethod === undefined || !isNamed(c14nMethod, DSIG_NAMESPACE, "CanonicalizationMethod")) {
    throw new XmlSignatureError("malformed_signature", "SignedInfo must start with CanonicalizationMethod");
  }
  const canonicalization = canonicalizationOf(c14nMethod, "algorithm_not_allowed");
  const canonicalSignedInfo = canonicalize(parts.signedInfo, {
    mode: canonicalization.mode,
    ...(canonicalization.mode === "exc-c14n" ? { inclusivePrefixes: canonicalization.inclusivePrefixes } : {}),
  });
  const signedInfo = reparse(canonicalSignedInfo);
  const [c14nAgain, methodElement, ...referenceElements] = childElements(signedInfo);
  if (c14nAgain === undefined || !isNamed(c14nAgain, DSIG_NAMESPACE, "CanonicalizationMethod") || c14nAgain.getAttribute("Algorithm") !== canonicalization.uri) {
    throw new XmlSignatureError("malformed_signature", "SignedInfo changed under canonicalization");
  }
  if (methodElement === undefined || !isNamed(methodElement, DSIG_NAMESPACE, "SignatureMethod")) {
    throw new XmlSignatureError("malformed_signature", "SignedInfo lacks SignatureMethod");
  }
  assertNoText(signedInfo, "SignedInfo");

  // 3. Allow-lists (algorithms, transforms), before any cryptography.
  const method = signatureMethodOf(methodElement, policy);
  if (referenceElements.length === 0) throw new XmlSignatureError("malformed_signature", "SignedInfo has no Reference");
  const maxReferences = policy.maxReferences ?? 32;
  if (referenceElements.length > maxReferences) {
    throw new XmlSignatureError("too_many_references", `${referenceElements.length} References (the policy allows ${maxReferences})`);
  }
  const references = referenceElements.map((element) => parseReference(element, policy));

  // 4. The key, from the caller's trust configuration, and the SignatureValue
  //    over SignedInfo (verifiable before any Reference is resolved).
  const keyInfoCertificates = parts.keyInfo === undefined ? [] : certificatesIn(parts.keyInfo);
  const at = policy.at ?? new Date();
  const candidates = await trustedCandidates(policy, keyInfoCertificates, at);
  const usable = candidates.filter((c) => keyFits(c.key, method));
  if (usable.length === 0) throw new XmlSignatureError("untrusted_key", `No trusted key fits ${method.name}`);
  const strong = usable.filter((c) => keyIsStrong(c.key, policy));
  if (strong.length === 0) throw new XmlSignatureError("weak_key", "The trusted key is weaker than the policy's minimum");
  const signatureValue = base64Of(parts.signatureValue, "SignatureValue");
  const data = Buffer.from(canonicalSignedInfo, "utf8");
  const signer = strong.find((c) => checkSignatureValue(method, c.key, data, signatureValue));
  if (signer === undefined) throw new XmlSignatureError("signature_mismatch", "SignatureValue does not verify with the trusted key");
  if (signer.certificate !== undefined && policy.checkValidity !== false) assertValidAt(signer.certificate, at);

  // 5. Reference targets: same-document URIs only, unique Ids, exactly one
  //    element each, no comments, and every required element covered.
  const ids = indexIds(doc, idAttributes);
  for (const [id, elements] of ids) {
    if (elements.length > 1) throw new XmlSignatureError("duplicate_id", `Id "${id}" is carried by ${elements.length} elements`);
  }
  const root = doc.documentElement;
  if (root === null) throw new XmlSignatureError("malformed_signature", "The document has no document element");
  const targets = references.map((reference) => {
    // XML-DSig §4.4.3.3: "" is the document, "#id" one element; XPointer and external URIs are refused.
    if (reference.uri !== "" && !(reference.uri.startsWith("#") && isNcName(reference.uri.slice(1)))) {
      throw new XmlSignatureError("unsupported_reference", `Reference URI "${reference.uri}" is not accepted (only "" and "#id")`);
    }
    const target = reference.uri === "" ? doc : ids.get(reference.uri.slice(1))?.[0];
    if (target === undefined) throw new XmlSignatureError("reference_not_found", `No element carries the Id of Reference "${reference.uri}"`);
    if (target !== doc && isInside(target, signature)) {
      const allowed =
        (policy.allowEnveloping === true && isInsideObjectOf(target, signature)) ||
        hooks.allowInsideSignature?.({ uri: reference.uri, type: reference.type }, target as Element, signature) === true;
      if (!allowed) throw new XmlSignatureError("reference_inside_signature", `Reference "${reference.uri}" points inside the Signature`);
    }
    const exclude = reference.enveloped ? signature : undefined;
    if (containsComment(target === doc ? root : target, exclude)) {
      throw new XmlSignatureError("comment_in_signed_content", `The content of Reference "${reference.uri}" contains a comment`);
    }
    return target;
  });
  for (const expression of policy.requireSigned ?? []) {
    const required = selectElements(expression, doc, namespaces);
    if (required.length !== 1) throw new XmlSignatureError("wrapping", `"${expression}" selects ${required.length} elements, expected exactly one`);
    const element = required[0] as Element;
    const covered = references.some((reference, i) => {
      const target = targets[i] as Node;
      return isInside(element, target) && !(reference.enveloped && isInside(element, signature));
    });
    if (!covered) throw new XmlSignatureError("wrapping", `"${expression}" is not covered by the signature`);
  }

  // 6. Digests; the result lists exactly the digested elements.
  const verified: VerifiedReference[] = references.map((reference, i) => {
    const target = targets[i] as Document | Element;
    const canonical = canonicalize(target, {
      mode: reference.mode,
      ...(reference.enveloped ? { exclude: signature } : {}),
      ...(reference.mode === "exc-c14n" ? { inclusivePrefixes: reference.inclusivePrefixes } : {}),
    });
    const digest = createHash(reference.digest).update(canonical, "utf8").digest();
    if (!timingSafeEqual(digest, reference.digestValue)) throw new XmlSignatureError("digest_mismatch", `The digest of Reference "${reference.uri}" does not match`);
    return {
      uri: reference.uri,
      type: reference.type,
      element: target === doc ? root : (target as Element),
      envelopedSignature: reference.enveloped,
      digestAlgorithm: reference.digest,
    };
  });

  return {
    valid: true,
    document: doc,
    signature,
    signedElements: verified.map((r) => r.element),
    references: verified,
    certificate: signer.certificate,
    publicKey: signer.key,
    algorithm: method.name,
    canonicalization: canonicalization.uri,
  };
}

function assertPolicy(policy: XmlSignaturePolicy): void {
  if (policy === null || typeof policy !== "object") throw new TypeError("verifyXmlSignature: a policy is required");
  const pinned = policy.trustedCertificates !== undefined || policy.trustedKeys !== undefined;
  if (pinned === (policy.trustPolicy !== undefined)) {
    throw new TypeError("verifyXmlSignature: give trustedCertificates/trustedKeys or a trustPolicy (exactly one way)");
  }
  if (pinned && (policy.trustedCertificates?.length ?? 0) + (policy.trustedKeys?.length ?? 0) === 0) {
    throw new TypeError("verifyXmlSignature: no trusted certificate or key given");
  }
  for (const certificate of policy.trustedCertificates ?? []) {
    if (!(certificate instanceof X509Certificate)) throw new TypeError("verifyXmlSignature: trustedCertificates must be X509Certificate objects");
  }
  if (policy.trustPolicy !== undefined && typeof policy.trustPolicy !== "function") throw new TypeError("verifyXmlSignature: trustPolicy must be a function");
  if (policy.at !== undefined && !(policy.at instanceof Date && Number.isFinite(policy.at.getTime()))) throw new TypeError("verifyXmlSignature: at must be a valid Date");
}

interface SignatureParts {
  signedInfo: Element;
  signatureValue: Element;
  keyInfo: Element | undefined;
}

/** XML-DSig §4.1: SignedInfo, SignatureValue, KeyInfo?, Object*, and nothing else. */
function signatureParts(signature: Element): SignatureParts {
  assertNoText(signature, "Signature");
  const [signedInfo, signatureValue, ...rest] = childElements(signature);
  if (signedInfo === undefined || !isNamed(signedInfo, DSIG_NAMESPACE, "SignedInfo")) {
    throw new XmlSignatureError("malformed_signature", "The Signature must start with SignedInfo");
  }
  if (signatureValue === undefined || !isNamed(signatureValue, DSIG_NAMESPACE, "SignatureValue")) {
    throw new XmlSignatureError("malformed_signature", "SignedInfo must be followed by SignatureValue (one SignedInfo only)");
  }
  let keyInfo: Element | undefined;
  rest.forEach((element, i) => {
    if (i === 0 && isNamed(element, DSIG_NAMESPACE, "KeyInfo")) keyInfo = element;
    else if (!isNamed(element, DSIG_NAMESPACE, "Object")) {
      throw new XmlSignatureError("malformed_signature", `Unexpected ${element.tagName} in the Signature (one SignedInfo, one SignatureValue)`);
    }
  });
  return { signedInfo, signatureValue, keyInfo };
}

function reparse(canonical: string): Element {
  try {
    const element = parseXml(canonical).documentElement;
    if (element === null || !isNamed(element, DSIG_NAMESPACE, "SignedInfo")) throw new Error("not a SignedInfo");
    return element;
  } catch (error) {
    throw new XmlSignatureError("malformed_signature", "SignedInfo cannot be re-read from its canonical form", error);
  }
}

function canonicalizationOf(
  element: Element,
  refusal: "algorithm_not_allowed" | "transform_not_allowed",
): { uri: string; mode: CanonicalizationMode; inclusivePrefixes: string[] } {
  const uri = element.getAttribute("Algorithm") ?? "";
  if (uri === C14N_WITH_COMMENTS || uri === EXC_C14N_WITH_COMMENTS) {
    throw new XmlSignatureError(refusal, `Canonicalization with comments (${uri}) is not accepted`);
  }
  if (uri !== C14N && uri !== EXC_C14N) throw new XmlSignatureError(refusal, `Canonicalization ${uri || "(none)"} is not accepted`);
  const children = childElements(element);
  let inclusivePrefixes: string[] = [];
  if (uri === EXC_C14N && children.length === 1 && isNamed(children[0] as Element, EXC_C14N_NAMESPACE, "InclusiveNamespaces")) {
    inclusivePrefixes = (children[0]?.getAttribute("PrefixList") ?? "").split(/[ \t\r\n]+/).filter(Boolean);
  } else if (children.length > 0) {
    throw new XmlSignatureError("malformed_signature", `Unexpected content in the canonicalization ${uri}`);
  }
  return { uri, mode: uri === EXC_C14N ? "exc-c14n" : "c14n", inclusivePrefixes };
}

function signatureMethodOf(element: Element, policy: XmlSignaturePolicy): SignatureMethodInfo {
  const uri = element.getAttribute("Algorithm") ?? "";
  const children = childElements(element);
  // CVE-2009-0217: a truncated HMAC is refused by name, whatever else the policy says.
  if (children.some((child) => child.localName === "HMACOutputLength")) {
    throw new XmlSignatureError("hmac_truncation", "HMACOutputLength (truncated HMAC) is refused");
  }
  if (isHmacUri(uri)) throw new XmlSignatureError("algorithm_not_allowed", "HMAC signatures are not accepted: a shared secret does not identify a signer");
  if (children.length > 0) throw new XmlSignatureError("malformed_signature", "Unexpected content in SignatureMethod");
  const method = signatureMethodByUri(uri);
  if (method === undefined) throw new XmlSignatureError("algorithm_not_allowed", `Signature method ${uri || "(none)"} is not supported`);
  if (method.hash === "sha1" && policy.allowSha1 !== true) throw new XmlSignatureError("algorithm_not_allowed", `${method.name} uses SHA-1, which the policy refuses`);
  if (method.hash === "sha224") throw new XmlSignatureError("algorithm_not_allowed", `${method.name} is not accepted`);
  if (method.keyType === "dsa" && policy.allowDsa !== true) throw new XmlSignatureError("algorithm_not_allowed", `${method.name} (DSA) is not accepted by the policy`);
  return method;
}

function parseReference(element: Element, policy: XmlSignaturePolicy): ParsedReference {
  if (!isNamed(element, DSIG_NAMESPACE, "Reference")) throw new XmlSignatureError("malformed_signature", `Unexpected ${element.tagName} in SignedInfo`);
  assertNoText(element, "Reference");
  const uri = element.getAttribute("URI");
  if (uri === null) throw new XmlSignatureError("unsupported_reference", "A Reference without URI is not accepted");
  const type = element.hasAttribute("Type") ? (element.getAttribute("Type") ?? undefined) : undefined;
  const children = childElements(element);
  let index = 0;
  let enveloped = false;
  let mode: CanonicalizationMode = "c14n";
  let inclusivePrefixes: readonly string[] = [];
  const first = children[0];
  if (first !== undefined && isNamed(first, DSIG_NAMESPACE, "Transforms")) {
    index = 1;
    const transforms = childElements(first);
    if (transforms.length === 0) throw new XmlSignatureError("malformed_signature", "Empty Transforms");
    transforms.forEach((transform, i) => {
      if (!isNamed(transform, DSIG_NAMESPACE, "Transform")) throw new XmlSignatureError("malformed_signature", `Unexpected ${transform.tagName} in Transforms`);
      const algorithm = transform.getAttribute("Algorithm") ?? "";
      if (algorithm === ENVELOPED_SIGNATURE) {
        if (i !== 0 || childElements(transform).length > 0) {
          throw new XmlSignatureError("transform_not_allowed", "The enveloped-signature transform must come first, alone");
        }
        enveloped = true;
        return;
      }
      const c14n = canonicalizationOf(transform, "transform_not_allowed");
      if (i !== transforms.length - 1) throw new XmlSignatureError("transform_not_allowed", `Canonicalization ${algorithm} must be the last transform`);
      mode = c14n.mode;
      inclusivePrefixes = c14n.inclusivePrefixes;
    });
  }
  const digestMethod = children[index];
  const digestValue = children[index + 1];
  if (
    digestMethod === undefined ||
    !isNamed(digestMethod, DSIG_NAMESPACE, "DigestMethod") ||
    digestValue === undefined ||
    !isNamed(digestValue, DSIG_NAMESPACE, "DigestValue") ||
    children.length !== index + 2
  ) {
    throw new XmlSignatureError("malformed_signature", `Reference "${uri}" must hold Transforms?, DigestMethod, DigestValue`);
  }
  const digestUri = digestMethod.getAttribute("Algorithm") ?? "";
  const digest = digestByUri(digestUri);
  if (digest === undefined || digest === "sha224") throw new XmlSignatureError("algorithm_not_allowed", `Digest ${digestUri || "(none)"} is not accepted`);
  if (digest === "sha1" && policy.allowSha1 !== true) throw new XmlSignatureError("algorithm_not_allowed", "SHA-1 digests are refused by the policy");
  const value = base64Of(digestValue, "DigestValue");
  if (value.length !== DIGEST_LENGTHS[digest]) throw new XmlSignatureError("malformed_signature", `DigestValue of Reference "${uri}" has the wrong length`);
  return { uri, type, enveloped, mode, inclusivePrefixes, digest, digestValue: value };
}

function isInsideObjectOf(target: Node, signature: Element): boolean {
  return childElements(signature).some((child) => isNamed(child, DSIG_NAMESPACE, "Object") && isInside(target, child));
}

function containsComment(root: Node, exclude?: Node): boolean {
  let found = false;
  walk(root, (node) => {
    if (node === exclude) return "skip";
    if (node.nodeType === COMMENT_NODE) found = true;
    return found ? "skip" : undefined;
  });
  return found;
}

function assertNoText(element: Element, what: string): void {
  for (let child = element.firstChild; child !== null; child = child.nextSibling) {
    if ((child.nodeType === 3 || child.nodeType === 4) && /[^ \t\r\n]/.test(child.nodeValue ?? "")) {
      throw new XmlSignatureError("malformed_signature", `Unexpected text in ${what}`);
    }
  }
}

function base64Of(element: Element, what: string): Buffer {
  if (childElements(element).length > 0) throw new XmlSignatureError("malformed_signature", `${what} must hold base64 text only`);
  const text = (element.textContent ?? "").replace(/[ \t\r\n]+/g, "");
  if (text.length === 0 || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    throw new XmlSignatureError("malformed_signature", `${what} is not valid base64`);
  }
  return Buffer.from(text, "base64");
}

function certificatesIn(keyInfo: Element): X509Certificate[] {
  const certificates: X509Certificate[] = [];
  for (const x509Data of childElements(keyInfo)) {
    if (!isNamed(x509Data, DSIG_NAMESPACE, "X509Data")) continue;
    for (const element of childElements(x509Data)) {
      if (!isNamed(element, DSIG_NAMESPACE, "X509Certificate")) continue;
      if (certificates.length >= 16) throw new XmlSignatureError("malformed_signature", "Too many certificates in KeyInfo");
      try {
        certificates.push(new X509Certificate(base64Of(element, "X509Certificate")));
      } catch (error) {
        if (error instanceof XmlSignatureError) throw error;
        throw new XmlSignatureError("malformed_signature", "An X509Certificate in KeyInfo does not parse", error);
      }
    }
  }
  return certificates;
}

async function trustedCandidates(policy: XmlSignaturePolicy, keyInfoCertificates: X509Certificate[], at: Date): Promise<KeyCandidate[]> {
  if (policy.trustPolicy !== undefined) {
    if (keyInfoCertificates.length === 0) throw new XmlSignatureError("untrusted_key", "KeyInfo carries no certificate for the trust policy to validate");
    let certificate: X509Certificate;
    try {
      certificate = await policy.trustPolicy(keyInfoCertificates, { at });
    } catch (error) {
      throw trustFailure(error);
    }
    if (!(certificate instanceof X509Certificate)) throw new TypeError("trustPolicy must return an X509Certificate");
    return [{ key: certificate.publicKey, certificate }];
  }
  const trusted: KeyCandidate[] = [
    ...(policy.trustedCertificates ?? []).map((certificate) => ({ key: certificate.publicKey, certificate })),
    ...(policy.trustedKeys ?? []).map((key) => ({ key, certificate: undefined })),
  ];
  if (keyInfoCertificates.length === 0) return trusted;
  // KeyInfo is only a hint here: it must name one of the pinned keys.
  const offered = keyInfoCertificates.map((c) => spki(c.publicKey));
  const matching = trusted.filter((candidate) => offered.some((key) => key.equals(spki(candidate.key))));
  if (matching.length === 0) throw new XmlSignatureError("untrusted_key", "The certificate in KeyInfo is not a trusted one");
  return matching;
}

function trustFailure(error: unknown): unknown {
  if (error instanceof XmlSignatureError) return error;
  if (!(error instanceof PasserelleError)) return error;
  const reason = (error as PasserelleError & { reason?: unknown }).reason;
  if (reason === "expired") return new XmlSignatureError("certificate_expired", error.detail, error);
  if (reason === "not_yet_valid") return new XmlSignatureError("certificate_not_yet_valid", error.detail, error);
  return new XmlSignatureError("untrusted_key", error.detail, error);
}

function spki(key: KeyObject): Buffer {
  return key.export({ type: "spki", format: "der" });
}

function keyFits(key: KeyObject, method: SignatureMethodInfo): boolean {
  switch (method.keyType) {
    case "rsa":
      return key.asymmetricKeyType === "rsa";
    case "ec":
      return key.asymmetricKeyType === "ec";
    case "dsa":
      return key.asymmetricKeyType === "dsa";
  }
}

function keyIsStrong(key: KeyObject, policy: XmlSignaturePolicy): boolean {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === "ec") return details.namedCurve !== undefined && details.namedCurve in EC_CURVE_SIZES;
  return (details.modulusLength ?? 0) >= (policy.minRsaModulusBits ?? 2048);
}

function checkSignatureValue(method: SignatureMethodInfo, key: KeyObject, data: Buffer, signatureValue: Buffer): boolean {
  try {
    if (method.keyType === "rsa") return verifySignatureValue(method.hash, data, key, signatureValue);
    // XML-DSig 1.1 §6.4.2/§6.4.3: DSA and ECDSA values are r || s.
    return verifySignatureValue(method.hash, data, { key, dsaEncoding: "ieee-p1363" }, signatureValue);
  } catch {
    return false;
  }
}
