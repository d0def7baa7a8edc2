/**
 * The generic trust use cases behind /v1/sign, /v1/verify, /v1/timestamp and
 * /v1/trust/certificates — no Fastify here, so they are testable without
 * HTTP.
 *
 * Every sign, verify and time-stamp operation appends one audit record
 * (`trust.sign.pdf`, `trust.sign.xml`, `trust.verify.pdf`,
 * `trust.verify.xml`, `trust.timestamp`): the calling software, the
 * practitioner whose key signed, the signer id, the SHA-256 of what came in
 * and went out, and the outcome — never the document itself. A successful
 * operation's record is durable before the answer is sent (an audit trail
 * that cannot be written fails the request with 503); a failed operation's
 * record is best effort, so that the original problem reaches the caller.
 *
 * Signing refuses, before any key is used, a signer whose certificate does
 * not validate now for document signatures (expired, revoked, untrusted):
 * nothing is half-written, and a PAdES-B-T signature whose time-stamp cannot
 * be had is not returned as B-B.
 */
import { createHash, type X509Certificate } from "node:crypto";
import type { Logger } from "pino";
import type { AuditOutcome, AuditSink } from "../../audit/index.js";
import { PasserelleError } from "../../errors/index.js";
import type { PdfSignatureReport } from "../../protocols/pades/index.js";
import { loadPades } from "../../protocols/pades/load.js";
import { TIMESTAMP_HASH_ALGORITHMS, verifyTimestampToken, type TimestampHashAlgorithm } from "../../protocols/tsp/index.js";
import type { TrustPolicy } from "../../protocols/xmldsig/index.js";
import { loadXml, loadXmlDsig } from "../../protocols/xmldsig/load.js";
import type { ChainValidationResult } from "../../trust/certificates/index.js";
import type { Signer } from "../../trust/signer.js";
import { invalidHash, tsaNotConfigured } from "./errors.js";
import type { SignerCaller, SignerDescription, SignerRegistry, SignerSource } from "./signer-registry.js";
import { timestampingChainVerifier, type GatewayTimestampAuthority } from "./timestamp-authority.js";
import type { TrustMaterial } from "./trust-material.js";

export interface TrustCallContext {
  caller: SignerCaller;
  requestId: string;
  /** Fires when the request is abandoned (client gone, REQUEST_TIMEOUT_MS): upstream calls stop. */
  signal?: AbortSignal;
}

export interface TrustServiceOptions {
  signers: SignerRegistry;
  trust: TrustMaterial;
  /** Absent when no TSA is configured: B-T signatures and time-stamps are then refused (503). */
  tsa?: GatewayTimestampAuthority;
  audit: AuditSink;
  logger: Logger;
  /** Largest XML document accepted (bytes). */
  maxXmlBytes: number;
}

export type PadesLevel = "B-B" | "B-T";

export interface SignPdfInput {
  signer?: string;
  level?: PadesLevel;
  reason?: string;
  location?: string;
}

export interface SignXmlInput {
  signer?: string;
  xades?: boolean;
}

/** A certificate as the API shows it. */
export interface CertificateView {
  subject: string;
  issuer: string;
  serialNumber: string;
  notBefore: string;
  notAfter: string;
  fingerprintSha256: string;
  pem: string;
}

export interface ChainView {
  valid: boolean;
  /** Why not (expired, revoked, untrusted_root, issuer_not_found, key_usage…), when invalid. */
  reason?: string;
  detail?: string;
  /** Subjects from the signer to the anchor, when a path was built. */
  path?: string[];
}

export interface PdfSignatureView {
  field: string;
  valid: boolean;
  subFilter?: string;
  integrity: boolean;
  coversWholeDocument: boolean;
  modifiedAfterSigning: boolean;
  signer?: CertificateView;
  signingTime?: string;
  digestAlgorithm?: string;
  timestamp?: { genTime: string; verified: boolean };
  chain?: ChainView;
  reasons: Array<{ code: string; detail: string }>;
}

export interface PdfVerdict {
  /** At least one signature, and every one valid. */
  valid: boolean;
  signatures: PdfSignatureView[];
}

export type XmlVerdict =
  | {
      valid: true;
      signer: CertificateView;
      chain: ChainView;
      signatureAlgorithm: string;
      xades: boolean;
      signingTime?: string;
      /** The signed elements, serialized: read the data from these only. */
      signedElements: string[];
    }
  | { valid: false; reason: string; detail: string; chain?: ChainView };

export interface TimestampInput {
  hashAlgorithm: TimestampHashAlgorithm;
  /** Hex or base64 (standard or URL-safe) of the digest. */
  hash: string;
}

export interface TimestampView {
  /** Base64 of the DER TimeStampToken (a CMS ContentInfo, RFC 3161 §2.4.2). */
  token: string;
  genTime: string;
  serialNumber: string;
  policy: string;
  hashAlgorithm: TimestampHashAlgorithm;
  /** Hex. */
  hash: string;
  tsa: CertificateView;
}

export interface SignerView extends SignerDescription {
  default: boolean;
  available: boolean;
  /** Why the signer cannot be used now (card absent, key store unreadable). */
  problem?: string;
  /** The signing certificate first, then its issuers. */
  certificates: CertificateView[];
}

export interface CertificatesView {
  trustSource: TrustMaterial["source"];
  signers: SignerView[];
  trustAnchors: CertificateView[];
  intermediates: CertificateView[];
  timestampAuthority: { configured: boolean; upstream?: string };
}

interface AuditNote {
  detail: string[];
  practitioner?: string;
}

const sha256 = (data: Uint8Array | string): string => createHash("sha256").update(data).digest("hex");

export class TrustService {
  readonly #signers: SignerRegistry;
  readonly #trust: TrustMaterial;
  readonly #tsa: GatewayTimestampAuthority | undefined;
  readonly #audit: AuditSink;
  readonly #logger: Logger;
  readonly #maxXmlBytes: number;

  constructor(options: TrustServiceOptions) {
    this.#signers = options.signers;
    this.#trust = options.trust;
    this.#tsa = options.tsa;
    this.#audit = options.audit;
    this.#logger = options.logger;
    this.#maxXmlBytes = options.maxXmlBytes;
  }

  /** PAdES B-T (default) or B-B signature of `pdf` with the caller's signer, as an incremental update. */
  async signPdf(ctx: TrustCallContext, pdf: Buffer, input: SignPdfInput = {}): Promise<{ pdf: Buffer; signer: string }> {
    return this.#audited("trust.sign.pdf", ctx, async (note) => {
      note.detail.push(`input=sha256:${sha256(pdf)}`, `bytes=${pdf.length}`);
      const level = input.level ?? "B-T";
      note.detail.push(`level=${level}`);
      const tsa = this.#tsa;
      if (level === "B-T" && tsa === undefined) throw tsaNotConfigured();
      const { source, signer } = await this.#signerFor(ctx, input.signer, note);
      const { signPdf } = await loadPades();
      const signed = await signPdf(pdf, {
        signer,
        ...(input.reason === undefined ? {} : { reason: input.reason }),
        ...(input.location === undefined ? {} : { location: input.location }),
        ...(tsa === undefined || level === "B-B"
          ? {}
          : {
              // EN 319 142-1 §6.3 / RFC 3161 Appendix A: the signature time-stamp covers the SignatureValue.
              timestamp: async (signatureValue: Buffer) =>
                (await tsa.timestamp(createHash("sha256").update(signatureValue).digest(), "SHA-256", ctx.signal)).der,
            }),
      });
      note.detail.push(`output=sha256:${sha256(signed)}`);
      return { pdf: signed, signer: source.id };
    });
  }

  /** An enveloped XML-DSig signature (RSA-SHA256, exclusive C14N, chain in KeyInfo), XAdES-BES when asked. */
  async signXml(ctx: TrustCallContext, xml: Buffer, input: SignXmlInput = {}): Promise<{ xml: string; signer: string }> {
    return this.#audited("trust.sign.xml", ctx, async (note) => {
      note.detail.push(`input=sha256:${sha256(xml)}`, `bytes=${xml.length}`, `xades=${input.xades === true}`);
      const [{ parseXml }, { signXades, signXml }] = await Promise.all([loadXml(), loadXmlDsig()]);
      // Parsed (and refused: DTD, size, depth) before any key is touched.
      const document = parseXml(xml, { maxBytes: this.#maxXmlBytes });
      const { source, signer } = await this.#signerFor(ctx, input.signer, note);
      const options = { signer, keyInfo: "chain" as const };
      const signed = input.xades === true ? await signXades(document, options) : await signXml(document, options);
      const text = `<?xml version="1.0" encoding="UTF-8"?>\n${signed.xml}`;
      note.detail.push(`output=sha256:${sha256(text)}`);
      return { xml: text, signer: source.id };
    });
  }

  /** An RFC 3161 token over a digest the caller computed, verified before it is returned. */
  async timestamp(ctx: TrustCallContext, input: TimestampInput): Promise<TimestampView> {
    return this.#audited("trust.timestamp", ctx, async (note) => {
      const tsa = this.#tsa;
      if (tsa === undefined) throw tsaNotConfigured();
      const digest = decodeDigest(input.hash, input.hashAlgorithm);
      note.detail.push(`hash=${input.hashAlgorithm}:${digest.toString("hex")}`, `tsa=${tsa.upstream}`);
      const token = await tsa.timestamp(digest, input.hashAlgorithm, ctx.signal);
      note.detail.push(`serial=${token.serialNumber}`);
      return {
        token: token.der.toString("base64"),
        genTime: token.genTime.toISOString(),
        serialNumber: token.serialNumber,
        policy: token.policy,
        hashAlgorithm: token.hashAlgorithm,
        hash: token.messageImprint.toString("hex"),
        tsa: certificateView(token.tsaCertificate),
      };
    });
  }

  /** Every signature of `pdf`: integrity, signer, time-stamp and chain, each with its reasons. */
  async verifyPdf(ctx: TrustCallContext, pdf: Buffer): Promise<PdfVerdict> {
    return this.#audited("trust.verify.pdf", ctx, async (note) => {
      note.detail.push(`input=sha256:${sha256(pdf)}`, `bytes=${pdf.length}`);
      const chains = new Map<string, ChainValidationResult>();
      const { verifyPdfSignatures } = await loadPades();
      const reports = await verifyPdfSignatures(pdf, {
        verifyChain: async (chain) => {
          const [leaf, ...others] = chain;
          if (leaf === undefined) throw new TypeError("empty chain");
          const result = await this.#trust.validate(leaf, { purpose: "signature", intermediates: others });
          chains.set(leaf.fingerprint256, result);
          if (!result.valid) throw result.error;
        },
        verifyTimestamp: async (tokenDer, signatureValue) => {
          const token = await verifyTimestampToken(tokenDer, { data: signatureValue, trust: { verifyChain: timestampingChainVerifier(this.#trust) } });
          return { genTime: token.genTime };
        },
      });
      const signatures = reports.map((report) => pdfSignatureView(report, chains));
      const valid = signatures.length > 0 && signatures.every((signature) => signature.valid);
      note.detail.push(`signatures=${signatures.length}`, `valid=${valid}`);
      for (const signature of signatures) if (signature.signer !== undefined) note.detail.push(`signer=${signature.signer.fingerprintSha256.replaceAll(":", "").slice(0, 16)}`);
      return { valid, signatures };
    });
  }

  /**
   * The one enveloped signature of `xml` (a ds:Signature child of the
   * document element), verified with a key whose certificate validates
   * against the trust material — KeyInfo only proposes certificates — and
   * what it signs. XAdES-BES signatures (a QualifyingProperties in the
   * signature) are verified as such.
   */
  async verifyXml(ctx: TrustCallContext, xml: Buffer): Promise<XmlVerdict> {
    return this.#audited("trust.verify.xml", ctx, async (note) => {
      note.detail.push(`input=sha256:${sha256(xml)}`, `bytes=${xml.length}`);
      const [{ parseXml, serializeXml }, { XADES_NAMESPACE, XmlSignatureError, verifyXades, verifyXmlSignature }] = await Promise.all([loadXml(), loadXmlDsig()]);
      const document = parseXml(xml, { maxBytes: this.#maxXmlBytes });
      let chain: ChainValidationResult | undefined;
      const trustPolicy: TrustPolicy = async (certificates, { at }) => {
        // The signing certificate is the one that issued none of the others (KeyInfo order is not guaranteed).
        const leaf = certificates.find((candidate) => !certificates.some((other) => other !== candidate && other.checkIssued(candidate))) ?? certificates[0];
        if (leaf === undefined) throw new XmlSignatureError("untrusted_key", "KeyInfo carries no certificate to validate against the trust anchors");
        chain = await this.#trust.validate(leaf, { purpose: "signature", intermediates: certificates.filter((c) => c !== leaf), at });
        if (!chain.valid) throw chain.error;
        return leaf;
      };
      const xades = document.getElementsByTagNameNS(XADES_NAMESPACE, "QualifyingProperties").length > 0;
      try {
        const result = xades ? await verifyXades(document, { trustPolicy }) : await verifyXmlSignature(document, { trustPolicy });
        const certificate = result.certificate;
        if (certificate === undefined) throw new XmlSignatureError("untrusted_key", "The verifying key has no certificate");
        note.detail.push("valid=true", `signer=${certificate.fingerprint256.replaceAll(":", "").slice(0, 16)}`, `xades=${xades}`);
        return {
          valid: true,
          signer: certificateView(certificate),
          chain: chainView(chain),
          signatureAlgorithm: result.algorithm,
          xades,
          ...("signingTime" in result && result.signingTime instanceof Date ? { signingTime: result.signingTime.toISOString() } : {}),
          signedElements: result.signedElements.map((element) => serializeXml(element)),
        };
      } catch (error) {
        if (!(error instanceof XmlSignatureError)) throw error;
        note.detail.push("valid=false", `reason=${error.reason}`);
        return { valid: false, reason: error.reason, detail: error.detail, ...(chain === undefined ? {} : { chain: chainView(chain) }) };
      }
    });
  }

  /** The caller's signers with their chains, and the trust anchors, for GET /v1/trust/certificates. */
  async certificates(ctx: TrustCallContext): Promise<CertificatesView> {
    const usable = this.#signers.usableBy(ctx.caller);
    const signers = await Promise.all(
      usable.map(async (source, index): Promise<SignerView> => {
        const description = describe(source);
        try {
          const chain = await (await source.acquire()).certificateChain();
          return { ...description, default: index === 0, available: true, certificates: chain.map(certificateView) };
        } catch (error) {
          if (!(error instanceof PasserelleError) || error.status === 500) this.#logger.warn({ err: error, signer: source.id }, "signer unavailable");
          return { ...description, default: index === 0, available: false, problem: problemText(error), certificates: [] };
        }
      }),
    );
    return {
      trustSource: this.#trust.source,
      signers,
      trustAnchors: this.#trust.anchors().map(certificateView),
      intermediates: this.#trust.intermediates().map(certificateView),
      timestampAuthority: this.#tsa === undefined ? { configured: false } : { configured: true, upstream: this.#tsa.upstream },
    };
  }

  /** The signer to use, after checking that its certificate may sign documents now. */
  async #signerFor(ctx: TrustCallContext, id: string | undefined, note: AuditNote): Promise<{ source: SignerSource; signer: Signer }> {
    const source = this.#signers.resolve(ctx.caller, id);
    note.detail.push(`signer=${source.id}`);
    if (source.practitionerId !== undefined) note.practitioner = source.practitionerId;
    const signer = await source.acquire();
    const [leaf, ...issuers] = await signer.certificateChain();
    if (leaf === undefined) throw new TypeError(`Signer ${source.id} has no certificate`);
    const result = await this.#trust.validate(leaf, { purpose: "signature", intermediates: issuers });
    if (!result.valid) {
      note.detail.push(`refused=${result.reason}`);
      throw result.error;
    }
    return { source, signer };
  }

  async #audited<T>(action: string, ctx: TrustCallContext, run: (note: AuditNote) => Promise<T>): Promise<T> {
    const note: AuditNote = { detail: [] };
    const record = (outcome: AuditOutcome) =>
      this.#audit.append({
        action,
        caller: { software: ctx.caller.id, ...(note.practitioner === undefined ? {} : { practitioner: note.practitioner }) },
        outcome,
        requestId: ctx.requestId,
        ...(note.detail.length === 0 ? {} : { detail: note.detail.join(" ").slice(0, 1000) }),
      });
    let result: T;
    try {
      result = await run(note);
    } catch (error) {
      const denied = error instanceof PasserelleError && error.code === "PASSERELLE_FORBIDDEN";
      if (error instanceof PasserelleError) note.detail.push(`error=${error.code}`);
      await record(denied ? "denied" : "failure").catch((auditError: unknown) =>
        this.#logger.error({ err: auditError, action }, "audit record of a failed trust operation could not be written"),
      );
      throw error;
    }
    await record("success");
    return result;
  }
}

/** The digest the caller sent, as hex or base64: the expected length tells them apart (2n hex digits ≠ 4⌈n/3⌉ base64 characters). */
export function decodeDigest(text: string, algorithm: TimestampHashAlgorithm): Buffer {
  const length = TIMESTAMP_HASH_ALGORITHMS[algorithm].length;
  const value = text.trim();
  if (value.length === 2 * length && /^[0-9a-fA-F]+$/.test(value)) return Buffer.from(value, "hex");
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) {
    const bytes = Buffer.from(value.replaceAll("-", "+").replaceAll("_", "/"), "base64");
    if (bytes.length === length && bytes.toString("base64").replace(/=+$/, "") === value.replaceAll("-", "+").replaceAll("_", "/").replace(/=+$/, "")) return bytes;
  }
  throw invalidHash(`hash must be the ${length}-byte ${algorithm} digest, as ${2 * length} hex digits or base64`);
}

function describe(source: SignerDescription): SignerDescription {
  return {
    id: source.id,
    kind: source.kind,
    label: source.label,
    ...(source.country === undefined ? {} : { country: source.country }),
    ...(source.practitionerId === undefined ? {} : { practitionerId: source.practitionerId }),
  };
}

function problemText(error: unknown): string {
  if (error instanceof PasserelleError && error.expose) return `${error.code}: ${error.detail}`;
  return "The signer could not be opened; see the gateway's log";
}

export function certificateView(certificate: X509Certificate): CertificateView {
  return {
    subject: certificate.subject.replaceAll("\n", ", "),
    issuer: certificate.issuer.replaceAll("\n", ", "),
    serialNumber: certificate.serialNumber,
    notBefore: certificate.validFromDate.toISOString(),
    notAfter: certificate.validToDate.toISOString(),
    fingerprintSha256: certificate.fingerprint256,
    pem: certificate.toString(),
  };
}

function chainView(result: ChainValidationResult | undefined): ChainView {
  if (result === undefined) return { valid: false, reason: "not_checked", detail: "The signature failed before its certificate was validated" };
  if (result.valid) return { valid: true, path: result.path.map((c) => c.subject.replaceAll("\n", ", ")) };
  return {
    valid: false,
    reason: result.reason,
    detail: result.detail,
    ...(result.path === undefined ? {} : { path: result.path.map((c) => c.subject.replaceAll("\n", ", ")) }),
  };
}

function pdfSignatureView(report: PdfSignatureReport, chains: ReadonlyMap<string, ChainValidationResult>): PdfSignatureView {
  const chain = report.signerCertificate === undefined ? undefined : chains.get(report.signerCertificate.fingerprint256);
  return {
    field: report.fieldName,
    valid: report.valid,
    ...(report.subFilter === undefined ? {} : { subFilter: report.subFilter }),
    integrity: report.integrity,
    coversWholeDocument: report.coversWholeDocument,
    modifiedAfterSigning: report.modifiedAfterSigning,
    ...(report.signerCertificate === undefined ? {} : { signer: certificateView(report.signerCertificate) }),
    ...(report.signingTime === undefined ? {} : { signingTime: report.signingTime.toISOString() }),
    ...(report.digestAlgorithm === undefined ? {} : { digestAlgorithm: report.digestAlgorithm }),
    ...(report.timestamp === undefined ? {} : { timestamp: { genTime: report.timestamp.genTime.toISOString(), verified: report.timestamp.verified } }),
    ...(report.integrity ? { chain: chainView(chain) } : {}),
    reasons: report.reasons.map((reason) => ({ code: reason.code, detail: reason.detail })),
  };
}
