/**
 * The numbers of RFC 5280 that certificate checks compare with, as
 * @peculiar/x509 reports them, so that checking needs the library's parsed
 * objects only (it loads on first use: x509-library.ts).
 * x509-library.test.ts pins each one to the library's own enum.
 */

/** keyUsage bits (RFC 5280 §4.2.1.3) as `KeyUsagesExtension.usages` holds them (the library's KeyUsageFlags). */
export const KeyUsage = {
  digitalSignature: 1,
  nonRepudiation: 2,
  keyEncipherment: 4,
  dataEncipherment: 8,
  keyAgreement: 16,
  keyCertSign: 32,
  cRLSign: 64,
  encipherOnly: 128,
  decipherOnly: 256,
} as const;
export type KeyUsageFlag = (typeof KeyUsage)[keyof typeof KeyUsage];

/** extendedKeyUsage purposes (RFC 5280 §4.2.1.12). */
export const ExtendedKeyUsageOid = {
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
  codeSigning: "1.3.6.1.5.5.7.3.3",
  emailProtection: "1.3.6.1.5.5.7.3.4",
  timeStamping: "1.3.6.1.5.5.7.3.8",
  ocspSigning: "1.3.6.1.5.5.7.3.9",
} as const;

/** Certificate extensions (RFC 5280 §4.2), by the OID `getExtension` takes. */
export const ExtensionOid = {
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  cRLDistributionPoints: "2.5.29.31",
  certificatePolicies: "2.5.29.32",
  authorityKeyIdentifier: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
} as const;

/** CRLReason codes (RFC 5280 §5.3.1) and their names; 7 is not used. */
export const CrlReason = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  removeFromCRL: 8,
  privilegeWithdrawn: 9,
  aACompromise: 10,
} as const;

/** The name of a CRLReason code, or the code itself when RFC 5280 has none for it. */
export function crlReasonName(code: number): string {
  return Object.entries(CrlReason).find(([, value]) => value === code)?.[0] ?? String(code);
}
