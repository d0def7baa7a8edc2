/**
 * The signers the trust endpoints may use, and who may use which.
 *
 * Who may use which signer (the decision, documented here because it is a
 * security one):
 * - a caller with the `admin` role may use every signer: it is the
 *   operator's own software;
 * - any other caller may use the signers listed for it in SIGNER_CALLERS
 *   (`acme-pms:keystore`, `cabinet-a:fr-10001234565-card+fr-10001234565`),
 *   and no other: a signature in a practitioner's name must not be
 *   available to every piece of software that holds an API key;
 * - in the sandbox profile, when SIGNER_CALLERS is not set, every caller may
 *   use every sandbox signer (test keys of test practitioners; integrators
 *   try them all). Setting SIGNER_CALLERS applies the rule above there too.
 *
 * A caller's default signer (no `?signer=`) is the first one listed for it,
 * or else the first signer it may use in registry order.
 */
import type { Signer } from "../../trust/signer.js";
import { noSignerForCaller, signerForbidden, signerUnknown } from "./errors.js";
import type { SignerCallers } from "./settings.js";

/** Who is calling, as far as signer access is concerned. */
export interface SignerCaller {
  id: string;
  roles: readonly string[];
}

export interface SignerDescription {
  /** `fr-10001234565-card`, `lu-101234-56`, `keystore`… */
  readonly id: string;
  readonly kind: "software" | "pkcs11";
  /** For people: "Dr Marie Durand (médecin généraliste), CPS card in SoftHSM". */
  readonly label: string;
  readonly country?: "FR" | "LU" | "BE";
  /** The professional identifier of the practitioner whose key this is (RPPS national id, CNS provider code, NIHII). */
  readonly practitionerId?: string;
}

/** One signer as the registry holds it: described up front, opened (card, keystore reload) when used. */
export interface SignerSource extends SignerDescription {
  /**
   * The signer to use for one operation. A request calls it once and uses
   * the result throughout, so the certificate it announces and the key that
   * signs cannot change under it (a keystore reload in between).
   */
  acquire(): Promise<Signer>;
  close(): Promise<void>;
}

export interface SignerAccessOptions {
  /** SIGNER_CALLERS. */
  callers?: SignerCallers;
  /** Every caller may use every signer when `callers` is not set (the sandbox). */
  openWhenUnlisted: boolean;
}

export class SignerRegistry {
  readonly #sources: readonly SignerSource[];
  readonly #byId: ReadonlyMap<string, SignerSource>;
  readonly #access: SignerAccessOptions;

  /** Throws TypeError for duplicate ids or SIGNER_CALLERS naming a signer that does not exist (checked by the module first, as a ConfigError). */
  constructor(sources: readonly SignerSource[], access: SignerAccessOptions) {
    const byId = new Map<string, SignerSource>();
    for (const source of sources) {
      if (byId.has(source.id)) throw new TypeError(`Two signers have the id ${source.id}`);
      byId.set(source.id, source);
    }
    for (const ids of Object.values(access.callers ?? {})) {
      for (const id of ids) if (!byId.has(id)) throw new TypeError(`SIGNER_CALLERS names an unknown signer ${id}`);
    }
    this.#sources = [...sources];
    this.#byId = byId;
    this.#access = access;
  }

  get size(): number {
    return this.#sources.length;
  }

  /** Every signer, in order (for start-up logs and checks). */
  all(): readonly SignerSource[] {
    return this.#sources;
  }

  /** The signers `caller` may use, its default first. */
  usableBy(caller: SignerCaller): SignerSource[] {
    if (caller.roles.includes("admin")) return [...this.#sources];
    const listed = this.#access.callers;
    if (listed === undefined) return this.#access.openWhenUnlisted ? [...this.#sources] : [];
    const ids = Object.hasOwn(listed, caller.id) ? (listed[caller.id] ?? []) : [];
    return ids.map((id) => this.#byId.get(id)).filter((source): source is SignerSource => source !== undefined);
  }

  /**
   * The signer `id` (or the caller's default). Throws PASSERELLE_SIGNER_UNKNOWN
   * for an id that does not exist, PASSERELLE_FORBIDDEN for one the caller
   * may not use.
   */
  resolve(caller: SignerCaller, id: string | undefined): SignerSource {
    const usable = this.usableBy(caller);
    if (id === undefined) {
      const first = usable[0];
      if (first === undefined) throw this.#sources.length === 0 ? signerUnknown(undefined) : noSignerForCaller(caller.id);
      return first;
    }
    const source = this.#byId.get(id);
    if (source === undefined) throw signerUnknown(id);
    if (!usable.includes(source)) throw signerForbidden(caller.id, id);
    return source;
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.#sources.map((source) => source.close()));
  }
}

/**
 * A signer made on first use and kept (a sandbox practitioner's key, issued
 * by the sandbox PKI; a card, provisioned and opened). A failed attempt is
 * not kept: the next use tries again.
 */
export function lazySignerSource(description: SignerDescription, open: () => Promise<Signer>): SignerSource {
  let opened: Promise<Signer> | undefined;
  let closed = false;
  return {
    ...description,
    acquire() {
      if (closed) return Promise.reject(new Error(`Signer ${description.id} is closed`));
      const attempt = (opened ??= open());
      attempt.catch(() => {
        if (opened === attempt) opened = undefined;
      });
      return attempt;
    },
    async close() {
      closed = true;
      const signer = await opened?.catch(() => undefined);
      await signer?.close?.();
    },
  };
}
