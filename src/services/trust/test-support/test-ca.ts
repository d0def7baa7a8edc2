/**
 * A small certification authority for the tests that configure the trust
 * module like a real deployment: a root that issues document-signing
 * certificates (valid, expired, revoked…) and CRLs, with P-256 keys (fast to
 * make). Everything is returned as PEM, as the settings' files hold it.
 */
import "reflect-metadata";
import { createPrivateKey, KeyObject, type webcrypto } from "node:crypto";
import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  SubjectKeyIdentifierExtension,
  X509CertificateGenerator,
  X509CrlGenerator,
  type X509Certificate,
} from "@peculiar/x509";

const EC = { name: "ECDSA", namedCurve: "P-256" } as const;
const EC_SIGNING = { name: "ECDSA", hash: "SHA-256" } as const;
const DAY = 24 * 60 * 60 * 1000;
// RFC 9336 §3 id-kp-documentSigning.
const DOCUMENT_SIGNING = "1.3.6.1.5.5.7.3.36";

export interface TestIdentity {
  certPem: string;
  /** PKCS#8. */
  keyPem: string;
  serialNumber: string;
}

export interface TestCa extends TestIdentity {
  issue(options: { subject: string; notBefore?: Date; notAfter?: Date }): Promise<TestIdentity>;
  /** A CRL (PEM, "X509 CRL") revoking these serial numbers. */
  crl(revoked: readonly string[]): Promise<string>;
}

async function exportKey(key: webcrypto.CryptoKey): Promise<string> {
  return KeyObject.from(key).export({ format: "pem", type: "pkcs8" }).toString();
}

function pem(certificate: X509Certificate): string {
  return certificate.toString("pem") + "\n";
}

export async function createTestCa(subject: string): Promise<TestCa> {
  const subtle = globalThis.crypto.subtle;
  const keys = (await subtle.generateKey(EC, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
  const now = Date.now();
  const root = await X509CertificateGenerator.createSelfSigned(
    {
      name: subject,
      keys,
      signingAlgorithm: EC_SIGNING,
      notBefore: new Date(now - DAY),
      notAfter: new Date(now + 365 * DAY),
      extensions: [
        new BasicConstraintsExtension(true, 0, true),
        new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
        await SubjectKeyIdentifierExtension.create(keys.publicKey, false, globalThis.crypto),
      ],
    },
    globalThis.crypto,
  );
  return {
    certPem: pem(root),
    keyPem: await exportKey(keys.privateKey),
    serialNumber: root.serialNumber,
    async issue(options) {
      const leafKeys = (await subtle.generateKey(EC, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
      const leaf = await X509CertificateGenerator.create(
        {
          subject: options.subject,
          issuer: root.subjectName,
          publicKey: leafKeys.publicKey,
          signingKey: keys.privateKey,
          signingAlgorithm: EC_SIGNING,
          notBefore: options.notBefore ?? new Date(Date.now() - DAY),
          notAfter: options.notAfter ?? new Date(Date.now() + 90 * DAY),
          extensions: [
            new BasicConstraintsExtension(false, undefined, true),
            new KeyUsagesExtension(KeyUsageFlags.digitalSignature | KeyUsageFlags.nonRepudiation, true),
            new ExtendedKeyUsageExtension(["1.3.6.1.5.5.7.3.4", DOCUMENT_SIGNING], false),
            await SubjectKeyIdentifierExtension.create(leafKeys.publicKey, false, globalThis.crypto),
            await AuthorityKeyIdentifierExtension.create(keys.publicKey, false, globalThis.crypto),
          ],
        },
        globalThis.crypto,
      );
      return { certPem: pem(leaf), keyPem: await exportKey(leafKeys.privateKey), serialNumber: leaf.serialNumber };
    },
    async crl(revoked) {
      const crl = await X509CrlGenerator.create(
        {
          issuer: root.subjectName,
          thisUpdate: new Date(Date.now() - 60_000),
          nextUpdate: new Date(Date.now() + 7 * DAY),
          signingKey: keys.privateKey,
          signingAlgorithm: EC_SIGNING,
          entries: revoked.map((serialNumber) => ({ serialNumber, revocationDate: new Date(Date.now() - 60_000) })),
        },
        globalThis.crypto,
      );
      // RFC 7468 §5 names the label "X509 CRL".
      const base64 = Buffer.from(crl.rawData).toString("base64").replace(/(.{64})/g, "$1\n");
      return `-----BEGIN X509 CRL-----\n${base64.replace(/\n$/, "")}\n-----END X509 CRL-----\n`;
    },
  };
}

/** A self-signed document-signing identity that no trust store knows. */
export async function selfSignedIdentity(subject: string): Promise<TestIdentity> {
  const ca = await createTestCa(subject);
  return { certPem: ca.certPem, keyPem: ca.keyPem, serialNumber: ca.serialNumber };
}

/** The private key of an identity, for local signers in tests. */
export function privateKeyOf(identity: TestIdentity): KeyObject {
  return createPrivateKey(identity.keyPem);
}
