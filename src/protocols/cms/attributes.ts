/**
 * CMS attributes (RFC 5652 §5.3 `Attribute`), in a library-neutral shape,
 * and the builders of the signed attributes this module writes.
 */
import { createHash, type X509Certificate } from "node:crypto";
import * as asn1js from "asn1js";
import { NODE_DIGEST_NAME, type DigestAlgorithm } from "./algorithms.js";
import { readBer } from "./ber-reader.js";
import { TAG, decodeBer, encodeOid, encodeTlv, readChildren, readTlv, sortSetOf } from "./der.js";
import { ATTRIBUTE_OID, DIGEST_OID } from "./oids.js";

/**
 * One attribute: its type and the DER encoding of each AttributeValue.
 * Values are kept as bytes so that whatever the signer put there is carried
 * (and, for signed attributes, signed) exactly as given.
 */
export interface CmsAttribute {
  /** Dotted OID of the attribute type. */
  type: string;
  /** DER of each value (at least one, RFC 5652 §5.3). */
  values: readonly Uint8Array[];
}

const DOTTED_OID = /^[0-2](\.(0|[1-9]\d*))+$/;

/** Throws TypeError unless `attribute` is a well-formed CmsAttribute (caller input). */
export function assertAttribute(attribute: CmsAttribute, where: string): void {
  if (attribute === null || typeof attribute !== "object" || !DOTTED_OID.test(String(attribute.type))) {
    throw new TypeError(`${where}: an attribute needs a dotted OID type`);
  }
  if (!Array.isArray(attribute.values) || attribute.values.length === 0) {
    throw new TypeError(`${where}: attribute ${attribute.type} needs at least one value`);
  }
  for (const value of attribute.values) {
    if (!(value instanceof Uint8Array) || readBer(value) === undefined) {
      throw new TypeError(`${where}: each value of attribute ${attribute.type} must be one DER element`);
    }
  }
}

/** DER of `Attribute ::= SEQUENCE { attrType OID, attrValues SET OF AttributeValue }`. */
export function encodeAttribute(attribute: CmsAttribute): Buffer {
  return encodeTlv(TAG.SEQUENCE, encodeOid(attribute.type), encodeTlv(TAG.SET, ...sortSetOf(attribute.values)));
}

/** The DER encoding of the SET OF attributes over which the signature is computed (RFC 5652 §5.4). */
export function encodeAttributeSet(attributes: readonly CmsAttribute[]): Buffer {
  return encodeTlv(TAG.SET, ...sortSetOf(attributes.map(encodeAttribute)));
}

/** Reads an Attribute's DER back into a CmsAttribute, keeping each value's bytes. */
export function attributeFromAsn1(block: asn1js.AsnType): CmsAttribute | undefined {
  const bytes = Buffer.from(block.valueBeforeDecodeView);
  const sequence = readTlv(bytes, 0);
  const parts = sequence && sequence.tag === TAG.SEQUENCE ? readChildren(bytes, sequence) : undefined;
  if (parts?.length !== 2 || parts[0]?.tag !== TAG.OID || parts[1]?.tag !== TAG.SET) {
    return attributeFromAsn1Ber(block);
  }
  const oid = decodeBer(bytes.subarray(parts[0].start, parts[0].end));
  const values = readChildren(bytes, parts[1]);
  if (!(oid instanceof asn1js.ObjectIdentifier) || values === undefined) return undefined;
  return { type: oid.valueBlock.toString(), values: values.map((v) => bytes.subarray(v.start, v.end)) };
}

/** The same for BER input (indefinite lengths), where byte offsets cannot be read directly. */
function attributeFromAsn1Ber(block: asn1js.AsnType): CmsAttribute | undefined {
  if (!(block instanceof asn1js.Sequence)) return undefined;
  const [type, set] = block.valueBlock.value;
  if (!(type instanceof asn1js.ObjectIdentifier) || !(set instanceof asn1js.Set)) return undefined;
  return { type: type.valueBlock.toString(), values: set.valueBlock.value.map((v) => Buffer.from(v.valueBeforeDecodeView)) };
}

/** RFC 5652 §11.1 content-type: the eContentType, repeated under the signature. */
export function contentTypeAttribute(contentType: string): CmsAttribute {
  return { type: ATTRIBUTE_OID.contentType, values: [encodeOid(contentType)] };
}

/** RFC 5652 §11.2 message-digest. */
export function messageDigestAttribute(digest: Uint8Array): CmsAttribute {
  return { type: ATTRIBUTE_OID.messageDigest, values: [encodeTlv(TAG.OCTET_STRING, digest)] };
}

/**
 * RFC 5652 §11.3 signing-time: UTCTime for 1950–2049, GeneralizedTime
 * otherwise, to the second (DER forbids fractional zeros, and nobody needs
 * the milliseconds of a claimed signing time).
 */
export function signingTimeAttribute(time: Date): CmsAttribute {
  const seconds = new Date(Math.floor(time.getTime() / 1000) * 1000);
  const year = seconds.getUTCFullYear();
  const value =
    year >= 1950 && year < 2050
      ? new asn1js.UTCTime({ valueDate: seconds })
      : new asn1js.GeneralizedTime({ valueDate: seconds });
  return { type: ATTRIBUTE_OID.signingTime, values: [Buffer.from(value.toBER(false))] };
}

/**
 * RFC 5035 §3 / ETSI EN 319 122-1 §5.2.2 signing-certificate-v2:
 *
 *   SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2 }
 *   ESSCertIDv2 ::= SEQUENCE {
 *     hashAlgorithm AlgorithmIdentifier DEFAULT {algorithm id-sha256},
 *     certHash OCTET STRING,
 *     issuerSerial IssuerSerial OPTIONAL }
 *
 * DER omits a field equal to its DEFAULT, so SHA-256 leaves hashAlgorithm
 * out. issuerSerial is written, as EN 319 122-1 recommends, so a verifier can
 * tell two certificates with the same key apart.
 */
export function signingCertificateV2Attribute(certificate: X509Certificate, digest: DigestAlgorithm): CmsAttribute {
  const certHash = createHash(NODE_DIGEST_NAME[digest]).update(certificate.raw).digest();
  const { issuer, serialNumber } = issuerAndSerialNumberOf(certificate);
  // IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber } — GeneralNames holds one directoryName [4], explicit because Name is a CHOICE.
  const issuerSerial = encodeTlv(TAG.SEQUENCE, encodeTlv(TAG.SEQUENCE, encodeTlv(0xa4, issuer)), serialNumber);
  const hashAlgorithm = digest === "SHA-256" ? [] : [encodeTlv(TAG.SEQUENCE, encodeOid(DIGEST_OID[digest]))];
  const essCertIdV2 = encodeTlv(TAG.SEQUENCE, ...hashAlgorithm, encodeTlv(TAG.OCTET_STRING, certHash), issuerSerial);
  const value = encodeTlv(TAG.SEQUENCE, encodeTlv(TAG.SEQUENCE, essCertIdV2));
  return { type: ATTRIBUTE_OID.signingCertificateV2, values: [value] };
}

/**
 * The DER of a certificate's issuer Name and serialNumber INTEGER, read from
 * its TBSCertificate (RFC 5280 §4.1) without re-encoding.
 */
export function issuerAndSerialNumberOf(certificate: X509Certificate): { issuer: Buffer; serialNumber: Buffer } {
  const der = certificate.raw;
  const outer = readTlv(der, 0);
  const tbs = outer ? readChildren(der, outer)?.[0] : undefined;
  const fields = tbs ? readChildren(der, tbs) : undefined;
  if (fields === undefined) throw new TypeError("Certificate DER does not parse");
  // version [0] EXPLICIT is present for v2/v3 certificates.
  const at = fields[0]?.tag === TAG.CONTEXT_0 ? 1 : 0;
  const serial = fields[at];
  const issuer = fields[at + 2];
  if (serial?.tag !== TAG.INTEGER || issuer?.tag !== TAG.SEQUENCE) throw new TypeError("Certificate DER does not parse");
  return { issuer: der.subarray(issuer.start, issuer.end), serialNumber: der.subarray(serial.start, serial.end) };
}
