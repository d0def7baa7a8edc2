/**
 * Putting a key store's certificates in Signer order: the certificate of the
 * private key first, then its issuers, up to but excluding a self-signed
 * root (trust anchors are the verifier's business, RFC 5280 §6.1).
 */
import { createPublicKey, type KeyObject, type X509Certificate } from "node:crypto";

/** A path longer than this is not a real chain (and would hint at a loop). */
const MAX_CHAIN_LENGTH = 10;

/** Whether `privateKey` is the private half of `certificate`'s public key. */
export function privateKeyMatchesCertificate(privateKey: KeyObject, certificate: X509Certificate): boolean {
  const fromKey = createPublicKey(privateKey).export({ format: "der", type: "spki" });
  const fromCertificate = certificate.publicKey.export({ format: "der", type: "spki" });
  return fromKey.equals(fromCertificate);
}

export function isSelfSigned(certificate: X509Certificate): boolean {
  return certificate.checkIssued(certificate) && certificate.verify(certificate.publicKey);
}

/**
 * The issuers of `leaf` found among `candidates`, nearest first, each one
 * checked by name and signature. Stops at the first certificate whose
 * issuer is missing or self-signed; certificates that are not on the path
 * are left out.
 */
export function issuerChain(leaf: X509Certificate, candidates: readonly X509Certificate[]): X509Certificate[] {
  const chain: X509Certificate[] = [];
  const used = new Set<string>([leaf.fingerprint256]);
  let current = leaf;
  while (chain.length < MAX_CHAIN_LENGTH && !isSelfSigned(current)) {
    const issuer = candidates.find(
      (candidate) =>
        !used.has(candidate.fingerprint256) && current.checkIssued(candidate) && current.verify(candidate.publicKey),
    );
    if (issuer === undefined || isSelfSigned(issuer)) break;
    chain.push(issuer);
    used.add(issuer.fingerprint256);
    current = issuer;
  }
  return chain;
}
