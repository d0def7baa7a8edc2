/**
 * The four certificate profiles of the sandbox PKI — root CA, country CA, TLS
 * server, client (practitioner or organisation) — as the extensions RFC 5280
 * §4.2 asks for each role, plus issuance and the check that a cached
 * certificate still has the profile the code would issue today.
 */
import { isIP } from "node:net";
import type { Extension, JsonGeneralName, Name, X509Certificate } from "@peculiar/x509";
import { ExtendedKeyUsageOid, ExtensionOid, KeyUsage } from "../certificate-constants.js";
import { loadX509, type X509Library } from "../x509-library.js";
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
export const EXTENDED_KEY_USAGES = ExtendedKeyUsageOid;

/** Key usages an end-entity client certificate may carry (RFC 5280 §4.2.1.3); the CA-only bits are left out on purpose. */
export const CLIENT_KEY_USAGES = {
  digitalSignature: KeyUsage.digitalSignature,
  nonRepudiation: KeyUsage.nonRepudiation,
  keyEncipherment: KeyUsage.keyEncipherment,
  dataEncipherment: KeyUsage.dataEncipherment,
  keyAgreement: KeyUsage.keyAgreement,
} as const;

export type ClientKeyUsage = keyof typeof CLIENT_KEY_USAGES;

const DOTTED_OID = /^[0-2](\.(0|[1-9]\d*))+$/;

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

// The extension builders take the library from their caller, which loaded it (issuing is asynchronous).

export function rootCaExtensions({ BasicConstraintsExtension, KeyUsagesExtension }: X509Library): Extension[] {
  return [
    // RFC 5280 §4.2.1.9: critical in CA certificates. pathLen 1 = at most one
    // intermediate (the country CA) below the root.
    new BasicConstraintsExtension(true, 1, true),
    new KeyUsagesExtension(KeyUsage.keyCertSign | KeyUsage.cRLSign, true),
  ];
}

export function countryCaExtensions({ BasicConstraintsExtension, KeyUsagesExtension }: X509Library): Extension[] {
  return [
    // pathLen 0: a country CA issues end-entity certificates only.
    new BasicConstraintsExtension(true, 0, true),
    new KeyUsagesExtension(KeyUsage.keyCertSign | KeyUsage.cRLSign, true),
  ];
}

/**
 * Host names and addresses go in the subjectAltName: RFC 9525 §6.3 makes
 * clients ignore the CN, and Node's `checkServerIdentity` matches IP
 * addresses against iPAddress entries only.
 */
export function tlsServerExtensions(x509: X509Library, hostnames: readonly string[]): Extension[] {
  const { BasicConstraintsExtension, KeyUsagesExtension, ExtendedKeyUsageExtension, SubjectAlternativeNameExtension } = x509;
  const altNames: JsonGeneralName[] = hostnames.map((host) => ({ type: isIP(host) === 0 ? "dns" : "ip", value: host }));
  return [
    new BasicConstraintsExtension(false, undefined, true),
    // digitalSignature for ECDHE_RSA and TLS 1.3, keyEncipherment for TLS 1.2 RSA key transport.
    new KeyUsagesExtension(KeyUsage.digitalSignature | KeyUsage.keyEncipherment, true),
    new ExtendedKeyUsageExtension([ExtendedKeyUsageOid.serverAuth], false),
    new SubjectAlternativeNameExtension(altNames, false),
  ];
}

export function clientExtensions(x509: X509Library, extendedKeyUsageOids: readonly string[], keyUsages: readonly ClientKeyUsage[]): Extension[] {
  const { BasicConstraintsExtension, KeyUsagesExtension, ExtendedKeyUsageExtension } = x509;
  const keyUsageFlags = keyUsages.reduce<number>((flags, usage) => flags | CLIENT_KEY_USAGES[usage], 0);
  // RFC 3161 §2.3: a time-stamping unit's EKU extension must be critical.
  const ekuCritical = extendedKeyUsageOids.includes(ExtendedKeyUsageOid.timeStamping);
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
  const { SubjectKeyIdentifierExtension, X509CertificateGenerator } = await loadX509();
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
  const { AuthorityKeyIdentifierExtension, SubjectKeyIdentifierExtension, X509CertificateGenerator } = await loadX509();
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
    (extension) => extension.type !== ExtensionOid.subjectKeyIdentifier && extension.type !== ExtensionOid.authorityKeyIdentifier,
  );
  if (actual.length !== profile.length) return false;
  return profile.every((expected) =>
    actual.some((extension) => extension.type === expected.type && sameBytes(extension.rawData, expected.rawData)),
  );
}

function sameBytes(a: ArrayBuffer, b: ArrayBuffer): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}
