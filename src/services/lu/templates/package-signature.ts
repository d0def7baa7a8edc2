/**
 * Signing and verifying a template package's manifest: a detached CMS
 * SignedData (RFC 5652 §5, content type id-data, SHA-256, ESS
 * signing-certificate-v2) by iHub's signing certificate.
 *
 * Trust is two checks, both required: the signer's certificate chains to a
 * configured anchor (RFC 5280 path validation, for document signing), and
 * it carries the code-signing extended key usage (RFC 5280 §4.2.1.12,
 * id-kp-codeSigning) — so a practitioner's signing certificate from the
 * same national CA cannot publish templates.
 */
import type { X509Certificate } from "node:crypto";
import type { ExtendedKeyUsageExtension } from "@peculiar/x509";
import { CmsError, createSignedData, verifySignedData } from "../../../protocols/cms/index.js";
import { validateChain, type CertificateInput } from "../../../trust/certificates/index.js";
import { ExtensionOid } from "../../../trust/certificate-constants.js";
import type { Signer } from "../../../trust/signer.js";
import { loadX509 } from "../../../trust/x509-library.js";
import { TemplatePackageError } from "./errors.js";
import type { TemplatePackage } from "./package-format.js";

/** id-kp-codeSigning (RFC 5280 §4.2.1.12). */
export const CODE_SIGNING_EKU = "1.3.6.1.5.5.7.3.3";

export interface PackageTrust {
  /**
   * Trust anchors for iHub's signing certificate: the CA that issues it (or
   * the certificate itself, pinned). A function is read at each
   * verification, so a reloading TrustStore can be plugged in
   * (`() => store.anchors`).
   */
  anchors: readonly CertificateInput[] | (() => readonly CertificateInput[]);
  /** Extra CA certificates that may complete the path (the signature usually carries them). */
  intermediates?: readonly CertificateInput[];
  /** The extended key usage the signer must have; default code signing. `null` accepts any signing certificate (not advised). */
  requiredExtendedKeyUsage?: string | null;
  /** Validation time; default now. */
  now?: () => Date;
}

export interface PackageSigner {
  subject: string;
  issuer: string;
  serialNumber: string;
  fingerprintSha256: string;
}

/** Signs a manifest (the iHub side; the sandbox simulator and tests use it). */
export async function signManifest(manifestBytes: Uint8Array, signer: Signer, options: { signingTime?: Date } = {}): Promise<Buffer> {
  return createSignedData({
    content: manifestBytes,
    detached: true,
    signer,
    digestAlgorithm: "SHA-256",
    ...(options.signingTime === undefined ? {} : { signedAttributes: { signingTime: options.signingTime } }),
  });
}

async function hasExtendedKeyUsage(certificate: X509Certificate, oid: string): Promise<boolean> {
  const { X509Certificate: PeculiarCertificate } = await loadX509();
  const extension = new PeculiarCertificate(certificate.raw).getExtension<ExtendedKeyUsageExtension>(ExtensionOid.extKeyUsage);
  return extension !== null && extension.usages.map(String).includes(oid);
}

/**
 * Verifies the package's signature over its manifest and the signer's
 * trust. Throws `TemplatePackageError`: `unsigned`, `signature_invalid`
 * (altered manifest, broken or foreign signature), `signer_untrusted`.
 * Does not look at the files: see `checkPackageFiles`.
 */
export async function verifyPackageSignature(pkg: TemplatePackage, trust: PackageTrust): Promise<PackageSigner> {
  if (pkg.signature === undefined || pkg.signature.length === 0) {
    throw new TemplatePackageError("unsigned", "The package has no signature");
  }
  const anchors = typeof trust.anchors === "function" ? trust.anchors() : trust.anchors;
  if (anchors.length === 0) throw new TypeError("PackageTrust.anchors is empty: no iHub signer could ever be trusted");
  const requiredUsage = trust.requiredExtendedKeyUsage === undefined ? CODE_SIGNING_EKU : trust.requiredExtendedKeyUsage;
  const at = trust.now?.() ?? new Date();
  try {
    const result = await verifySignedData(pkg.signature, {
      content: pkg.manifestBytes,
      verifyChain: async (chain) => {
        const [leaf, ...carried] = chain;
        if (leaf === undefined) throw new Error("no signer certificate");
        const validation = await validateChain(leaf, {
          anchors,
          intermediates: [...carried, ...(trust.intermediates ?? [])],
          purpose: "signature",
          at,
        });
        if (!validation.valid) throw validation.error;
        if (requiredUsage !== null && !(await hasExtendedKeyUsage(leaf, requiredUsage))) {
          throw new Error(`the certificate ${leaf.subject.replaceAll("\n", ", ")} is not allowed to sign template packages (extended key usage ${requiredUsage} missing)`);
        }
      },
    });
    const certificate = result.signerCertificate;
    return {
      subject: certificate.subject.replaceAll("\n", ", "),
      issuer: certificate.issuer.replaceAll("\n", ", "),
      serialNumber: certificate.serialNumber,
      fingerprintSha256: certificate.fingerprint256,
    };
  } catch (error) {
    if (error instanceof CmsError) {
      if (error.reason === "untrusted") throw new TemplatePackageError("signer_untrusted", `Package signer not trusted: ${error.detail}`, { cause: error });
      throw new TemplatePackageError("signature_invalid", `The package signature does not verify (${error.reason}): ${error.detail}`, { cause: error });
    }
    throw error;
  }
}
