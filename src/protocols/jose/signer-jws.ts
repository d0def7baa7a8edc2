/**
 * A compact JWS signed by a {@link Signer} — a software key, a smart card
 * through PKCS#11 or a remote KMS — whose private key this process never
 * holds. Used for `private_key_jwt` client assertions (RFC 7523 §2.2,
 * OIDC Core §9) made with a practitioner's or an organisation's certificate.
 *
 * The JWS is assembled here rather than by jose, which wants a key it can
 * use itself: signing input per RFC 7515 §5.1, the signer's signature, and
 * for ECDSA the DER → r||s conversion of RFC 7518 §3.4.
 *
 * @example
 * ```ts
 * const assertion = await signJwsWithSigner(
 *   { iss: clientId, sub: clientId, aud: tokenEndpoint, jti: randomUUID(), exp: now + 60, iat: now },
 *   cardSigner,
 *   { alg: "RS256", typ: "JWT", x5tS256: true },
 * );
 * ```
 */
import { constants, createHash, verify as verifySignature } from "node:crypto";
import type { SignatureAlgorithm, Signer } from "../../trust/signer.js";
import type { JwsAlgorithm } from "./algorithms.js";
import { ecdsaDerToJose } from "./ecdsa-signature.js";
import type { HeaderMembers } from "./header.js";
import { buildJwsProtectedHeader, encodePayload, type JwsPayload } from "./jws-sign.js";

/** JWS algorithms a Signer can serve, and the Signer algorithm each one is (RFC 7518 §3.3–3.5). */
export const SIGNER_JWS_ALGORITHMS = {
  RS256: "RSASSA-PKCS1-v1_5-SHA256",
  RS384: "RSASSA-PKCS1-v1_5-SHA384",
  RS512: "RSASSA-PKCS1-v1_5-SHA512",
  PS256: "RSA-PSS-SHA256",
  ES256: "ECDSA-P256-SHA256",
} as const satisfies Partial<Record<JwsAlgorithm, SignatureAlgorithm>>;

export type SignerJwsAlgorithm = keyof typeof SIGNER_JWS_ALGORITHMS;

export interface SignJwsWithSignerOptions {
  alg: SignerJwsAlgorithm;
  kid?: string;
  typ?: string;
  cty?: string;
  /** Further protected header members (not alg/kid/typ/cty/crit/b64). */
  header?: HeaderMembers;
  /** Put the signer's certificate chain in `x5c` (RFC 7515 §4.1.6). */
  x5c?: boolean;
  /** Put the signing certificate's SHA-256 thumbprint in `x5t#S256` (RFC 7515 §4.1.8). */
  x5tS256?: boolean;
}

/** The digest and padding node:crypto needs to check what the signer returned. */
function verificationParameters(alg: SignerJwsAlgorithm): { digest: string; padding?: number; saltLength?: number } {
  switch (alg) {
    case "RS256":
      return { digest: "sha256" };
    case "RS384":
      return { digest: "sha384" };
    case "RS512":
      return { digest: "sha512" };
    // RFC 7518 §3.5: the PSS salt is as long as the hash.
    case "PS256":
      return { digest: "sha256", padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
    case "ES256":
      return { digest: "sha256" };
  }
}

export async function signJwsWithSigner(payload: JwsPayload, signer: Signer, options: SignJwsWithSignerOptions): Promise<string> {
  if (typeof signer?.sign !== "function" || typeof signer.certificateChain !== "function") {
    throw new TypeError("signJwsWithSigner needs a Signer");
  }
  if (typeof options !== "object" || options === null || !Object.hasOwn(SIGNER_JWS_ALGORITHMS, options.alg)) {
    throw new TypeError(`signJwsWithSigner: alg must be one of ${Object.keys(SIGNER_JWS_ALGORITHMS).join(", ")}`);
  }
  const algorithm = SIGNER_JWS_ALGORITHMS[options.alg];
  const expectedKeyType = options.alg === "ES256" ? "EC" : "RSA";
  if (signer.keyType !== expectedKeyType || !signer.algorithms.includes(algorithm)) {
    throw new TypeError(`signer ${signer.id} (${signer.keyType}) cannot sign ${options.alg} (${algorithm})`);
  }

  const chain = await signer.certificateChain();
  const certificate = chain[0];
  if (certificate === undefined) throw new TypeError(`signer ${signer.id} has no certificate`);
  const extra: HeaderMembers = { ...options.header };
  if (options.x5tS256 === true) extra["x5t#S256"] = createHash("sha256").update(certificate.raw).digest("base64url");
  if (options.x5c === true) extra.x5c = chain.map((c) => c.raw.toString("base64"));
  const header = buildJwsProtectedHeader({
    alg: options.alg,
    ...(options.kid === undefined ? {} : { kid: options.kid }),
    ...(options.typ === undefined ? {} : { typ: options.typ }),
    ...(options.cty === undefined ? {} : { cty: options.cty }),
    header: extra,
  });

  // RFC 7515 §5.1 steps 2–5: ASCII(BASE64URL(UTF8(header)) || "." || BASE64URL(payload)).
  const signingInput = `${Buffer.from(JSON.stringify(header)).toString("base64url")}.${Buffer.from(encodePayload(payload)).toString("base64url")}`;
  const signature = await signer.sign(Buffer.from(signingInput, "ascii"), algorithm);

  // A card or a KMS that signs with another key than its certificate's would
  // otherwise surface much later as the identity provider's "invalid_client".
  const parameters = verificationParameters(options.alg);
  const verified = verifySignature(
    parameters.digest,
    Buffer.from(signingInput, "ascii"),
    {
      key: certificate.publicKey,
      ...(parameters.padding === undefined ? {} : { padding: parameters.padding, saltLength: parameters.saltLength }),
    },
    signature,
  );
  if (!verified) {
    throw new Error(`signer ${signer.id} returned a ${options.alg} signature that its own certificate does not verify`);
  }
  const jwsSignature = options.alg === "ES256" ? ecdsaDerToJose(signature, "P-256") : signature;
  return `${signingInput}.${Buffer.from(jwsSignature).toString("base64url")}`;
}
