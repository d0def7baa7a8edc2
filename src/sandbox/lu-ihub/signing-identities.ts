/**
 * The iHub simulator's signing identities: the real one (a code-signing
 * certificate from the sandbox Luxembourg CA, what a gateway's iHub
 * truststore trusts), and two that a gateway must refuse, for the fault
 * modes: a certificate from the same CA without the code-signing usage,
 * and a self-signed one.
 */
import "reflect-metadata";
import { ExtendedKeyUsage } from "@peculiar/x509";
import type { SandboxPki } from "../../trust/pki/index.js";
import { selfSignedIdentity } from "../../trust/pki/self-signed.js";
import { SoftwareSigner } from "../../trust/signers/index.js";

export const LU_IHUB_SIGNER_NAME = "lu-ihub-signer";
const WRONG_PURPOSE_NAME = "lu-ihub-wrong-purpose";

/** The certificate that signs the packages iHub publishes (code signing, issued by the sandbox LU CA). */
export async function luIhubSigner(pki: SandboxPki): Promise<SoftwareSigner> {
  const identity = await pki.clientIdentity(LU_IHUB_SIGNER_NAME, {
    country: "LU",
    subject: { C: "LU", O: "Caisse nationale de santé (sandbox)", OU: "iHub", CN: "iHub template signing (sandbox)" },
    extendedKeyUsages: ["codeSigning"],
    keyUsages: ["digitalSignature"],
  });
  return SoftwareSigner.fromPem({ keyPem: identity.keyPem, certificatePem: identity.certPem + identity.chainPem.join("") }, { id: LU_IHUB_SIGNER_NAME });
}

/** Issued by the trusted LU CA, but for TLS clients: not allowed to publish templates. */
export async function wrongPurposeSigner(pki: SandboxPki): Promise<SoftwareSigner> {
  const identity = await pki.clientIdentity(WRONG_PURPOSE_NAME, {
    country: "LU",
    subject: { C: "LU", O: "Passerelle Sandbox", CN: "Not an iHub signer" },
    extendedKeyUsages: ["clientAuth"],
    keyUsages: ["digitalSignature"],
  });
  return SoftwareSigner.fromPem({ keyPem: identity.keyPem, certificatePem: identity.certPem + identity.chainPem.join("") }, { id: WRONG_PURPOSE_NAME });
}

/** Right usages, but self-signed: chains to nothing a gateway trusts. */
export async function untrustedSigner(now: Date = new Date()): Promise<SoftwareSigner> {
  const { privateKey, certificate } = await selfSignedIdentity({
    name: "C=LU, O=Nowhere, CN=Forged iHub signer",
    extendedKeyUsage: ExtendedKeyUsage.codeSigning,
    extendedKeyUsageCritical: false,
    now,
  });
  return new SoftwareSigner({ privateKey, certificate, chain: [], alias: undefined }, { id: "lu-ihub-untrusted" });
}
