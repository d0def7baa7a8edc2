/**
 * How the KMS simulator authorises a call: the practitioner's AeS access
 * token (RFC 6750 bearer), validated like a resource server does it
 * (RFC 9068 §4) against the `lu-aes` simulator — issuer from its Keycloak
 * discovery document, keys from its JWKS, audience one of the AeS clients
 * registered for the vendor — with the gateway's own validator
 * (src/protocols/oidc), over HTTPS trusting the sandbox root only.
 *
 * Discovery happens at the first call, not at start: the identity provider
 * starts alongside and may not answer yet. A failed discovery is retried at
 * the next call.
 */
import * as client from "openid-client";
import type { JWTVerifyGetKey } from "jose";
import {
  OidcHttpClient,
  remoteKeys,
  translateOidcFailure,
  validateAccessToken,
  type ValidatedAccessToken,
} from "../../protocols/oidc/index.js";

export interface AesAccessTokenVerifierOptions {
  /** `${simulatorUrl("lu-aes")}/auth/realms/default`. */
  issuer: string;
  /** Accepted `aud` values: the AeS client ids of the vendor. */
  audiences: () => Promise<readonly string[]>;
  /** PEM trust anchors for the identity provider's TLS certificate. */
  caPem: string;
}

export class AesAccessTokenVerifier {
  readonly #options: AesAccessTokenVerifierOptions;
  readonly #http: OidcHttpClient;
  #setup: Promise<{ keys: JWTVerifyGetKey; audiences: readonly string[] }> | undefined;

  constructor(options: AesAccessTokenVerifierOptions) {
    this.#options = options;
    this.#http = new OidcHttpClient({ name: "lu-aes", tls: { ca: options.caPem } });
  }

  /**
   * Resolves with the validated token; rejects with `AccessTokenRejectedError`
   * (the token is bad) or another `PasserelleError` (the provider cannot be
   * reached: not the caller's fault).
   */
  async verify(token: string): Promise<ValidatedAccessToken> {
    const { keys, audiences } = await this.#ready();
    return validateAccessToken(token, keys, { issuer: this.#options.issuer, audience: audiences, algorithms: ["RS256"] });
  }

  async close(): Promise<void> {
    await this.#http.close();
  }

  #ready(): Promise<{ keys: JWTVerifyGetKey; audiences: readonly string[] }> {
    const setup = (this.#setup ??= this.#discover());
    setup.catch(() => {
      if (this.#setup === setup) this.#setup = undefined;
    });
    return setup;
  }

  async #discover(): Promise<{ keys: JWTVerifyGetKey; audiences: readonly string[] }> {
    let jwksUri: string | undefined;
    try {
      // OpenID Connect Discovery 1.0 §4.3: openid-client checks that the document names our issuer.
      const configuration = await client.discovery(new URL(this.#options.issuer), "lu-kms", undefined, undefined, {
        [client.customFetch]: this.#http.fetch as client.CustomFetch,
      });
      jwksUri = configuration.serverMetadata().jwks_uri;
    } catch (error) {
      throw translateOidcFailure("lu-aes", "discovery request", error);
    }
    if (jwksUri === undefined) throw new Error("lu-aes publishes no jwks_uri");
    return { keys: remoteKeys(jwksUri, { fetch: this.#http.fetch }), audiences: await this.#options.audiences() };
  }
}
