import { hash, timingSafeEqual } from "node:crypto";
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
  digest: Buffer;
  roles: CallerRole[];
}

/**
 * The configured calling software. API keys are held as SHA-256 digests only
 * (a leaked configuration reveals no key); a presented key is hashed and
 * compared in constant time against each entry, so lookup time does not tell
 * how much of a digest matched.
 */
export class CallerDirectory {
  readonly #apiKeys: Entry[];
  readonly #certificates: Entry[];

  constructor(apiKeys: readonly CallerCredentialSpec[], certificates: readonly CallerCredentialSpec[]) {
    const toEntry = (c: CallerCredentialSpec): Entry => ({
      id: c.id,
      digest: Buffer.from(c.sha256, "hex"),
      roles: c.roles.filter((r): r is CallerRole => r === "admin"),
    });
    this.#apiKeys = apiKeys.map(toEntry);
    this.#certificates = certificates.map(toEntry);
  }

  get size(): number {
    return this.#apiKeys.length + this.#certificates.length;
  }

  authenticateApiKey(key: string): Caller | undefined {
    if (key.length === 0 || key.length > 512) return undefined;
    // One-shot hash (Node >= 21.7): no Hash object per request.
    const digest = hash("sha256", key, "buffer");
    const entry = findDigest(this.#apiKeys, digest);
    return entry ? { id: entry.id, roles: entry.roles, via: "api-key" } : undefined;
  }

  /** `fingerprint256` as Node prints it (AA:BB:...) or plain hex. */
  authenticateCertificate(fingerprint256: string): Caller | undefined {
    const hex = fingerprint256.replaceAll(":", "").toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(hex)) return undefined;
    const entry = findDigest(this.#certificates, Buffer.from(hex, "hex"));
    return entry ? { id: entry.id, roles: entry.roles, via: "client-certificate" } : undefined;
  }
}

function findDigest(entries: readonly Entry[], digest: Buffer): Entry | undefined {
  let found: Entry | undefined;
  for (const e of entries) if (timingSafeEqual(e.digest, digest) && found === undefined) found = e;
  return found;
}
