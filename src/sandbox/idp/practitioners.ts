/**
 * The practitioners of a sandbox identity provider: who can log in, with
 * which identifiers and password, and which claims the provider releases
 * about them. The data is public test data (shown on GET /sandbox).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { TestUser } from "../simulator.js";

export interface SandboxPractitioner {
  /** OIDC `sub`: stable and opaque, like the national providers' own subject identifiers. */
  sub: string;
  /** The identifier typed on the login page, and the usual CIBA `login_hint`. */
  login: string;
  /** Other identifiers that designate the same practitioner (e.g. the RPPS without PSC's "8" prefix). */
  aliases: readonly string[];
  password: string;
  /** "Dr Marie Durand". */
  displayName: string;
  /** Human label of the profession, for pages and GET /sandbox. */
  profession: string;
  /** Claims released about the practitioner (besides `sub`), by claim name. */
  claims: Readonly<Record<string, unknown>>;
}

/** Look-ups over one provider's practitioners; built once per simulator. */
export class PractitionerDirectory {
  readonly #bySub = new Map<string, SandboxPractitioner>();
  readonly #byIdentifier = new Map<string, SandboxPractitioner>();

  constructor(practitioners: readonly SandboxPractitioner[]) {
    for (const practitioner of practitioners) {
      if (this.#bySub.has(practitioner.sub)) throw new TypeError(`Two sandbox practitioners have the sub ${practitioner.sub}`);
      this.#bySub.set(practitioner.sub, practitioner);
      for (const identifier of [practitioner.login, ...practitioner.aliases]) {
        const key = normalizeIdentifier(identifier);
        if (this.#byIdentifier.has(key)) throw new TypeError(`Two sandbox practitioners use the identifier ${identifier}`);
        this.#byIdentifier.set(key, practitioner);
      }
    }
  }

  get all(): SandboxPractitioner[] {
    return [...this.#bySub.values()];
  }

  bySub(sub: string): SandboxPractitioner | undefined {
    return this.#bySub.get(sub);
  }

  /** By login or alias; case, spaces, dots and dashes are not significant ("123456-78" = "12345678"). */
  byIdentifier(identifier: string): SandboxPractitioner | undefined {
    return this.#byIdentifier.get(normalizeIdentifier(identifier));
  }

  /**
   * The practitioner whose identifier and password these are. Passwords are
   * compared in constant time over their digests, so the time taken tells
   * nothing about how much of a password matched.
   */
  authenticate(identifier: string, password: string): SandboxPractitioner | undefined {
    const practitioner = this.byIdentifier(identifier);
    const expected = digest(practitioner?.password ?? "");
    const matches = timingSafeEqual(expected, digest(password));
    return practitioner !== undefined && matches ? practitioner : undefined;
  }

  /** What GET /sandbox shows integrators. */
  testUsers(): TestUser[] {
    return this.all.map((practitioner) => ({
      id: practitioner.login,
      label: `${practitioner.displayName} (${practitioner.profession})`,
      password: practitioner.password,
      sub: practitioner.sub,
      aliases: [...practitioner.aliases],
      claims: { ...practitioner.claims },
    }));
  }
}

function normalizeIdentifier(identifier: string): string {
  return identifier.replace(/[\s.-]/g, "").toLowerCase();
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}
