/**
 * Fault injection for negative tests of mySecu clients (`POST /_test/faults`):
 *
 * - `down`          HTTP 503 with a SOAP env:Receiver fault `sx:ServiceUnavailable`
 * - `slow`          the normal answer, after `delayMs` (default 10 s)
 * - `reject-token`  syncexchange refuses the SAML assertion (`wsse:InvalidSecurityToken`)
 *                   as if the STS had been re-keyed: a client renews its token
 *
 * `service` (`sts` or `syncexchange`) limits `down` / `slow` to one endpoint;
 * `times` bounds how many requests a fault applies to (default: until
 * `DELETE /_test/faults`).
 */

export const MYSECU_SERVICES = ["sts", "syncexchange"] as const;
export type MySecuService = (typeof MYSECU_SERVICES)[number];

export const MYSECU_FAULT_MODES = ["down", "slow", "reject-token"] as const;
export type MySecuFaultMode = (typeof MYSECU_FAULT_MODES)[number];

export interface InjectedFault {
  mode: MySecuFaultMode;
  /** undefined = both endpoints (`reject-token`: syncexchange only). */
  service: MySecuService | undefined;
  delayMs: number;
  /** Requests left; undefined = until cleared. */
  remaining: number | undefined;
}

const DEFAULT_DELAY_MS = 10_000;
const MAX_DELAY_MS = 120_000;

/** Validates a `POST /_test/faults` body; returns the fault or a message for a 400. */
export function parseInjectedFault(body: unknown): InjectedFault | string {
  if (body === null || typeof body !== "object" || Array.isArray(body)) return "The body must be a JSON object";
  const { mode, service, delayMs, times, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) return `Unknown member ${unknown.join(", ")} (allowed: mode, service, delayMs, times)`;
  if (typeof mode !== "string" || !(MYSECU_FAULT_MODES as readonly string[]).includes(mode)) return `mode must be one of ${MYSECU_FAULT_MODES.join(", ")}`;
  if (service !== undefined && (typeof service !== "string" || !(MYSECU_SERVICES as readonly string[]).includes(service))) {
    return `service must be one of ${MYSECU_SERVICES.join(", ")}`;
  }
  if (mode === "reject-token" && service === "sts") return "reject-token applies to syncexchange only";
  if (delayMs !== undefined && (mode !== "slow" || !Number.isInteger(delayMs) || (delayMs as number) < 0 || (delayMs as number) > MAX_DELAY_MS)) {
    return `delayMs is for mode slow, an integer in 0..${MAX_DELAY_MS}`;
  }
  if (times !== undefined && (!Number.isInteger(times) || (times as number) < 1)) return "times must be an integer ≥ 1";
  return {
    mode: mode as MySecuFaultMode,
    service: mode === "reject-token" ? "syncexchange" : (service as MySecuService | undefined),
    delayMs: (delayMs as number | undefined) ?? DEFAULT_DELAY_MS,
    remaining: times as number | undefined,
  };
}

export class InjectedFaults {
  #faults: InjectedFault[] = [];

  get active(): InjectedFault[] {
    return this.#faults.map((fault) => ({ ...fault }));
  }

  add(fault: InjectedFault): void {
    this.#faults.push({ ...fault });
  }

  clear(): void {
    this.#faults = [];
  }

  /** The first fault of `mode` that applies to `service`, consumed (one request). */
  take(mode: MySecuFaultMode, service: MySecuService): InjectedFault | undefined {
    const index = this.#faults.findIndex((fault) => fault.mode === mode && (fault.service === undefined || fault.service === service));
    const fault = this.#faults[index];
    if (fault === undefined) return undefined;
    if (fault.remaining !== undefined) {
      fault.remaining -= 1;
      if (fault.remaining <= 0) this.#faults.splice(index, 1);
    }
    return { ...fault };
  }
}
