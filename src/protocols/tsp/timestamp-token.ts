/**
 * Reading a time-stamp token (RFC 3161 §2.4.2): a CMS ContentInfo holding a
 * SignedData whose encapsulated content is a DER TSTInfo. Parsing checks the
 * structure only; `verifyTimestampToken` decides whether to believe it.
 *
 * @example
 * ```ts
 * const token = parseTimestampToken(der);
 * console.log(token.genTime, token.serialNumber, token.policy);
 * ```
 */
import { X509Certificate } from "node:crypto";
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { OID, decodeDer, encodedBytes, integerHex, objectIdentifierText } from "./der.js";
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

/** A carried certificate, as node:crypto and as pkijs see it (pkijs gives the names and extensions in ASN.1 form). */
export interface DecodedCertificate {
  node: X509Certificate;
  asn1: pkijs.Certificate;
}

/** The parts verification needs, kept out of the public type. */
export interface DecodedTimestampToken {
  parsed: ParsedTimestampToken;
  tstInfo: pkijs.TSTInfo;
  /** The DER TSTInfo the signature covers (the eContent octets). */
  eContent: Buffer;
  signerInfo: pkijs.SignerInfo;
  certificates: DecodedCertificate[];
}

function malformed(detail: string, cause?: unknown): TimestampError {
  return new TimestampError({ reason: "malformed", detail, ...(cause === undefined ? {} : { cause }) });
}

/** An OCTET STRING's content, primitive or (BER) constructed. */
function octetStringContent(value: asn1js.AsnType): Buffer | undefined {
  if (!(value instanceof asn1js.OctetString)) return undefined;
  if (!value.idBlock.isConstructed) return Buffer.from(value.valueBlock.valueHexView);
  const parts: Buffer[] = [];
  for (const part of value.valueBlock.value) {
    const content = octetStringContent(part);
    if (content === undefined) return undefined;
    parts.push(content);
  }
  return Buffer.concat(parts);
}

/** `certificates [0] IMPLICIT CertificateSet` of a SignedData, each as the exact bytes it was sent in. */
function carriedCertificates(signedData: asn1js.AsnType): DecodedCertificate[] {
  if (!(signedData instanceof asn1js.Sequence)) return [];
  const set = signedData.valueBlock.value.find(
    (element) => element.idBlock.tagClass === 3 && element.idBlock.tagNumber === 0 && element.idBlock.isConstructed,
  );
  if (!(set instanceof asn1js.Constructed)) return [];
  const certificates: DecodedCertificate[] = [];
  for (const choice of set.valueBlock.value) {
    // CertificateChoices (RFC 5652 §10.2.2): only the plain X.509 certificate (a SEQUENCE) concerns us.
    if (choice.idBlock.tagClass !== 1 || choice.idBlock.tagNumber !== 16) continue;
    const raw = encodedBytes(choice);
    try {
      // From the element already decoded with the token: the certificate's bytes are not parsed twice.
      certificates.push({ node: new X509Certificate(raw), asn1: new pkijs.Certificate({ schema: choice }) });
    } catch (error) {
      throw malformed("The token carries a certificate that cannot be parsed", error);
    }
  }
  return certificates;
}

/** Parses a token, throwing a `TimestampError` (reason `malformed`) when it is not a well-formed one. Internal. */
export function decodeTimestampToken(der: Uint8Array): DecodedTimestampToken {
  if (!(der instanceof Uint8Array)) throw new TypeError("A time-stamp token is given as bytes (Buffer / Uint8Array)");
  const element = decodeDer(der);
  if (element === undefined) throw malformed("The time-stamp token is not DER");
  let contentInfo: pkijs.ContentInfo;
  let signedData: pkijs.SignedData;
  try {
    contentInfo = new pkijs.ContentInfo({ schema: element });
    if (contentInfo.contentType !== OID.signedData) throw new Error(`content type ${contentInfo.contentType}`);
    signedData = new pkijs.SignedData({ schema: contentInfo.content });
  } catch (error) {
    throw malformed("The time-stamp token is not a CMS SignedData", error);
  }
  if (signedData.encapContentInfo.eContentType !== OID.tstInfo) {
    throw malformed(`The token's content type is ${signedData.encapContentInfo.eContentType}, not id-ct-TSTInfo`);
  }
  // RFC 3161 §2.4.2: "The time-stamp token MUST NOT contain any signatures other than the signature of the TSA."
  const [signerInfo, ...others] = signedData.signerInfos;
  if (signerInfo === undefined || others.length > 0) {
    throw malformed(`The token must have exactly one signer, found ${signedData.signerInfos.length}`);
  }
  const eContentValue = signedData.encapContentInfo.eContent;
  const eContent = eContentValue === undefined ? undefined : octetStringContent(eContentValue);
  if (eContent === undefined) throw malformed("The token has no encapsulated TSTInfo");
  const tstInfoElement = decodeDer(eContent);
  let tstInfo: pkijs.TSTInfo;
  try {
    if (tstInfoElement === undefined) throw new Error("not DER");
    tstInfo = new pkijs.TSTInfo({ schema: tstInfoElement });
  } catch (error) {
    throw malformed("The token's TSTInfo cannot be parsed", error);
  }
  if (tstInfo.version !== 1) throw malformed(`Unsupported TSTInfo version ${tstInfo.version}`);
  if (!(tstInfo.genTime instanceof Date) || Number.isNaN(tstInfo.genTime.getTime())) {
    throw malformed("The token's genTime is not a valid time");
  }
  const nonce = tstInfo.nonce?.toBigInt();
  if (nonce !== undefined && nonce < 0n) throw malformed("The token's nonce is negative");

  const policyElement = tstInfoElement instanceof asn1js.Sequence ? tstInfoElement.valueBlock.value[1] : undefined;
  if (!(policyElement instanceof asn1js.ObjectIdentifier)) throw malformed("The token's TSTInfo has no policy");
  const certificates = carriedCertificates(contentInfo.content as asn1js.AsnType);
  const hashAlgorithmOid = tstInfo.messageImprint.hashAlgorithm.algorithmId;
  const accuracy = tstInfo.accuracy;
  return {
    parsed: {
      der: Buffer.from(der),
      policy: objectIdentifierText(policyElement),
      serialNumber: integerHex(tstInfo.serialNumber),
      genTime: tstInfo.genTime,
      accuracy:
        accuracy === undefined
          ? undefined
          : { seconds: accuracy.seconds ?? 0, millis: accuracy.millis ?? 0, micros: accuracy.micros ?? 0 },
      ordering: tstInfo.ordering ?? false,
      nonce,
      hashAlgorithmOid,
      hashAlgorithm: hashAlgorithmByOid(hashAlgorithmOid)?.name,
      messageImprint: Buffer.from(tstInfo.messageImprint.hashedMessage.valueBlock.valueHexView),
      certificates: certificates.map((certificate) => certificate.node),
    },
    tstInfo,
    eContent,
    signerInfo,
    certificates,
  };
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
