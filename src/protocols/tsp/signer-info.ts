/**
 * Verification of the one SignerInfo of a time-stamp token, with node:crypto:
 * the signer's certificate (RFC 5652 §5.3 sid), the signed attributes
 * (content-type and message-digest, RFC 5652 §11.1–11.2; the ESS
 * signing-certificate attribute RFC 3161 §2.4.1 requires, RFC 2634 §5.4 /
 * RFC 5035 §3), and the signature over the DER SET OF signed attributes
 * (RFC 5652 §5.4).
 *
 * pkijs' own `SignedData.verify` is not used: it needs the time-stamped data
 * itself (a verifier may only have its digest), cannot take the signer's
 * certificate from outside the token, and does not check the content-type
 * attribute or the ESS binding.
 */
import { constants, createHash, verify as verifySignature, type KeyObject } from "node:crypto";
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { OID } from "./der.js";
import { TimestampError } from "./errors.js";
import { TIMESTAMP_HASH_ALGORITHMS, describeHashOid, hashAlgorithmByOid, type HashAlgorithmInfo } from "./hash-algorithms.js";
import type { DecodedCertificate } from "./timestamp-token.js";

const RSA_ENCRYPTION = "1.2.840.113549.1.1.1";
const RSASSA_PSS = "1.2.840.113549.1.1.10";
const MGF1 = "1.2.840.113549.1.1.8";

/** Signature algorithms with their implied hash (RFC 5754 §3). */
const SIGNATURE_ALGORITHMS: Readonly<Record<string, { scheme: "rsa-pkcs1" | "ecdsa"; hashOid: string }>> = {
  "1.2.840.113549.1.1.11": { scheme: "rsa-pkcs1", hashOid: TIMESTAMP_HASH_ALGORITHMS["SHA-256"].oid },
  "1.2.840.113549.1.1.12": { scheme: "rsa-pkcs1", hashOid: TIMESTAMP_HASH_ALGORITHMS["SHA-384"].oid },
  "1.2.840.113549.1.1.13": { scheme: "rsa-pkcs1", hashOid: TIMESTAMP_HASH_ALGORITHMS["SHA-512"].oid },
  "1.2.840.10045.4.3.2": { scheme: "ecdsa", hashOid: TIMESTAMP_HASH_ALGORITHMS["SHA-256"].oid },
  "1.2.840.10045.4.3.3": { scheme: "ecdsa", hashOid: TIMESTAMP_HASH_ALGORITHMS["SHA-384"].oid },
  "1.2.840.10045.4.3.4": { scheme: "ecdsa", hashOid: TIMESTAMP_HASH_ALGORITHMS["SHA-512"].oid },
};

function badSignature(detail: string, cause?: unknown): TimestampError {
  return new TimestampError({ reason: "bad-signature", detail, ...(cause === undefined ? {} : { cause }) });
}

function unsupported(detail: string): TimestampError {
  return new TimestampError({ reason: "unsupported-algorithm", detail });
}

function bytesOf(value: { valueBlock: { valueHexView: Uint8Array } }): Buffer {
  return Buffer.from(value.valueBlock.valueHexView);
}

/** The certificate that `signerInfo.sid` designates among `candidates` (RFC 5652 §5.3). */
export function findSignerCertificate(
  signerInfo: pkijs.SignerInfo,
  candidates: readonly DecodedCertificate[],
): DecodedCertificate | undefined {
  const sid: unknown = signerInfo.sid;
  if (sid instanceof pkijs.IssuerAndSerialNumber) {
    return candidates.find(
      ({ asn1 }) => asn1.issuer.isEqual(sid.issuer) && asn1.serialNumber.isEqual(sid.serialNumber),
    );
  }
  // subjectKeyIdentifier [0] IMPLICIT OCTET STRING
  if (sid instanceof asn1js.BaseBlock && sid.idBlock.tagClass === 3 && sid.idBlock.tagNumber === 0) {
    const keyId = Buffer.from(sid.valueBlock.valueHexView);
    return candidates.find(({ asn1 }) => {
      const extension = asn1.extensions?.find((candidate) => candidate.extnID === OID.subjectKeyIdentifier);
      return extension?.parsedValue instanceof asn1js.OctetString && bytesOf(extension.parsedValue).equals(keyId);
    });
  }
  return undefined;
}

/** The single value of a signed attribute; throws `bad-signature` if it is absent or repeated. */
function singleAttributeValue(attributes: readonly pkijs.Attribute[], type: string, name: string): unknown {
  const matching = attributes.filter((attribute) => attribute.type === type);
  if (matching.length === 0) throw badSignature(`The token's signed attributes lack ${name}`);
  const [attribute] = matching;
  // RFC 5652 §11: these attributes are single-valued and appear once.
  if (matching.length > 1 || attribute === undefined || attribute.values.length !== 1) {
    throw badSignature(`The token's ${name} attribute must appear once with one value`);
  }
  return attribute.values[0];
}

/**
 * Checks the content-type and message-digest attributes against the TSTInfo,
 * then the signature with `publicKey`. Throws a `TimestampError`.
 */
export function verifySignerInfo(signerInfo: pkijs.SignerInfo, eContent: Buffer, publicKey: KeyObject): void {
  const digestAlgorithm = hashAlgorithmByOid(signerInfo.digestAlgorithm.algorithmId);
  if (digestAlgorithm === undefined) {
    throw unsupported(`The token is signed with digest ${describeHashOid(signerInfo.digestAlgorithm.algorithmId)}, not SHA-256/384/512`);
  }
  const signedAttrs = signerInfo.signedAttrs;
  // RFC 3161 §2.4.1 requires the ESS attribute, so signed attributes are never absent in a token.
  if (signedAttrs === undefined || signedAttrs.attributes.length === 0) throw badSignature("The token has no signed attributes");
  const attributes = signedAttrs.attributes;

  const contentType = singleAttributeValue(attributes, OID.contentTypeAttribute, "content-type");
  if (!(contentType instanceof asn1js.ObjectIdentifier) || contentType.valueBlock.toString() !== OID.tstInfo) {
    throw badSignature("The token's content-type attribute is not id-ct-TSTInfo");
  }
  const messageDigest = singleAttributeValue(attributes, OID.messageDigestAttribute, "message-digest");
  if (!(messageDigest instanceof asn1js.OctetString)) throw badSignature("The token's message-digest attribute is not an OCTET STRING");
  const expectedDigest = createHash(digestAlgorithm.nodeName).update(eContent).digest();
  if (!bytesOf(messageDigest).equals(expectedDigest)) {
    throw badSignature("The token's message-digest attribute does not match its TSTInfo");
  }

  const signatureValue = bytesOf(signerInfo.signature);
  // RFC 5652 §5.4: the signature covers the DER of the attributes with the SET OF tag, not the [0] of the SignerInfo.
  const signedBytes = Buffer.from(signedAttrs.encodedValue);
  let valid: boolean;
  try {
    valid = checkSignature(signerInfo.signatureAlgorithm, digestAlgorithm, signedBytes, signatureValue, publicKey);
  } catch (error) {
    if (error instanceof TimestampError) throw error;
    throw badSignature("The token's signature could not be checked with the TSA certificate's key", error);
  }
  if (!valid) throw badSignature("The token's signature does not verify with the TSA certificate's key");
}

function checkSignature(
  algorithm: pkijs.AlgorithmIdentifier,
  digest: HashAlgorithmInfo,
  data: Buffer,
  signature: Buffer,
  publicKey: KeyObject,
): boolean {
  const oid = algorithm.algorithmId;
  const keyType = publicKey.asymmetricKeyType;
  if (oid === RSA_ENCRYPTION || SIGNATURE_ALGORITHMS[oid]?.scheme === "rsa-pkcs1") {
    const implied = SIGNATURE_ALGORITHMS[oid]?.hashOid;
    if (implied !== undefined && implied !== digest.oid) {
      throw unsupported("The token's signature algorithm and digest algorithm disagree");
    }
    if (keyType !== "rsa") throw badSignature(`An RSA signature cannot come from a ${String(keyType)} key`);
    return verifySignature(digest.nodeName, data, { key: publicKey, padding: constants.RSA_PKCS1_PADDING }, signature);
  }
  if (SIGNATURE_ALGORITHMS[oid]?.scheme === "ecdsa") {
    if (SIGNATURE_ALGORITHMS[oid]?.hashOid !== digest.oid) {
      throw unsupported("The token's signature algorithm and digest algorithm disagree");
    }
    if (keyType !== "ec") throw badSignature(`An ECDSA signature cannot come from a ${String(keyType)} key`);
    return verifySignature(digest.nodeName, data, { key: publicKey, dsaEncoding: "der" }, signature);
  }
  if (oid === RSASSA_PSS) {
    const { hash, saltLength } = pssParameters(algorithm);
    if (hash.oid !== digest.oid) throw unsupported("The token's RSASSA-PSS hash and digest algorithm disagree");
    if (keyType !== "rsa" && keyType !== "rsa-pss") throw badSignature(`An RSA signature cannot come from a ${String(keyType)} key`);
    return verifySignature(
      hash.nodeName,
      data,
      { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength },
      signature,
    );
  }
  throw unsupported(`The token's signature algorithm ${oid} is not supported`);
}

/** RFC 4055 §3.1 RSASSA-PSS-params, restricted to what node:crypto can check (MGF1 with the same hash, trailer 1). */
function pssParameters(algorithm: pkijs.AlgorithmIdentifier): { hash: HashAlgorithmInfo; saltLength: number } {
  let params: pkijs.RSASSAPSSParams;
  try {
    params = new pkijs.RSASSAPSSParams({ schema: algorithm.algorithmParams });
  } catch {
    throw unsupported("The token's RSASSA-PSS parameters cannot be parsed");
  }
  const hash = hashAlgorithmByOid(params.hashAlgorithm.algorithmId);
  if (hash === undefined) throw unsupported(`RSASSA-PSS with ${describeHashOid(params.hashAlgorithm.algorithmId)} is not supported`);
  const mgf = params.maskGenAlgorithm;
  let mgfHashOid: string | undefined;
  try {
    mgfHashOid = mgf.algorithmId === MGF1 ? new pkijs.AlgorithmIdentifier({ schema: mgf.algorithmParams }).algorithmId : undefined;
  } catch {
    mgfHashOid = undefined;
  }
  if (mgfHashOid !== hash.oid || params.trailerField !== 1) {
    throw unsupported("Only RSASSA-PSS with MGF1 over the same hash and trailer 1 is supported");
  }
  return { hash, saltLength: params.saltLength };
}

/**
 * RFC 3161 §2.4.1 / RFC 5816 §2.2.1: the token names its signing certificate
 * in a signing-certificate (v1, SHA-1) or signing-certificate-v2 attribute;
 * its first ESSCertID must be the certificate that verified the signature,
 * so that nobody can substitute another certificate for the same key.
 */
export function assertSigningCertificateBinding(signerInfo: pkijs.SignerInfo, signer: DecodedCertificate): void {
  const attributes = signerInfo.signedAttrs?.attributes ?? [];
  const v1 = attributes.filter((attribute) => attribute.type === OID.signingCertificate);
  const v2 = attributes.filter((attribute) => attribute.type === OID.signingCertificateV2);
  if (v1.length === 0 && v2.length === 0) {
    throw badSignature("The token has no ESS signing-certificate attribute naming the TSA certificate");
  }
  for (const [attributes_, version] of [
    [v1, 1],
    [v2, 2],
  ] as const) {
    if (attributes_.length === 0) continue;
    const [attribute] = attributes_;
    if (attributes_.length > 1 || attribute === undefined || attribute.values.length !== 1) {
      throw badSignature("The ESS signing-certificate attribute must appear once with one value");
    }
    const firstId = firstEssCertId(attribute.values[0]);
    if (firstId === undefined) throw badSignature("The ESS signing-certificate attribute cannot be parsed");
    checkEssCertId(firstId, version, signer);
  }
}

/** `SigningCertificate(V2) ::= SEQUENCE { certs SEQUENCE OF ESSCertID(v2), … }` → the first ESSCertID. */
function firstEssCertId(value: unknown): asn1js.Sequence | undefined {
  if (!(value instanceof asn1js.Sequence)) return undefined;
  const certs = value.valueBlock.value[0];
  if (!(certs instanceof asn1js.Sequence)) return undefined;
  const first = certs.valueBlock.value[0];
  return first instanceof asn1js.Sequence ? first : undefined;
}

function checkEssCertId(certId: asn1js.Sequence, version: 1 | 2, signer: DecodedCertificate): void {
  const fields = [...certId.valueBlock.value];
  // ESSCertIDv2 ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier DEFAULT id-sha256, certHash, issuerSerial OPTIONAL }
  // ESSCertID   ::= SEQUENCE { certHash (SHA-1), issuerSerial OPTIONAL }
  let hashName = "sha1";
  if (version === 2) {
    hashName = "sha256";
    if (fields[0] instanceof asn1js.Sequence) {
      const oid = new pkijs.AlgorithmIdentifier({ schema: fields.shift() }).algorithmId;
      const algorithm = hashAlgorithmByOid(oid);
      if (algorithm === undefined) throw unsupported(`The ESS certificate identifier uses ${describeHashOid(oid)}`);
      hashName = algorithm.nodeName;
    }
  }
  const certHash = fields.shift();
  if (!(certHash instanceof asn1js.OctetString)) throw badSignature("The ESS certificate identifier has no certificate hash");
  if (!bytesOf(certHash).equals(createHash(hashName).update(signer.node.raw).digest())) {
    throw badSignature("The ESS signing-certificate attribute names another certificate than the one that signed");
  }
  const issuerSerialElement = fields.shift();
  if (issuerSerialElement === undefined) return;
  let issuerSerial: pkijs.IssuerSerial;
  try {
    issuerSerial = new pkijs.IssuerSerial({ schema: issuerSerialElement });
  } catch {
    throw badSignature("The ESS certificate identifier's issuerSerial cannot be parsed");
  }
  const sameIssuer = issuerSerial.issuer.names.some(
    (name) => name.type === 4 && name.value instanceof pkijs.RelativeDistinguishedNames && name.value.isEqual(signer.asn1.issuer),
  );
  if (!sameIssuer || !issuerSerial.serialNumber.isEqual(signer.asn1.serialNumber)) {
    throw badSignature("The ESS signing-certificate attribute's issuer and serial are not the signing certificate's");
  }
}
