/**
 * The vendor's SAML token, kept in process until shortly before it expires.
 * Concurrent callers share one STS request (single flight); a failed request
 * is not remembered, so the next caller tries again. A token the service
 * refused can be dropped — only that token, so a fresh one obtained by a
 * concurrent caller survives.
 *
 * The token is the vendor's, not a practitioner's, and is worth one hour at
 * most: keeping it per process (not in the shared vault) costs one STS call
 * per gateway instance and hour.
 */
import type { SamlToken } from "./sts-request.js";

export interface SamlTokenCacheOptions {
  /** Obtains a new token from the STS. */
  issue: () => Promise<SamlToken>;
  /** Renew this long before `expiresAt` (capped at half the token's remaining life when issued). */
  refreshMarginMs: number;
  now: () => number;
}

interface CachedToken {
  token: SamlToken;
  /** When to stop using it. */
  renewAt: number;
}

export class SamlTokenCache {
  readonly #options: SamlTokenCacheOptions;
  #cached: CachedToken | undefined;
  #inFlight: Promise<SamlToken> | undefined;

  constructor(options: SamlTokenCacheOptions) {
    this.#options = options;
  }

  /** A token valid for a while yet: the cached one, the one being fetched, or a new one. */
  get(): Promise<SamlToken> {
    const cached = this.#cached;
    if (cached !== undefined && this.#options.now() < cached.renewAt) return Promise.resolve(cached.token);
    if (this.#inFlight === undefined) {
      const flight = this.#fetch();
      this.#inFlight = flight;
      // Cleared once settled (whatever the outcome), and only if still the current flight.
      const clear = (): void => {
        if (this.#inFlight === flight) this.#inFlight = undefined;
      };
      flight.then(clear, clear);
    }
    return this.#inFlight;
  }

  /** Forgets `token` (the service refused it); a newer cached token is kept. */
  invalidate(token: SamlToken): void {
    if (this.#cached?.token === token) this.#cached = undefined;
  }

  async #fetch(): Promise<SamlToken> {
    const issuedAt = this.#options.now();
    const token = await this.#options.issue();
    const life = token.expiresAt.getTime() - issuedAt;
    const margin = Math.min(this.#options.refreshMarginMs, Math.max(0, life / 2));
    this.#cached = { token, renewAt: token.expiresAt.getTime() - margin };
    return token;
  }
}
