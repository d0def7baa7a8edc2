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
import * as pkijs from "pkijs";
import { UNIVERSAL, contentOf, encodingOf, isContext, isUniversal, oidText, readBer, stringContent, type BerElement } from "../cms/ber-reader.js";
import { sameName } from "./certificate-fields.js";
import { OID } from "./der.js";
import { TimestampError } from "./errors.js";
import { TIMESTAMP_HASH_ALGORITHMS, describeHashOid, hashAlgorithmByOid, type HashAlgorithmInfo } from "./hash-algorithms.js";
import type { DecodedAlgorithm, DecodedAttribute, DecodedCertificate, DecodedSignerInfo } from "./timestamp-token.js";

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

/** The certificate that `signerInfo.sid` designates among `candidates` (RFC 5652 §5.3). */
export function findSignerCertificate(
  signerInfo: DecodedSignerInfo,
  candidates: readonly DecodedCertificate[],
): DecodedCertificate | undefined {
  const { sid } = signerInfo;
  if ("subjectKeyIdentifier" in sid) {
    return candidates.find(({ fields }) => {
      const extension = fields.extensions.find((candidate) => candidate.oid === OID.subjectKeyIdentifier);
      // SubjectKeyIdentifier ::= KeyIdentifier ::= OCTET STRING (RFC 5280 §4.2.1.2), encoded inside extnValue.
      const value = extension === undefined ? undefined : readBer(extension.value);
      return isUniversal(value, UNIVERSAL.OCTET_STRING) && stringContent(value)?.equals(sid.subjectKeyIdentifier) === true;
    });
  }
  const serialMatches = candidates.filter(({ fields }) => fields.serialNumber.equals(sid.serialNumber));
  return serialMatches.find(({ fields }) => sameName(fields.issuer, sid.issuer));
}

/** The single value of a signed attribute; throws `bad-signature` if it is absent or repeated. */
function singleAttributeValue(attributes: readonly DecodedAttribute[], type: string, name: string): BerElement {
  const matching = attributes.filter((attribute) => attribute.type === type);
  if (matching.length === 0) throw badSignature(`The token's signed attributes lack ${name}`);
  const [attribute] = matching;
  // RFC 5652 §11: these attributes are single-valued and appear once.
  if (matching.length > 1 || attribute === undefined || attribute.values.length !== 1) {
    throw badSignature(`The token's ${name} attribute must appear once with one value`);
  }
  return attribute.values[0] as BerElement;
}

/**
 * Checks the content-type and message-digest attributes against the TSTInfo,
 * then the signature with `publicKey`. Throws a `TimestampError`.
 */
export function verifySignerInfo(signerInfo: DecodedSignerInfo, eContent: Buffer, publicKey: KeyObject): void {
  const digestAlgorithm = hashAlgorithmByOid(signerInfo.digestAlgorithm.oid);
  if (digestAlgorithm === undefined) {
    throw unsupported(`The token is signed with digest ${describeHashOid(signerInfo.digestAlgorithm.oid)}, not SHA-256/384/512`);
  }
  const attributes = signerInfo.signedAttributes;
  const signedBytes = signerInfo.signedAttributesDer;
  // RFC 3161 §2.4.1 requires the ESS attribute, so signed attributes are never absent in a token.
  if (attributes === undefined || signedBytes === undefined || attributes.length === 0) throw badSignature("The token has no signed attributes");

  const contentType = singleAttributeValue(attributes, OID.contentTypeAttribute, "content-type");
  if (!isUniversal(contentType, UNIVERSAL.OID) || oidText(contentType) !== OID.tstInfo) {
    throw badSignature("The token's content-type attribute is not id-ct-TSTInfo");
  }
  const messageDigest = singleAttributeValue(attributes, OID.messageDigestAttribute, "message-digest");
  const digestValue = isUniversal(messageDigest, UNIVERSAL.OCTET_STRING) ? stringContent(messageDigest) : undefined;
  if (digestValue === undefined) throw badSignature("The token's message-digest attribute is not an OCTET STRING");
  const expectedDigest = createHash(digestAlgorithm.nodeName).update(eContent).digest();
  if (!digestValue.equals(expectedDigest)) {
    throw badSignature("The token's message-digest attribute does not match its TSTInfo");
  }

  let valid: boolean;
  try {
    valid = checkSignature(signerInfo.signatureAlgorithm, digestAlgorithm, signedBytes, signerInfo.signature, publicKey);
  } catch (error) {
    if (error instanceof TimestampError) throw error;
    throw badSignature("The token's signature could not be checked with the TSA certificate's key", error);
  }
  if (!valid) throw badSignature("The token's signature does not verify with the TSA certificate's key");
}

function checkSignature(
  algorithm: DecodedAlgorithm,
  digest: HashAlgorithmInfo,
  data: Buffer,
  signature: Buffer,
  publicKey: KeyObject,
): boolean {
  const oid = algorithm.oid;
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

/**
 * RFC 4055 §3.1 RSASSA-PSS-params, restricted to what node:crypto can check
 * (MGF1 with the same hash, trailer 1). Rare in tokens, so read with pkijs.
 */
function pssParameters(algorithm: DecodedAlgorithm): { hash: HashAlgorithmInfo; saltLength: number } {
  let params: pkijs.RSASSAPSSParams;
  try {
    if (algorithm.parameters === undefined) throw new Error("absent");
    params = pkijs.RSASSAPSSParams.fromBER(Uint8Array.from(encodingOf(algorithm.parameters)));
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
export function assertSigningCertificateBinding(signerInfo: DecodedSignerInfo, signer: DecodedCertificate): void {
  const attributes = signerInfo.signedAttributes ?? [];
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
function firstEssCertId(value: BerElement | undefined): BerElement | undefined {
  if (!isUniversal(value, UNIVERSAL.SEQUENCE)) return undefined;
  const certs = value.children[0];
  if (!isUniversal(certs, UNIVERSAL.SEQUENCE)) return undefined;
  const first = certs.children[0];
  return isUniversal(first, UNIVERSAL.SEQUENCE) ? first : undefined;
}

function checkEssCertId(certId: BerElement, version: 1 | 2, signer: DecodedCertificate): void {
  const fields = [...certId.children];
  // ESSCertIDv2 ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier DEFAULT id-sha256, certHash, issuerSerial OPTIONAL }
  // ESSCertID   ::= SEQUENCE { certHash (SHA-1), issuerSerial OPTIONAL }
  let hashName = "sha1";
  if (version === 2) {
    hashName = "sha256";
    if (isUniversal(fields[0], UNIVERSAL.SEQUENCE)) {
      const identifier = fields.shift() as BerElement;
      const oidElement = identifier.children[0];
      const oid = isUniversal(oidElement, UNIVERSAL.OID) ? oidText(oidElement) : undefined;
      if (oid === undefined) throw badSignature("The ESS certificate identifier's hash algorithm cannot be parsed");
      const algorithm = hashAlgorithmByOid(oid);
      if (algorithm === undefined) throw unsupported(`The ESS certificate identifier uses ${describeHashOid(oid)}`);
      hashName = algorithm.nodeName;
    }
  }
  const certHash = fields.shift();
  const hashValue = isUniversal(certHash, UNIVERSAL.OCTET_STRING) ? stringContent(certHash) : undefined;
  if (hashValue === undefined) throw badSignature("The ESS certificate identifier has no certificate hash");
  if (!hashValue.equals(createHash(hashName).update(signer.node.raw).digest())) {
    throw badSignature("The ESS signing-certificate attribute names another certificate than the one that signed");
  }
  const issuerSerialElement = fields.shift();
  if (issuerSerialElement === undefined) return;
  // IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber CertificateSerialNumber, issuerUID UniqueIdentifier OPTIONAL } (RFC 5035 §4)
  const [names, serial] = issuerSerialElement.children;
  if (!isUniversal(issuerSerialElement, UNIVERSAL.SEQUENCE) || !isUniversal(names, UNIVERSAL.SEQUENCE) || !isUniversal(serial, UNIVERSAL.INTEGER)) {
    throw badSignature("The ESS certificate identifier's issuerSerial cannot be parsed");
  }
  // GeneralName directoryName [4] is EXPLICIT (Name is a CHOICE): [4] { Name }.
  const sameIssuer = names.children.some(
    (name) => isContext(name, 4, true) && name.children.length === 1 && sameName(encodingOf(name.children[0] as BerElement), signer.fields.issuer),
  );
  if (!sameIssuer || !contentOf(serial).equals(signer.fields.serialNumber)) {
    throw badSignature("The ESS signing-certificate attribute's issuer and serial are not the signing certificate's");
  }
}
