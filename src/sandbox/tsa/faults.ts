/**
 * Fault injection for negative tests of time-stamp clients: the next answers
 * of the sandbox TSA can be made wrong in one precise way. Only the sandbox
 * simulator has this; a real TSA client never sees it unless it talks to the
 * sandbox.
 *
 * - `wrong-nonce`    a valid token whose nonce is not the request's
 * - `wrong-imprint`  a valid token over another hash
 * - `untrusted-cert` a valid token signed by a self-signed TSA outside the sandbox PKI
 * - `slow`           the normal answer, after `delayMs` (default 10 s)
 * - `error500`       HTTP 500
 * - `garbage`        HTTP 200 `application/timestamp-reply` that is not DER
 */
import "reflect-metadata";
import { ExtendedKeyUsage } from "@peculiar/x509";
import { selfSignedIdentity } from "../../trust/pki/self-signed.js";
import { KeyObjectSigner } from "./key-object-signer.js";

export const TSA_FAULT_MODES = ["wrong-nonce", "wrong-imprint", "untrusted-cert", "slow", "error500", "garbage"] as const;
export type TsaFaultMode = (typeof TSA_FAULT_MODES)[number];

export interface TsaFault {
  mode: TsaFaultMode;
  /** `slow` only: milliseconds to wait before answering. */
  delayMs: number;
  /** How many more requests it applies to; undefined = until cleared. */
  remaining: number | undefined;
}

const DEFAULT_DELAY_MS = 10_000;
const MAX_DELAY_MS = 120_000;

/** Validates a `POST /_test/faults` body; returns the fault or a message for a 400. */
export function parseFault(body: unknown): TsaFault | string {
  if (body === null || typeof body !== "object" || Array.isArray(body)) return "The body must be a JSON object";
  const { mode, delayMs, times, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) return `Unknown member ${unknown.join(", ")} (allowed: mode, delayMs, times)`;
  if (typeof mode !== "string" || !(TSA_FAULT_MODES as readonly string[]).includes(mode)) {
    return `mode must be one of ${TSA_FAULT_MODES.join(", ")}`;
  }
  if (delayMs !== undefined && (!Number.isInteger(delayMs) || (delayMs as number) < 0 || (delayMs as number) > MAX_DELAY_MS)) {
    return `delayMs must be an integer in 0..${MAX_DELAY_MS}`;
  }
  if (times !== undefined && (!Number.isInteger(times) || (times as number) < 1)) return "times must be an integer ≥ 1";
  return {
    mode: mode as TsaFaultMode,
    delayMs: (delayMs as number | undefined) ?? DEFAULT_DELAY_MS,
    remaining: times as number | undefined,
  };
}

/** The fault in force, if any; `take()` consumes one use. */
export class TsaFaults {
  #fault: TsaFault | undefined;

  get current(): TsaFault | undefined {
    return this.#fault === undefined ? undefined : { ...this.#fault };
  }

  set(fault: TsaFault): void {
    this.#fault = { ...fault };
  }

  clear(): void {
    this.#fault = undefined;
  }

  take(): TsaFault | undefined {
    const fault = this.#fault;
    if (fault === undefined) return undefined;
    if (fault.remaining !== undefined) {
      fault.remaining -= 1;
      if (fault.remaining <= 0) this.#fault = undefined;
    }
    return { ...fault };
  }
}

/**
 * A TSA signer whose certificate is right in every way (critical
 * id-kp-timeStamping, digitalSignature) except that it chains to nothing the
 * sandbox trusts: self-signed, with a fresh P-256 key (fast to make).
 */
export async function untrustedTsaSigner(now: Date = new Date()): Promise<KeyObjectSigner> {
  const { privateKey, certificate } = await selfSignedIdentity({
    name: "C=EU, O=Nowhere, CN=Untrusted Sandbox TSA",
    extendedKeyUsage: ExtendedKeyUsage.timeStamping,
    extendedKeyUsageCritical: true,
    now,
  });
  return new KeyObjectSigner("untrusted-tsa", privateKey, [certificate]);
}
