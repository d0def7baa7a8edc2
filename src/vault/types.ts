/**
 * The vault keeps sessions and tokens. Every implementation passes the same
 * contract suite (src/vault/vault.contract.ts).
 *
 * Values are opaque strings (callers serialise); they are encrypted at rest by
 * every implementation (AES-256-GCM, see ./envelope.ts), so a dump of the
 * backing store reveals no token. Keys and owners are stored in clear: never
 * put a secret or a patient identifier in a key.
 *
 * Compare-and-set works on a version number that the vault increments on
 * every write, not on the value (ciphertexts of equal values differ).
 */
export interface VaultEntry {
  value: string;
  /** Starts at 1 on creation, +1 on each successful write. */
  version: number;
  /** Owner given at write time (e.g. the calling software's id), if any. */
  owner: string | undefined;
  /** Epoch milliseconds. */
  expiresAt: number;
}

export interface VaultSetOptions {
  /** Time to live in seconds (> 0). */
  ttlSeconds: number;
  owner?: string;
}

export interface Vault {
  /** Which backend ("memory", "redis"): used in metrics and health checks. */
  readonly backend: string;
  get(key: string): Promise<VaultEntry | undefined>;
  /** Unconditional write; returns the new entry. */
  set(key: string, value: string, options: VaultSetOptions): Promise<VaultEntry>;
  /** Returns true when something was deleted. */
  delete(key: string): Promise<boolean>;
  /**
   * Atomic compare-and-set. `expectedVersion` null means "only if absent".
   * Returns the new entry on success, undefined when the current version did
   * not match (someone else wrote first).
   */
  compareAndSet(
    key: string,
    expectedVersion: number | null,
    value: string,
    options: VaultSetOptions,
  ): Promise<VaultEntry | undefined>;
  /** Keys of the live entries written with this owner. */
  listByOwner(owner: string): Promise<string[]>;
  /** Throws when the backend is unreachable. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
