/**
 * Verification of a CMS SignedData with one signer (RFC 5652 §5.6), for
 * attached and detached content, whoever produced it (OpenSSL, NSS, a card
 * middleware, ourselves).
 *
 * Checks, in order: structure; the content-type attribute against
 * eContentType (§11.1); the message digest (§11.2); the signature over the
 * DER signed attributes with the certificate the SignerInfo designates;
 * RFC 6211 algorithm protection when present; the ESS signing-certificate(-v2)
 * attribute against that certificate (RFC 5035 §5.4); then the caller's
 * trust decision on the chain. The first failure throws a CmsError whose
 * `reason` says which.
 *
 * @example
 * ```ts
 * const result = await verifySignedData(cms, { content, verifyChain: (chain) => validateChain(chain, anchors) });
 * result.signerCertificate.subject;
 * ```
 */
import { X509Certificate, createHash, verify as verifySignature } from "node:crypto";
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import {
  NODE_DIGEST_NAME,
  digestAlgorithmFromOid,
  signatureVerificationFor,
  type DigestAlgorithm,
} from "./algorithms.js";
import { attributeFromAsn1, issuerAndSerialNumberOf, type CmsAttribute } from "./attributes.js";
import { decodeBer } from "./der.js";
import { CmsError } from "./errors.js";
import { ATTRIBUTE_OID, CMS_OID, DIGEST_OID } from "./oids.js";

export interface VerifySignedDataOptions {
  /** The signed content, required when the SignedData is detached; chunks are verified as their concatenation. */
  content?: Uint8Array | readonly Uint8Array[];
  /**
   * The trust decision: receives the signer's certificate followed by the
   * issuers found in the SignedData, and rejects to refuse them. Without it,
   * the result says `chainVerified: false` and trusts nothing.
   */
  verifyChain?: (chain: X509Certificate[]) => Promise<void>;
}

export interface SignedDataVerification {
  signerCertificate: X509Certificate;
  /** The signer's certificate, then its issuers as far as the SignedData carries them. */
  chain: X509Certificate[];
  /** Every certificate the SignedData carries. */
  certificates: X509Certificate[];
  /** The signing-time signed attribute, when present (a claim of the signer, not a proof). */
  signingTime?: Date;
  digestAlgorithm: DigestAlgorithm;
  /** eContentType. */
  contentType: string;
  /** Empty when the SignerInfo has no signed attributes (signature over the content itself). */
  signedAttributes: CmsAttribute[];
  unsignedAttributes: CmsAttribute[];
  hasSigningCertificateV2: boolean;
  /** DER TimeStampTokens of the signature-time-stamp attributes (CAdES-T). */
  timestampTokens: Buffer[];
  /** The SignerInfo's signature octets (what a signature time-stamp covers). */
  signatureValue: Buffer;
  /** The encapsulated content, when the SignedData carries it. */
  content?: Buffer;
  /** Whether `verifyChain` ran and accepted the chain. */
  chainVerified: boolean;
}

export async function verifySignedData(der: Uint8Array, options: VerifySignedDataOptions = {}): Promise<SignedDataVerification> {
  if (!(der instanceof Uint8Array)) throw new TypeError("der must be a Uint8Array");
  const detachedContent = options.content === undefined ? undefined : contentChunks(options.content);

  const parsed = parseSignedData(der);
  const { signedData, signerInfo, certificates } = parsed;
  const digestAlgorithm = digestAlgorithmFromOid(signerInfo.digestAlgorithm.algorithmId);
  if (digestAlgorithm === undefined) {
    throw new CmsError("unsupported", `Digest algorithm ${signerInfo.digestAlgorithm.algorithmId} is not accepted`);
  }
  const signer = findSignerCertificate(signerInfo, certificates);
  const contentType = signedData.encapContentInfo.eContentType;

  const encapsulated = encapsulatedContent(signedData.encapContentInfo);
  let content: readonly Uint8Array[];
  if (encapsulated !== undefined) {
    if (detachedContent !== undefined && !Buffer.concat(detachedContent).equals(encapsulated)) {
      throw new CmsError("digest_mismatch", "The content given differs from the content the SignedData carries");
    }
    content = [encapsulated];
  } else if (detachedContent !== undefined) {
    content = detachedContent;
  } else {
    throw new TypeError("The SignedData is detached: options.content is required");
  }

  const verification = signatureVerificationFor(signerInfo.signatureAlgorithm, digestAlgorithm);
  const signatureValue = octetStringValue(signerInfo.signature);
  const signedAttributes = readSignedAttributes(signerInfo);
  let signedBytes: readonly Uint8Array[];
  if (signedAttributes === undefined) {
    // RFC 5652 §5.3: without signed attributes the signature covers the content, which must then be id-data.
    if (contentType !== CMS_OID.data) throw new CmsError("malformed", "Signed attributes are required for a content type other than id-data");
    signedBytes = content;
  } else {
    checkContentTypeAndDigest(signedAttributes.attributes, contentType, content, digestAlgorithm);
    signedBytes = [signedAttributes.der];
  }

  const publicKey = signer.certificate.publicKey;
  const keyType = publicKey.asymmetricKeyType === "rsa-pss" ? "rsa" : publicKey.asymmetricKeyType;
  if (keyType !== verification.keyType) {
    throw new CmsError("bad_signature", `The signature algorithm needs an ${verification.keyType.toUpperCase()} key, the signer's certificate holds ${publicKey.asymmetricKeyType ?? "another"} key`);
  }
  let valid: boolean;
  try {
    valid = verifySignature(verification.hash, Buffer.concat(signedBytes), verification.keyOptions(publicKey), signatureValue);
  } catch (cause) {
    throw new CmsError("bad_signature", "The signature value is not a valid signature encoding", cause);
  }
  if (!valid) throw new CmsError("bad_signature", "The signature does not verify with the signer's certificate");

  const attributes = signedAttributes?.attributes ?? [];
  checkAlgorithmProtection(attributes, signerInfo);
  const hasSigningCertificateV2 = checkSigningCertificate(attributes, signer.certificate);
  const unsignedAttributes = readUnsignedAttributes(signerInfo);
  const chain = buildChain(signer.certificate, certificates.map((c) => c.certificate));

  let chainVerified = false;
  if (options.verifyChain !== undefined) {
    try {
      await options.verifyChain(chain);
    } catch (cause) {
      const why = cause instanceof Error ? `: ${cause.message}` : "";
      throw new CmsError("untrusted", `The signer's certificate chain was refused${why}`, cause);
    }
    chainVerified = true;
  }

  const signingTime = readSigningTime(attributes);
  return {
    signerCertificate: signer.certificate,
    chain,
    certificates: certificates.map((c) => c.certificate),
    ...(signingTime === undefined ? {} : { signingTime }),
    digestAlgorithm,
    contentType,
    signedAttributes: attributes,
    unsignedAttributes,
    hasSigningCertificateV2,
    timestampTokens: unsignedAttributes
      .filter((attribute) => attribute.type === ATTRIBUTE_OID.signatureTimeStampToken)
      .flatMap((attribute) => attribute.values.map((value) => Buffer.from(value))),
    signatureValue,
    ...(encapsulated === undefined ? {} : { content: encapsulated }),
    chainVerified,
  };
}

interface CarriedCertificate {
  certificate: X509Certificate;
  /** The DER of its issuer Name and serialNumber, as in its TBSCertificate. */
  issuer: Buffer;
  serialNumber: Buffer;
}

interface ParsedSignedData {
  signedData: pkijs.SignedData;
  signerInfo: pkijs.SignerInfo;
  certificates: CarriedCertificate[];
}

function parseSignedData(der: Uint8Array): ParsedSignedData {
  const root = decodeBer(der);
  if (root === undefined) throw new CmsError("malformed", "Not a DER/BER encoded CMS ContentInfo");
  let signedData: pkijs.SignedData;
  try {
    const contentInfo = new pkijs.ContentInfo({ schema: root });
    if (contentInfo.contentType !== CMS_OID.signedData) {
      throw new CmsError("malformed", `The ContentInfo holds ${contentInfo.contentType}, not SignedData`);
    }
    signedData = new pkijs.SignedData({ schema: contentInfo.content });
  } catch (cause) {
    if (cause instanceof CmsError) throw cause;
    throw new CmsError("malformed", "The ContentInfo is not a well-formed SignedData", cause);
  }
  if (signedData.signerInfos.length !== 1) {
    throw new CmsError("unsupported", `Exactly one SignerInfo is supported, found ${signedData.signerInfos.length}`);
  }
  return { signedData, signerInfo: signedData.signerInfos[0] as pkijs.SignerInfo, certificates: carriedCertificates(der) };
}

/**
 * The X.509 certificates of SignedData.certificates, from their own bytes
 * (a fresh decode: pkijs' parse re-encodes, and a certificate's hash — in the
 * ESS attribute — must be over the bytes as carried).
 */
function carriedCertificates(der: Uint8Array): CarriedCertificate[] {
  const root = decodeBer(der) as asn1js.Sequence;
  const signedData = (root.valueBlock.value[1] as asn1js.Constructed).valueBlock.value[0] as asn1js.Sequence;
  const set = signedData.valueBlock.value.find((block) => block.idBlock.tagClass === 3 && block.idBlock.tagNumber === 0);
  if (!(set instanceof asn1js.Constructed)) return [];
  const found: CarriedCertificate[] = [];
  for (const block of set.valueBlock.value) {
    // CertificateChoices: a plain Certificate is a universal SEQUENCE; attribute and other certificates are tagged.
    if (block.idBlock.tagClass !== 1) continue;
    const bytes = Buffer.from(block.valueBeforeDecodeView);
    try {
      const certificate = new X509Certificate(bytes);
      found.push({ certificate, ...issuerAndSerialNumberOf(certificate) });
    } catch (cause) {
      throw new CmsError("malformed", "A certificate in the SignedData does not parse", cause);
    }
  }
  return found;
}

/** RFC 5652 §5.3 SignerIdentifier: issuerAndSerialNumber or [0] subjectKeyIdentifier. */
function findSignerCertificate(signerInfo: pkijs.SignerInfo, certificates: CarriedCertificate[]): CarriedCertificate {
  const sid: unknown = signerInfo.sid;
  let match: CarriedCertificate | undefined;
  if (sid instanceof pkijs.IssuerAndSerialNumber) {
    // Compared as encoded, as OpenSSL does: a SignerInfo copies its signer's issuer and serial number.
    const issuer = Buffer.from(sid.issuer.valueBeforeDecode);
    const serialNumber = Buffer.from(sid.serialNumber.valueBeforeDecodeView);
    match = certificates.find((c) => c.serialNumber.equals(serialNumber) && c.issuer.equals(issuer));
  } else if (sid instanceof asn1js.BaseBlock && sid.idBlock.tagClass === 3 && sid.idBlock.tagNumber === 0) {
    const keyId = Buffer.from((sid as asn1js.Primitive).valueBlock.valueHexView);
    match = certificates.find((c) => subjectKeyIdentifier(c.certificate)?.equals(keyId) === true);
  }
  if (match === undefined) throw new CmsError("signer_certificate_not_found", "No certificate in the SignedData matches the SignerInfo's sid");
  return match;
}

function subjectKeyIdentifier(x509: X509Certificate): Buffer | undefined {
  let certificate: pkijs.Certificate;
  try {
    certificate = pkijs.Certificate.fromBER(x509.raw);
  } catch {
    return undefined;
  }
  const extension = certificate.extensions?.find((e) => e.extnID === "2.5.29.14");
  const parsed: unknown = extension?.parsedValue;
  return parsed instanceof asn1js.OctetString ? Buffer.from(parsed.valueBlock.valueHexView) : undefined;
}

function encapsulatedContent(info: pkijs.EncapsulatedContentInfo): Buffer | undefined {
  if (info.eContent === undefined) return undefined;
  if (!(info.eContent instanceof asn1js.OctetString)) throw new CmsError("malformed", "eContent is not an OCTET STRING");
  return octetStringValue(info.eContent);
}

/** An OCTET STRING's value, joining the segments of a BER constructed one. */
function octetStringValue(block: asn1js.OctetString): Buffer {
  if (!block.idBlock.isConstructed) return Buffer.from(block.valueBlock.valueHexView);
  return Buffer.concat(
    block.valueBlock.value.map((part) => {
      if (!(part instanceof asn1js.OctetString)) throw new CmsError("malformed", "A constructed OCTET STRING holds something else");
      return octetStringValue(part);
    }),
  );
}

function readSignedAttributes(signerInfo: pkijs.SignerInfo): { der: Buffer; attributes: CmsAttribute[] } | undefined {
  if (signerInfo.signedAttrs === undefined) return undefined;
  // pkijs keeps the attributes' bytes as received, with the [0] tag already turned into SET (RFC 5652 §5.4).
  const der = Buffer.from(signerInfo.signedAttrs.encodedValue);
  const attributes = attributeList(der);
  if (attributes.length === 0) throw new CmsError("malformed", "signedAttrs is empty");
  return { der, attributes };
}

function readUnsignedAttributes(signerInfo: pkijs.SignerInfo): CmsAttribute[] {
  if (signerInfo.unsignedAttrs === undefined) return [];
  const der = Buffer.from(signerInfo.unsignedAttrs.encodedValue);
  return attributeList(der);
}

function attributeList(setDer: Buffer): CmsAttribute[] {
  const set = decodeBer(setDer);
  if (!(set instanceof asn1js.Constructed)) throw new CmsError("malformed", "Attributes do not parse");
  return set.valueBlock.value.map((block) => {
    const attribute = attributeFromAsn1(block);
    if (attribute === undefined || attribute.values.length === 0) throw new CmsError("malformed", "An attribute does not parse");
    return attribute;
  });
}

/** The single value of a signed attribute that RFC 5652 §11 allows once, with one value; undefined when absent. */
function singleValue(attributes: readonly CmsAttribute[], type: string, name: string): Uint8Array | undefined {
  const found = attributes.filter((attribute) => attribute.type === type);
  if (found.length === 0) return undefined;
  if (found.length > 1 || found[0]?.values.length !== 1) {
    throw new CmsError("malformed", `The ${name} attribute must appear once with one value`);
  }
  return found[0].values[0];
}

function checkContentTypeAndDigest(
  attributes: readonly CmsAttribute[],
  contentType: string,
  content: readonly Uint8Array[],
  digestAlgorithm: DigestAlgorithm,
): void {
  const typeValue = singleValue(attributes, ATTRIBUTE_OID.contentType, "content-type");
  const digestValue = singleValue(attributes, ATTRIBUTE_OID.messageDigest, "message-digest");
  if (typeValue === undefined || digestValue === undefined) {
    throw new CmsError("malformed", "Signed attributes must include content-type and message-digest (RFC 5652 §5.3)");
  }
  const type = decodeBer(typeValue);
  if (!(type instanceof asn1js.ObjectIdentifier) || type.valueBlock.toString() !== contentType) {
    throw new CmsError("malformed", "The content-type attribute differs from eContentType (RFC 5652 §11.1)");
  }
  const digest = decodeBer(digestValue);
  if (!(digest instanceof asn1js.OctetString)) throw new CmsError("malformed", "The message-digest attribute is not an OCTET STRING");
  const hash = createHash(NODE_DIGEST_NAME[digestAlgorithm]);
  for (const chunk of content) hash.update(chunk);
  if (!hash.digest().equals(octetStringValue(digest))) {
    throw new CmsError("digest_mismatch", "The content's digest differs from the signed message-digest: the content was altered");
  }
}

/**
 * RFC 6211 §3: when the signer protected its algorithm choice, the
 * protected identifiers must be the ones used.
 *
 *   CMSAlgorithmProtection ::= SEQUENCE { digestAlgorithm, signatureAlgorithm [1] IMPLICIT OPTIONAL, macAlgorithm [2] IMPLICIT OPTIONAL }
 */
function checkAlgorithmProtection(attributes: readonly CmsAttribute[], signerInfo: pkijs.SignerInfo): void {
  const value = singleValue(attributes, ATTRIBUTE_OID.cmsAlgorithmProtection, "CMSAlgorithmProtection");
  if (value === undefined) return;
  const protection = decodeBer(value);
  if (!(protection instanceof asn1js.Sequence)) throw new CmsError("malformed", "CMSAlgorithmProtection does not parse");
  const [digest, ...rest] = protection.valueBlock.value;
  const signature = rest.find((block) => block.idBlock.tagClass === 3 && block.idBlock.tagNumber === 1);
  const digestOid = digest instanceof asn1js.Sequence ? firstOid(digest) : undefined;
  const signatureOid = signature instanceof asn1js.Constructed ? firstOid(signature) : undefined;
  if (digestOid !== signerInfo.digestAlgorithm.algorithmId || signatureOid !== signerInfo.signatureAlgorithm.algorithmId) {
    throw new CmsError("bad_signature", "The algorithms used differ from the ones the signer protected (RFC 6211)");
  }
}

function firstOid(block: asn1js.Constructed): string | undefined {
  const first = block.valueBlock.value[0];
  return first instanceof asn1js.ObjectIdentifier ? first.valueBlock.toString() : undefined;
}

/**
 * RFC 5035 §5.4 / RFC 2634 §5.4: the first ESSCertID(v2) of a
 * signing-certificate(-v2) attribute must be the signer's certificate — its
 * hash, and its issuer and serial number when given. Returns whether a
 * signing-certificate-v2 attribute is present.
 */
function checkSigningCertificate(attributes: readonly CmsAttribute[], certificate: X509Certificate): boolean {
  const v2 = singleValue(attributes, ATTRIBUTE_OID.signingCertificateV2, "signing-certificate-v2");
  const v1 = singleValue(attributes, ATTRIBUTE_OID.signingCertificate, "signing-certificate");
  if (v2 !== undefined) checkEssCertId(v2, certificate, true);
  if (v1 !== undefined) checkEssCertId(v1, certificate, false);
  return v2 !== undefined;
}

function checkEssCertId(value: Uint8Array, certificate: X509Certificate, v2: boolean): void {
  const name = v2 ? "signing-certificate-v2" : "signing-certificate";
  const attribute = decodeBer(value);
  const certs = attribute instanceof asn1js.Sequence ? attribute.valueBlock.value[0] : undefined;
  const certId = certs instanceof asn1js.Sequence ? certs.valueBlock.value[0] : undefined;
  if (!(certId instanceof asn1js.Sequence)) throw new CmsError("malformed", `The ${name} attribute does not parse`);
  const fields = [...certId.valueBlock.value];
  // ESSCertIDv2: hashAlgorithm DEFAULT sha256 comes first when present; ESSCertID always uses SHA-1.
  let digestOid: string = v2 ? DIGEST_OID["SHA-256"] : DIGEST_OID["SHA-1"];
  if (v2 && fields[0] instanceof asn1js.Sequence) {
    digestOid = firstOid(fields.shift() as asn1js.Sequence) ?? "";
  }
  const [hashBlock, issuerSerial] = fields;
  if (!(hashBlock instanceof asn1js.OctetString)) throw new CmsError("malformed", `The ${name} attribute has no certHash`);
  // SHA-1 is acceptable here: it identifies a certificate the signature already binds, it signs nothing.
  const digest = digestOid === DIGEST_OID["SHA-1"] ? "sha1" : NODE_DIGEST_NAME[digestAlgorithmFromOid(digestOid) as DigestAlgorithm];
  if (digest === undefined) throw new CmsError("unsupported", `The ${name} attribute uses hash ${digestOid}`);
  if (!createHash(digest).update(certificate.raw).digest().equals(octetStringValue(hashBlock))) {
    throw new CmsError("signing_certificate_mismatch", `The ${name} attribute designates another certificate than the signer's`);
  }
  if (issuerSerial === undefined) return;
  // IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber }, the issuer as a directoryName [4].
  const expected = issuerAndSerialNumberOf(certificate);
  const [generalNames, serial] = issuerSerial instanceof asn1js.Sequence ? issuerSerial.valueBlock.value : [];
  const directoryNames =
    generalNames instanceof asn1js.Sequence
      ? generalNames.valueBlock.value.filter((n) => n.idBlock.tagClass === 3 && n.idBlock.tagNumber === 4)
      : [];
  const issuerMatches = directoryNames.some(
    (n) => n instanceof asn1js.Constructed && n.valueBlock.value[0] !== undefined && Buffer.from(n.valueBlock.value[0].valueBeforeDecodeView).equals(expected.issuer),
  );
  const serialMatches = serial instanceof asn1js.Integer && Buffer.from(serial.valueBeforeDecodeView).equals(expected.serialNumber);
  if (!issuerMatches || !serialMatches) {
    throw new CmsError("signing_certificate_mismatch", `The ${name} attribute's issuer and serial number are not the signer's`);
  }
}

function readSigningTime(attributes: readonly CmsAttribute[]): Date | undefined {
  const value = singleValue(attributes, ATTRIBUTE_OID.signingTime, "signing-time");
  if (value === undefined) return undefined;
  const time = decodeBer(value);
  if (time instanceof asn1js.UTCTime || time instanceof asn1js.GeneralizedTime) return time.toDate();
  throw new CmsError("malformed", "The signing-time attribute is not a UTCTime or GeneralizedTime");
}

/** Signer first, then each issuer found among the carried certificates, stopping at a self-issued one. */
function buildChain(signer: X509Certificate, carried: readonly X509Certificate[]): X509Certificate[] {
  const chain = [signer];
  let current = signer;
  while (!current.checkIssued(current) && chain.length <= carried.length) {
    const subject = current;
    const issuer = carried.find((candidate) => !chain.includes(candidate) && issuedBy(subject, candidate));
    if (issuer === undefined) break;
    chain.push(issuer);
    current = issuer;
  }
  return chain;
}

function issuedBy(subject: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return subject.checkIssued(issuer) && subject.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

function contentChunks(content: unknown): readonly Uint8Array[] {
  if (content instanceof Uint8Array) return [content];
  if (Array.isArray(content) && content.every((chunk) => chunk instanceof Uint8Array)) return content as Uint8Array[];
  throw new TypeError("options.content must be a Uint8Array or an array of them");
}
