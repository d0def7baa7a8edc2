/**
 * Revocation status of one certificate from its issuer's CRLs (RFC 5280
 * §6.3, simplified to complete CRLs signed by the certificate's issuer):
 * which CRLs are usable, which one is current, and what it says.
 */
import * as asn1js from "asn1js";
import { CrlReason, KeyUsage, crlReasonName } from "../certificate-constants.js";
import { describe, type ParsedCertificate } from "./certificate-input.js";
import type { Crl, CrlSource } from "./crl.js";
import { keyUsageOf } from "./purposes.js";

/** What to do with a CRL past its nextUpdate (RFC 5280 §6.3.3 (a)(2) asks for a current one). */
export type StaleCrlPolicy = "reject" | "accept";

export type RevocationStatus =
  | { status: "good"; crl: Crl; stale: boolean }
  | { status: "revoked"; crl: Crl; revokedAt: Date; reason: string }
  | { status: "unknown"; detail: string; cause?: unknown };

const ISSUING_DISTRIBUTION_POINT = "2.5.29.28";
const DELTA_CRL_INDICATOR = "2.5.29.27";
/** CRL extensions a complete CRL may carry critical and that we process (RFC 5280 §5.2). */
const PROCESSED_CRITICAL_CRL_EXTENSIONS = new Set([ISSUING_DISTRIBUTION_POINT]);

interface IdpScope {
  onlyUserCerts: boolean;
  onlyCaCerts: boolean;
  /** onlySomeReasons, indirectCRL or onlyContainsAttributeCerts: a partial CRL we do not combine. */
  partial: boolean;
}

/** RFC 5280 §5.2.5 IssuingDistributionPoint, the members that decide scope. */
function issuingDistributionPointScope(crl: Crl): IdpScope | undefined {
  const extension = crl.x509.extensions.find((candidate) => candidate.type === ISSUING_DISTRIBUTION_POINT);
  if (extension === undefined) return undefined;
  const parsed = asn1js.fromBER(extension.value);
  const scope: IdpScope = { onlyUserCerts: false, onlyCaCerts: false, partial: false };
  if (parsed.offset === -1 || !(parsed.result instanceof asn1js.Sequence)) return { ...scope, partial: true };
  for (const member of parsed.result.valueBlock.value) {
    const tag = member.idBlock.tagNumber;
    // [1] onlyContainsUserCerts, [2] onlyContainsCACerts, [3] onlySomeReasons, [4] indirectCRL, [5] onlyContainsAttributeCerts.
    const flag = member.valueBeforeDecodeView.at(-1) !== 0;
    if (tag === 1) scope.onlyUserCerts = flag;
    else if (tag === 2) scope.onlyCaCerts = flag;
    else if (tag === 3) scope.partial = true;
    else if ((tag === 4 || tag === 5) && flag) scope.partial = true;
  }
  return scope;
}

function isCa(certificate: ParsedCertificate): boolean {
  return certificate.node.ca;
}

/** Why a CRL cannot serve for this certificate, or `undefined` when it can. */
async function unusableBecause(crl: Crl, certificate: ParsedCertificate, issuer: ParsedCertificate): Promise<string | undefined> {
  if (!crl.issuerDer.equals(issuer.subjectDer)) return "issued by another CA";
  if (crl.x509.extensions.some((extension) => extension.type === DELTA_CRL_INDICATOR)) return "a delta CRL";
  const unknownCritical = crl.x509.extensions.find((extension) => extension.critical && !PROCESSED_CRITICAL_CRL_EXTENSIONS.has(extension.type));
  if (unknownCritical !== undefined) return `it has an unsupported critical extension ${unknownCritical.type}`;
  const scope = issuingDistributionPointScope(crl);
  if (scope?.partial) return "a partial CRL (onlySomeReasons, indirect or attribute certificates)";
  if (scope?.onlyUserCerts && isCa(certificate)) return "it covers end-entity certificates only";
  if (scope?.onlyCaCerts && !isCa(certificate)) return "it covers CA certificates only";
  const keyUsage = keyUsageOf(issuer);
  if (keyUsage !== null && (keyUsage.usages & KeyUsage.cRLSign) === 0) return "its issuer's keyUsage lacks cRLSign";
  let verified: boolean;
  try {
    verified = await crl.x509.verify({ publicKey: issuer.x509 });
  } catch {
    verified = false;
  }
  return verified ? undefined : "its signature does not verify with the issuer's key";
}

/**
 * The revocation status of `certificate` at `at`, from whichever source
 * holds a usable CRL of `issuer`; the most recent usable CRL wins.
 */
export async function revocationStatus(
  certificate: ParsedCertificate,
  issuer: ParsedCertificate,
  sources: readonly CrlSource[],
  at: Date,
  staleCrl: StaleCrlPolicy,
): Promise<RevocationStatus> {
  const problems: string[] = [];
  const causes: unknown[] = [];
  let best: Crl | undefined;
  for (const source of sources) {
    let crls: readonly Crl[];
    try {
      crls = await source.crls();
    } catch (error) {
      problems.push(`${source.description} is unavailable (${(error as Error).message})`);
      causes.push(error);
      continue;
    }
    for (const crl of crls) {
      if (!crl.issuerDer.equals(issuer.subjectDer)) continue;
      const reason = await unusableBecause(crl, certificate, issuer);
      if (reason !== undefined) {
        problems.push(`a CRL from ${source.description} cannot be used: ${reason}`);
        continue;
      }
      if (best === undefined || crl.thisUpdate.getTime() > best.thisUpdate.getTime()) best = crl;
    }
  }
  if (best === undefined) {
    const why = problems.length > 0 ? problems.join("; ") : `no configured source holds a CRL of ${describe(issuer)}`;
    return { status: "unknown", detail: `no usable CRL for ${describe(certificate)}: ${why}`, ...(causes.length > 0 ? { cause: causes[0] } : {}) };
  }
  const nextUpdate = best.nextUpdate;
  const stale = nextUpdate !== undefined && nextUpdate.getTime() < at.getTime();
  const entry = best.x509.findRevoked(certificate.x509);
  // removeFromCRL only appears in delta CRLs (RFC 5280 §5.3.1), which are not used; treat it as "not listed".
  if (entry !== null && entry.reason !== CrlReason.removeFromCRL) {
    const invalidity = entry.invalidity;
    const effective = invalidity !== undefined && invalidity < entry.revocationDate ? invalidity : entry.revocationDate;
    // A certificate revoked after the validation time was valid at that time (signatures checked "as of" a date).
    if (effective.getTime() <= at.getTime()) {
      return { status: "revoked", crl: best, revokedAt: effective, reason: entry.reason === undefined ? "unspecified" : crlReasonName(entry.reason) };
    }
  }
  if (stale && staleCrl === "reject") {
    return {
      status: "unknown",
      detail: `the CRL of ${describe(issuer)} is stale: its nextUpdate ${nextUpdate!.toISOString()} is before ${at.toISOString()}`,
    };
  }
  return { status: "good", crl: best, stale };
}
