/**
 * How a verifier decides that a TSA certificate is trusted.
 *
 * Chain validation is pluggable: a `TimestampChainVerifier` receives the TSA
 * certificate followed by every other certificate at hand (from the token
 * and from configuration, in no particular order) and rejects when no
 * acceptable path to a trust anchor exists. The full validator of
 * `src/trust/certificates` (revocation, policies) plugs in there;
 * `chainToAnchors` is the built-in one: signatures, names, CA flags and
 * validity periods, no revocation checking.
 */
import { X509Certificate } from "node:crypto";

export interface ChainVerificationContext {
  /** The time the chain must be valid at: the token's genTime. */
  at: Date;
}

/** Resolves when `chain[0]` (the TSA certificate) chains to a trust anchor; rejects with the reason otherwise. */
export type TimestampChainVerifier = (chain: X509Certificate[], context: ChainVerificationContext) => Promise<void>;

/** Trust anchors, or a chain verifier of your own. */
export type TimestampTrust = { anchors: readonly X509Certificate[] } | { verifyChain: TimestampChainVerifier };

/** Longest path accepted, anchor excluded: TSA → issuing CA → … */
const MAX_PATH_LENGTH = 8;

function assertValidAt(certificate: X509Certificate, at: Date, role: string): void {
  if (at.getTime() < certificate.validFromDate.getTime() || at.getTime() > certificate.validToDate.getTime()) {
    throw new Error(`${role} "${certificate.subject.replaceAll("\n", ", ")}" is not valid at ${at.toISOString()}`);
  }
}

function issues(issuer: X509Certificate, subject: X509Certificate): boolean {
  // checkIssued compares names (and key identifiers); verify checks the signature itself.
  return subject.checkIssued(issuer) && subject.verify(issuer.publicKey);
}

/**
 * The built-in chain verifier: builds a path from the TSA certificate
 * through the other certificates to one of `anchors`, checking each
 * signature, that every issuer is a CA, and that every certificate on the
 * path (the anchor too) is valid at genTime.
 */
export function chainToAnchors(anchors: readonly X509Certificate[]): TimestampChainVerifier {
  if (!Array.isArray(anchors) || anchors.length === 0) throw new TypeError("chainToAnchors needs at least one anchor");
  if (!anchors.every((anchor) => anchor instanceof X509Certificate)) {
    throw new TypeError("chainToAnchors: anchors must be node:crypto X509Certificate objects");
  }
  const trusted = [...anchors];
  return async (chain, { at }) => {
    const [leaf, ...pool] = chain;
    if (leaf === undefined) throw new TypeError("The chain must start with the TSA certificate");
    let current = leaf;
    const seen = new Set<string>([leaf.fingerprint256]);
    for (let depth = 0; depth <= MAX_PATH_LENGTH; depth++) {
      if (trusted.some((anchor) => anchor.raw.equals(current.raw))) return;
      const anchor = trusted.find((candidate) => issues(candidate, current));
      if (anchor !== undefined) {
        if (!anchor.ca) throw new Error("The trust anchor that issued the TSA path is not a CA certificate");
        assertValidAt(anchor, at, "Trust anchor");
        return;
      }
      const issuer = pool.find((candidate) => !seen.has(candidate.fingerprint256) && candidate.ca && issues(candidate, current));
      if (issuer === undefined) {
        throw new Error(`No trusted issuer found for "${current.subject.replaceAll("\n", ", ")}"`);
      }
      assertValidAt(issuer, at, "Intermediate CA");
      seen.add(issuer.fingerprint256);
      current = issuer;
    }
    throw new Error(`No path to a trust anchor within ${MAX_PATH_LENGTH} certificates`);
  };
}

/** The verifier for a `TimestampTrust`; throws `TypeError` on a malformed one. */
export function chainVerifierFor(trust: TimestampTrust): TimestampChainVerifier {
  if (trust === null || typeof trust !== "object") throw new TypeError("trust must be { anchors } or { verifyChain }");
  if ("verifyChain" in trust) {
    if (typeof trust.verifyChain !== "function") throw new TypeError("trust.verifyChain must be a function");
    return trust.verifyChain;
  }
  if ("anchors" in trust) return chainToAnchors(trust.anchors);
  throw new TypeError("trust must be { anchors } or { verifyChain }");
}
