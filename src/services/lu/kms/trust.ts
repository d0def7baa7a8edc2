/**
 * What the gateway trusts in the KMS's answers, configured as the eConnector
 * configures it: a truststore (`TRUSTSTORE_KMS_FILENAME`, PKCS#12) and three
 * aliases in it —
 * - `SIGNING_CA_ALIAS`: the CA that issues the practitioners' signing
 *   certificates. A certificate from the KMS must be issued by it directly;
 * - `ROOT_SIGNING_CA_ALIAS`: the root that CA chains to, the trust anchor of
 *   the signing path (RFC 5280 §6.1);
 * - `TIMESTAMP_CA_ALIAS`: the CA whose time-stamping certificates are
 *   accepted on the KMS's time-stamps (the anchor of their path).
 *
 * Paths are validated by src/trust/certificates `validateChain` (validity,
 * signatures, CA constraints, key usage for the purpose: document signature
 * — digitalSignature or nonRepudiation — and time-stamping — RFC 3161 §2.3).
 * The certificates the KMS sends along are not used to build the signing
 * path: only the configured CAs can be on it.
 *
 * @example
 * ```ts
 * const trust = await KmsTrust.fromTruststore(env.TRUSTSTORE_KMS_FILENAME, {
 *   password: env.TRUSTSTORE_KMS_PASSWORD,
 *   aliases: { signingCa: env.SIGNING_CA_ALIAS, timestampCa: env.TIMESTAMP_CA_ALIAS, rootSigningCa: env.ROOT_SIGNING_CA_ALIAS },
 * });
 * ```
 */
import type { X509Certificate } from "node:crypto";
import type { TimestampTrust } from "../../../protocols/tsp/index.js";
import {
  loadTruststore,
  toNodeCertificate,
  validateChain,
  type CertificateInput,
  type CertificateSummary,
} from "../../../trust/certificates/index.js";
import { kmsCertificateUntrusted } from "./errors.js";

export interface KmsTrustAliases {
  /** `SIGNING_CA_ALIAS` (integration: `test_signing_ca`). */
  signingCa: string;
  /** `TIMESTAMP_CA_ALIAS` (integration: `test_timestamp_ca`). */
  timestampCa: string;
  /** `ROOT_SIGNING_CA_ALIAS` (integration: `test_root_signing_ca`). */
  rootSigningCa: string;
}

export interface KmsTruststoreOptions {
  /** The truststore's password ("" for none). */
  password?: string;
  aliases: KmsTrustAliases;
}

export interface KmsTrustCertificates {
  signingCas: readonly CertificateInput[];
  rootSigningCas: readonly CertificateInput[];
  timestampCas: readonly CertificateInput[];
}

export class KmsTrust {
  readonly signingCas: readonly X509Certificate[];
  readonly rootSigningCas: readonly X509Certificate[];
  readonly timestampCas: readonly X509Certificate[];
  /** For `verifyTimestampToken`: the TSA certificate must chain to a `TIMESTAMP_CA_ALIAS` CA and be a time-stamping one. */
  readonly timestampTrust: TimestampTrust;

  /** Reads the truststore; rejects with `PASSERELLE_TRUST_STORE_INVALID` (unreadable, wrong password, an alias missing). */
  static async fromTruststore(path: string, options: KmsTruststoreOptions): Promise<KmsTrust> {
    if (options === null || typeof options !== "object" || options.aliases === null || typeof options.aliases !== "object") {
      throw new TypeError("KmsTrust.fromTruststore needs { aliases: { signingCa, timestampCa, rootSigningCa } }");
    }
    const { signingCa, timestampCa, rootSigningCa } = options.aliases;
    const entries = await loadTruststore(path, {
      ...(options.password === undefined ? {} : { password: options.password }),
      aliases: [...new Set([signingCa, timestampCa, rootSigningCa])],
    });
    const withAlias = (alias: string): X509Certificate[] => entries.filter((entry) => entry.alias === alias).map((entry) => entry.certificate);
    return new KmsTrust({ signingCas: withAlias(signingCa), rootSigningCas: withAlias(rootSigningCa), timestampCas: withAlias(timestampCa) });
  }

  constructor(certificates: KmsTrustCertificates) {
    if (certificates === null || typeof certificates !== "object") throw new TypeError("KmsTrust needs { signingCas, rootSigningCas, timestampCas }");
    const list = (name: keyof KmsTrustCertificates): X509Certificate[] => {
      const value = certificates[name];
      if (!Array.isArray(value) || value.length === 0) throw new TypeError(`KmsTrust: ${name} must list at least one certificate`);
      return value.map((input: CertificateInput) => toNodeCertificate(input));
    };
    this.signingCas = list("signingCas");
    this.rootSigningCas = list("rootSigningCas");
    this.timestampCas = list("timestampCas");
    const timestampCas = this.timestampCas;
    const memo = this.#memo;
    this.timestampTrust = {
      async verifyChain(chain, { at }) {
        const [tsa, ...others] = chain;
        if (tsa === undefined) throw new TypeError("The chain must start with the TSA certificate");
        const key = memoKey("timestamping", chain);
        if (memo.get(key, at) !== undefined) return;
        const result = await validateChain(tsa, { anchors: timestampCas, intermediates: others, purpose: "timestamping", at });
        if (!result.valid) throw new Error(`${result.reason}: ${result.detail}`);
        memo.set(key, result.path, result.path);
      },
    };
  }

  /** Chains found valid recently (see ValidationMemo): the same TSA and practitioner certificates come back on every document. */
  readonly #memo = new ValidationMemo();

  /**
   * Validates a signing certificate from the KMS `upstream` at `at` (default
   * now) and returns the chain a signature carries: the certificate, then
   * its issuers up to and excluding a self-signed root. Rejects with
   * `PASSERELLE_KMS_CERTIFICATE_UNTRUSTED`.
   */
  async signingChain(certificate: X509Certificate, upstream: string, at: Date = new Date()): Promise<X509Certificate[]> {
    const key = memoKey("signature", [certificate]);
    const known = this.#memo.get(key, at);
    if (known !== undefined) return [...known];
    const chain = await this.#validateSigningChain(certificate, upstream, at);
    this.#memo.set(key, chain, chain);
    return chain;
  }

  async #validateSigningChain(certificate: X509Certificate, upstream: string, at: Date): Promise<X509Certificate[]> {
    const result = await validateChain(certificate, {
      anchors: this.rootSigningCas,
      intermediates: this.signingCas,
      purpose: "signature",
      at,
    });
    if (!result.valid) {
      throw kmsCertificateUntrusted(upstream, result.reason, result.detail, result.certificate ?? summaryOf(certificate), result.error);
    }
    const issuer = result.path[1];
    if (issuer === undefined || !this.signingCas.some((ca) => ca.raw.equals(issuer.raw))) {
      throw kmsCertificateUntrusted(
        upstream,
        "not_issued_by_signing_ca",
        "it chains to the root signing CA without going through the configured signing CA",
        summaryOf(certificate),
      );
    }
    return result.path.filter((element) => !(element.checkIssued(element) && element.verify(element.publicKey)));
  }
}

function summaryOf(certificate: X509Certificate): CertificateSummary {
  return {
    subject: certificate.subject.replaceAll("\n", ", "),
    issuer: certificate.issuer.replaceAll("\n", ", "),
    serialNumber: certificate.serialNumber,
    fingerprintSha256: certificate.fingerprint256,
    notBefore: certificate.validFromDate.toISOString(),
    notAfter: certificate.validToDate.toISOString(),
  };
}

/**
 * Remembers successful chain validations for a short time. Every document
 * brings the same practitioner certificate and the same TSA certificate, and
 * a full path validation (ASN.1 decoding, signature checks) costs more than
 * the RSA signatures themselves. An entry answers only for the same
 * certificates (by SHA-256 fingerprint), for a validation time inside every
 * certificate's validity, and for at most `ttlMs` — so a trust store change
 * or a revocation is seen within that time. Failures are never remembered.
 */
class ValidationMemo {
  readonly #entries = new Map<string, { until: number; notBefore: number; notAfter: number; chain: readonly X509Certificate[] }>();

  constructor(
    private readonly ttlMs = 5 * 60_000,
    private readonly maxEntries = 1024,
  ) {}

  get(key: string, at: Date): readonly X509Certificate[] | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    const when = at.getTime();
    if (Date.now() > entry.until || when < entry.notBefore || when > entry.notAfter) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.chain;
  }

  set(key: string, path: readonly X509Certificate[], chain: readonly X509Certificate[]): void {
    if (this.#entries.size >= this.maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(key, {
      until: Date.now() + this.ttlMs,
      notBefore: Math.max(...path.map((c) => c.validFromDate.getTime())),
      notAfter: Math.min(...path.map((c) => c.validToDate.getTime())),
      chain,
    });
  }
}

function memoKey(purpose: string, chain: readonly X509Certificate[]): string {
  return `${purpose}:${chain.map((c) => c.fingerprint256).join(",")}`;
}
