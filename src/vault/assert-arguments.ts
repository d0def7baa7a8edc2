/**
 * Argument checks shared by every vault implementation, so that a caller
 * mistake is the same `TypeError` whichever backend is configured (the
 * contract suite asserts it).
 */
import type { VaultSetOptions } from "./types.js";

/** Long enough for any composed key, short enough to keep indexes cheap. */
export const MAX_KEY_LENGTH = 1024;
/** Ten years: catches milliseconds passed as seconds, keeps expiresAt a safe integer. */
export const MAX_TTL_SECONDS = 10 * 366 * 24 * 3600;

export function assertVaultKey(key: unknown, operation: string): asserts key is string {
  if (typeof key !== "string" || key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new TypeError(`Vault.${operation}: key must be a non-empty string of at most ${MAX_KEY_LENGTH} characters`);
  }
}

export function assertOwner(owner: unknown, operation: string): asserts owner is string {
  if (typeof owner !== "string" || owner.length === 0 || owner.length > MAX_KEY_LENGTH) {
    throw new TypeError(`Vault.${operation}: owner must be a non-empty string of at most ${MAX_KEY_LENGTH} characters`);
  }
}

export function assertValue(value: unknown, operation: string): asserts value is string {
  if (typeof value !== "string") {
    throw new TypeError(`Vault.${operation}: value must be a string (serialise objects before storing them)`);
  }
}

export function assertExpectedVersion(expected: unknown): asserts expected is number | null {
  if (expected !== null && !(typeof expected === "number" && Number.isSafeInteger(expected) && expected >= 1)) {
    throw new TypeError("Vault.compareAndSet: expectedVersion must be null (absent) or an integer >= 1");
  }
}

/**
 * Checks the write options and returns the time to live in whole milliseconds
 * (at least 1, since Redis PX rejects 0).
 */
export function ttlMillisecondsOf(options: VaultSetOptions, operation: string): number {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`Vault.${operation}: options { ttlSeconds } are required`);
  }
  const { ttlSeconds, owner } = options;
  if (typeof ttlSeconds !== "number" || !Number.isFinite(ttlSeconds) || ttlSeconds <= 0 || ttlSeconds > MAX_TTL_SECONDS) {
    throw new TypeError(`Vault.${operation}: ttlSeconds must be a number > 0 and <= ${MAX_TTL_SECONDS}`);
  }
  if (owner !== undefined) {
    assertOwner(owner, operation);
  }
  return Math.max(1, Math.round(ttlSeconds * 1000));
}
