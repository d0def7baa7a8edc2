/**
 * Reading a time-stamp token (RFC 3161 §2.4.2): a CMS ContentInfo holding a
 * SignedData whose encapsulated content is a DER TSTInfo. Parsing checks the
 * structure only; `verifyTimestampToken` decides whether to believe it.
 *
 * The token is read once, with the offset-keeping BER reader
 * (../cms/ber-reader.ts), not through asn1js/pkijs objects: a verifier needs
 * a dozen fields and the exact bytes that the signature and the hashes cover,
 * and building the object tree of a 3 kB token cost more than the TSA's RSA
 * signature itself. BER (indefinite lengths, a constructed eContent) is read
 * as well as DER, as RFC 5652 §1 asks of a CMS reader.
 *
 * @example
 * ```ts
 * const token = parseTimestampToken(der);
 * console.log(token.genTime, token.serialNumber, token.policy);
 * ```
 */
import { X509Certificate } from "node:crypto";
import {
  UNIVERSAL,
  booleanValue,
  contentOf,
  encodingOf,
  generalizedTime,
  integerValue,
  isContext,
  isUniversal,
  oidText,
  readBer,
  smallInteger,
  stringContent,
  type BerElement,
} from "../cms/ber-reader.js";
import { readCertificateFields, type CertificateFields } from "./certificate-fields.js";
import { OID } from "./der.js";
import { TimestampError } from "./errors.js";
import { hashAlgorithmByOid, type TimestampHashAlgorithm } from "./hash-algorithms.js";

/** RFC 3161 §2.4.2 Accuracy; absent fields are 0. */
export interface TimestampAccuracy {
  seconds: number;
  millis: number;
  micros: number;
}

/** What a token claims, before any verification. */
export interface ParsedTimestampToken {
  /** The token as given: DER ContentInfo (SignedData). */
  der: Buffer;
  policy: string;
  /** TSTInfo serialNumber, upper-case hexadecimal (as `node:crypto` prints certificate serials). */
  serialNumber: string;
  genTime: Date;
  accuracy: TimestampAccuracy | undefined;
  ordering: boolean;
  nonce: bigint | undefined;
  hashAlgorithmOid: string;
  /** Undefined when the imprint uses an algorithm this module refuses (SHA-1, MD5…). */
  hashAlgorithm: TimestampHashAlgorithm | undefined;
  /** The hashedMessage of the TSTInfo messageImprint. */
  messageImprint: Buffer;
  /** The certificates the token carries (RFC 3161 §2.4.1: present when the request set certReq). */
  certificates: X509Certificate[];
}

/** A certificate, as node:crypto sees it and with the fields node:crypto does not expose. */
export interface DecodedCertificate {
  node: X509Certificate;
  fields: CertificateFields;
}

/** `AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL }` (RFC 5280 §4.1.1.2). */
export interface DecodedAlgorithm {
  oid: string;
  parameters: BerElement | undefined;
}

/** One attribute of a SignerInfo: its type and each value's element (RFC 5652 §5.3). */
export interface DecodedAttribute {
  type: string;
  values: readonly BerElement[];
}

/** The token's SignerInfo (RFC 5652 §5.3), its parts located in the token's bytes. */
export interface DecodedSignerInfo {
  sid: { issuer: Buffer; serialNumber: Buffer } | { subjectKeyIdentifier: Buffer };
  digestAlgorithm: DecodedAlgorithm;
  /** Undefined when the SignerInfo has none. */
  signedAttributes: readonly DecodedAttribute[] | undefined;
  /** What the signature covers: the signed attributes' encoding with the SET OF tag (RFC 5652 §5.4). */
  signedAttributesDer: Buffer | undefined;
  signatureAlgorithm: DecodedAlgorithm;
  signature: Buffer;
}

/** `GeneralName` (RFC 5280 §4.2.1.6) as the TSTInfo's `tsa` field holds it: the CHOICE's tag number and the element under it. */
export interface DecodedGeneralName {
  type: number;
  element: BerElement;
}

/** The parts verification needs, kept out of the public type. */
export interface DecodedTimestampToken {
  parsed: ParsedTimestampToken;
  tsa: DecodedGeneralName | undefined;
  /** The DER TSTInfo the signature covers (the eContent octets). */
  eContent: Buffer;
  signerInfo: DecodedSignerInfo;
  certificates: DecodedCertificate[];
}

function malformed(detail: string, cause?: unknown): TimestampError {
  return new TimestampError({ reason: "malformed", detail, ...(cause === undefined ? {} : { cause }) });
}

/** Limits for untrusted tokens: a token is a few kilobytes of shallow structure. */
const LIMITS = { maxDepth: 40, maxElements: 20_000 } as const;

/** Parses a token, throwing a `TimestampError` (reason `malformed`) when it is not a well-formed one. Internal. */
export function decodeTimestampToken(der: Uint8Array): DecodedTimestampToken {
  if (!(der instanceof Uint8Array)) throw new TypeError("A time-stamp token is given as bytes (Buffer / Uint8Array)");
  const copy = Buffer.from(der);
  const root = readBer(copy, LIMITS);
  if (root === undefined) throw malformed("The time-stamp token is not DER");
  const signedData = signedDataOf(root);
  if (signedData === undefined) throw malformed("The time-stamp token is not a CMS SignedData");
  const { encapContentInfo, certificateSet, signerInfos } = signedData;

  const [eContentType, explicitContent, ...extraContent] = encapContentInfo.children;
  const contentType = isUniversal(eContentType, UNIVERSAL.OID) ? oidText(eContentType) : undefined;
  if (contentType !== OID.tstInfo) throw malformed(`The token's content type is ${contentType ?? "unreadable"}, not id-ct-TSTInfo`);
  // RFC 3161 §2.4.2: "The time-stamp token MUST NOT contain any signatures other than the signature of the TSA."
  const [signerInfoElement, ...others] = signerInfos.children;
  if (signerInfoElement === undefined || others.length > 0) {
    throw malformed(`The token must have exactly one signer, found ${signerInfos.children.length}`);
  }
  const eContentElement = isContext(explicitContent, 0, true) && explicitContent.children.length === 1 ? explicitContent.children[0] : undefined;
  const eContent = isUniversal(eContentElement, UNIVERSAL.OCTET_STRING) && extraContent.length === 0 ? stringContent(eContentElement) : undefined;
  if (eContent === undefined) throw malformed("The token has no encapsulated TSTInfo");
  const signerInfo = decodeSignerInfo(signerInfoElement);
  if (signerInfo === undefined) throw malformed("The time-stamp token is not a CMS SignedData");

  const tstInfo = decodeTstInfo(Buffer.from(eContent));
  const certificates = certificateSet === undefined ? [] : carriedCertificates(certificateSet);
  return {
    parsed: {
      der: copy,
      policy: tstInfo.policy,
      serialNumber: tstInfo.serialNumber,
      genTime: tstInfo.genTime,
      accuracy: tstInfo.accuracy,
      ordering: tstInfo.ordering,
      nonce: tstInfo.nonce,
      hashAlgorithmOid: tstInfo.hashAlgorithmOid,
      hashAlgorithm: hashAlgorithmByOid(tstInfo.hashAlgorithmOid)?.name,
      messageImprint: tstInfo.messageImprint,
      certificates: certificates.map((certificate) => certificate.node),
    },
    tsa: tstInfo.tsa,
    eContent: Buffer.from(eContent),
    signerInfo,
    certificates,
  };
}

/**
 * `ContentInfo ::= SEQUENCE { contentType, content [0] EXPLICIT }` holding
 * `SignedData ::= SEQUENCE { version, digestAlgorithms SET, encapContentInfo,
 * certificates [0] IMPLICIT OPTIONAL, crls [1] IMPLICIT OPTIONAL, signerInfos SET }`
 * (RFC 5652 §3, §5.1).
 */
function signedDataOf(root: BerElement): { encapContentInfo: BerElement; certificateSet: BerElement | undefined; signerInfos: BerElement } | undefined {
  const [contentType, explicit, ...rest] = root.children;
  if (!isUniversal(root, UNIVERSAL.SEQUENCE) || rest.length > 0 || !isUniversal(contentType, UNIVERSAL.OID) || oidText(contentType) !== OID.signedData) {
    return undefined;
  }
  const signedData = isContext(explicit, 0, true) && explicit.children.length === 1 ? explicit.children[0] : undefined;
  if (!isUniversal(signedData, UNIVERSAL.SEQUENCE)) return undefined;
  const [version, digestAlgorithms, encapContentInfo, ...tail] = signedData.children;
  const signerInfos = tail.pop();
  if (!isUniversal(version, UNIVERSAL.INTEGER) || smallInteger(version) === undefined || !isUniversal(digestAlgorithms, UNIVERSAL.SET)) return undefined;
  if (!digestAlgorithms.children.every((algorithm) => decodeAlgorithm(algorithm) !== undefined)) return undefined;
  if (!isUniversal(encapContentInfo, UNIVERSAL.SEQUENCE) || !isUniversal(signerInfos, UNIVERSAL.SET)) return undefined;
  let certificateSet: BerElement | undefined;
  let optional = 0;
  if (isContext(tail[optional], 0, true)) certificateSet = tail[optional++];
  if (isContext(tail[optional], 1, true)) optional++;
  if (optional !== tail.length) return undefined;
  return { encapContentInfo, certificateSet, signerInfos };
}

function decodeAlgorithm(element: BerElement | undefined): DecodedAlgorithm | undefined {
  if (!isUniversal(element, UNIVERSAL.SEQUENCE) || element.children.length > 2) return undefined;
  const [algorithm, parameters] = element.children;
  const oid = isUniversal(algorithm, UNIVERSAL.OID) ? oidText(algorithm) : undefined;
  return oid === undefined ? undefined : { oid, parameters };
}

/** `Attribute ::= SEQUENCE { attrType OID, attrValues SET OF AttributeValue }` in a [0] or [1] IMPLICIT SET. */
function decodeAttributes(element: BerElement): DecodedAttribute[] | undefined {
  const attributes: DecodedAttribute[] = [];
  for (const attribute of element.children) {
    const [type, values, ...rest] = attribute.children;
    const oid = isUniversal(type, UNIVERSAL.OID) ? oidText(type) : undefined;
    if (!isUniversal(attribute, UNIVERSAL.SEQUENCE) || oid === undefined || !isUniversal(values, UNIVERSAL.SET) || rest.length > 0) return undefined;
    attributes.push({ type: oid, values: values.children });
  }
  return attributes;
}

/**
 * `SignerInfo ::= SEQUENCE { version, sid, digestAlgorithm, signedAttrs [0] IMPLICIT OPTIONAL,
 * signatureAlgorithm, signature OCTET STRING, unsignedAttrs [1] IMPLICIT OPTIONAL }` (RFC 5652 §5.3).
 */
function decodeSignerInfo(element: BerElement): DecodedSignerInfo | undefined {
  if (!isUniversal(element, UNIVERSAL.SEQUENCE)) return undefined;
  const fields = [...element.children];
  const version = fields.shift();
  if (!isUniversal(version, UNIVERSAL.INTEGER) || smallInteger(version) === undefined) return undefined;
  const sidElement = fields.shift();
  let sid: DecodedSignerInfo["sid"];
  if (isUniversal(sidElement, UNIVERSAL.SEQUENCE)) {
    // IssuerAndSerialNumber ::= SEQUENCE { issuer Name, serialNumber INTEGER }
    const [issuer, serialNumber, ...rest] = sidElement.children;
    if (!isUniversal(issuer, UNIVERSAL.SEQUENCE) || !isUniversal(serialNumber, UNIVERSAL.INTEGER) || rest.length > 0) return undefined;
    sid = { issuer: encodingOf(issuer), serialNumber: contentOf(serialNumber) };
  } else if (isContext(sidElement, 0, false)) {
    // subjectKeyIdentifier [0] IMPLICIT OCTET STRING
    sid = { subjectKeyIdentifier: contentOf(sidElement) };
  } else {
    return undefined;
  }
  const digestAlgorithm = decodeAlgorithm(fields.shift());
  if (digestAlgorithm === undefined) return undefined;
  let signedAttributes: DecodedAttribute[] | undefined;
  let signedAttributesDer: Buffer | undefined;
  if (isContext(fields[0], 0, true)) {
    const signedAttrs = fields.shift() as BerElement;
    signedAttributes = decodeAttributes(signedAttrs);
    if (signedAttributes === undefined) return undefined;
    // RFC 5652 §5.4: the signature covers the attributes with the SET OF tag, not the [0] of the SignerInfo.
    signedAttributesDer = Buffer.from(encodingOf(signedAttrs));
    signedAttributesDer[0] = 0x31;
  }
  const signatureAlgorithm = decodeAlgorithm(fields.shift());
  const signature = fields.shift();
  if (signatureAlgorithm === undefined || !isUniversal(signature, UNIVERSAL.OCTET_STRING)) return undefined;
  const signatureValue = stringContent(signature);
  if (signatureValue === undefined) return undefined;
  if (isContext(fields[0], 1, true)) fields.shift();
  if (fields.length > 0) return undefined;
  return { sid, digestAlgorithm, signedAttributes, signedAttributesDer, signatureAlgorithm, signature: signatureValue };
}

/** The TSTInfo fields a parsed token reports, and the TSA name its verification checks. */
type DecodedTstInfo = Pick<
  ParsedTimestampToken,
  "policy" | "serialNumber" | "genTime" | "accuracy" | "ordering" | "nonce" | "hashAlgorithmOid" | "messageImprint"
> & { tsa: DecodedGeneralName | undefined };

/**
 * `TSTInfo ::= SEQUENCE { version INTEGER { v1(1) }, policy, messageImprint, serialNumber INTEGER,
 * genTime GeneralizedTime, accuracy Accuracy OPTIONAL, ordering BOOLEAN DEFAULT FALSE,
 * nonce INTEGER OPTIONAL, tsa [0] GeneralName OPTIONAL, extensions [1] IMPLICIT Extensions OPTIONAL }`
 * (RFC 3161 §2.4.2).
 */
function decodeTstInfo(der: Buffer): DecodedTstInfo {
  const root = readBer(der, LIMITS);
  if (root === undefined || !isUniversal(root, UNIVERSAL.SEQUENCE)) throw malformed("The token's TSTInfo cannot be parsed");
  const fields = [...root.children];
  const version = fields.shift();
  if (!isUniversal(version, UNIVERSAL.INTEGER)) throw malformed("The token's TSTInfo cannot be parsed");
  if (smallInteger(version) !== 1) throw malformed(`Unsupported TSTInfo version ${integerValue(version) ?? "?"}`);
  const policyElement = fields.shift();
  const policy = isUniversal(policyElement, UNIVERSAL.OID) ? oidText(policyElement) : undefined;
  if (policy === undefined) throw malformed("The token's TSTInfo has no policy");

  // MessageImprint ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, hashedMessage OCTET STRING }
  const imprint = fields.shift();
  const [imprintAlgorithm, hashedMessage, ...imprintRest] = imprint?.children ?? [];
  const hashAlgorithm = decodeAlgorithm(imprintAlgorithm);
  const messageImprint = isUniversal(hashedMessage, UNIVERSAL.OCTET_STRING) ? stringContent(hashedMessage) : undefined;
  if (!isUniversal(imprint, UNIVERSAL.SEQUENCE) || hashAlgorithm === undefined || messageImprint === undefined || imprintRest.length > 0) {
    throw malformed("The token's TSTInfo cannot be parsed");
  }
  const serial = fields.shift();
  if (!isUniversal(serial, UNIVERSAL.INTEGER) || serial.contentEnd === serial.contentStart) throw malformed("The token's TSTInfo cannot be parsed");
  const genTimeElement = fields.shift();
  const genTime = isUniversal(genTimeElement, UNIVERSAL.GENERALIZED_TIME) ? generalizedTime(genTimeElement) : undefined;
  if (genTime === undefined) throw malformed("The token's genTime is not a valid time");

  let accuracy: TimestampAccuracy | undefined;
  if (isUniversal(fields[0], UNIVERSAL.SEQUENCE)) accuracy = decodeAccuracy(fields.shift() as BerElement);
  let ordering = false;
  if (isUniversal(fields[0], UNIVERSAL.BOOLEAN)) {
    const value = booleanValue(fields.shift() as BerElement);
    if (value === undefined) throw malformed("The token's TSTInfo cannot be parsed");
    ordering = value;
  }
  let nonce: bigint | undefined;
  if (isUniversal(fields[0], UNIVERSAL.INTEGER)) {
    nonce = integerValue(fields.shift() as BerElement);
    if (nonce === undefined) throw malformed("The token's TSTInfo cannot be parsed");
    if (nonce < 0n) throw malformed("The token's nonce is negative");
  }
  let tsa: DecodedGeneralName | undefined;
  if (isContext(fields[0], 0, true)) {
    // tsa [0] GeneralName: EXPLICIT, GeneralName being a CHOICE.
    const name = (fields.shift() as BerElement).children;
    const choice = name[0];
    if (name.length !== 1 || choice === undefined || choice.tagClass !== 2) throw malformed("The token's tsa name cannot be parsed");
    tsa = { type: choice.tagNumber, element: choice };
  }
  if (isContext(fields[0], 1, true)) fields.shift();
  if (fields.length > 0) throw malformed("The token's TSTInfo cannot be parsed");
  return {
    policy,
    serialNumber: contentOf(serial).toString("hex").toUpperCase(),
    genTime,
    accuracy,
    ordering,
    nonce,
    hashAlgorithmOid: hashAlgorithm.oid,
    messageImprint: Buffer.from(messageImprint),
    tsa,
  };
}

/** `Accuracy ::= SEQUENCE { seconds INTEGER OPTIONAL, millis [0] IMPLICIT INTEGER OPTIONAL, micros [1] IMPLICIT INTEGER OPTIONAL }`. */
function decodeAccuracy(element: BerElement): TimestampAccuracy {
  const accuracy = { seconds: 0, millis: 0, micros: 0 };
  const fields = [...element.children];
  const read = (field: BerElement | undefined): number => {
    const value = field === undefined || field.constructed ? undefined : smallInteger(field);
    if (value === undefined) throw malformed("The token's accuracy cannot be parsed");
    return value;
  };
  if (isUniversal(fields[0], UNIVERSAL.INTEGER)) accuracy.seconds = read(fields.shift());
  if (isContext(fields[0], 0, false)) accuracy.millis = read(fields.shift());
  if (isContext(fields[0], 1, false)) accuracy.micros = read(fields.shift());
  if (fields.length > 0) throw malformed("The token's accuracy cannot be parsed");
  return accuracy;
}

/** `certificates [0] IMPLICIT CertificateSet` of a SignedData, each as the exact bytes it was sent in. */
function carriedCertificates(set: BerElement): DecodedCertificate[] {
  const certificates: DecodedCertificate[] = [];
  for (const choice of set.children) {
    // CertificateChoices (RFC 5652 §10.2.2): only the plain X.509 certificate (a SEQUENCE) concerns us.
    if (!isUniversal(choice, UNIVERSAL.SEQUENCE)) continue;
    const raw = Buffer.from(encodingOf(choice));
    let node: X509Certificate;
    try {
      node = new X509Certificate(raw);
    } catch (error) {
      throw malformed("The token carries a certificate that cannot be parsed", error);
    }
    const fields = readCertificateFields(raw);
    if (fields === undefined) throw malformed("The token carries a certificate that cannot be parsed");
    certificates.push({ node, fields });
  }
  return certificates;
}

/** A certificate given by the caller, with the fields verification needs; undefined when it cannot be read. */
export function decodeCertificate(certificate: X509Certificate): DecodedCertificate | undefined {
  const fields = readCertificateFields(certificate.raw);
  return fields === undefined ? undefined : { node: certificate, fields };
}

/**
 * Reads a time-stamp token without verifying it — for display, or to learn
 * its hash algorithm before hashing the data. Throws a `TimestampError`
 * (reason `malformed`) if it is not a well-formed token.
 */
export function parseTimestampToken(der: Uint8Array): ParsedTimestampToken {
  return decodeTimestampToken(der).parsed;
}

/** The accuracy in milliseconds (0 when the token gives none). */
export function accuracyMs(accuracy: TimestampAccuracy | undefined): number {
  if (accuracy === undefined) return 0;
  return accuracy.seconds * 1000 + accuracy.millis + accuracy.micros / 1000;
}
