/**
 * A throwaway self-signed end-entity identity (P-256, fast to make) whose
 * certificate is right in every way for its purpose except that it chains to
 * nothing anyone trusts: what the simulators' "untrusted signer" faults sign
 * with, to prove the gateway refuses it.
 */
import "reflect-metadata";
import { KeyObject, X509Certificate } from "node:crypto";
import {
  BasicConstraintsExtension,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  X509CertificateGenerator,
  type ExtendedKeyUsageType,
} from "@peculiar/x509";

export interface SelfSignedOptions {
  /** Distinguished name, e.g. `C=EU, O=Nowhere, CN=Untrusted Sandbox TSA`. */
  name: string;
  extendedKeyUsage: ExtendedKeyUsageType;
  /** RFC 3161 §2.3 wants id-kp-timeStamping critical; code signing leaves it non-critical. */
  extendedKeyUsageCritical: boolean;
  now?: Date;
}

export async function selfSignedIdentity(options: SelfSignedOptions): Promise<{ privateKey: KeyObject; certificate: X509Certificate }> {
  const now = options.now ?? new Date();
  const algorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
  const keys = await globalThis.crypto.subtle.generateKey(algorithm, true, ["sign", "verify"]);
  const certificate = await X509CertificateGenerator.createSelfSigned(
    {
      name: options.name,
      keys,
      notBefore: new Date(now.getTime() - 3_600_000),
      notAfter: new Date(now.getTime() + 24 * 3_600_000),
      signingAlgorithm: algorithm,
      extensions: [
        new BasicConstraintsExtension(false, undefined, true),
        new KeyUsagesExtension(KeyUsageFlags.digitalSignature, true),
        new ExtendedKeyUsageExtension([options.extendedKeyUsage], options.extendedKeyUsageCritical),
      ],
    },
    globalThis.crypto,
  );
  return { privateKey: KeyObject.from(keys.privateKey), certificate: new X509Certificate(certificate.toString("pem")) };
}
