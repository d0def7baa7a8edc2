/**
 * Certification path validation (RFC 5280 §6) to configured trust anchors,
 * with a reason a person can act on when it fails: which certificate, and
 * what about it.
 *
 * Path building: from the leaf, issuers are looked up by name among the
 * anchors and intermediates (subject DER = issuer DER, key identifiers
 * preferred when both are present) and kept only when the signature
 * verifies; every complete path (bounded) is then validated, the first valid
 * one wins, and otherwise the failure of the first path is reported. An
 * anchor may be a root or an intermediate CA (a "partial chain" anchor), or
 * the leaf itself (a pinned certificate).
 *
 * Checked per path: validity periods at `at` (anchors included, as OpenSSL
 * does), issuers are CAs allowed to sign certificates, pathLenConstraint,
 * critical extensions, the leaf's keyUsage/extendedKeyUsage for the purpose
 * (and EKU restrictions of CAs), and revocation from CRLs. Not processed:
 * name constraints and policy constraints — a certificate that marks them
 * critical is refused (RFC 5280 §6.1.4 (o)) rather than half-checked.
 *
 * @example
 * ```ts
 * const result = await validateChain(signerCertificate, { anchors, intermediates, purpose: "signature", crls });
 * if (!result.valid) throw result.error; // PASSERELLE_CERTIFICATE_INVALID with reason, certificate, revocation
 * ```
 */
import type { X509Certificate } from "node:crypto";
import type { AuthorityKeyIdentifierExtension, BasicConstraintsExtension, SubjectKeyIdentifierExtension } from "@peculiar/x509";
import { ExtensionOid, KeyUsage } from "../certificate-constants.js";
import {
  describe,
  parseCertificate,
  summarise,
  type CertificateInput,
  type CertificateSummary,
  type ParsedCertificate,
} from "./certificate-input.js";
import type { CrlSource } from "./crl.js";
import { CertificateError, type ChainFailureReason, type RevocationDetails } from "./errors.js";
import { CERTIFICATE_PURPOSES, checkIssuerPurpose, checkLeafPurpose, keyUsageOf, type CertificatePurpose } from "./purposes.js";
import { revocationStatus, type StaleCrlPolicy } from "./revocation.js";

export interface ValidateChainOptions {
  /** Trusted certificates (roots, or intermediates trusted as such). */
  anchors: readonly CertificateInput[];
  /** Untrusted CA certificates that may complete the path (sent by the peer, or configured). */
  intermediates?: readonly CertificateInput[];
  purpose: CertificatePurpose;
  /** Validation time; default now. */
  at?: Date;
  /** Where CRLs come from. */
  crls?: readonly CrlSource[];
  /** Require a usable CRL for every certificate below the anchor. Default: true when `crls` is given. */
  checkRevocation?: boolean;
  /** A CRL past its nextUpdate: "reject" (default) makes revocation unavailable; "accept" uses it. */
  staleCrl?: StaleCrlPolicy;
  /** Most certificates in a path, anchor included. Default 10. */
  maxPathLength?: number;
}

export interface RevocationCheck {
  certificate: CertificateSummary;
  status: "good";
  crlIssuer: string;
  crlThisUpdate: string;
  crlNextUpdate?: string;
  /** The CRL was past its nextUpdate and the policy accepted it. */
  stale: boolean;
}

export interface ChainValidationSuccess {
  valid: true;
  /** Leaf first, anchor last. */
  path: X509Certificate[];
  anchor: X509Certificate;
  /** One entry per certificate whose revocation status was checked. */
  revocation: RevocationCheck[];
}

export interface ChainValidationFailure {
  valid: false;
  reason: ChainFailureReason;
  detail: string;
  /** The certificate the failure is about. */
  certificate?: CertificateSummary;
  /** The path that was validated, when one could be built. */
  path?: X509Certificate[];
  revocation?: RevocationDetails;
  /** The same failure, ready to throw (PASSERELLE_CERTIFICATE_INVALID, or PASSERELLE_REVOCATION_UNAVAILABLE). */
  error: CertificateError;
}

export type ChainValidationResult = ChainValidationSuccess | ChainValidationFailure;

const DEFAULT_MAX_PATH_LENGTH = 10;
/** Complete paths validated at most (cross-certified PKIs can make many). */
const MAX_CANDIDATE_PATHS = 8;

/** Extensions whose criticality we honour by processing them (RFC 5280 §4.2). */
const PROCESSED_EXTENSIONS = new Set<string>([
  ExtensionOid.keyUsage,
  ExtensionOid.basicConstraints,
  ExtensionOid.extKeyUsage,
  ExtensionOid.subjectAltName, // not interpreted here; its criticality only says the subject is empty
  ExtensionOid.subjectKeyIdentifier,
  ExtensionOid.authorityKeyIdentifier,
  // With the any-policy initial set and no explicit policy required (our setting), §6.1.3 (d) never fails a path.
  ExtensionOid.certificatePolicies,
]);

interface Failure {
  reason: ChainFailureReason;
  detail: string;
  certificate?: ParsedCertificate;
  revocation?: RevocationDetails;
  cause?: unknown;
}

function fail(failure: Failure, path?: readonly ParsedCertificate[]): ChainValidationFailure {
  const certificate = failure.certificate === undefined ? undefined : summarise(failure.certificate);
  return {
    valid: false,
    reason: failure.reason,
    detail: failure.detail,
    ...(certificate === undefined ? {} : { certificate }),
    ...(path === undefined ? {} : { path: path.map((c) => c.node) }),
    ...(failure.revocation === undefined ? {} : { revocation: failure.revocation }),
    error: new CertificateError({
      reason: failure.reason,
      detail: failure.detail,
      ...(certificate === undefined ? {} : { certificate }),
      ...(failure.revocation === undefined ? {} : { revocation: failure.revocation }),
      ...(failure.cause === undefined ? {} : { cause: failure.cause }),
    }),
  };
}

async function parseAll(inputs: readonly CertificateInput[] | undefined, what: string): Promise<ParsedCertificate[]> {
  if (inputs === undefined) return [];
  if (!Array.isArray(inputs)) throw new TypeError(`${what} must be an array of certificates`);
  return Promise.all(inputs.map((input) => parseCertificate(input)));
}

export async function validateChain(leafInput: CertificateInput, options: ValidateChainOptions): Promise<ChainValidationResult> {
  if (typeof options !== "object" || options === null) throw new TypeError("validateChain needs options with anchors and purpose");
  if (!CERTIFICATE_PURPOSES.includes(options.purpose)) {
    throw new TypeError(`purpose must be one of ${CERTIFICATE_PURPOSES.join(", ")} (got ${JSON.stringify(options.purpose)})`);
  }
  if (options.at !== undefined && !(options.at instanceof Date && !Number.isNaN(options.at.getTime()))) throw new TypeError("at must be a valid Date");
  const anchors = await parseAll(options.anchors, "anchors");
  if (anchors.length === 0) throw new TypeError("validateChain needs at least one trust anchor");
  const intermediates = await parseAll(options.intermediates, "intermediates");
  const crls = options.crls ?? [];
  if (!Array.isArray(crls) || crls.some((source) => typeof (source as CrlSource)?.crls !== "function")) {
    throw new TypeError("crls must be an array of CRL sources (StaticCrlSource, FileCrlSource, HttpCrlSource…)");
  }
  const checkRevocation = options.checkRevocation ?? crls.length > 0;
  if (checkRevocation && crls.length === 0) throw new TypeError("checkRevocation needs at least one CRL source");
  const maxPathLength = options.maxPathLength ?? DEFAULT_MAX_PATH_LENGTH;
  const at = options.at ?? new Date();

  let leaf: ParsedCertificate;
  try {
    leaf = await parseCertificate(leafInput);
  } catch (error) {
    return fail({ reason: "malformed", detail: "the certificate to validate is not an X.509 certificate", cause: error });
  }

  const built = buildPaths(leaf, anchors, intermediates, maxPathLength);
  if (built.paths.length === 0) return fail(built.failure);
  let firstFailure: ChainValidationFailure | undefined;
  for (const path of built.paths) {
    const result = await validatePath(path, { purpose: options.purpose, at, crls, checkRevocation, staleCrl: options.staleCrl ?? "reject" });
    if (result.valid) return result;
    firstFailure ??= result;
  }
  return firstFailure!;
}

// ---------------------------------------------------------------- building

interface BuildResult {
  paths: ParsedCertificate[][];
  /** Why no path could be completed (meaningful when `paths` is empty). */
  failure: Failure;
}

function keyIdentifier(certificate: ParsedCertificate, kind: "subject" | "authority"): string | undefined {
  if (kind === "subject") return certificate.x509.getExtension<SubjectKeyIdentifierExtension>(ExtensionOid.subjectKeyIdentifier)?.keyId;
  return certificate.x509.getExtension<AuthorityKeyIdentifierExtension>(ExtensionOid.authorityKeyIdentifier)?.keyId ?? undefined;
}

function isSelfIssued(certificate: ParsedCertificate): boolean {
  return certificate.subjectDer.equals(certificate.issuerDer);
}

function signedBy(certificate: ParsedCertificate, issuer: ParsedCertificate): boolean {
  try {
    return certificate.node.verify(issuer.node.publicKey);
  } catch {
    return false;
  }
}

function buildPaths(
  leaf: ParsedCertificate,
  anchors: readonly ParsedCertificate[],
  intermediates: readonly ParsedCertificate[],
  maxPathLength: number,
): BuildResult {
  const anchorFingerprints = new Set(anchors.map((anchor) => anchor.fingerprint));
  const paths: ParsedCertificate[][] = [];
  // The deepest dead end explains best why nothing was found.
  let deadEnd: { depth: number; failure: Failure } | undefined;
  const noteDeadEnd = (depth: number, failure: Failure): void => {
    if (deadEnd === undefined || depth > deadEnd.depth) deadEnd = { depth, failure };
  };

  const extend = (path: ParsedCertificate[]): void => {
    if (paths.length >= MAX_CANDIDATE_PATHS) return;
    const current = path[path.length - 1]!;
    if (anchorFingerprints.has(current.fingerprint)) {
      paths.push(path);
      return;
    }
    if (path.length >= maxPathLength) {
      noteDeadEnd(path.length, { reason: "path_length_exceeded", detail: `no trust anchor within ${maxPathLength} certificates of ${describe(path[0]!)}`, certificate: current });
      return;
    }
    const authorityKeyId = keyIdentifier(current, "authority");
    const byName = (candidate: ParsedCertificate): boolean =>
      candidate.subjectDer.equals(current.issuerDer) && !path.some((seen) => seen.fingerprint === candidate.fingerprint);
    // Anchors first, then intermediates; within each, a matching key identifier first (RFC 5280 §4.2.1.1).
    const rank = (candidate: ParsedCertificate): number => {
      const subjectKeyId = keyIdentifier(candidate, "subject");
      if (authorityKeyId === undefined || subjectKeyId === undefined) return 1;
      return subjectKeyId === authorityKeyId ? 0 : 2;
    };
    const candidates = [...anchors.filter(byName).sort((a, b) => rank(a) - rank(b)), ...intermediates.filter(byName).sort((a, b) => rank(a) - rank(b))];
    if (candidates.length === 0) {
      if (isSelfIssued(current) && signedBy(current, current)) {
        noteDeadEnd(path.length, {
          reason: "untrusted_root",
          detail: `the path ends at the self-signed certificate ${describe(current)}, which is not a trust anchor`,
          certificate: current,
        });
      } else {
        noteDeadEnd(path.length, {
          reason: "issuer_not_found",
          detail: `no trust anchor or intermediate certificate is the issuer "${current.x509.issuer}" of ${describe(current)}`,
          certificate: current,
        });
      }
      return;
    }
    let extended = false;
    for (const candidate of candidates) {
      if (!signedBy(current, candidate)) continue;
      extended = true;
      extend([...path, candidate]);
    }
    if (!extended) {
      noteDeadEnd(path.length, {
        reason: "bad_signature",
        detail: `the signature of ${describe(current)} does not verify with the key of ${candidates.map(describe).join(" or ")}, which has its issuer's name`,
        certificate: current,
      });
    }
  };

  extend([leaf]);
  return { paths, failure: deadEnd?.failure ?? { reason: "issuer_not_found", detail: `no path from ${describe(leaf)} to a trust anchor`, certificate: leaf } };
}

// -------------------------------------------------------------- validating

interface PathOptions {
  purpose: CertificatePurpose;
  at: Date;
  crls: readonly CrlSource[];
  checkRevocation: boolean;
  staleCrl: StaleCrlPolicy;
}

function checkValidity(path: readonly ParsedCertificate[], at: Date): Failure | undefined {
  for (const certificate of path) {
    const { notBefore, notAfter } = certificate.x509;
    if (at.getTime() > notAfter.getTime()) {
      return { reason: "expired", detail: `certificate ${describe(certificate)} expired on ${notAfter.toISOString()} (validation time ${at.toISOString()})`, certificate };
    }
    if (at.getTime() < notBefore.getTime()) {
      return { reason: "not_yet_valid", detail: `certificate ${describe(certificate)} is not valid before ${notBefore.toISOString()} (validation time ${at.toISOString()})`, certificate };
    }
  }
  return undefined;
}

/** RFC 5280 §6.1.4 (k), (l), (m), (n): every issuer is a CA allowed to sign certificates, within its path length. */
function checkIssuers(path: readonly ParsedCertificate[]): Failure | undefined {
  const anchorIndex = path.length - 1;
  for (let i = 1; i < path.length; i += 1) {
    const ca = path[i]!;
    const constraints = ca.x509.getExtension<BasicConstraintsExtension>(ExtensionOid.basicConstraints);
    const isAnchor = i === anchorIndex;
    // A v1 trust anchor has no extensions at all; configured trust stands in for basicConstraints.
    if (constraints === null ? !isAnchor : !constraints.ca) {
      return {
        reason: "not_a_ca",
        detail: `certificate ${describe(ca)} issued ${describe(path[i - 1]!)} but is not a CA (basicConstraints ${constraints === null ? "absent" : "cA=false"})`,
        certificate: ca,
      };
    }
    const keyUsage = keyUsageOf(ca);
    if (keyUsage !== null && (keyUsage.usages & KeyUsage.keyCertSign) === 0) {
      return { reason: "key_usage", detail: `CA ${describe(ca)} may not sign certificates: its keyUsage lacks keyCertSign`, certificate: ca };
    }
    const pathLength = constraints?.pathLength;
    if (pathLength !== undefined) {
      // Non-self-issued intermediate CAs between this CA and the leaf (RFC 5280 §4.2.1.9).
      const below = path.slice(1, i).filter((certificate) => !isSelfIssued(certificate)).length;
      if (below > pathLength) {
        return {
          reason: "path_length_exceeded",
          detail: `CA ${describe(ca)} allows ${pathLength} intermediate CA certificate(s) below it (pathLenConstraint) but the path has ${below}`,
          certificate: ca,
        };
      }
    }
  }
  return undefined;
}

function checkCriticalExtensions(path: readonly ParsedCertificate[]): Failure | undefined {
  // The anchor's extensions are the configuration's business, not the path's (RFC 5280 §6.1.1 (d)).
  for (const certificate of path.slice(0, -1)) {
    const unknown = certificate.x509.extensions.find((extension) => extension.critical && !PROCESSED_EXTENSIONS.has(extension.type));
    if (unknown !== undefined) {
      return {
        reason: "unsupported_critical_extension",
        detail: `certificate ${describe(certificate)} has a critical extension ${unknown.type} that this validator does not process`,
        certificate,
      };
    }
  }
  return undefined;
}

function checkPurpose(path: readonly ParsedCertificate[], purpose: CertificatePurpose): Failure | undefined {
  const leaf = path[0]!;
  const leafViolation = checkLeafPurpose(leaf, purpose);
  if (leafViolation !== undefined) return { ...leafViolation, certificate: leaf };
  for (const ca of path.slice(1)) {
    const violation = checkIssuerPurpose(ca, purpose);
    if (violation !== undefined) return { ...violation, certificate: ca };
  }
  return undefined;
}

async function checkRevocationOf(path: readonly ParsedCertificate[], options: PathOptions): Promise<Failure | RevocationCheck[]> {
  const checks: RevocationCheck[] = [];
  if (options.crls.length === 0) return checks;
  for (let i = 0; i < path.length - 1; i += 1) {
    const certificate = path[i]!;
    const status = await revocationStatus(certificate, path[i + 1]!, options.crls, options.at, options.staleCrl);
    if (status.status === "revoked") {
      const revocation: RevocationDetails = {
        revokedAt: status.revokedAt.toISOString(),
        revocationReason: status.reason,
        crlIssuer: status.crl.issuer,
        crlThisUpdate: status.crl.thisUpdate.toISOString(),
      };
      return {
        reason: "revoked",
        detail: `certificate ${describe(certificate)} was revoked on ${revocation.revokedAt} (reason: ${status.reason}), per the CRL of ${status.crl.issuer} issued ${revocation.crlThisUpdate}`,
        certificate,
        revocation,
      };
    }
    if (status.status === "unknown") {
      if (!options.checkRevocation) continue;
      return { reason: "revocation_unavailable", detail: status.detail, certificate, ...(status.cause === undefined ? {} : { cause: status.cause }) };
    }
    const nextUpdate = status.crl.nextUpdate;
    checks.push({
      certificate: summarise(certificate),
      status: "good",
      crlIssuer: status.crl.issuer,
      crlThisUpdate: status.crl.thisUpdate.toISOString(),
      ...(nextUpdate === undefined ? {} : { crlNextUpdate: nextUpdate.toISOString() }),
      stale: status.stale,
    });
  }
  return checks;
}

async function validatePath(path: ParsedCertificate[], options: PathOptions): Promise<ChainValidationResult> {
  const structural =
    checkValidity(path, options.at) ?? checkIssuers(path) ?? checkCriticalExtensions(path) ?? checkPurpose(path, options.purpose);
  if (structural !== undefined) return fail(structural, path);
  const revocation = await checkRevocationOf(path, options);
  if (!Array.isArray(revocation)) return fail(revocation, path);
  return { valid: true, path: path.map((certificate) => certificate.node), anchor: path[path.length - 1]!.node, revocation };
}
