/**
 * Fault injection for negative tests of KMS clients: the next answers of
 * the simulator can be made wrong in one precise way (`POST /_test/faults`).
 *
 * - `slow`                  the normal answer, after `delayMs` (default 10 s)
 * - `down`                  HTTP 503 `{ "error": "temporarily_unavailable" }`
 * - `untrusted-certificate` get-certificate answers a certificate for the
 *                           practitioner's real key, issued by a CA outside
 *                           the sandbox PKI
 * - `wrong-key`             sign-data answers a valid RSA signature by another key
 * - `untrusted-timestamp`   sign-timestamp answers a token signed by a TSA
 *                           outside the sandbox PKI
 *
 * `slow` and `down` apply to every operation unless `operation` names one;
 * the others to their own operation only. `times` bounds how many calls a
 * fault applies to (default: until cleared with `DELETE /_test/faults`).
 */
import "reflect-metadata";
import { X509Certificate, type KeyObject, type webcrypto } from "node:crypto";
import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  SubjectKeyIdentifierExtension,
  X509Certificate as PeculiarCertificate,
  X509CertificateGenerator,
} from "@peculiar/x509";
import { DOCUMENT_SIGNING_EKU } from "./practitioner-keys.js";

export const KMS_OPERATIONS = ["sign-data", "get-certificate", "sign-timestamp"] as const;
export type KmsOperation = (typeof KMS_OPERATIONS)[number];

export const KMS_FAULT_MODES = ["slow", "down", "untrusted-certificate", "wrong-key", "untrusted-timestamp"] as const;
export type KmsFaultMode = (typeof KMS_FAULT_MODES)[number];

/** The operation each operation-specific fault alters. */
const OWN_OPERATION: Partial<Record<KmsFaultMode, KmsOperation>> = {
  "untrusted-certificate": "get-certificate",
  "wrong-key": "sign-data",
  "untrusted-timestamp": "sign-timestamp",
};

export interface KmsFault {
  mode: KmsFaultMode;
  /** The operation it applies to; undefined = all (slow, down). */
  operation: KmsOperation | undefined;
  /** `slow` only. */
  delayMs: number;
  /** Calls left; undefined = until cleared. */
  remaining: number | undefined;
}

const DEFAULT_DELAY_MS = 10_000;
const MAX_DELAY_MS = 120_000;

/** Validates a `POST /_test/faults` body; returns the fault or a message for a 400. */
export function parseKmsFault(body: unknown): KmsFault | string {
  if (body === null || typeof body !== "object" || Array.isArray(body)) return "The body must be a JSON object";
  const { mode, operation, delayMs, times, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) return `Unknown member ${unknown.join(", ")} (allowed: mode, operation, delayMs, times)`;
  if (typeof mode !== "string" || !(KMS_FAULT_MODES as readonly string[]).includes(mode)) {
    return `mode must be one of ${KMS_FAULT_MODES.join(", ")}`;
  }
  const own = OWN_OPERATION[mode as KmsFaultMode];
  if (operation !== undefined && (typeof operation !== "string" || !(KMS_OPERATIONS as readonly string[]).includes(operation))) {
    return `operation must be one of ${KMS_OPERATIONS.join(", ")}`;
  }
  if (own !== undefined && operation !== undefined && operation !== own) return `mode ${mode} applies to ${own} only`;
  if (delayMs !== undefined && (mode !== "slow" || !Number.isInteger(delayMs) || (delayMs as number) < 0 || (delayMs as number) > MAX_DELAY_MS)) {
    return `delayMs is for mode slow, an integer in 0..${MAX_DELAY_MS}`;
  }
  if (times !== undefined && (!Number.isInteger(times) || (times as number) < 1)) return "times must be an integer ≥ 1";
  return {
    mode: mode as KmsFaultMode,
    operation: own ?? (operation as KmsOperation | undefined),
    delayMs: (delayMs as number | undefined) ?? DEFAULT_DELAY_MS,
    remaining: times as number | undefined,
  };
}

/** The fault in force, if any; `take(operation)` consumes one use when it applies. */
export class KmsFaults {
  #fault: KmsFault | undefined;

  get current(): KmsFault | undefined {
    return this.#fault === undefined ? undefined : { ...this.#fault };
  }

  set(fault: KmsFault): void {
    this.#fault = { ...fault };
  }

  clear(): void {
    this.#fault = undefined;
  }

  take(operation: KmsOperation): KmsFault | undefined {
    const fault = this.#fault;
    if (fault === undefined || (fault.operation !== undefined && fault.operation !== operation)) return undefined;
    if (fault.remaining !== undefined) {
      fault.remaining -= 1;
      if (fault.remaining <= 0) this.#fault = undefined;
    }
    return { ...fault };
  }
}

const EC_ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

/**
 * A CA nobody trusts (self-signed, fresh P-256 key: quick to make) issuing
 * certificates with the sandbox signing profile for keys it is given — what
 * a KMS misconfigured with another PKI would hand out.
 */
export class ForeignSigningCa {
  readonly #ca: Promise<{ certificate: PeculiarCertificate; privateKey: webcrypto.CryptoKey }>;
  readonly #issued = new Map<string, Promise<X509Certificate[]>>();

  constructor(now: () => Date = () => new Date()) {
    this.#ca = (async () => {
      const keys = await globalThis.crypto.subtle.generateKey(EC_ALGORITHM, false, ["sign", "verify"]);
      const notBefore = new Date(now().getTime() - 3_600_000);
      const certificate = await X509CertificateGenerator.createSelfSigned(
        {
          name: "C=LU, O=Elsewhere, CN=Untrusted Signing CA",
          keys,
          notBefore,
          notAfter: new Date(notBefore.getTime() + 30 * 24 * 3_600_000),
          signingAlgorithm: EC_ALGORITHM,
          extensions: [
            new BasicConstraintsExtension(true, 0, true),
            new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
            await SubjectKeyIdentifierExtension.create(keys.publicKey, false, globalThis.crypto),
          ],
        },
        globalThis.crypto,
      );
      return { certificate, privateKey: keys.privateKey };
    })();
    // Not awaited by anyone until the fault is used; a failure surfaces then.
    this.#ca.catch(() => undefined);
  }

  /** `[leaf, foreign CA]`: a certificate with `like`'s subject for `publicKey`, issued by the foreign CA (cached per subject). */
  issueFor(like: X509Certificate, publicKey: KeyObject): Promise<X509Certificate[]> {
    const key = like.fingerprint256;
    let issued = this.#issued.get(key);
    if (issued === undefined) {
      issued = this.#issue(like, publicKey);
      this.#issued.set(key, issued);
    }
    return issued;
  }

  async #issue(like: X509Certificate, publicKey: KeyObject): Promise<X509Certificate[]> {
    const ca = await this.#ca;
    const spki = publicKey.export({ format: "der", type: "spki" });
    const subjectKey = await globalThis.crypto.subtle.importKey("spki", spki, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, true, ["verify"]);
    const original = new PeculiarCertificate(like.raw);
    const leaf = await X509CertificateGenerator.create(
      {
        subject: original.subjectName,
        issuer: ca.certificate.subjectName,
        publicKey: subjectKey,
        signingKey: ca.privateKey,
        notBefore: ca.certificate.notBefore,
        notAfter: ca.certificate.notAfter,
        signingAlgorithm: EC_ALGORITHM,
        extensions: [
          new BasicConstraintsExtension(false, undefined, true),
          new KeyUsagesExtension(KeyUsageFlags.nonRepudiation, true),
          new ExtendedKeyUsageExtension(["1.3.6.1.5.5.7.3.4", DOCUMENT_SIGNING_EKU], false),
          await AuthorityKeyIdentifierExtension.create(ca.certificate.publicKey, false, globalThis.crypto),
        ],
      },
      globalThis.crypto,
    );
    return [new X509Certificate(Buffer.from(leaf.rawData)), new X509Certificate(Buffer.from(ca.certificate.rawData))];
  }
}
