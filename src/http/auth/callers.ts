import { hash } from "node:crypto";
import type { CallerCredentialSpec } from "../../config/index.js";

export type CallerRole = "admin";

/** The calling software, as authenticated for one request. */
export interface Caller {
  id: string;
  roles: readonly CallerRole[];
  via: "api-key" | "client-certificate";
}

interface Entry {
  id: string;
  /** SHA-256, 64 lower-case hex digits. */
  digest: string;
  roles: CallerRole[];
}

/** Keys remembered after a successful check; past this many, the memory starts over. */
const RECOGNISED_KEYS_MAX = 1024;

/**
 * The configured calling software. API keys are held as SHA-256 digests only
 * (a leaked configuration reveals no key); a presented key is hashed and
 * compared in constant time against each entry, so lookup time does not tell
 * how much of a digest matched.
 *
 * A key that matched is remembered, in memory, with its caller: the same
 * software presents the same key on every request, and hashing it each time
 * was the largest cost of an authenticated request after the socket. Only
 * recognised keys are remembered (unknown keys cannot fill the memory), the
 * configuration does not change while the process runs, and the key is in
 * this process's memory with each request anyway.
 */
export class CallerDirectory {
  readonly #apiKeys: Entry[];
  readonly #certificates: Entry[];
  readonly #recognised = new Map<string, Caller>();

  constructor(apiKeys: readonly CallerCredentialSpec[], certificates: readonly CallerCredentialSpec[]) {
    const toEntry = (c: CallerCredentialSpec): Entry => ({
      id: c.id,
      digest: c.sha256.toLowerCase(),
      roles: c.roles.filter((r): r is CallerRole => r === "admin"),
    });
    this.#apiKeys = apiKeys.map(toEntry);
    this.#certificates = certificates.map(toEntry);
  }

  get size(): number {
    return this.#apiKeys.length + this.#certificates.length;
  }

  authenticateApiKey(key: string): Caller | undefined {
    const known = this.#recognised.get(key);
    if (known !== undefined) return known;
    if (key.length === 0 || key.length > 512) return undefined;
    // One-shot hash (Node >= 21.7) to hex: no Hash object and no Buffer.
    const entry = findDigest(this.#apiKeys, hash("sha256", key));
    if (entry === undefined) return undefined;
    const caller: Caller = Object.freeze({ id: entry.id, roles: Object.freeze([...entry.roles]), via: "api-key" });
    if (this.#recognised.size >= RECOGNISED_KEYS_MAX) this.#recognised.clear();
    this.#recognised.set(key, caller);
    return caller;
  }

  /** `fingerprint256` as Node prints it (AA:BB:...) or plain hex. */
  authenticateCertificate(fingerprint256: string): Caller | undefined {
    const hex = fingerprint256.replaceAll(":", "").toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(hex)) return undefined;
    const entry = findDigest(this.#certificates, hex);
    return entry ? { id: entry.id, roles: entry.roles, via: "client-certificate" } : undefined;
  }
}

/** Visits every entry whatever matches, and compares digests in constant time (see constantTimeEqual). */
function findDigest(entries: readonly Entry[], digest: string): Entry | undefined {
  let found: Entry | undefined;
  for (const e of entries) if (constantTimeEqual(e.digest, digest) && found === undefined) found = e;
  return found;
}

/**
 * Equality of two hex digests whose time does not depend on where they differ
 * (what crypto.timingSafeEqual does for Buffers, without allocating two).
 * Digests are fixed-length, so the length check leaks nothing.
 */
function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}
