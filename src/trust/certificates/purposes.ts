/**
 * What a leaf certificate must allow for each use Passerelle makes of it:
 * keyUsage (RFC 5280 §4.2.1.3) and extendedKeyUsage (§4.2.1.12), plus the
 * stricter rules of the profiles that have their own (RFC 3161 §2.3 for
 * time-stamping, RFC 6960 §4.2.2.2 for OCSP responders).
 */
import type { ExtendedKeyUsageExtension, KeyUsagesExtension } from "@peculiar/x509";
import { ExtendedKeyUsageOid, ExtensionOid, KeyUsage, type KeyUsageFlag } from "../certificate-constants.js";
import { describe, type ParsedCertificate } from "./certificate-input.js";

export type CertificatePurpose = "any" | "tls-server" | "tls-client" | "signature" | "timestamping" | "ocsp-signing";

export const CERTIFICATE_PURPOSES: readonly CertificatePurpose[] = ["any", "tls-server", "tls-client", "signature", "timestamping", "ocsp-signing"];

/** RFC 5280 §4.2.1.12: anyExtendedKeyUsage. */
export const ANY_EXTENDED_KEY_USAGE = "2.5.29.37.0";

interface PurposeRule {
  /** The leaf's keyUsage, when present, must have at least one of these. */
  keyUsages?: readonly KeyUsageFlag[];
  /** The EKU the purpose needs; satisfied by anyExtendedKeyUsage unless `exclusive`. */
  extendedKeyUsage?: string;
  /** The leaf must carry an EKU extension (absence means "any" in RFC 5280, not enough for these profiles). */
  ekuRequired?: boolean;
  /** The EKU must be critical and hold only this purpose (RFC 3161 §2.3). */
  exclusive?: boolean;
  label: string;
}

const SIGNING = [KeyUsage.digitalSignature, KeyUsage.nonRepudiation] as const;

const RULES: Record<CertificatePurpose, PurposeRule> = {
  any: { label: "any use" },
  // TLS 1.3 signs (digitalSignature); TLS 1.2 RSA key transport needs keyEncipherment, static ECDH keyAgreement.
  "tls-server": {
    keyUsages: [KeyUsage.digitalSignature, KeyUsage.keyEncipherment, KeyUsage.keyAgreement],
    extendedKeyUsage: ExtendedKeyUsageOid.serverAuth,
    label: "TLS server authentication",
  },
  "tls-client": {
    keyUsages: [KeyUsage.digitalSignature, KeyUsage.keyAgreement],
    extendedKeyUsage: ExtendedKeyUsageOid.clientAuth,
    label: "TLS client authentication",
  },
  // Document and message signatures (XML-DSig, CMS, PAdES, JWS): digitalSignature or nonRepudiation (contentCommitment).
  signature: { keyUsages: SIGNING, label: "signing documents" },
  timestamping: {
    keyUsages: SIGNING,
    extendedKeyUsage: ExtendedKeyUsageOid.timeStamping,
    ekuRequired: true,
    exclusive: true,
    label: "time-stamping (RFC 3161)",
  },
  "ocsp-signing": {
    keyUsages: SIGNING,
    extendedKeyUsage: ExtendedKeyUsageOid.ocspSigning,
    ekuRequired: true,
    label: "signing OCSP responses",
  },
};

/** RFC 5280's names, from the constants (`id-kp-OCSPSigning` is spelt as the RFC does). */
const KEY_USAGE_NAMES = new Map<number, string>(Object.entries(KeyUsage).map(([name, flag]) => [flag, name]));
const EKU_NAMES = new Map<string, string>([
  ...Object.entries(ExtendedKeyUsageOid).map(([name, oid]): [string, string] => [oid, name === "ocspSigning" ? "OCSPSigning" : name]),
  [ANY_EXTENDED_KEY_USAGE, "anyExtendedKeyUsage"],
]);

export function keyUsageNames(flags: number): string[] {
  return [...KEY_USAGE_NAMES].filter(([bit]) => (flags & bit) !== 0).map(([, name]) => name);
}

function ekuName(oid: string): string {
  return EKU_NAMES.get(oid) ?? oid;
}

export function keyUsageOf(certificate: ParsedCertificate): KeyUsagesExtension | null {
  return certificate.x509.getExtension<KeyUsagesExtension>(ExtensionOid.keyUsage);
}

export function extendedKeyUsageOf(certificate: ParsedCertificate): { usages: string[]; critical: boolean } | null {
  const extension = certificate.x509.getExtension<ExtendedKeyUsageExtension>(ExtensionOid.extKeyUsage);
  return extension === null ? null : { usages: extension.usages.map(String), critical: extension.critical };
}

export interface PurposeViolation {
  reason: "key_usage" | "extended_key_usage";
  detail: string;
}

/** Checks the leaf against the purpose; `undefined` when allowed. */
export function checkLeafPurpose(leaf: ParsedCertificate, purpose: CertificatePurpose): PurposeViolation | undefined {
  const rule = RULES[purpose];
  const keyUsage = keyUsageOf(leaf);
  if (rule.keyUsages !== undefined && keyUsage !== null && !rule.keyUsages.some((flag) => (keyUsage.usages & flag) !== 0)) {
    return {
      reason: "key_usage",
      detail: `certificate ${describe(leaf)} may not be used for ${rule.label}: its keyUsage is ${keyUsageNames(keyUsage.usages).join(", ") || "empty"}, one of ${rule.keyUsages.map((flag) => KEY_USAGE_NAMES.get(flag)).join(", ")} is needed`,
    };
  }
  if (rule.extendedKeyUsage === undefined) return undefined;
  const eku = extendedKeyUsageOf(leaf);
  const wanted = ekuName(rule.extendedKeyUsage);
  if (eku === null) {
    if (!rule.ekuRequired) return undefined;
    return { reason: "extended_key_usage", detail: `certificate ${describe(leaf)} has no extendedKeyUsage; ${rule.label} needs ${wanted}` };
  }
  if (rule.exclusive) {
    if (!eku.critical || eku.usages.length !== 1 || eku.usages[0] !== rule.extendedKeyUsage) {
      return {
        reason: "extended_key_usage",
        detail: `certificate ${describe(leaf)} may not be used for ${rule.label}: its extendedKeyUsage must be critical and hold ${wanted} only, it is ${eku.critical ? "critical" : "non-critical"} with ${eku.usages.map(ekuName).join(", ")}`,
      };
    }
    return undefined;
  }
  const allowed = eku.usages.includes(rule.extendedKeyUsage) || (!rule.ekuRequired && eku.usages.includes(ANY_EXTENDED_KEY_USAGE));
  if (!allowed) {
    return {
      reason: "extended_key_usage",
      detail: `certificate ${describe(leaf)} may not be used for ${rule.label}: its extendedKeyUsage is ${eku.usages.map(ekuName).join(", ")}, ${wanted} is needed`,
    };
  }
  return undefined;
}

/**
 * EKU in CA certificates is not in RFC 5280, but every major validator
 * (OpenSSL, NSS, Windows) reads it as a restriction on the certificates the
 * CA issues, and CAs set it for that reason: honour it.
 */
export function checkIssuerPurpose(ca: ParsedCertificate, purpose: CertificatePurpose): PurposeViolation | undefined {
  const rule = RULES[purpose];
  if (rule.extendedKeyUsage === undefined) return undefined;
  const eku = extendedKeyUsageOf(ca);
  if (eku === null || eku.usages.includes(rule.extendedKeyUsage) || eku.usages.includes(ANY_EXTENDED_KEY_USAGE)) return undefined;
  return {
    reason: "extended_key_usage",
    detail: `CA ${describe(ca)} restricts the certificates it issues to ${eku.usages.map(ekuName).join(", ")}, which excludes ${ekuName(rule.extendedKeyUsage)} (${rule.label})`,
  };
}
