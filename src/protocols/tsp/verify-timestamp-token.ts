/**
 * Verifies an RFC 3161 time-stamp token on its own — the check a PAdES B-T
 * verifier runs on a signature-time-stamp attribute, and the one the
 * timestamp client runs on every answer.
 *
 * In order: the token parses; its one signature verifies with the TSA
 * certificate and the ESS attribute binds that certificate; the certificate
 * is fit for time-stamping (RFC 3161 §2.3) and names the `tsa` field if any;
 * it was valid at genTime and chains to a trust anchor; then the content —
 * imprint, nonce, policy and, when asked, genTime against a time window.
 *
 * @example
 * ```ts
 * const token = await verifyTimestampToken(der, {
 *   data: signatureValue,
 *   trust: { anchors: [tsaRoot] },
 * });
 * console.log(token.genTime.toISOString(), token.tsaCertificate.subject);
 * ```
 */
import { X509Certificate, createHash, type KeyObject } from "node:crypto";
import { UNIVERSAL, contentOf, encodingOf, isUniversal } from "../cms/ber-reader.js";
import { sameName } from "./certificate-fields.js";
import { TimestampError } from "./errors.js";
import { TIMESTAMP_HASH_ALGORITHMS, assertTimestampHashAlgorithm, describeHashOid, type TimestampHashAlgorithm } from "./hash-algorithms.js";
import { assertSigningCertificateBinding, findSignerCertificate, verifySignerInfo } from "./signer-info.js";
import { assertTimestampingCertificate } from "./tsa-certificate.js";
import { chainVerifierFor, type TimestampTrust } from "./tsa-trust.js";
import {
  accuracyMs,
  decodeCertificate,
  decodeTimestampToken,
  type DecodedCertificate,
  type DecodedTimestampToken,
  type TimestampAccuracy,
} from "./timestamp-token.js";

/** A token that passed every check. */
export interface TimestampToken {
  /** DER ContentInfo (SignedData): what goes into a CMS unsigned attribute or a PDF. */
  der: Buffer;
  genTime: Date;
  /** Upper-case hexadecimal. */
  serialNumber: string;
  tsaCertificate: X509Certificate;
  policy: string;
  hashAlgorithm: TimestampHashAlgorithm;
  /** The hash that was time-stamped. */
  messageImprint: Buffer;
  nonce: bigint | undefined;
  accuracy: TimestampAccuracy | undefined;
}

export interface VerifyTimestampTokenOptions {
  /** The time-stamped bytes (hashed with the token's algorithm). Give this or `digest`. */
  data?: Uint8Array;
  /** Their hash, computed with `hashAlgorithm` or, when that is absent, with the token's algorithm. */
  digest?: Uint8Array;
  /** Require this imprint algorithm. */
  hashAlgorithm?: TimestampHashAlgorithm;
  /** Require this nonce (the one sent in the request). */
  nonce?: bigint;
  /** Require this TSA policy. */
  policy?: string;
  /** Trust anchors or a chain verifier for the TSA certificate. */
  trust: TimestampTrust;
  /** Certificates to use besides those in the token: the TSA certificate when the token lacks it, intermediate CAs. */
  certificates?: readonly X509Certificate[];
  /** Require genTime (± the token's accuracy) to fall in this window, e.g. around the request. */
  genTimeWindow?: { notBefore: Date; notAfter: Date };
}

function assertOptions(options: VerifyTimestampTokenOptions): void {
  if (options === null || typeof options !== "object") throw new TypeError("verifyTimestampToken needs options");
  const given = [options.data, options.digest].filter((value) => value !== undefined);
  if (given.length !== 1) throw new TypeError("verifyTimestampToken needs exactly one of data and digest");
  if (!(given[0] instanceof Uint8Array)) throw new TypeError("data / digest must be bytes (Buffer / Uint8Array)");
  if (options.hashAlgorithm !== undefined) assertTimestampHashAlgorithm(options.hashAlgorithm, "options.hashAlgorithm");
  if (options.nonce !== undefined && typeof options.nonce !== "bigint") throw new TypeError("options.nonce must be a bigint");
  if (options.certificates !== undefined && !options.certificates.every((c) => c instanceof X509Certificate)) {
    throw new TypeError("options.certificates must be node:crypto X509Certificate objects");
  }
}

/**
 * Verifies `der` and returns what it attests. Throws `TypeError` on misuse
 * and a `TimestampError` (source "document", code
 * PASSERELLE_TIMESTAMP_TOKEN_INVALID) naming the first failed check.
 */
export async function verifyTimestampToken(der: Uint8Array, options: VerifyTimestampTokenOptions): Promise<TimestampToken> {
  assertOptions(options);
  const verifyChain = chainVerifierFor(options.trust);
  const token = decodeTimestampToken(der);
  const { parsed } = token;

  const signer = signerCertificate(token, options.certificates ?? []);
  verifySignerInfo(token.signerInfo, token.eContent, publicKeyOf(signer));
  assertSigningCertificateBinding(token.signerInfo, signer);
  assertTimestampingCertificate(signer.fields);
  assertTsaName(token, signer);
  await assertTrusted(token, signer, options.certificates ?? [], verifyChain);

  const hashAlgorithm = assertImprint(token, options);
  if (options.nonce !== undefined && parsed.nonce !== options.nonce) {
    throw new TimestampError({
      reason: "nonce-mismatch",
      detail: parsed.nonce === undefined ? "The token has no nonce, but the request had one" : "The token's nonce is not the request's",
    });
  }
  if (options.policy !== undefined && parsed.policy !== options.policy) {
    throw new TimestampError({
      reason: "policy-mismatch",
      detail: `The token was issued under policy ${parsed.policy}, not the requested ${options.policy}`,
    });
  }
  if (options.genTimeWindow !== undefined) assertGenTimeWindow(token, options.genTimeWindow);

  return {
    der: parsed.der,
    genTime: parsed.genTime,
    serialNumber: parsed.serialNumber,
    tsaCertificate: signer.node,
    policy: parsed.policy,
    hashAlgorithm,
    messageImprint: parsed.messageImprint,
    nonce: parsed.nonce,
    accuracy: parsed.accuracy,
  };
}

function signerCertificate(token: DecodedTimestampToken, extra: readonly X509Certificate[]): DecodedCertificate {
  const fromToken = findSignerCertificate(token.signerInfo, token.certificates);
  if (fromToken !== undefined) return fromToken;
  const candidates = extra.map((certificate) => {
    const decoded = decodeCertificate(certificate);
    if (decoded === undefined) throw new TypeError("options.certificates holds a certificate whose fields cannot be read");
    return decoded;
  });
  const configured = findSignerCertificate(token.signerInfo, candidates);
  if (configured !== undefined) return configured;
  throw new TimestampError({
    reason: "missing-certificate",
    detail: "The TSA certificate is neither in the token nor among the configured certificates",
  });
}

/** The TSA certificate's key; node:crypto decodes it only when asked, so a mangled key surfaces here. */
function publicKeyOf(signer: DecodedCertificate): KeyObject {
  try {
    return signer.node.publicKey;
  } catch (error) {
    throw new TimestampError({ reason: "malformed", detail: "The TSA certificate's public key cannot be read", cause: error });
  }
}

/** RFC 3161 §2.4.2: a `tsa` name, when present, must be one of the signing certificate's subject names. */
function assertTsaName(token: DecodedTimestampToken, signer: DecodedCertificate): void {
  const name = token.tsa;
  if (name === undefined) return;
  let matches = false;
  const { element } = name;
  if (name.type === 4) {
    // directoryName [4] EXPLICIT Name
    const directoryName = element.constructed && element.children.length === 1 ? element.children[0] : undefined;
    matches = isUniversal(directoryName, UNIVERSAL.SEQUENCE) && sameName(encodingOf(directoryName), signer.fields.subject);
  } else if (!element.constructed && (name.type === 1 || name.type === 2 || name.type === 6)) {
    // rfc822Name [1], dNSName [2], uniformResourceIdentifier [6]: IMPLICIT IA5String.
    const prefix = name.type === 1 ? "email:" : name.type === 2 ? "DNS:" : "URI:";
    const altNames = (signer.node.subjectAltName ?? "").split(/,\s*/);
    matches = altNames.includes(`${prefix}${contentOf(element).toString("latin1")}`);
  }
  if (!matches) {
    throw new TimestampError({ reason: "tsa-name-mismatch", detail: "The token's tsa name is not a name of the certificate that signed it" });
  }
}

async function assertTrusted(
  token: DecodedTimestampToken,
  signer: DecodedCertificate,
  extra: readonly X509Certificate[],
  verifyChain: ReturnType<typeof chainVerifierFor>,
): Promise<void> {
  const genTime = token.parsed.genTime;
  const tsa = signer.node;
  // RFC 3161 §4.1 / ETSI EN 319 421: a token is only as good as the certificate that was valid when it was made.
  if (genTime.getTime() < tsa.validFromDate.getTime() || genTime.getTime() > tsa.validToDate.getTime()) {
    throw new TimestampError({
      reason: "untrusted-tsa",
      detail: `The TSA certificate was not valid at genTime ${genTime.toISOString()}`,
    });
  }
  const others = new Map<string, X509Certificate>();
  for (const certificate of [...token.parsed.certificates, ...extra]) {
    if (certificate.fingerprint256 !== tsa.fingerprint256) others.set(certificate.fingerprint256, certificate);
  }
  try {
    await verifyChain([tsa, ...others.values()], { at: genTime });
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new TimestampError({ reason: "untrusted-tsa", detail: `The TSA certificate is not trusted: ${why}`, cause: error });
  }
}

function assertImprint(token: DecodedTimestampToken, options: VerifyTimestampTokenOptions): TimestampHashAlgorithm {
  const { parsed } = token;
  const algorithm = parsed.hashAlgorithm;
  if (algorithm === undefined) {
    throw new TimestampError({
      reason: "unsupported-algorithm",
      detail: `The token's imprint uses ${describeHashOid(parsed.hashAlgorithmOid)}, not SHA-256/384/512`,
    });
  }
  if (options.hashAlgorithm !== undefined && options.hashAlgorithm !== algorithm) {
    throw new TimestampError({
      reason: "imprint-mismatch",
      detail: `The token's imprint uses ${algorithm}, not the requested ${options.hashAlgorithm}`,
    });
  }
  const expected =
    options.data !== undefined
      ? createHash(TIMESTAMP_HASH_ALGORITHMS[algorithm].nodeName).update(options.data).digest()
      : Buffer.from(options.digest ?? []);
  if (!expected.equals(parsed.messageImprint)) {
    throw new TimestampError({ reason: "imprint-mismatch", detail: "The token's message imprint is not the hash of the time-stamped data" });
  }
  return algorithm;
}

function assertGenTimeWindow(token: DecodedTimestampToken, window: { notBefore: Date; notAfter: Date }): void {
  const genTime = token.parsed.genTime.getTime();
  const slack = accuracyMs(token.parsed.accuracy);
  if (genTime + slack < window.notBefore.getTime() || genTime - slack > window.notAfter.getTime()) {
    throw new TimestampError({
      reason: "time-out-of-tolerance",
      detail: `The token's genTime ${token.parsed.genTime.toISOString()} is outside ${window.notBefore.toISOString()} – ${window.notAfter.toISOString()}`,
    });
  }
}
