/**
 * The configured providers and clients, and their relying parties, built on
 * first use: constructing the service does no I/O (a provider that is down at
 * start must not stop the gateway), and a failed discovery is retried on the
 * next request instead of being cached.
 */
import type { JWTVerifyGetKey } from "jose";
import * as client from "openid-client";
import type { GatewayMetrics } from "../../observability/metrics.js";
import { OidcHttpClient, OidcRelyingParty, remoteKeys, translateOidcFailure } from "../../protocols/oidc/index.js";
import type { IdentityClientConfig, IdentityFlow, IdentityProviderConfig } from "./config.js";
import { unknownClient } from "./errors.js";

export interface ResolvedClient {
  provider: IdentityProviderConfig;
  client: IdentityClientConfig;
}

const CLIENT_ID = /^[\x21-\x7e]{1,128}$/;

export class IdentityProviders {
  readonly #providers = new Map<string, IdentityProviderConfig>();
  readonly #clients = new Map<string, ResolvedClient>();
  readonly #http = new Map<string, OidcHttpClient>();
  readonly #relyingParties = new Map<string, Promise<OidcRelyingParty>>();
  readonly #keys = new Map<string, Promise<JWTVerifyGetKey>>();
  readonly #metrics: GatewayMetrics | undefined;

  constructor(providers: readonly IdentityProviderConfig[], metrics?: GatewayMetrics) {
    this.#metrics = metrics;
    for (const provider of providers) {
      if (this.#providers.has(provider.id)) throw new TypeError(`Two identity providers have the id ${provider.id}`);
      this.#providers.set(provider.id, provider);
      for (const c of provider.clients) {
        if (!CLIENT_ID.test(c.clientId)) throw new TypeError(`Invalid client id ${JSON.stringify(c.clientId)}`);
        if (this.#clients.has(c.clientId)) throw new TypeError(`Client id ${c.clientId} is configured twice: client ids name routes and must be unique`);
        if (c.flows.length === 0) throw new TypeError(`Client ${c.clientId} has no flow`);
        if (c.authentication.method === "tls_client_auth" && c.tlsIdentity === undefined) {
          throw new TypeError(`Client ${c.clientId} uses tls_client_auth but has no tlsIdentity`);
        }
        if (c.flows.includes("client_credentials") && c.authentication.method === "none") {
          throw new TypeError(`Client ${c.clientId}: client credentials need client authentication`);
        }
        this.#clients.set(c.clientId, { provider, client: c });
      }
    }
  }

  get providers(): IdentityProviderConfig[] {
    return [...this.#providers.values()];
  }

  provider(id: string): IdentityProviderConfig | undefined {
    return this.#providers.get(id);
  }

  /** The client, or `PASSERELLE_AUTH_UNKNOWN_CLIENT` when it is unknown or lacks the flow. */
  resolve(clientId: string, flow: IdentityFlow): ResolvedClient {
    const found = this.#clients.get(clientId);
    if (found === undefined || !found.client.flows.includes(flow)) throw unknownClient(clientId, flowName(flow));
    return found;
  }

  relyingParty(clientId: string): Promise<OidcRelyingParty> {
    let rp = this.#relyingParties.get(clientId);
    if (rp === undefined) {
      const resolved = this.#clients.get(clientId);
      if (resolved === undefined) return Promise.reject(unknownClient(clientId));
      rp = this.#createRelyingParty(resolved);
      this.#relyingParties.set(clientId, rp);
      // A failed discovery is not remembered: the provider may be back next time.
      rp.catch(() => {
        if (this.#relyingParties.get(clientId) === rp) this.#relyingParties.delete(clientId);
      });
    }
    return rp;
  }

  /** The provider's signing keys, for access tokens brought by callers (jose remote JWKS with rotation). */
  accessTokenKeys(providerId: string): Promise<JWTVerifyGetKey> {
    let keys = this.#keys.get(providerId);
    if (keys === undefined) {
      const provider = this.#providers.get(providerId);
      if (provider === undefined) return Promise.reject(new TypeError(`Unknown provider ${providerId}`));
      keys = this.#createKeys(provider);
      this.#keys.set(providerId, keys);
      keys.catch(() => {
        if (this.#keys.get(providerId) === keys) this.#keys.delete(providerId);
      });
    }
    return keys;
  }

  async close(): Promise<void> {
    const clients = [...this.#http.values()];
    this.#http.clear();
    await Promise.allSettled(clients.map((c) => c.close()));
  }

  async #createRelyingParty({ provider, client: c }: ResolvedClient): Promise<OidcRelyingParty> {
    return OidcRelyingParty.create({
      provider: provider.id,
      issuer: provider.issuer,
      ...(provider.metadata === undefined ? {} : { metadata: provider.metadata }),
      clientId: c.clientId,
      authentication: c.authentication,
      fetch: this.#httpFor(provider, c).fetch,
      ...(provider.idTokenAlgorithm === undefined ? {} : { idTokenAlgorithm: provider.idTokenAlgorithm }),
      ...(provider.clockToleranceSec === undefined ? {} : { clockToleranceSec: provider.clockToleranceSec }),
    });
  }

  async #createKeys(provider: IdentityProviderConfig): Promise<JWTVerifyGetKey> {
    const http = this.#httpFor(provider, undefined);
    let jwksUri = provider.accessTokens?.jwksUri ?? provider.metadata?.jwks_uri;
    if (jwksUri === undefined) {
      // Discovery with the library's issuer check; the client id plays no part in it.
      try {
        const config = await client.discovery(new URL(provider.issuer), "passerelle-token-validation", undefined, undefined, {
          [client.customFetch]: http.fetch as client.CustomFetch,
        });
        jwksUri = config.serverMetadata().jwks_uri;
      } catch (error) {
        throw translateOidcFailure(provider.id, "discovery request", error);
      }
    }
    if (jwksUri === undefined) throw new TypeError(`${provider.id} publishes no jwks_uri`);
    return remoteKeys(jwksUri, { fetch: http.fetch });
  }

  /** One transport per provider, and one per client presenting its own certificate. */
  #httpFor(provider: IdentityProviderConfig, c: IdentityClientConfig | undefined): OidcHttpClient {
    const identity = c?.authentication.method === "tls_client_auth" ? c.tlsIdentity : undefined;
    const key = identity === undefined ? provider.id : `${provider.id}#${c?.clientId ?? ""}`;
    let http = this.#http.get(key);
    if (http === undefined) {
      const ca = provider.trustedCaPem;
      http = new OidcHttpClient({
        name: provider.id,
        tls: {
          ...(ca === undefined ? {} : { ca: typeof ca === "string" ? ca : [...ca] }),
          ...(identity === undefined ? {} : { cert: [identity.certPem, ...(identity.chainPem ?? [])].join(""), key: identity.keyPem }),
        },
        ...(this.#metrics === undefined ? {} : { metrics: this.#metrics }),
      });
      this.#http.set(key, http);
    }
    return http;
  }
}

function flowName(flow: IdentityFlow): string {
  return flow === "code" ? "authorization code" : flow === "ciba" ? "CIBA" : "client credentials";
}
