/**
 * The sandbox TSA's signing identity, issued by the sandbox PKI.
 *
 * The PKI's client profile already does what RFC 3161 §2.3 asks of a TSA
 * certificate when the only extended key usage is `timeStamping`: it marks
 * that extension critical (src/trust/pki/certificate-profiles.ts,
 * `clientExtensions`), with keyUsage digitalSignature. The certificate is
 * cached with the rest of the PKI in `<dataDir>/pki/clients/`.
 */
import { X509Certificate, createPrivateKey } from "node:crypto";
import type { SandboxCountry, SandboxPki } from "../../trust/pki/index.js";
import { KeyObjectSigner } from "./key-object-signer.js";

/** Name of the identity in the PKI (distinct from the simulator's TLS server identity, "sandbox-tsa"). */
export const SANDBOX_TSA_IDENTITY_NAME = "sandbox-tsa-signer";

export interface SandboxTsaIdentityOptions {
  /** The country CA that issues the TSA certificate (default LU: the Luxembourg PAdES flow is the first user). */
  country?: SandboxCountry;
}

export async function sandboxTsaSigner(pki: SandboxPki, options: SandboxTsaIdentityOptions = {}): Promise<KeyObjectSigner> {
  const country = options.country ?? "LU";
  const identity = await pki.clientIdentity(SANDBOX_TSA_IDENTITY_NAME, {
    country,
    subject: { C: country, O: "Passerelle Sandbox", OU: "Time-Stamping Authority", CN: "Passerelle Sandbox TSA" },
    extendedKeyUsages: ["timeStamping"],
    keyUsages: ["digitalSignature"],
  });
  const chain = [identity.certPem, ...identity.chainPem].map((pem) => new X509Certificate(pem));
  return new KeyObjectSigner(SANDBOX_TSA_IDENTITY_NAME, createPrivateKey(identity.keyPem), chain);
}
