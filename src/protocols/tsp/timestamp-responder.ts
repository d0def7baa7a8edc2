/**
 * The TSA side of RFC 3161: checks a TimeStampReq against the authority's
 * policy and answers a DER TimeStampResp — a token signed with any `Signer`,
 * or a rejection with its PKIFailureInfo.
 *
 * The token is written in DER by hand (see ./der.ts) and carries what
 * `openssl ts -verify` and our verifier require: the echoed message imprint
 * and nonce, genTime to the second with its accuracy, the TSA's name, and
 * the ESS signing-certificate-v2 attribute (RFC 5816 §2.2.1) binding the
 * TSA certificate to the signature.
 *
 * @example
 * ```ts
 * const responder = await TimestampResponder.create({ signer, policy: "1.3.6.1.4.1.99999.1", serialNumber: () => next++ });
 * const answer = await responder.respond(requestDer); // application/timestamp-reply
 * ```
 */
import { X509Certificate, createHash } from "node:crypto";
import type { SignatureAlgorithm, Signer } from "../../trust/signer.js";
import { readCertificateFields } from "./certificate-fields.js";
import { OID, der, derSetOrder } from "./der.js";
import { TIMESTAMP_HASH_ALGORITHMS, type HashAlgorithmInfo, type TimestampHashAlgorithm } from "./hash-algorithms.js";
import { encodeFailureInfo, type PkiFailureInfo } from "./pki-status.js";
import { isDottedOid, parseTimestampRequest, type ParsedTimestampRequest } from "./timestamp-request.js";
import type { TimestampAccuracy } from "./timestamp-token.js";

export interface TimestampResponderOptions {
  /** Signs the tokens; `certificateChain()[0]` is the TSA certificate (EKU id-kp-timeStamping, critical). */
  signer: Signer;
  /** Default: the first of RSASSA-PKCS1-v1_5-SHA256/384/512, ECDSA-P256-SHA256 the signer offers. */
  signatureAlgorithm?: SignatureAlgorithm;
  /** TSAPolicyId of the tokens when the request names none. */
  policy: string;
  /** Policies a request may ask for (default: `[policy]`); others are refused with unacceptedPolicy. */
  acceptedPolicies?: readonly string[];
  /** Imprint algorithms accepted (default all of SHA-256/384/512); others are refused with badAlg. */
  hashAlgorithms?: readonly TimestampHashAlgorithm[];
  /** Default 1 second. */
  accuracy?: Partial<TimestampAccuracy>;
  /** Allocates the serial number of each token: unique, positive, ideally increasing. */
  serialNumber: () => bigint;
  /** Default `() => new Date()`. */
  now?: () => Date;
  /** Put the TSA's subject in the TSTInfo `tsa` field (default true). */
  includeTsaName?: boolean;
}

/** What a granted token attests; normally taken from the parsed request. */
export interface TimestampGrant {
  hashAlgorithmOid: string;
  hashedMessage: Buffer;
  /** The request's MessageImprint to echo byte for byte; re-encoded from the two fields above when absent. */
  messageImprintDer?: Buffer;
  nonce: bigint | undefined;
  certReq: boolean;
  /** Default: the responder's policy. */
  policy?: string;
}

/** Why a request is refused. */
export interface TimestampRefusal {
  failInfo: PkiFailureInfo;
  text: string;
}

const SIGNATURE_ALGORITHMS: Partial<Record<SignatureAlgorithm, { digest: HashAlgorithmInfo; algorithmIdentifier: Buffer }>> = {
  // RFC 5754 §3.2: NULL parameters for sha*WithRSAEncryption; §3.3: none for ECDSA.
  "RSASSA-PKCS1-v1_5-SHA256": {
    digest: TIMESTAMP_HASH_ALGORITHMS["SHA-256"],
    algorithmIdentifier: der.algorithmIdentifier("1.2.840.113549.1.1.11", der.null()),
  },
  "RSASSA-PKCS1-v1_5-SHA384": {
    digest: TIMESTAMP_HASH_ALGORITHMS["SHA-384"],
    algorithmIdentifier: der.algorithmIdentifier("1.2.840.113549.1.1.12", der.null()),
  },
  "RSASSA-PKCS1-v1_5-SHA512": {
    digest: TIMESTAMP_HASH_ALGORITHMS["SHA-512"],
    algorithmIdentifier: der.algorithmIdentifier("1.2.840.113549.1.1.13", der.null()),
  },
  "ECDSA-P256-SHA256": {
    digest: TIMESTAMP_HASH_ALGORITHMS["SHA-256"],
    algorithmIdentifier: der.algorithmIdentifier("1.2.840.10045.4.3.2"),
  },
};

/** The fields of a certificate a SignedData refers to, as the exact bytes the certificate holds them in. */
interface CertificateReferences {
  issuerName: Buffer;
  subjectName: Buffer;
  serialNumber: Buffer;
}

function certificateReferences(certificate: X509Certificate): CertificateReferences {
  const fields = readCertificateFields(certificate.raw);
  if (fields === undefined) throw new TypeError("The TSA certificate cannot be parsed");
  return { serialNumber: der.tlv(0x02, fields.serialNumber), issuerName: fields.issuer, subjectName: fields.subject };
}

function attribute(type: string, value: Buffer): Buffer {
  return der.sequence(der.oid(type), der.setOf(value));
}

function encodeAccuracy(accuracy: TimestampAccuracy): Buffer | undefined {
  const parts: Buffer[] = [];
  if (accuracy.seconds > 0) parts.push(der.integer(BigInt(accuracy.seconds)));
  // Accuracy's millis [0] and micros [1] are IMPLICIT INTEGERs (RFC 3161's module uses IMPLICIT TAGS).
  if (accuracy.millis > 0) parts.push(der.tlv(0x80, der.integer(BigInt(accuracy.millis)).subarray(2)));
  if (accuracy.micros > 0) parts.push(der.tlv(0x81, der.integer(BigInt(accuracy.micros)).subarray(2)));
  return parts.length === 0 ? undefined : der.sequence(...parts);
}

function normaliseAccuracy(accuracy: Partial<TimestampAccuracy> | undefined): TimestampAccuracy {
  const result = { seconds: accuracy?.seconds ?? 1, millis: accuracy?.millis ?? 0, micros: accuracy?.micros ?? 0 };
  if (!Number.isInteger(result.seconds) || result.seconds < 0) throw new TypeError("accuracy.seconds must be an integer ≥ 0");
  for (const unit of ["millis", "micros"] as const) {
    const value = result[unit];
    if (!Number.isInteger(value) || value < 0 || value > 999) throw new TypeError(`accuracy.${unit} must be an integer in 0..999`);
  }
  return result;
}

export class TimestampResponder {
  readonly policy: string;
  readonly #signer: Signer;
  readonly #algorithm: SignatureAlgorithm;
  readonly #chain: X509Certificate[];
  readonly #tsa: X509Certificate;
  readonly #references: CertificateReferences;
  readonly #acceptedPolicies: ReadonlySet<string>;
  readonly #hashAlgorithms: ReadonlySet<string>;
  readonly #accuracy: TimestampAccuracy;
  readonly #serialNumber: () => bigint;
  readonly #now: () => Date;
  readonly #includeTsaName: boolean;

  private constructor(options: TimestampResponderOptions, algorithm: SignatureAlgorithm, chain: X509Certificate[]) {
    this.policy = options.policy;
    this.#signer = options.signer;
    this.#algorithm = algorithm;
    this.#chain = chain;
    this.#tsa = chain[0] as X509Certificate;
    this.#references = certificateReferences(this.#tsa);
    this.#acceptedPolicies = new Set(options.acceptedPolicies ?? [options.policy]);
    this.#hashAlgorithms = new Set(
      (options.hashAlgorithms ?? (Object.keys(TIMESTAMP_HASH_ALGORITHMS) as TimestampHashAlgorithm[])).map(
        (name) => TIMESTAMP_HASH_ALGORITHMS[name].oid,
      ),
    );
    this.#accuracy = normaliseAccuracy(options.accuracy);
    this.#serialNumber = options.serialNumber;
    this.#now = options.now ?? (() => new Date());
    this.#includeTsaName = options.includeTsaName ?? true;
  }

  /** Reads the signer's certificate chain once; throws `TypeError` on bad options. */
  static async create(options: TimestampResponderOptions): Promise<TimestampResponder> {
    if (options === null || typeof options !== "object") throw new TypeError("TimestampResponder needs options");
    if (!isDottedOid(options.policy)) throw new TypeError(`policy must be a dotted OID, got ${String(options.policy)}`);
    for (const policy of options.acceptedPolicies ?? []) {
      if (!isDottedOid(policy)) throw new TypeError(`acceptedPolicies: ${String(policy)} is not a dotted OID`);
    }
    for (const name of options.hashAlgorithms ?? []) {
      if (!Object.hasOwn(TIMESTAMP_HASH_ALGORITHMS, name)) throw new TypeError(`Unknown hash algorithm ${String(name)}`);
    }
    if (typeof options.serialNumber !== "function") throw new TypeError("serialNumber must be a function returning a bigint");
    const algorithm =
      options.signatureAlgorithm ??
      (Object.keys(SIGNATURE_ALGORITHMS) as SignatureAlgorithm[]).find((name) => options.signer.algorithms.includes(name));
    if (algorithm === undefined || SIGNATURE_ALGORITHMS[algorithm] === undefined || !options.signer.algorithms.includes(algorithm)) {
      throw new TypeError(`The signer offers no signature algorithm usable for tokens (${options.signer.algorithms.join(", ")})`);
    }
    const chain = await options.signer.certificateChain();
    if (chain.length === 0 || !chain.every((certificate) => certificate instanceof X509Certificate)) {
      throw new TypeError("The signer must expose its certificate chain, TSA certificate first");
    }
    return new TimestampResponder(options, algorithm, chain);
  }

  /** The TSA certificate, then its issuers (as the signer gave them). */
  get certificateChain(): X509Certificate[] {
    return [...this.#chain];
  }

  /** Answers a DER TimeStampReq with a DER TimeStampResp (granted, or a rejection for bad input). */
  async respond(requestDer: Uint8Array): Promise<Buffer> {
    const request = parseTimestampRequest(requestDer);
    if (request === undefined) return encodeTimestampRejection("badDataFormat", "The request is not a DER TimeStampReq");
    const refusal = this.refusalFor(request);
    if (refusal !== undefined) return encodeTimestampRejection(refusal.failInfo, refusal.text);
    return this.grant(request);
  }

  /** Why this authority refuses the request, or undefined when it grants it (RFC 3161 §2.4.2 failure codes). */
  refusalFor(request: ParsedTimestampRequest): TimestampRefusal | undefined {
    if (request.version !== 1) return { failInfo: "badDataFormat", text: `Unsupported TimeStampReq version ${request.version}` };
    if (!this.#hashAlgorithms.has(request.hashAlgorithmOid)) {
      return { failInfo: "badAlg", text: `Unsupported message imprint algorithm ${request.hashAlgorithmOid}` };
    }
    const algorithm = Object.values(TIMESTAMP_HASH_ALGORITHMS).find((info) => info.oid === request.hashAlgorithmOid);
    if (algorithm !== undefined && request.hashedMessage.length !== algorithm.length) {
      return { failInfo: "badDataFormat", text: `A ${algorithm.name} imprint is ${algorithm.length} bytes, got ${request.hashedMessage.length}` };
    }
    if (request.policy !== undefined && !this.#acceptedPolicies.has(request.policy)) {
      return { failInfo: "unacceptedPolicy", text: `Policy ${request.policy} is not offered by this authority` };
    }
    if (request.extensions.length > 0) {
      return { failInfo: "unacceptedExtension", text: `Unsupported request extension ${request.extensions.join(", ")}` };
    }
    return undefined;
  }

  /** A granted TimeStampResp for `grant` — no policy check: callers decide (the sandbox's fault injection uses this). */
  async grant(grant: TimestampGrant): Promise<Buffer> {
    const token = await this.issueToken(grant);
    return der.sequence(der.sequence(der.integer(0n)), token);
  }

  /** The token alone (DER ContentInfo), for `grant`. */
  async issueToken(grant: TimestampGrant): Promise<Buffer> {
    const { digest, algorithmIdentifier } = SIGNATURE_ALGORITHMS[this.#algorithm] ?? {};
    if (digest === undefined || algorithmIdentifier === undefined) throw new Error("unreachable: algorithm checked at creation");
    const serial = this.#serialNumber();
    if (typeof serial !== "bigint" || serial <= 0n) throw new TypeError("serialNumber() must return a positive bigint");
    const genTime = new Date(Math.floor(this.#now().getTime() / 1000) * 1000);

    const accuracy = encodeAccuracy(this.#accuracy);
    const tstInfo = der.sequence(
      der.integer(1n),
      der.oid(grant.policy ?? this.policy),
      grant.messageImprintDer ??
        der.sequence(der.algorithmIdentifier(grant.hashAlgorithmOid), der.octetString(grant.hashedMessage)),
      der.integer(serial),
      der.generalizedTime(genTime),
      ...(accuracy === undefined ? [] : [accuracy]),
      ...(grant.nonce === undefined ? [] : [der.integer(grant.nonce)]),
      // tsa [0] GeneralName: a CHOICE, so explicitly tagged; directoryName [4] Name likewise.
      ...(this.#includeTsaName ? [der.contextConstructed(0, der.contextConstructed(4, this.#references.subjectName))] : []),
    );

    const digestAlgorithm = der.algorithmIdentifier(digest.oid);
    const tsaHash = createHash("sha256").update(this.#tsa.raw).digest();
    // ESSCertIDv2 with the DEFAULT hash (SHA-256), hence no hashAlgorithm field (DER omits defaults).
    const essCertId = der.sequence(
      der.octetString(tsaHash),
      der.sequence(der.sequence(der.contextConstructed(4, this.#references.issuerName)), this.#references.serialNumber),
    );
    const signedAttributes = [
      attribute(OID.contentTypeAttribute, der.oid(OID.tstInfo)),
      attribute(OID.messageDigestAttribute, der.octetString(createHash(digest.nodeName).update(tstInfo).digest())),
      attribute(OID.signingCertificateV2, der.sequence(der.sequence(essCertId))),
    ];
    // RFC 5652 §5.4: the signature covers the attributes encoded as a DER SET OF; the SignerInfo holds the same content under [0].
    const signedAttributesSet = der.setOf(...signedAttributes);
    const signature = await this.#signer.sign(signedAttributesSet, this.#algorithm);

    const signerInfo = der.sequence(
      der.integer(1n),
      der.sequence(this.#references.issuerName, this.#references.serialNumber),
      digestAlgorithm,
      der.contextConstructed(0, ...derSetOrder(signedAttributes)),
      algorithmIdentifier,
      der.octetString(signature),
    );
    const signedData = der.sequence(
      der.integer(3n),
      der.setOf(digestAlgorithm),
      der.sequence(der.oid(OID.tstInfo), der.contextConstructed(0, der.octetString(tstInfo))),
      // RFC 3161 §2.4.1: certificates only when the request set certReq.
      ...(grant.certReq ? [der.contextConstructed(0, ...derSetOrder(this.#chain.map((certificate) => certificate.raw)))] : []),
      der.setOf(signerInfo),
    );
    return der.sequence(der.oid(OID.signedData), der.contextConstructed(0, signedData));
  }
}

/** A DER TimeStampResp refusing a request (RFC 3161 §2.4.2: status rejection, a failInfo, and free text). */
export function encodeTimestampRejection(failInfo: PkiFailureInfo, text: string): Buffer {
  return der.sequence(der.sequence(der.integer(2n), der.sequence(der.utf8String(text)), encodeFailureInfo([failInfo])));
}
