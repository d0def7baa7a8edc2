/**
 * Client authentication at the provider's token, CIBA and revocation
 * endpoints (OpenID Connect Core 1.0 §9, RFC 6749 §2.3):
 *
 * | method                | how                                                               |
 * |-----------------------|-------------------------------------------------------------------|
 * | `client_secret_basic` | HTTP Basic with the URL-encoded id and secret (RFC 6749 §2.3.1)  |
 * | `client_secret_post`  | `client_id` + `client_secret` in the form body                    |
 * | `private_key_jwt`     | a signed JWT assertion (RFC 7523 §2.2), key from a PEM or a Signer |
 * | `tls_client_auth`     | the TLS client certificate (RFC 8705 §2.1); only `client_id` sent  |
 * | `none`                | public client: `client_id` only, PKCE protects the code            |
 *
 * openid-client implements all of them; the one addition is an assertion
 * signed by a {@link Signer}, whose key may never leave a smart card or a
 * KMS — openid-client's `PrivateKeyJwt` wants a WebCrypto `CryptoKey`.
 */
import { randomBytes } from "node:crypto";
import { importPKCS8 } from "jose";
import * as client from "openid-client";
import type { SignatureAlgorithm, Signer } from "../../trust/signer.js";
import { ecdsaDerToJose } from "../jose/index.js";

export type ClientAuthMethod = "client_secret_basic" | "client_secret_post" | "private_key_jwt" | "tls_client_auth" | "none";

/** The JWS algorithms we sign client assertions with (asymmetric only). */
export type AssertionAlgorithm = "RS256" | "RS384" | "RS512" | "PS256" | "ES256";

export type ClientAuthentication =
  | { method: "client_secret_basic" | "client_secret_post"; clientSecret: string }
  | {
      method: "private_key_jwt";
      /** PKCS#8 PEM private key, or a Signer whose key stays where it is (card, KMS). */
      key: string | Signer;
      /** `kid` header, so the provider picks the right registered key (RFC 7515 §4.1.4). */
      kid?: string;
      /** Default RS256 (ES256 for an EC Signer). */
      algorithm?: AssertionAlgorithm;
    }
  | { method: "tls_client_auth" }
  | { method: "none" };

const SIGNER_ALGORITHMS: Record<AssertionAlgorithm, SignatureAlgorithm> = {
  RS256: "RSASSA-PKCS1-v1_5-SHA256",
  RS384: "RSASSA-PKCS1-v1_5-SHA384",
  RS512: "RSASSA-PKCS1-v1_5-SHA512",
  PS256: "RSA-PSS-SHA256",
  ES256: "ECDSA-P256-SHA256",
};

/** Lifetime of a client assertion: short, it is used at once (RFC 7523 §3 point 4). */
const ASSERTION_LIFETIME_SEC = 60;

/** The openid-client `ClientAuth` implementing `auth`. */
export async function buildClientAuth(auth: ClientAuthentication): Promise<client.ClientAuth> {
  switch (auth.method) {
    case "client_secret_basic":
      return client.ClientSecretBasic(requireSecret(auth.clientSecret));
    case "client_secret_post":
      return client.ClientSecretPost(requireSecret(auth.clientSecret));
    case "tls_client_auth":
      return client.TlsClientAuth();
    case "none":
      return client.None();
    case "private_key_jwt": {
      const algorithm = auth.algorithm;
      if (typeof auth.key === "string") {
        const alg = algorithm ?? "RS256";
        // Non-extractable: the imported key can sign and nothing else.
        const key = await importPKCS8(auth.key, alg, { extractable: false });
        return client.PrivateKeyJwt(auth.kid === undefined ? key : { key, kid: auth.kid });
      }
      return signerPrivateKeyJwt(auth.key, { ...(auth.kid === undefined ? {} : { kid: auth.kid }), ...(algorithm ? { algorithm } : {}) });
    }
    default:
      throw new TypeError(`Unknown client authentication method ${JSON.stringify((auth as { method: unknown }).method)}`);
  }
}

function requireSecret(secret: unknown): string {
  if (typeof secret !== "string" || secret.length === 0) throw new TypeError("client secret methods need a non-empty clientSecret");
  return secret;
}

/**
 * `private_key_jwt` with a {@link Signer}: the assertion of RFC 7523 §3
 * (`iss` = `sub` = client_id, `aud` = the issuer, `jti`, short `exp`), signed
 * by the Signer. `aud` is the issuer identifier, as openid-client does and as
 * draft-ietf-oauth-rfc7523bis recommends against audience-confusion attacks.
 */
export function signerPrivateKeyJwt(signer: Signer, options: { kid?: string; algorithm?: AssertionAlgorithm } = {}): client.ClientAuth {
  const alg = options.algorithm ?? (signer.keyType === "EC" ? "ES256" : "RS256");
  const signatureAlgorithm = SIGNER_ALGORITHMS[alg];
  if (signatureAlgorithm === undefined) throw new TypeError(`Unsupported client assertion algorithm ${alg}`);
  if (!signer.algorithms.includes(signatureAlgorithm)) {
    throw new TypeError(`Signer ${signer.id} cannot sign ${signatureAlgorithm} (needed for ${alg})`);
  }
  // openid-client awaits the ClientAuth, so an async function fits its `=> void` type.
  return async (as, clientMetadata, body) => {
    const now = Math.floor(Date.now() / 1000);
    const header = { alg, typ: "JWT", ...(options.kid === undefined ? {} : { kid: options.kid }) };
    const payload = {
      iss: clientMetadata.client_id,
      sub: clientMetadata.client_id,
      aud: as.issuer,
      jti: randomBytes(32).toString("base64url"),
      iat: now,
      nbf: now,
      exp: now + ASSERTION_LIFETIME_SEC,
    };
    const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
    const signature = await signer.sign(Buffer.from(signingInput, "ascii"), signatureAlgorithm);
    // Signers return ECDSA as DER (RFC 3279); JWS wants r || s (RFC 7518 §3.4).
    const jwsSignature = alg === "ES256" ? ecdsaDerToJose(signature, "P-256") : signature;
    body.set("client_id", clientMetadata.client_id);
    body.set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    body.set("client_assertion", `${signingInput}.${Buffer.from(jwsSignature).toString("base64url")}`);
  };
}

function base64url(text: string): string {
  return Buffer.from(text, "utf8").toString("base64url");
}
