/**
 * Failed authentications per client address. The per-caller rate limit
 * (@fastify/rate-limit, after authentication) never sees a request whose
 * credentials fail, so without this an address could try API keys without
 * bound. After `max` failures within a window, the address is refused with
 * 429 until that window ends — before its credentials are even looked at,
 * a right key included, as a lockout must.
 *
 * Fixed windows per address, in memory, per gateway instance; at most
 * `maxAddresses` are remembered (the oldest window goes first), so a flood
 * from many addresses costs bounded memory. A request that authenticates
 * leaves no trace here: the check on the success path is one Map lookup, and
 * none at all while no address has failed (`idle`).
 */
export interface FailedAuthLimiterOptions {
  /** Failures allowed per address and window. */
  max: number;
  /** Default 60 s. */
  windowMs?: number;
  /** Default 10,000. */
  maxAddresses?: number;
  /** Clock (tests move it). */
  now?: () => number;
}

interface Window {
  failures: number;
  endsAt: number;
}

export class FailedAuthLimiter {
  readonly max: number;
  readonly #windowMs: number;
  readonly #maxAddresses: number;
  readonly #now: () => number;
  /** In insertion order, which is the order the windows end in: the first entry is the oldest. */
  readonly #windows = new Map<string, Window>();

  constructor(options: FailedAuthLimiterOptions) {
    if (!Number.isInteger(options.max) || options.max < 1) throw new TypeError("max must be a positive integer");
    this.max = options.max;
    this.#windowMs = options.windowMs ?? 60_000;
    this.#maxAddresses = options.maxAddresses ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /** True while no address has a failure on record: the caller may skip retryAfterSeconds (and finding the address). */
  get idle(): boolean {
    return this.#windows.size === 0;
  }

  /** Whole seconds until `address` may try again; 0 when it may now. */
  retryAfterSeconds(address: string): number {
    const window = this.#current(address);
    if (window === undefined || window.failures < this.max) return 0;
    return Math.max(1, Math.ceil((window.endsAt - this.#now()) / 1000));
  }

  recordFailure(address: string): void {
    const window = this.#current(address);
    if (window !== undefined) {
      window.failures += 1;
      return;
    }
    if (this.#windows.size >= this.#maxAddresses) {
      const oldest = this.#windows.keys().next();
      if (oldest.done !== true) this.#windows.delete(oldest.value);
    }
    this.#windows.set(address, { failures: 1, endsAt: this.#now() + this.#windowMs });
  }

  /** The address's window if it has not ended (an ended one is dropped). */
  #current(address: string): Window | undefined {
    const window = this.#windows.get(address);
    if (window === undefined) return undefined;
    if (window.endsAt > this.#now()) return window;
    this.#windows.delete(address);
    return undefined;
  }
}
