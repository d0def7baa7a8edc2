/**
 * CMS SignedData (RFC 5652 §5) with any Signer — a software key, a smart card
 * or a remote KMS.
 *
 * The signature is computed here, not by pkijs: pkijs signs with a WebCrypto
 * CryptoKey, and a card or KMS key is not one. We encode the signed
 * attributes ourselves (DER SET OF, RFC 5652 §5.4), hand those bytes to
 * `signer.sign()`, and write the structure around the result with the DER
 * writer of ./der.ts — the certificates and the time-stamp token as the
 * bytes they came in, never re-encoded; a final check makes sure the bytes
 * in the output are the bytes that were signed. (Building it as pkijs
 * objects and serialising them cost milliseconds per signature, mostly in
 * re-decoding the token and the certificates.)
 *
 * @example
 * ```ts
 * const cms = await createSignedData({ content, detached: true, signer, digestAlgorithm: "SHA-256" });
 * ```
 */
import { createHash, verify as verifySignature, type X509Certificate } from "node:crypto";
import type { SignatureAlgorithm, Signer } from "../../trust/signer.js";
import {
  NODE_DIGEST_NAME,
  assertDigestAlgorithm,
  chooseSigningAlgorithm,
  digestAlgorithmIdentifier,
  maximumSignatureLength,
  type DigestAlgorithm,
} from "./algorithms.js";
import {
  assertAttribute,
  contentTypeAttribute,
  encodeAttribute,
  encodeAttributeSet,
  issuerAndSerialNumberOf,
  messageDigestAttribute,
  signingCertificateV2Attribute,
  signingTimeAttribute,
  type CmsAttribute,
} from "./attributes.js";
import { readBer } from "./ber-reader.js";
import { TAG, encodeOid, encodeTlv } from "./der.js";
import { ATTRIBUTE_OID, CMS_OID } from "./oids.js";
import { locateSignerInfo } from "./signer-info-location.js";

export interface SignedAttributesOptions {
  /** The signing-time attribute (RFC 5652 §11.3): a fixed time, `false` to leave it out (PAdES), default now. */
  signingTime?: Date | false;
  /** eContentType and content-type attribute (RFC 5652 §11.1); default id-data. */
  contentType?: string;
  /** ESS signing-certificate-v2 (RFC 5035) binding the signer's certificate; default true. */
  signingCertificateV2?: boolean;
  /** More signed attributes (e.g. a signature policy identifier). */
  extra?: readonly CmsAttribute[];
}

export interface CreateSignedDataOptions {
  /** The signed content; several chunks are signed as their concatenation (e.g. a PDF's ByteRange). */
  content: Uint8Array | readonly Uint8Array[];
  /** true: the content is not carried in the SignedData (eContent absent, RFC 5652 §5.2). */
  detached: boolean;
  signer: Signer;
  digestAlgorithm: DigestAlgorithm;
  signedAttributes?: SignedAttributesOptions;
  unsignedAttributes?: readonly CmsAttribute[];
  /**
   * Obtains an RFC 3161 token over the SignatureValue, added as the
   * signature-time-stamp unsigned attribute (CAdES-T / PAdES B-T). The
   * callback gets the signature value and returns the DER TimeStampToken.
   */
  signatureTimestamp?: (signatureValue: Buffer) => Promise<Buffer>;
  /** Carry the signer's intermediate CAs after its certificate; default true. */
  includeChain?: boolean;
  /** Clock for the default signing time. */
  now?: () => Date;
}

/** What `createSignedDataDetailed` returns besides the DER. */
export interface SignedDataResult {
  /** DER ContentInfo. */
  der: Buffer;
  /** The SignerInfo's signature octets (what a signature time-stamp covers). */
  signatureValue: Buffer;
  signerCertificate: X509Certificate;
}

/** Builds a DER ContentInfo holding a SignedData with one SignerInfo. */
export async function createSignedData(options: CreateSignedDataOptions): Promise<Buffer> {
  return (await createSignedDataDetailed(options)).der;
}

/** createSignedData, also returning the signature value and the signer's certificate. */
export async function createSignedDataDetailed(options: CreateSignedDataOptions): Promise<SignedDataResult> {
  const chunks = contentChunks(options?.content);
  const prepared = await prepareSignerInfo(options);
  const digest = createHash(NODE_DIGEST_NAME[options.digestAlgorithm]);
  for (const chunk of chunks) digest.update(chunk);
  const signedAttributes = prepared.signedAttributes(digest.digest());
  const signedAttributesDer = encodeAttributeSet(signedAttributes);

  const signatureValue = await options.signer.sign(signedAttributesDer, prepared.algorithm);
  if (!(signatureValue instanceof Uint8Array) || signatureValue.length === 0) {
    throw new Error(`Signer ${options.signer.id} returned no signature`);
  }
  // A signature the certificate does not verify (a card whose key and certificate were mixed up, a KMS
  // answering for another key) must fail here, not at the recipient's.
  const check = prepared.verification;
  if (!verifySignature(check.hash, signedAttributesDer, check.key, signatureValue)) {
    throw new Error(`Signer ${options.signer.id} produced a signature that its certificate does not verify`);
  }

  const unsigned = [...(options.unsignedAttributes ?? [])];
  if (options.signatureTimestamp !== undefined) {
    const token = await options.signatureTimestamp(Buffer.from(signatureValue));
    if (!(token instanceof Uint8Array) || readBer(token) === undefined) {
      throw new TypeError("signatureTimestamp must resolve to a DER TimeStampToken");
    }
    unsigned.push({ type: ATTRIBUTE_OID.signatureTimeStampToken, values: [token] });
  }
  const der = prepared.assemble(signedAttributesDer, signatureValue, unsigned, options.detached ? undefined : chunks);

  const location = locateSignerInfo(der, 0);
  const written = location?.signedAttrs ? Buffer.from(der.subarray(location.signedAttrs.start, location.signedAttrs.end)) : undefined;
  if (written !== undefined) written[0] = 0x31;
  if (written === undefined || !written.equals(signedAttributesDer)) {
    throw new Error("CMS encoding changed the signed attributes after signing");
  }
  return { der, signatureValue: Buffer.from(signatureValue), signerCertificate: prepared.signerCertificate };
}

/**
 * The size in bytes of the SignedData `createSignedData` would produce for
 * these options, at most — with the largest signature the key can make, plus
 * one more unsigned attribute whose values total `unsignedAttributesSize`
 * bytes (a signature time-stamp token). Used to size a PDF's /Contents.
 */
export async function estimateSignedDataSize(
  options: Omit<CreateSignedDataOptions, "content" | "detached" | "signatureTimestamp">,
  unsignedAttributesSize = 0,
): Promise<number> {
  const prepared = await prepareSignerInfo({ ...options, content: [], detached: true });
  const digestLength = createHash(NODE_DIGEST_NAME[options.digestAlgorithm]).digest().length;
  const signedAttributesDer = encodeAttributeSet(prepared.signedAttributes(Buffer.alloc(digestLength)));
  const signature = Buffer.alloc(maximumSignatureLength(prepared.signerCertificate.publicKey), 0xff);
  const der = prepared.assemble(signedAttributesDer, signature, options.unsignedAttributes ?? [], undefined);
  // The attribute's own framing ([1], SEQUENCE, OID, SET: under 32 bytes) and the longer length
  // octets of the five enclosing structures it grows (2 bytes each at most).
  return der.length + unsignedAttributesSize + (unsignedAttributesSize > 0 ? 64 : 0);
}

interface PreparedSignerInfo {
  algorithm: SignatureAlgorithm;
  signerCertificate: X509Certificate;
  verification: { hash: string; key: { key: X509Certificate["publicKey"]; dsaEncoding: "der" } };
  signedAttributes(messageDigest: Buffer): CmsAttribute[];
  assemble(
    signedAttributesDer: Buffer,
    signatureValue: Uint8Array,
    unsignedAttributes: readonly CmsAttribute[],
    attachedContent: readonly Uint8Array[] | undefined,
  ): Buffer;
}

async function prepareSignerInfo(options: CreateSignedDataOptions): Promise<PreparedSignerInfo> {
  if (options === null || typeof options !== "object") throw new TypeError("createSignedData needs options");
  const { signer } = options;
  if (signer === null || typeof signer !== "object" || typeof signer.sign !== "function") {
    throw new TypeError("options.signer must be a Signer");
  }
  if (typeof options.detached !== "boolean") throw new TypeError("options.detached must be a boolean");
  assertDigestAlgorithm(options.digestAlgorithm);
  const digestAlgorithm = options.digestAlgorithm;
  const attributeOptions = options.signedAttributes ?? {};
  const contentType = attributeOptions.contentType ?? CMS_OID.data;
  if (typeof contentType !== "string" || !/^[0-2](\.(0|[1-9]\d*))+$/.test(contentType)) {
    throw new TypeError("signedAttributes.contentType must be a dotted OID");
  }
  const signingTime = attributeOptions.signingTime;
  if (signingTime !== undefined && signingTime !== false && !(signingTime instanceof Date && !Number.isNaN(signingTime.getTime()))) {
    throw new TypeError("signedAttributes.signingTime must be a valid Date or false");
  }
  const extra = attributeOptions.extra ?? [];
  extra.forEach((attribute) => assertAttribute(attribute, "signedAttributes.extra"));
  (options.unsignedAttributes ?? []).forEach((attribute) => assertAttribute(attribute, "unsignedAttributes"));
  const reserved = new Set<string>([ATTRIBUTE_OID.contentType, ATTRIBUTE_OID.messageDigest, ATTRIBUTE_OID.signingTime, ATTRIBUTE_OID.signingCertificateV2]);
  const extraTypes = new Set<string>();
  for (const attribute of extra) {
    // RFC 5652 §5.3: each signed attribute type appears once; the ones we write are not the caller's to repeat.
    if (reserved.has(attribute.type) || extraTypes.has(attribute.type)) {
      throw new TypeError(`signedAttributes.extra: attribute ${attribute.type} is already present`);
    }
    extraTypes.add(attribute.type);
  }

  const { algorithm, identifier } = chooseSigningAlgorithm(signer, digestAlgorithm);
  const chain = await signer.certificateChain();
  const signerCertificate = chain[0];
  if (signerCertificate === undefined) throw new TypeError(`Signer ${signer.id} has no certificate`);
  const certificates = options.includeChain === false ? [signerCertificate] : chain;
  const { issuer, serialNumber } = issuerAndSerialNumberOf(signerCertificate);
  const now = options.now ?? (() => new Date());
  const time = signingTime === undefined ? now() : signingTime;
  const withEss = attributeOptions.signingCertificateV2 !== false;
  const digestIdentifier = digestAlgorithmIdentifier(digestAlgorithm);

  return {
    algorithm,
    signerCertificate,
    verification: { hash: NODE_DIGEST_NAME[digestAlgorithm], key: { key: signerCertificate.publicKey, dsaEncoding: "der" } },
    signedAttributes(messageDigest) {
      return [
        contentTypeAttribute(contentType),
        ...(time === false ? [] : [signingTimeAttribute(time)]),
        messageDigestAttribute(messageDigest),
        ...(withEss ? [signingCertificateV2Attribute(signerCertificate, digestAlgorithm)] : []),
        ...extra,
      ];
    },
    assemble(signedAttributesDer, signatureValue, unsignedAttributes, attachedContent) {
      const signerInfo = encodeTlv(
        TAG.SEQUENCE,
        // RFC 5652 §5.3: version 1 with issuerAndSerialNumber, the identifier every verifier supports.
        VERSION_1,
        encodeTlv(TAG.SEQUENCE, issuer, serialNumber),
        digestIdentifier,
        // signedAttrs [0] IMPLICIT: the signed SET OF's content under the context tag, byte for byte.
        Buffer.concat([Buffer.from([TAG.CONTEXT_0]), signedAttributesDer.subarray(1)]),
        identifier,
        encodeTlv(TAG.OCTET_STRING, signatureValue),
        ...(unsignedAttributes.length === 0 ? [] : [encodeTlv(TAG.CONTEXT_1, ...unsignedAttributes.map(encodeAttribute))]),
      );
      const encapContentInfo = encodeTlv(
        TAG.SEQUENCE,
        encodeOid(contentType),
        ...(attachedContent === undefined ? [] : [encodeTlv(TAG.CONTEXT_0, encodeTlv(TAG.OCTET_STRING, ...attachedContent))]),
      );
      // certificates [0] IMPLICIT CertificateSet, from the certificates' own bytes: a certificate's hash is in the
      // ESS attribute, so it must travel exactly as issued. The signer's certificate first, then its issuers.
      const certificateSet = encodeTlv(TAG.CONTEXT_0, ...certificates.map((certificate) => certificate.raw));
      const signedData = encodeTlv(
        TAG.SEQUENCE,
        // RFC 5652 §5.1: version 1 for id-data content with version 1 SignerInfos and plain certificates, 3 otherwise.
        contentType === CMS_OID.data ? VERSION_1 : VERSION_3,
        encodeTlv(TAG.SET, digestIdentifier),
        encapContentInfo,
        certificateSet,
        encodeTlv(TAG.SET, signerInfo),
      );
      return encodeTlv(TAG.SEQUENCE, encodeOid(CMS_OID.signedData), encodeTlv(TAG.CONTEXT_0, signedData));
    },
  };
}

const VERSION_1 = Buffer.from([TAG.INTEGER, 0x01, 0x01]);
const VERSION_3 = Buffer.from([TAG.INTEGER, 0x01, 0x03]);

function contentChunks(content: unknown): readonly Uint8Array[] {
  if (content instanceof Uint8Array) return [content];
  if (Array.isArray(content) && content.every((chunk) => chunk instanceof Uint8Array)) return content as Uint8Array[];
  throw new TypeError("options.content must be a Uint8Array or an array of them");
}
