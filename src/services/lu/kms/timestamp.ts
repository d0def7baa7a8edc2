/**
 * RFC 3161 time-stamps through the KMS's `sign-timestamp` operation
 * (`KMS_TIMESTAMP_URL`), for one practitioner's access token, verified
 * before use like any TSA's: granted status, our imprint and nonce echoed,
 * a signature by a time-stamping certificate that chains to the
 * `TIMESTAMP_CA_ALIAS` CA, genTime close to our clock (RFC 3161 §2.4.2,
 * §4.1). A token that fails is a 502 `PASSERELLE_TIMESTAMP_INVALID` naming
 * the KMS; a refusal a 502 `PASSERELLE_TIMESTAMP_REJECTED`.
 *
 * @example
 * ```ts
 * const tsa = new KmsTimestampAuthority({ client: kms, accessToken, trust: kmsTrust.timestampTrust });
 * const signed = await signPdf(pdf, { signer, timestamp: signatureTimestamp(tsa) }); // PAdES B-T
 * ```
 */
import { createHash } from "node:crypto";
import {
  TimestampError,
  buildTimestampRequest,
  parseTimestampResponse,
  verifyTimestampToken,
  type TimestampAuthority,
  type TimestampCallOptions,
  type TimestampHashAlgorithm,
  type TimestampToken,
  type TimestampTrust,
} from "../../../protocols/tsp/index.js";
import type { KmsClient } from "./client.js";

export interface KmsTimestampAuthorityOptions {
  client: KmsClient;
  /** The practitioner's AeS access token (the KMS authorises every call with it). */
  accessToken: string;
  /** Usually `KmsTrust.timestampTrust`. */
  trust: TimestampTrust;
  /** Require tokens under this policy (and ask for it). */
  policy?: string;
  /** How far genTime may stray from our clock around the exchange. Default 60 s. */
  clockToleranceMs?: number;
  now?: () => Date;
}

const DEFAULT_CLOCK_TOLERANCE_MS = 60_000;
const NODE_HASH: Readonly<Record<TimestampHashAlgorithm, string>> = { "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512" };

export class KmsTimestampAuthority implements TimestampAuthority {
  readonly #options: KmsTimestampAuthorityOptions;
  readonly #toleranceMs: number;
  readonly #now: () => Date;

  constructor(options: KmsTimestampAuthorityOptions) {
    if (options === null || typeof options !== "object") throw new TypeError("KmsTimestampAuthority needs options");
    if (options.client === undefined || typeof options.client.signTimestamp !== "function") throw new TypeError("options.client must be a KmsClient");
    if (typeof options.accessToken !== "string") throw new TypeError("options.accessToken must be a string");
    if (options.trust === null || typeof options.trust !== "object") throw new TypeError("options.trust must be a TimestampTrust");
    const tolerance = options.clockToleranceMs ?? DEFAULT_CLOCK_TOLERANCE_MS;
    if (!Number.isFinite(tolerance) || tolerance < 0) throw new TypeError("clockToleranceMs must be a number ≥ 0");
    this.#options = options;
    this.#toleranceMs = tolerance;
    this.#now = options.now ?? (() => new Date());
  }

  async timestamp(digest: Uint8Array, hashAlgorithm: TimestampHashAlgorithm, options: TimestampCallOptions = {}): Promise<TimestampToken> {
    const { client, accessToken, trust, policy } = this.#options;
    const request = buildTimestampRequest(digest, { hashAlgorithm, certReq: true, ...(policy === undefined ? {} : { policy }) });
    const sentAt = this.#now();
    const reply = await client.signTimestamp(accessToken, request.der, options.signal === undefined ? {} : { signal: options.signal });
    const receivedAt = this.#now();
    try {
      const response = parseTimestampResponse(reply);
      if ((response.status !== "granted" && response.status !== "grantedWithMods") || response.token === undefined) {
        throw new TimestampError({
          reason: "status-rejection",
          detail: `The remote signature service ${client.name} refused the time-stamp request ("${response.status}"${
            response.failInfo.length > 0 ? `: ${response.failInfo.join(", ")}` : ""
          })`,
          source: "upstream",
          upstream: client.name,
          pkiStatus: response.status,
          failInfo: response.failInfo,
          statusStrings: response.statusStrings,
        });
      }
      return await verifyTimestampToken(response.token, {
        digest: request.digest,
        hashAlgorithm,
        nonce: request.nonce,
        trust,
        ...(policy === undefined ? {} : { policy }),
        genTimeWindow: {
          notBefore: new Date(sentAt.getTime() - this.#toleranceMs),
          notAfter: new Date(receivedAt.getTime() + this.#toleranceMs),
        },
      });
    } catch (error) {
      if (error instanceof TimestampError && error.source === "document") throw TimestampError.fromUpstream(error, client.name);
      throw error;
    }
  }
}

/**
 * The callback `signPdf` / `createSignedData` take for B-T: time-stamps the
 * signature value (RFC 3161 Appendix A: the imprint is the hash of the
 * SignerInfo's signature octets) and returns the verified token's DER.
 */
export function signatureTimestamp(
  authority: TimestampAuthority,
  hashAlgorithm: TimestampHashAlgorithm = "SHA-256",
): (signatureValue: Buffer) => Promise<Buffer> {
  if (authority === null || typeof authority !== "object" || typeof authority.timestamp !== "function") {
    throw new TypeError("signatureTimestamp needs a TimestampAuthority");
  }
  const nodeHash = NODE_HASH[hashAlgorithm];
  if (nodeHash === undefined) throw new TypeError(`hashAlgorithm must be one of ${Object.keys(NODE_HASH).join(", ")}`);
  return async (signatureValue) => {
    const token = await authority.timestamp(createHash(nodeHash).update(signatureValue).digest(), hashAlgorithm);
    return token.der;
  };
}
