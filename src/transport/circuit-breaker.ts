/**
 * A consecutive-failure circuit breaker (Nygard, "Release It!", ch. 5), one
 * per upstream. While a national service is down, failing fast keeps our
 * callers from each waiting out a full timeout and keeps us from piling
 * retries on a service that is trying to recover.
 *
 * States are derived from two facts — when the circuit last opened and
 * whether a trial call is in flight — so the clock alone moves "open" to
 * "half-open"; no timer is needed.
 */

export type CircuitState = "closed" | "open" | "half-open";

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** How long the circuit stays open before one trial call is let through. */
  resetTimeoutMs: number;
  now: () => number;
  /** Called each time the circuit opens (including re-opening after a failed trial). */
  onOpen?: () => void;
}

/**
 * The right to make one call. A trial permit is the single call allowed
 * through a half-open circuit; its verdict alone decides the next state.
 */
export interface CircuitPermit {
  readonly trial: boolean;
}

export class CircuitBreaker {
  readonly #failureThreshold: number;
  readonly #resetTimeoutMs: number;
  readonly #now: () => number;
  readonly #onOpen: (() => void) | undefined;
  #consecutiveFailures = 0;
  #openedAt: number | undefined;
  #trialInFlight = false;

  constructor(options: CircuitBreakerOptions) {
    if (!Number.isInteger(options.failureThreshold) || options.failureThreshold < 1) {
      throw new TypeError("failureThreshold must be a positive integer");
    }
    if (!Number.isFinite(options.resetTimeoutMs) || options.resetTimeoutMs < 0) {
      throw new TypeError("resetTimeoutMs must be a non-negative number");
    }
    this.#failureThreshold = options.failureThreshold;
    this.#resetTimeoutMs = options.resetTimeoutMs;
    this.#now = options.now;
    this.#onOpen = options.onOpen;
  }

  get state(): CircuitState {
    if (this.#openedAt === undefined) return "closed";
    return this.#now() - this.#openedAt >= this.#resetTimeoutMs ? "half-open" : "open";
  }

  get consecutiveFailures(): number {
    return this.#consecutiveFailures;
  }

  /** Milliseconds until a trial call will be allowed; 0 when calls may go through now. */
  get msUntilTrial(): number {
    if (this.#openedAt === undefined) return 0;
    return Math.max(0, this.#openedAt + this.#resetTimeoutMs - this.#now());
  }

  /** A permit to call the upstream, or `undefined` when the call must fail fast. */
  acquire(): CircuitPermit | undefined {
    switch (this.state) {
      case "closed":
        return { trial: false };
      case "open":
        return undefined;
      case "half-open":
        if (this.#trialInFlight) return undefined;
        this.#trialInFlight = true;
        return { trial: true };
    }
  }

  /** The upstream answered (any answer that is not a server failure). */
  recordSuccess(permit: CircuitPermit): void {
    if (permit.trial) {
      this.#trialInFlight = false;
      this.#openedAt = undefined;
      this.#consecutiveFailures = 0;
    } else if (this.#openedAt === undefined) {
      this.#consecutiveFailures = 0;
    }
    // A success from a call that started before the circuit opened does not
    // close it: only the trial speaks for the upstream's current health.
  }

  /** Connection error, timeout or 5xx. */
  recordFailure(permit: CircuitPermit): void {
    if (permit.trial) {
      this.#trialInFlight = false;
      this.#open();
    } else if (this.#openedAt === undefined) {
      this.#consecutiveFailures += 1;
      if (this.#consecutiveFailures >= this.#failureThreshold) this.#open();
    }
  }

  /** The call ended without a verdict (our caller gave up); a trial slot is freed for the next call. */
  release(permit: CircuitPermit): void {
    if (permit.trial) this.#trialInFlight = false;
  }

  #open(): void {
    this.#openedAt = this.#now();
    this.#onOpen?.();
  }
}
