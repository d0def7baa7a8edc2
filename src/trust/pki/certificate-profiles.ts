/**
 * The four certificate profiles of the sandbox PKI — root CA, country CA, TLS
 * server, client (practitioner or organisation) — as the extensions RFC 5280
 * §4.2 asks for each role, plus issuance and the check that a cached
 * certificate still has the profile the code would issue today.
 */
import "reflect-metadata";
import { isIP } from "node:net";
import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  SubjectAlternativeNameExtension,
  SubjectKeyIdentifierExtension,
  X509CertificateGenerator,
  type Extension,
  type JsonGeneralName,
  type Name,
  type X509Certificate,
} from "@peculiar/x509";
import { RSA_SIGNING_ALGORITHM, type WebCryptoKey, type WebCryptoKeyPair } from "./rsa-keys.js";

/** The certificate and private key of a CA, ready to sign. */
export interface IssuingAuthority {
  certificate: X509Certificate;
  signingKey: WebCryptoKey;
}

export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

/** Extended key usages callers may name instead of giving the OID (RFC 5280 §4.2.1.12). */
export const EXTENDED_KEY_USAGES = {
  serverAuth: ExtendedKeyUsage.serverAuth,
  clientAuth: ExtendedKeyUsage.clientAuth,
  codeSigning: ExtendedKeyUsage.codeSigning,
  emailProtection: ExtendedKeyUsage.emailProtection,
  timeStamping: ExtendedKeyUsage.timeStamping,
  ocspSigning: ExtendedKeyUsage.ocspSigning,
} as const;

/** Key usages an end-entity client certificate may carry (RFC 5280 §4.2.1.3); the CA-only bits are left out on purpose. */
export const CLIENT_KEY_USAGES = {
  digitalSignature: KeyUsageFlags.digitalSignature,
  nonRepudiation: KeyUsageFlags.nonRepudiation,
  keyEncipherment: KeyUsageFlags.keyEncipherment,
  dataEncipherment: KeyUsageFlags.dataEncipherment,
  keyAgreement: KeyUsageFlags.keyAgreement,
} as const;

export type ClientKeyUsage = keyof typeof CLIENT_KEY_USAGES;

const DOTTED_OID = /^[0-2](\.(0|[1-9]\d*))+$/;
const SUBJECT_KEY_IDENTIFIER = "2.5.29.14";
const AUTHORITY_KEY_IDENTIFIER = "2.5.29.35";

/** Maps EKU names (`"clientAuth"`) or dotted OIDs to OIDs; throws `TypeError` on anything else. */
export function resolveExtendedKeyUsages(usages: readonly string[]): string[] {
  if (usages.length === 0) throw new TypeError("extendedKeyUsages must not be empty");
  return usages.map((usage) => {
    if (Object.hasOwn(EXTENDED_KEY_USAGES, usage)) {
      return EXTENDED_KEY_USAGES[usage as keyof typeof EXTENDED_KEY_USAGES];
    }
    if (DOTTED_OID.test(usage)) return usage;
    throw new TypeError(
      `Unknown extended key usage "${usage}" (use one of ${Object.keys(EXTENDED_KEY_USAGES).join(", ")} or a dotted OID)`,
    );
  });
}

/** Throws `TypeError` unless every entry is a known client key usage. */
export function assertClientKeyUsages(usages: readonly string[]): asserts usages is readonly ClientKeyUsage[] {
  if (usages.length === 0) throw new TypeError("keyUsages must not be empty");
  for (const usage of usages) {
    if (!Object.hasOwn(CLIENT_KEY_USAGES, usage)) {
      throw new TypeError(`Unknown key usage "${usage}" (use ${Object.keys(CLIENT_KEY_USAGES).join(", ")})`);
    }
  }
}

export function rootCaExtensions(): Extension[] {
  return [
    // RFC 5280 §4.2.1.9: critical in CA certificates. pathLen 1 = at most one
    // intermediate (the country CA) below the root.
    new BasicConstraintsExtension(true, 1, true),
    new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
  ];
}

export function countryCaExtensions(): Extension[] {
  return [
    // pathLen 0: a country CA issues end-entity certificates only.
    new BasicConstraintsExtension(true, 0, true),
    new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
  ];
}

/**
 * Host names and addresses go in the subjectAltName: RFC 9525 §6.3 makes
 * clients ignore the CN, and Node's `checkServerIdentity` matches IP
 * addresses against iPAddress entries only.
 */
export function tlsServerExtensions(hostnames: readonly string[]): Extension[] {
  const altNames: JsonGeneralName[] = hostnames.map((host) => ({ type: isIP(host) === 0 ? "dns" : "ip", value: host }));
  return [
    new BasicConstraintsExtension(false, undefined, true),
    // digitalSignature for ECDHE_RSA and TLS 1.3, keyEncipherment for TLS 1.2 RSA key transport.
    new KeyUsagesExtension(KeyUsageFlags.digitalSignature | KeyUsageFlags.keyEncipherment, true),
    new ExtendedKeyUsageExtension([ExtendedKeyUsage.serverAuth], false),
    new SubjectAlternativeNameExtension(altNames, false),
  ];
}

export function clientExtensions(extendedKeyUsageOids: readonly string[], keyUsages: readonly ClientKeyUsage[]): Extension[] {
  const keyUsageFlags = keyUsages.reduce<number>((flags, usage) => flags | CLIENT_KEY_USAGES[usage], 0);
  // RFC 3161 §2.3: a time-stamping unit's EKU extension must be critical.
  const ekuCritical = extendedKeyUsageOids.includes(ExtendedKeyUsage.timeStamping);
  return [
    new BasicConstraintsExtension(false, undefined, true),
    new KeyUsagesExtension(keyUsageFlags, true),
    new ExtendedKeyUsageExtension([...extendedKeyUsageOids], ekuCritical),
  ];
}

export async function issueSelfSignedCertificate(
  subject: Name,
  keys: WebCryptoKeyPair,
  validity: Validity,
  profile: Extension[],
): Promise<X509Certificate> {
  const subjectKeyIdentifier = await SubjectKeyIdentifierExtension.create(keys.publicKey, false, globalThis.crypto);
  return X509CertificateGenerator.createSelfSigned(
    {
      name: subject,
      keys,
      ...validity,
      signingAlgorithm: RSA_SIGNING_ALGORITHM,
      extensions: [...profile, subjectKeyIdentifier],
    },
    globalThis.crypto,
  );
}

export async function issueCertificate(
  subject: Name,
  publicKey: WebCryptoKey,
  issuer: IssuingAuthority,
  validity: Validity,
  profile: Extension[],
): Promise<X509Certificate> {
  // RFC 5280 §4.2.1.1–2: key identifiers let path builders pick the right
  // issuer when a CA is re-keyed (the PKI re-issues CAs as they expire).
  const keyIdentifiers = await Promise.all([
    SubjectKeyIdentifierExtension.create(publicKey, false, globalThis.crypto),
    AuthorityKeyIdentifierExtension.create(issuer.certificate.publicKey, false, globalThis.crypto),
  ]);
  return X509CertificateGenerator.create(
    {
      subject,
      issuer: issuer.certificate.subjectName,
      publicKey,
      signingKey: issuer.signingKey,
      ...validity,
      signingAlgorithm: RSA_SIGNING_ALGORITHM,
      extensions: [...profile, ...keyIdentifiers],
    },
    globalThis.crypto,
  );
}

/**
 * True when `certificate` has exactly `subject` and the `profile` extensions
 * (same OIDs, criticality and DER values; the key identifiers, which depend
 * on the keys, are not compared). A cached certificate that fails this was
 * issued for other parameters, or by an older version of this code.
 */
export function hasProfile(certificate: X509Certificate, subject: Name, profile: Extension[]): boolean {
  if (!sameBytes(certificate.subjectName.toArrayBuffer(), subject.toArrayBuffer())) return false;
  const actual = certificate.extensions.filter(
    (extension) => extension.type !== SUBJECT_KEY_IDENTIFIER && extension.type !== AUTHORITY_KEY_IDENTIFIER,
  );
  if (actual.length !== profile.length) return false;
  return profile.every((expected) =>
    actual.some((extension) => extension.type === expected.type && sameBytes(extension.rawData, expected.rawData)),
  );
}

function sameBytes(a: ArrayBuffer, b: ArrayBuffer): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}
