/**
 * A `Signer` (src/trust/signer.ts) whose key is a practitioner's key in the
 * Luxembourg remote signature service: the signer hashes locally, the KMS
 * signs the hash (`sign-data`), and the signature is checked against the
 * practitioner's certificate before it is returned — a KMS answering with
 * another key must fail here, not at the recipient's.
 *
 * `KmsSigner.create` fetches the certificate (`get-certificate`) once and
 * validates its chain against the configured CAs (`SIGNING_CA_ALIAS` under
 * `ROOT_SIGNING_CA_ALIAS`) for document signature, so nothing is signed with
 * an untrusted certificate. One instance serves one practitioner (one
 * access token) and is meant to live as long as one request.
 *
 * `signatureTimestamp` is the B-T callback through the same KMS
 * (`sign-timestamp`), its tokens verified against `TIMESTAMP_CA_ALIAS`.
 *
 * @example
 * ```ts
 * const signer = await KmsSigner.create({ client: kms, trust: kmsTrust, accessToken });
 * const signed = await signPdf(pdf, { signer, timestamp: signer.signatureTimestamp }); // PAdES-B-T
 * ```
 */
import { constants, createHash, verify, type KeyObject, type X509Certificate } from "node:crypto";
import { UpstreamError } from "../../../transport/index.js";
import type { SignatureAlgorithm, Signer } from "../../../trust/signer.js";
import { SIGNATURE_ALGORITHMS } from "../../../trust/signers/index.js";
import type { KmsClient, KmsHashAlgorithm } from "./client.js";
import { KmsTimestampAuthority, signatureTimestamp } from "./timestamp.js";
import type { KmsTrust } from "./trust.js";

export interface KmsSignerOptions {
  client: KmsClient;
  trust: KmsTrust;
  /** The practitioner's AeS access token. */
  accessToken: string;
  /** Label for logs and metrics (default `lu-kms:<certificate serial number>`); never secret. */
  id?: string;
  /** Clock for certificate validation and time-stamp checks. */
  now?: () => Date;
  signal?: AbortSignal;
}

/** What the KMS signs with, per Signer algorithm (RSASSA-PKCS1-v1_5 over the hash, RFC 8017 §8.2). */
const HASH_OF: Partial<Record<SignatureAlgorithm, KmsHashAlgorithm>> = {
  "RSASSA-PKCS1-v1_5-SHA256": "SHA-256",
  "RSASSA-PKCS1-v1_5-SHA384": "SHA-384",
  "RSASSA-PKCS1-v1_5-SHA512": "SHA-512",
};
const KMS_ALGORITHMS = Object.keys(HASH_OF) as SignatureAlgorithm[];

export class KmsSigner implements Signer {
  readonly id: string;
  readonly keyType = "RSA" as const;
  readonly algorithms: readonly SignatureAlgorithm[] = KMS_ALGORITHMS;
  /** The practitioner's signing certificate, validated. */
  readonly certificate: X509Certificate;
  /** The KMS time-stamping service for this practitioner. */
  readonly timestampAuthority: KmsTimestampAuthority;
  /** For `signPdf({ timestamp })`: a verified RFC 3161 token over a signature value, through the KMS. */
  readonly signatureTimestamp: (signatureValue: Buffer) => Promise<Buffer>;
  readonly #client: KmsClient;
  readonly #accessToken: string;
  readonly #chain: readonly X509Certificate[];
  readonly #publicKey: KeyObject;

  /**
   * Fetches and validates the practitioner's certificate. Rejects with
   * `PASSERELLE_KMS_TOKEN_REJECTED` (401), `PASSERELLE_KMS_FORBIDDEN` (403),
   * `PASSERELLE_KMS_CERTIFICATE_UNTRUSTED` (502), or the transport's
   * `UpstreamError` (502/503/504).
   */
  static async create(options: KmsSignerOptions): Promise<KmsSigner> {
    if (options === null || typeof options !== "object") throw new TypeError("KmsSigner.create needs options");
    if (options.client === undefined || typeof options.client.getCertificate !== "function") throw new TypeError("options.client must be a KmsClient");
    if (options.trust === undefined || typeof options.trust.signingChain !== "function") throw new TypeError("options.trust must be a KmsTrust");
    const { client } = options;
    const answer = await client.getCertificate(options.accessToken, options.signal === undefined ? {} : { signal: options.signal });
    const key = answer.certificate.publicKey;
    if (key.asymmetricKeyType !== "rsa") {
      throw new UpstreamError({
        upstream: client.name,
        kind: "bad_response",
        detail: `Upstream ${client.name} returned a certificate for a ${String(key.asymmetricKeyType)} key; RSA is expected`,
      });
    }
    const now = options.now ?? (() => new Date());
    const chain = await options.trust.signingChain(answer.certificate, client.name, now());
    return new KmsSigner(options, chain, key, now);
  }

  private constructor(options: KmsSignerOptions, chain: X509Certificate[], publicKey: KeyObject, now: () => Date) {
    const [certificate] = chain;
    if (certificate === undefined) throw new TypeError("unreachable: a validated chain starts with its leaf");
    this.certificate = certificate;
    // X509Certificate.publicKey builds a new KeyObject on every access: once per signer is enough.
    this.#publicKey = publicKey;
    this.id = options.id ?? `${options.client.name}:${certificate.serialNumber}`;
    this.#client = options.client;
    this.#accessToken = options.accessToken;
    this.#chain = chain;
    this.timestampAuthority = new KmsTimestampAuthority({
      client: options.client,
      accessToken: options.accessToken,
      trust: options.trust.timestampTrust,
      now,
    });
    this.signatureTimestamp = signatureTimestamp(this.timestampAuthority, "SHA-256");
  }

  async sign(data: Uint8Array, algorithm: SignatureAlgorithm): Promise<Buffer> {
    const hashAlgorithm = HASH_OF[algorithm];
    if (hashAlgorithm === undefined) throw new TypeError(`Signer ${this.id} cannot sign with ${algorithm} (it offers ${KMS_ALGORITHMS.join(", ")})`);
    if (!(data instanceof Uint8Array)) throw new TypeError("data must be bytes");
    const { digest } = SIGNATURE_ALGORITHMS[algorithm];
    const hash = createHash(digest).update(data).digest();
    const signature = await this.#client.signData(this.#accessToken, { hash, hashAlgorithm, signatureAlgorithm: "RSASSA-PKCS1-v1_5" });
    const verified = verify(digest, data, { key: this.#publicKey, padding: constants.RSA_PKCS1_PADDING }, signature);
    if (!verified) {
      throw new UpstreamError({
        upstream: this.#client.name,
        kind: "bad_response",
        detail: `Upstream ${this.#client.name} returned a signature that the practitioner's certificate does not verify`,
      });
    }
    return signature;
  }

  async certificateChain(): Promise<X509Certificate[]> {
    return [...this.#chain];
  }
}
