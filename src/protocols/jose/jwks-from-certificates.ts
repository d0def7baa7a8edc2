/**
 * A JWK Set published from X.509 certificates: each key carries its
 * certificate chain (`x5c`, RFC 7517 §4.7) and the certificate's SHA-256
 * thumbprint (`x5t#S256`, §4.9), so a relying party can both use the key and
 * validate it against a PKI — what the national identity providers expect
 * of a `private_key_jwt` client whose key sits on a card or in a KMS.
 *
 * @example
 * ```ts
 * const jwks = await jwksFromCertificates([[signatureCert, caCert]], { use: "sig", alg: "RS256" });
 * ```
 */
import { createHash } from "node:crypto";
import type { JWK } from "jose";
import { toNodeCertificate, type CertificateInput } from "../../trust/certificates/index.js";
import { jwkThumbprint } from "./jwk.js";
import { jweAlgorithmFitsKey, jwsAlgorithmFitsKey, keyFamily, type JsonWebKeySet } from "./keys.js";

export type { CertificateInput } from "../../trust/certificates/index.js";

export interface JwksFromCertificatesOptions {
  use?: "sig" | "enc";
  alg?: string;
  /** How `kid` is derived: the RFC 7638 key thumbprint (default) or the certificate's `x5t#S256`. */
  kid?: "thumbprint" | "x5t#S256";
}

/** The public JWK of one certificate chain (the key's certificate first). */
export async function jwkFromCertificateChain(chain: readonly CertificateInput[], options: JwksFromCertificatesOptions = {}): Promise<JWK> {
  if (!Array.isArray(chain) || chain.length === 0) throw new TypeError("a certificate chain needs at least one certificate");
  const certificates = chain.map(toNodeCertificate);
  certificates.forEach((certificate, i) => {
    const issuer = certificates[i + 1];
    // RFC 7517 §4.7: each following certificate certifies the one before it.
    if (issuer !== undefined && !(certificate.checkIssued(issuer) && certificate.verify(issuer.publicKey))) {
      throw new TypeError(`x5c order: certificate ${i + 1} (${issuer.subject}) did not issue certificate ${i} (${certificate.subject})`);
    }
  });
  const leaf = certificates[0]!;
  const jwk = leaf.publicKey.export({ format: "jwk" }) as JWK;
  if (options.alg !== undefined) {
    const family = keyFamily(jwk);
    if (!jwsAlgorithmFitsKey(options.alg, family) && !jweAlgorithmFitsKey(options.alg, family)) {
      throw new TypeError(`${options.alg} does not fit the ${family.kind} key of ${leaf.subject}`);
    }
  }
  const x5tS256 = createHash("sha256").update(leaf.raw).digest("base64url");
  const kid = options.kid === "x5t#S256" ? x5tS256 : await jwkThumbprint(jwk);
  return {
    kid,
    ...(options.use === undefined ? {} : { use: options.use }),
    ...(options.alg === undefined ? {} : { alg: options.alg }),
    ...jwk,
    // x5c is standard base64, not base64url (RFC 7517 §4.7).
    x5c: certificates.map((certificate) => certificate.raw.toString("base64")),
    "x5t#S256": x5tS256,
  };
}

/** A JWK Set with one key per certificate (or chain: `[leaf, issuer, …]`). */
export async function jwksFromCertificates(
  certificates: readonly (CertificateInput | readonly CertificateInput[])[],
  options: JwksFromCertificatesOptions = {},
): Promise<JsonWebKeySet> {
  if (!Array.isArray(certificates)) throw new TypeError("jwksFromCertificates needs an array of certificates or chains");
  const keys = await Promise.all(
    certificates.map((entry) => jwkFromCertificateChain(Array.isArray(entry) ? entry : [entry as CertificateInput], options)),
  );
  const kids = keys.map((key) => key.kid);
  if (new Set(kids).size !== kids.length) throw new TypeError("two certificates give the same kid (the same key twice?)");
  return { keys };
}
