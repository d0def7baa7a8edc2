/**
 * Builds and fills one ds:Signature element in a document (XML-DSig 1.1 §3.1
 * "Signature Generation"), with the private-key operation delegated to a
 * Signer — which may be a smart card or a remote service, so it is awaited
 * and nothing here assumes it is quick or synchronous.
 *
 * The Signature is inserted at its final place *before* anything is digested:
 * the enveloped-signature transform and the canonical form of SignedInfo both
 * depend on where it sits. If anything fails, the document is put back as it
 * was (the Signature and any Id attribute we added are removed).
 */
import { createHash, randomUUID, type X509Certificate } from "node:crypto";
import type { Document, Element, Node } from "@xmldom/xmldom";
import type { Signer } from "../../../trust/signer.js";
import { canonicalize, type CanonicalizationMode } from "../../xml/canonicalize.js";
import { XMLNS_NAMESPACE, isInside } from "../../xml/dom.js";
import { selectElements, type XPathNamespaces } from "../../xml/xpath.js";
import {
  C14N,
  DIGEST_URIS,
  DSIG_NAMESPACE,
  ENVELOPED_SIGNATURE,
  EXC_C14N,
  EXC_C14N_NAMESPACE,
  SIGNER_ALGORITHMS,
  signatureMethodByName,
  type XmlDigestAlgorithm,
} from "./algorithms.js";
import { ecdsaDerToConcatenated } from "./ecdsa.js";
import { idsOf, indexIds, isNcName, resolveIdAttributes, type IdAttribute, type ResolvedIdAttribute } from "./ids.js";

/** Signature methods we produce. `rsa-sha1` only with `allowSha1` (legacy profiles). */
export type XmlSigningAlgorithm = "rsa-sha256" | "rsa-sha384" | "rsa-sha512" | "ecdsa-sha256" | "rsa-sha1";
/** Reference digests we produce. `sha1` only with `allowSha1`. */
export type XmlSigningDigest = "sha256" | "sha384" | "sha512" | "sha1";
/** Transforms a Reference may list, in this order: enveloped-signature first, canonicalization last. */
export type XmlReferenceTransform = "enveloped-signature" | "exc-c14n" | "c14n";

interface ReferenceOptions {
  /**
   * Default: `enveloped-signature` when the Signature sits inside the
   * referenced content, then `exc-c14n`.
   */
  transforms?: readonly XmlReferenceTransform[];
  /** exc-c14n InclusiveNamespaces PrefixList for this Reference (WS-Security profiles use it). */
  inclusiveNamespacePrefixes?: readonly string[];
}

/**
 * What to sign: the whole document (`URI=""`, the enveloped signature of
 * SAML and XAdES), the element carrying an Id, or every element an XPath
 * selects (an Id is added to those that have none).
 */
export type XmlSignatureReference =
  | (ReferenceOptions & { wholeDocument: true })
  | (ReferenceOptions & { id: string })
  | (ReferenceOptions & { xpath: string });

/** Where the Signature goes, relative to the one element `xpath` selects. */
export interface XmlSignatureLocation {
  xpath: string;
  /** `append` (last child, the default), `prepend` (first child), `before` or `after` (sibling). */
  action?: "append" | "prepend" | "before" | "after";
}

export interface SignXmlOptions {
  /** The key: software, smart card (PKCS#11) or remote KMS. */
  signer: Signer;
  /** Default: one Reference to the whole document. */
  references?: readonly XmlSignatureReference[];
  /** Default: appended to the document element. SAML wants `{ xpath: "/*\/saml:Issuer", action: "after" }`. */
  location?: XmlSignatureLocation;
  /** Prefixes used by the XPath expressions of `references` and `location`. */
  namespaces?: XPathNamespaces;
  /** Default `rsa-sha256` for RSA keys, `ecdsa-sha256` for EC keys. */
  algorithm?: XmlSigningAlgorithm;
  /** Default `sha256`. */
  digestAlgorithm?: XmlSigningDigest;
  /** Permit `rsa-sha1` / `sha1`, for the legacy profiles that still require them. */
  allowSha1?: boolean;
  /** Canonicalization of SignedInfo. Default `exc-c14n`. */
  canonicalization?: CanonicalizationMode;
  /** KeyInfo content: the signing certificate (default), the whole chain, or no KeyInfo. */
  keyInfo?: "certificate" | "chain" | "none";
  /** Names looked up for `#id` references; the first one is written on elements that need an Id. Default `Id`, `ID`, `wsu:Id`. */
  idAttributes?: readonly IdAttribute[];
  /** Namespace prefix of the signature elements. Default `ds`; `""` for a default namespace declaration. */
  prefix?: string;
  /** An Id attribute on the Signature element. */
  signatureId?: string;
}

/** What an extension (XAdES) adds inside the Signature before SignedInfo is completed. */
export interface SignatureExtension {
  /** Returns elements to reference, already placed inside `signature` (typically in a ds:Object). */
  addToSignature(context: ExtensionContext): Promise<ExtraReference[]> | ExtraReference[];
}

export interface ExtensionContext {
  doc: Document;
  signature: Element;
  signatureId: string;
  chain: readonly X509Certificate[];
  createDsElement(localName: string): Element;
}

export interface ExtraReference {
  element: Element;
  /** The Reference Type attribute (e.g. XAdES SignedProperties). */
  type: string;
}

interface ResolvedTarget {
  node: Document | Element;
  uri: string;
  transforms: readonly XmlReferenceTransform[] | undefined;
  inclusivePrefixes: readonly string[];
  type?: string;
}

interface Settings {
  signer: Signer;
  method: ReturnType<typeof signatureMethodByName>;
  signerAlgorithm: NonNullable<(typeof SIGNER_ALGORITHMS)[keyof typeof SIGNER_ALGORITHMS]>;
  digest: XmlDigestAlgorithm;
  canonicalization: CanonicalizationMode;
  keyInfo: "certificate" | "chain" | "none";
  idAttributes: ResolvedIdAttribute[];
  prefix: string;
  signatureId: string | undefined;
  namespaces: XPathNamespaces;
}

const SIGNING_ALGORITHMS: readonly XmlSigningAlgorithm[] = ["rsa-sha256", "rsa-sha384", "rsa-sha512", "ecdsa-sha256", "rsa-sha1"];
const SIGNING_DIGESTS: readonly XmlSigningDigest[] = ["sha256", "sha384", "sha512", "sha1"];

/**
 * Inserts a complete ds:Signature into `doc` and returns it.
 *
 * @throws TypeError for options that cannot work (unknown algorithm, a Signer
 *   that does not offer it, an XPath that selects nothing…).
 */
export async function createSignature(doc: Document, options: SignXmlOptions, extension?: SignatureExtension): Promise<Element> {
  const settings = resolveSettings(options);
  const needsChain = settings.keyInfo !== "none" || extension !== undefined;
  const chain = needsChain ? await settings.signer.certificateChain() : [];
  if (needsChain && chain.length === 0) throw new TypeError(`Signer ${settings.signer.id} has no certificate; use keyInfo: "none"`);

  const undo: Array<() => void> = [];
  try {
    const targets = resolveTargets(doc, options.references ?? [{ wholeDocument: true }], settings, undo);
    const ds = (localName: string): Element => doc.createElementNS(DSIG_NAMESPACE, settings.prefix === "" ? localName : `${settings.prefix}:${localName}`);

    const signature = ds("Signature");
    signature.setAttributeNS(XMLNS_NAMESPACE, settings.prefix === "" ? "xmlns" : `xmlns:${settings.prefix}`, DSIG_NAMESPACE);
    const signatureId = settings.signatureId ?? `sig-${randomUUID()}`;
    if (settings.signatureId !== undefined || extension !== undefined) signature.setAttribute("Id", signatureId);
    const signedInfo = ds("SignedInfo");
    const c14nMethod = ds("CanonicalizationMethod");
    c14nMethod.setAttribute("Algorithm", settings.canonicalization === "exc-c14n" ? EXC_C14N : C14N);
    const signatureMethod = ds("SignatureMethod");
    signatureMethod.setAttribute("Algorithm", settings.method.uri);
    signedInfo.appendChild(c14nMethod);
    signedInfo.appendChild(signatureMethod);
    const signatureValue = ds("SignatureValue");
    signature.appendChild(signedInfo);
    signature.appendChild(signatureValue);
    if (settings.keyInfo !== "none") {
      const keyInfo = ds("KeyInfo");
      const x509Data = ds("X509Data");
      for (const certificate of settings.keyInfo === "chain" ? chain : chain.slice(0, 1)) {
        const element = ds("X509Certificate");
        element.appendChild(doc.createTextNode(certificate.raw.toString("base64")));
        x509Data.appendChild(element);
      }
      keyInfo.appendChild(x509Data);
      signature.appendChild(keyInfo);
    }

    placeSignature(doc, signature, options.location, settings.namespaces);
    undo.push(() => signature.parentNode?.removeChild(signature));

    if (extension !== undefined) {
      const extra = await extension.addToSignature({ doc, signature, signatureId, chain, createDsElement: ds });
      for (const { element, type } of extra) {
        const id = element.getAttribute("Id");
        if (id === null || element === signature || !isInside(element, signature)) throw new TypeError("Extension references must be elements with an Id inside the Signature");
        targets.push({ node: element, uri: `#${id}`, transforms: ["exc-c14n"], inclusivePrefixes: [], type });
      }
    }

    for (const target of targets) signedInfo.appendChild(buildReference(doc, ds, target, signature, settings));

    const canonicalSignedInfo = canonicalize(signedInfo, { mode: settings.canonicalization });
    const raw = await settings.signer.sign(Buffer.from(canonicalSignedInfo, "utf8"), settings.signerAlgorithm);
    // XML-DSig 1.1 §6.4.3: ECDSA values are r || s, not the DER the Signer returns.
    const value = settings.method.keyType === "ec" ? ecdsaDerToConcatenated(raw, 32) : Buffer.from(raw);
    signatureValue.appendChild(doc.createTextNode(value.toString("base64")));
    return signature;
  } catch (error) {
    for (const action of undo.reverse()) action();
    throw error;
  }
}

function resolveSettings(options: SignXmlOptions): Settings {
  if (options === null || typeof options !== "object") throw new TypeError("signXml: options are required");
  const signer = options.signer;
  if (signer === null || typeof signer !== "object" || typeof signer.sign !== "function" || typeof signer.certificateChain !== "function") {
    throw new TypeError("signXml: options.signer must be a Signer");
  }
  const algorithm = options.algorithm ?? (signer.keyType === "EC" ? "ecdsa-sha256" : "rsa-sha256");
  if (!SIGNING_ALGORITHMS.includes(algorithm)) throw new TypeError(`signXml: unsupported algorithm ${String(algorithm)}`);
  const digest = options.digestAlgorithm ?? "sha256";
  if (!SIGNING_DIGESTS.includes(digest)) throw new TypeError(`signXml: unsupported digest ${String(digest)}`);
  if ((algorithm === "rsa-sha1" || digest === "sha1") && options.allowSha1 !== true) {
    throw new TypeError("signXml: SHA-1 is used only for profiles that require it; set allowSha1: true");
  }
  const method = signatureMethodByName(algorithm);
  if ((method.keyType === "ec") !== (signer.keyType === "EC")) throw new TypeError(`signXml: ${algorithm} does not fit the signer's ${signer.keyType} key`);
  const signerAlgorithm = SIGNER_ALGORITHMS[algorithm];
  if (signerAlgorithm === undefined || !signer.algorithms.includes(signerAlgorithm)) {
    throw new TypeError(`signXml: signer ${signer.id} does not offer ${signerAlgorithm ?? algorithm}`);
  }
  const keyInfo = options.keyInfo ?? "certificate";
  if (!["certificate", "chain", "none"].includes(keyInfo)) throw new TypeError("signXml: keyInfo must be certificate, chain or none");
  const canonicalization = options.canonicalization ?? "exc-c14n";
  if (canonicalization !== "exc-c14n" && canonicalization !== "c14n") throw new TypeError("signXml: canonicalization must be exc-c14n or c14n");
  const prefix = options.prefix ?? "ds";
  if (prefix !== "" && !isNcName(prefix)) throw new TypeError("signXml: prefix must be an NCName or empty");
  if (options.signatureId !== undefined && !isNcName(options.signatureId)) throw new TypeError("signXml: signatureId must be an NCName");
  return {
    signer,
    method,
    signerAlgorithm,
    digest,
    canonicalization,
    keyInfo,
    idAttributes: resolveIdAttributes(options.idAttributes),
    prefix,
    signatureId: options.signatureId,
    namespaces: options.namespaces ?? {},
  };
}

function resolveTargets(doc: Document, references: readonly XmlSignatureReference[], settings: Settings, undo: Array<() => void>): ResolvedTarget[] {
  if (!Array.isArray(references) || references.length === 0) throw new TypeError("signXml: references must be a non-empty array");
  const targets: ResolvedTarget[] = [];
  let ids: Map<string, Element[]> | undefined;
  for (const reference of references) {
    const common = { transforms: reference.transforms, inclusivePrefixes: reference.inclusiveNamespacePrefixes ?? [] };
    if ("wholeDocument" in reference && reference.wholeDocument === true) {
      targets.push({ node: doc, uri: "", ...common });
    } else if ("id" in reference && typeof reference.id === "string") {
      ids ??= indexIds(doc, settings.idAttributes);
      const found = ids.get(reference.id) ?? [];
      if (found.length !== 1) throw new TypeError(`signXml: Id "${reference.id}" is on ${found.length} elements, expected exactly one`);
      targets.push({ node: found[0] as Element, uri: `#${reference.id}`, ...common });
    } else if ("xpath" in reference && typeof reference.xpath === "string") {
      const elements = selectElements(reference.xpath, doc, settings.namespaces);
      if (elements.length === 0) throw new TypeError(`signXml: XPath "${reference.xpath}" selects no element`);
      for (const element of elements) targets.push({ node: element, uri: `#${ensureId(element, settings.idAttributes, undo)}`, ...common });
    } else {
      throw new TypeError("signXml: each reference needs wholeDocument, id or xpath");
    }
  }
  // An Id found twice would make our own signature ambiguous to a strict verifier.
  const index = indexIds(doc, settings.idAttributes);
  for (const target of targets) {
    const id = target.uri.slice(1);
    if (id !== "" && (index.get(id)?.length ?? 0) !== 1) throw new TypeError(`signXml: Id "${id}" is not unique in the document`);
  }
  return targets;
}

function ensureId(element: Element, attributes: readonly ResolvedIdAttribute[], undo: Array<() => void>): string {
  const existing = idsOf(element, attributes);
  if (existing.length > 0) return existing[0] as string;
  const attribute = attributes[0] as ResolvedIdAttribute;
  const id = `_${randomUUID()}`;
  if (attribute.namespaceURI === null) {
    element.setAttribute(attribute.localName, id);
  } else {
    element.setAttributeNS(attribute.namespaceURI, attribute.qualifiedName, id);
  }
  undo.push(() => {
    if (attribute.namespaceURI === null) element.removeAttribute(attribute.localName);
    else element.removeAttributeNS(attribute.namespaceURI, attribute.localName);
  });
  return id;
}

function placeSignature(doc: Document, signature: Element, location: XmlSignatureLocation | undefined, namespaces: XPathNamespaces): void {
  const root = doc.documentElement;
  if (root === null) throw new TypeError("signXml: the document has no document element");
  if (location === undefined) {
    root.appendChild(signature);
    return;
  }
  const anchors = selectElements(location.xpath, doc, namespaces);
  const anchor = anchors[0];
  if (anchors.length !== 1 || anchor === undefined) {
    throw new TypeError(`signXml: location XPath "${location.xpath}" selects ${anchors.length} elements, expected exactly one`);
  }
  const action = location.action ?? "append";
  switch (action) {
    case "append":
      anchor.appendChild(signature);
      return;
    case "prepend":
      anchor.insertBefore(signature, anchor.firstChild);
      return;
    case "before":
    case "after": {
      const parent = anchor.parentNode;
      if (parent === null || parent === doc) throw new TypeError("signXml: the Signature cannot be a sibling of the document element");
      parent.insertBefore(signature, action === "before" ? anchor : anchor.nextSibling);
      return;
    }
    default:
      throw new TypeError(`signXml: unknown location action ${String(action)}`);
  }
}

function buildReference(doc: Document, ds: (localName: string) => Element, target: ResolvedTarget, signature: Element, settings: Settings): Element {
  const signatureInside = isInside(signature, target.node);
  const transforms = target.transforms ?? (signatureInside ? ["enveloped-signature", "exc-c14n"] : ["exc-c14n"]);
  validateTransforms(transforms, signatureInside);

  const reference = ds("Reference");
  reference.setAttribute("URI", target.uri);
  if (target.type !== undefined) reference.setAttribute("Type", target.type);
  const transformsElement = ds("Transforms");
  let mode: CanonicalizationMode = "c14n"; // XML-DSig §4.4.3.2: a node-set becomes octets through C14N 1.0 by default.
  let exclude: Node | undefined;
  for (const transform of transforms) {
    const element = ds("Transform");
    if (transform === "enveloped-signature") {
      element.setAttribute("Algorithm", ENVELOPED_SIGNATURE);
      exclude = signature;
    } else {
      mode = transform;
      element.setAttribute("Algorithm", transform === "exc-c14n" ? EXC_C14N : C14N);
      if (transform === "exc-c14n" && target.inclusivePrefixes.length > 0) {
        const inclusive = doc.createElementNS(EXC_C14N_NAMESPACE, "ec:InclusiveNamespaces");
        inclusive.setAttributeNS(XMLNS_NAMESPACE, "xmlns:ec", EXC_C14N_NAMESPACE);
        inclusive.setAttribute("PrefixList", target.inclusivePrefixes.join(" "));
        element.appendChild(inclusive);
      }
    }
    transformsElement.appendChild(element);
  }
  if (transforms.length > 0) reference.appendChild(transformsElement);

  const canonical = canonicalize(target.node, {
    mode,
    ...(exclude === undefined ? {} : { exclude }),
    ...(mode === "exc-c14n" ? { inclusivePrefixes: target.inclusivePrefixes } : {}),
  });
  const digestMethod = ds("DigestMethod");
  digestMethod.setAttribute("Algorithm", DIGEST_URIS[settings.digest]);
  const digestValue = ds("DigestValue");
  digestValue.appendChild(doc.createTextNode(createHash(settings.digest).update(canonical, "utf8").digest("base64")));
  reference.appendChild(digestMethod);
  reference.appendChild(digestValue);
  return reference;
}

function validateTransforms(transforms: readonly XmlReferenceTransform[], signatureInside: boolean): void {
  if (!Array.isArray(transforms)) throw new TypeError("signXml: transforms must be an array");
  const enveloped = transforms.indexOf("enveloped-signature");
  const c14n = transforms.filter((t) => t === "exc-c14n" || t === "c14n");
  if (transforms.some((t) => t !== "enveloped-signature" && t !== "exc-c14n" && t !== "c14n")) {
    throw new TypeError("signXml: transforms may only be enveloped-signature, exc-c14n and c14n");
  }
  if (enveloped > 0 || transforms.lastIndexOf("enveloped-signature") !== enveloped) throw new TypeError("signXml: enveloped-signature must come first, once");
  if (c14n.length > 1 || (c14n.length === 1 && transforms[transforms.length - 1] !== c14n[0])) {
    throw new TypeError("signXml: one canonicalization at most, as the last transform");
  }
  if (signatureInside && enveloped !== 0) throw new TypeError("signXml: the Signature is inside the signed content; the enveloped-signature transform is required");
}
