/**
 * Poll-mode pacing of CIBA (OpenID CIBA Core 1.0): the authentication
 * response tells the client how long to wait between token requests
 * (`interval`, §7.3), and a client polling faster gets `slow_down`, after
 * which its interval is 5 seconds longer "for this and all subsequent
 * requests" (§11). oidc-provider implements neither, so the sandbox adds
 * them around it — relying parties must cope with both in production.
 *
 * The sandbox interval is short (2 s) so that integration tests wait little;
 * the first poll after the request is never early (the interval is between
 * polling requests).
 */
import type { KoaContextWithOIDC } from "oidc-provider";
import { CIBA_GRANT_TYPE } from "./sandbox-clients.js";

export const CIBA_POLL_INTERVAL_S = 2;
/** CIBA Core §11 slow_down: "the interval MUST be increased by at least 5 seconds". */
const SLOW_DOWN_INCREMENT_S = 5;
/** Bound on tracked requests, whatever clients do (each lives at most the request TTL anyway). */
const MAX_TRACKED = 1000;

interface PollState {
  intervalS: number;
  lastPollAt: number | undefined;
  expiresAt: number;
}

export class CibaPollPacing {
  readonly #requests = new Map<string, PollState>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** oidc-provider middleware (`provider.use`), acting on responses of the CIBA and token endpoints. */
  readonly middleware = async (ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> => {
    await next();
    // ctx.oidc is absent on requests that matched no provider route.
    const route = (ctx.oidc as KoaContextWithOIDC["oidc"] | undefined)?.route;
    if (route === "backchannel_authentication" && ctx.status === 200) this.#started(ctx);
    else if (route === "token" && ctx.oidc.params?.grant_type === CIBA_GRANT_TYPE) this.#polled(ctx);
  };

  #started(ctx: KoaContextWithOIDC): void {
    const body = ctx.body as { auth_req_id?: unknown; expires_in?: unknown } | undefined;
    if (typeof body?.auth_req_id !== "string" || typeof body.expires_in !== "number") return;
    this.#prune();
    this.#requests.set(body.auth_req_id, {
      intervalS: CIBA_POLL_INTERVAL_S,
      lastPollAt: undefined,
      expiresAt: this.#now() + body.expires_in * 1000,
    });
    ctx.body = { ...body, interval: CIBA_POLL_INTERVAL_S };
  }

  #polled(ctx: KoaContextWithOIDC): void {
    const authReqId = ctx.oidc.params?.auth_req_id;
    const state = typeof authReqId === "string" ? this.#requests.get(authReqId) : undefined;
    if (state === undefined) return;
    const body = ctx.body as { error?: unknown } | undefined;
    if (ctx.status !== 400 || body?.error !== "authorization_pending") {
      // Decided, expired or refused: nothing left to pace.
      if (typeof authReqId === "string") this.#requests.delete(authReqId);
      return;
    }
    const now = this.#now();
    const early = state.lastPollAt !== undefined && now - state.lastPollAt < state.intervalS * 1000;
    state.lastPollAt = now;
    if (early) {
      state.intervalS += SLOW_DOWN_INCREMENT_S;
      ctx.body = {
        error: "slow_down",
        error_description: `polling too fast: wait at least ${state.intervalS} seconds between token requests`,
      };
    }
  }

  #prune(): void {
    const now = this.#now();
    for (const [id, state] of this.#requests) if (state.expiresAt <= now) this.#requests.delete(id);
    while (this.#requests.size >= MAX_TRACKED) {
      const oldest = this.#requests.keys().next().value;
      if (oldest === undefined) break;
      this.#requests.delete(oldest);
    }
  }
}
