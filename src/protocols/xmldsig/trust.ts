/**
 * Where a verifier's key comes from. The certificate found in KeyInfo is a
 * claim made by whoever built the document: it is used only once a
 * {@link TrustPolicy} has validated it against configured anchors, or when it
 * is byte-for-byte one of the caller's trusted certificates.
 */
import type { X509Certificate } from "node:crypto";
import { XmlSignatureError } from "./errors.js";

export interface TrustContext {
  /** The validation time (the policy's `at`, default now). */
  at: Date;
}

/**
 * Validates the certificates a signature carries in KeyInfo (in document
 * order; the signing certificate is usually first) and returns the signing
 * certificate, or throws. Errors that are PasserelleErrors become
 * `untrusted_key` (or `certificate_expired` / `certificate_not_yet_valid`
 * when their `reason` is `expired` / `not_yet_valid`, as the trust store's
 * chain validator reports them); any other error propagates unchanged, since
 * it is a bug rather than a verdict.
 *
 * Plug the gateway's chain validator here (revocation, key usage, policies);
 * {@link chainToTrustAnchors} is the minimal built-in one.
 */
export type TrustPolicy = (keyInfoCertificates: readonly X509Certificate[], context: TrustContext) => X509Certificate | Promise<X509Certificate>;

export interface ChainToTrustAnchorsOptions {
  /** Extra CA certificates that may complete a chain KeyInfo leaves incomplete. */
  intermediates?: readonly X509Certificate[];
  /** Longest path of intermediates accepted. Default 5. */
  maxIntermediates?: number;
}

/**
 * A minimal {@link TrustPolicy}: the signing certificate (the KeyInfo
 * certificate that issued none of the others) must chain to one of `anchors`
 * through CA certificates from KeyInfo or `intermediates`, every signature on
 * the path must verify, and every certificate on it (anchor included) must be
 * valid at the validation time. It checks no revocation and no key usage:
 * use the trust store's validator for that.
 *
 * @example
 * ```ts
 * const result = await verifyXmlSignature(xml, {
 *   trustPolicy: chainToTrustAnchors([sandboxRoot], { intermediates: [frCa] }),
 * });
 * ```
 */
export function chainToTrustAnchors(anchors: readonly X509Certificate[], options: ChainToTrustAnchorsOptions = {}): TrustPolicy {
  if (!Array.isArray(anchors) || anchors.length === 0) throw new TypeError("chainToTrustAnchors: at least one anchor is required");
  const pool = options.intermediates ?? [];
  const maxIntermediates = options.maxIntermediates ?? 5;
  return (certificates, { at }) => {
    if (certificates.length === 0) throw new XmlSignatureError("untrusted_key", "KeyInfo carries no certificate to validate");
    const leaf = certificates.find((candidate) => !certificates.some((other) => other !== candidate && other.checkIssued(candidate))) ?? certificates[0];
    if (leaf === undefined) throw new XmlSignatureError("untrusted_key", "KeyInfo carries no certificate to validate");
    const candidates = [...certificates, ...pool].filter((c) => c !== leaf && c.ca);
    const path: X509Certificate[] = [leaf];
    let current = leaf;
    for (;;) {
      const pinned = anchors.find((anchor) => anchor.raw.equals(current.raw));
      const anchor = pinned ?? anchors.find((a) => issuedBy(current, a));
      if (anchor !== undefined) {
        if (pinned === undefined) path.push(anchor);
        for (const certificate of path) assertValidAt(certificate, at);
        return leaf;
      }
      if (path.length > maxIntermediates) break;
      const issuer = candidates.find((c) => !path.includes(c) && issuedBy(current, c));
      if (issuer === undefined) break;
      path.push(issuer);
      current = issuer;
    }
    throw new XmlSignatureError("untrusted_key", `The signing certificate (${leaf.subject.replaceAll("\n", ", ")}) does not chain to a trust anchor`);
  };
}

/** Whether `issuer` issued `certificate`: names (and key identifiers) match and its signature verifies. */
function issuedBy(certificate: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return certificate.checkIssued(issuer) && certificate.verify(issuer.publicKey);
  } catch {
    // An issuer key of another type, or an unsupported signature algorithm.
    return false;
  }
}

/** @throws XmlSignatureError `certificate_expired` / `certificate_not_yet_valid`. */
export function assertValidAt(certificate: X509Certificate, at: Date): void {
  const subject = certificate.subject.replaceAll("\n", ", ");
  if (at.getTime() > certificate.validToDate.getTime()) {
    throw new XmlSignatureError("certificate_expired", `Certificate ${subject} expired on ${certificate.validToDate.toISOString()}`);
  }
  if (at.getTime() < certificate.validFromDate.getTime()) {
    throw new XmlSignatureError("certificate_not_yet_valid", `Certificate ${subject} is valid only from ${certificate.validFromDate.toISOString()}`);
  }
}
