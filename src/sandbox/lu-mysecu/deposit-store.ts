/**
 * The documents deposited on the simulator, in memory (the sandbox keeps no
 * patient data between runs), with the per-vendor ClientReference index that
 * makes a deposit idempotent: the same reference with the same document
 * answers the first deposit again; with another document it is refused.
 *
 * Two requests with the same reference arriving together are serialised:
 * the second waits for the first one's outcome instead of storing twice.
 */
import { randomUUID } from "node:crypto";

export interface DepositRecord {
  depositId: string;
  clientReference: string;
  /** The vendor's distinguished name, from the SAML assertion. */
  vendor: string;
  vendorCertificateSha256: string;
  providerCode: string;
  patientMatricule: string | undefined;
  documentType: string | undefined;
  title: string | undefined;
  fileName: string | undefined;
  /** SHA-256 of the PDF, lower-case hex. */
  documentSha256: string;
  size: number;
  signerSubject: string;
  receivedAt: Date;
  content: Buffer;
}

export type NewDeposit = Omit<DepositRecord, "depositId" | "receivedAt">;

/** What a deposit attempt found or did. */
export type DepositOutcome = { kind: "stored" | "replayed"; record: DepositRecord } | { kind: "conflict"; record: DepositRecord };

export class DepositStore {
  readonly #deposits: DepositRecord[] = [];
  readonly #byReference = new Map<string, DepositRecord>();
  readonly #inFlight = new Map<string, Promise<unknown>>();
  readonly #maxDeposits: number;

  constructor(maxDeposits = 10_000) {
    this.#maxDeposits = maxDeposits;
  }

  get all(): DepositRecord[] {
    return [...this.#deposits];
  }

  byId(depositId: string): DepositRecord | undefined {
    return this.#deposits.find((deposit) => deposit.depositId === depositId);
  }

  clear(): void {
    this.#deposits.length = 0;
    this.#byReference.clear();
  }

  /**
   * Runs `validate` and stores its result, unless the vendor already used
   * `clientReference`: then the earlier record is answered (`replayed`) when
   * `documentSha256` and `providerCode` match, or reported as a conflict.
   * `validate` may throw (a refusal): nothing is stored then.
   */
  async deposit(
    key: { vendorCertificateSha256: string; clientReference: string; documentSha256: string; providerCode: string },
    validate: () => Promise<NewDeposit>,
    now: () => Date,
  ): Promise<DepositOutcome> {
    const referenceKey = `${key.vendorCertificateSha256}\u0000${key.clientReference}`;
    // Serialise per reference: wait for any attempt in flight with the same one.
    for (let pending = this.#inFlight.get(referenceKey); pending !== undefined; pending = this.#inFlight.get(referenceKey)) {
      await pending.catch(() => undefined);
    }
    const existing = this.#byReference.get(referenceKey);
    if (existing !== undefined) {
      const same = existing.documentSha256 === key.documentSha256 && existing.providerCode === key.providerCode;
      return same ? { kind: "replayed", record: existing } : { kind: "conflict", record: existing };
    }
    const attempt = (async (): Promise<DepositOutcome> => {
      const fields = await validate();
      const record: DepositRecord = { ...fields, depositId: `MS-${randomUUID()}`, receivedAt: now() };
      if (this.#deposits.length >= this.#maxDeposits) {
        const dropped = this.#deposits.shift();
        if (dropped !== undefined) this.#byReference.delete(`${dropped.vendorCertificateSha256}\u0000${dropped.clientReference}`);
      }
      this.#deposits.push(record);
      this.#byReference.set(referenceKey, record);
      return { kind: "stored", record };
    })();
    this.#inFlight.set(referenceKey, attempt);
    try {
      return await attempt;
    } finally {
      this.#inFlight.delete(referenceKey);
    }
  }
}
