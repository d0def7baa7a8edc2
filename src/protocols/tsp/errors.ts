/**
 * Why a time-stamp could not be obtained or trusted.
 *
 * One class, `TimestampError`, with a machine-readable `reason`. Its catalogue
 * code says where the bad token came from, because that decides who is at
 * fault and so the HTTP status:
 * - from a time-stamping authority we called (`source: "upstream"`): the
 *   upstream answered badly → `PASSERELLE_TIMESTAMP_INVALID` (502), or it
 *   refused → `PASSERELLE_TIMESTAMP_REJECTED` (502);
 * - from a document or a caller (`source: "document"`, e.g. the signature
 *   time-stamp of a PDF being verified) → `PASSERELLE_TIMESTAMP_TOKEN_INVALID` (422).
 */
import { PasserelleError, type ErrorCode } from "../../errors/index.js";
import type { PkiFailureInfoName, PkiStatusName } from "./pki-status.js";

export type TimestampFailureReason =
  /** Not a DER TimeStampResp / time-stamp token, or a required part is missing (RFC 3161 §2.4.2). */
  | "malformed"
  /** The TSA answered with a PKIStatus other than granted / grantedWithMods (RFC 3161 §2.4.2). */
  | "status-rejection"
  /** The token's messageImprint is not the hash we sent (RFC 3161 §2.4.2). */
  | "imprint-mismatch"
  /** The token's nonce is absent or differs from the request's (RFC 3161 §2.4.2). */
  | "nonce-mismatch"
  /** The token was issued under another policy than the one requested. */
  | "policy-mismatch"
  /** The CMS signature, its message-digest / content-type attributes or the ESS signing-certificate attribute do not verify. */
  | "bad-signature"
  /** A digest or signature algorithm outside the allow-list. */
  | "unsupported-algorithm"
  /** Neither the token nor the verifier's configuration holds the TSA certificate. */
  | "missing-certificate"
  /** The TSA certificate lacks the id-kp-timeStamping extended key usage, or has other purposes too (RFC 3161 §2.3). */
  | "missing-eku"
  /** The TSA certificate's extended key usage extension is not marked critical (RFC 3161 §2.3). */
  | "eku-not-critical"
  /** The TSA certificate's key usage allows more than digitalSignature / nonRepudiation. */
  | "bad-key-usage"
  /** The TSA certificate does not chain to a configured anchor, or was not valid at genTime. */
  | "untrusted-tsa"
  /** The token's `tsa` name is not the signing certificate's subject (RFC 3161 §2.4.2). */
  | "tsa-name-mismatch"
  /** genTime is too far from our clock. */
  | "time-out-of-tolerance";

export type TimestampErrorSource = "upstream" | "document";

export interface TimestampErrorOptions {
  reason: TimestampFailureReason;
  /** Shown to the caller: never quotes the token or the upstream's body. */
  detail: string;
  /** Default `"document"`. */
  source?: TimestampErrorSource;
  /** The TSA's configured name, when the token came from one. */
  upstream?: string;
  /** For `status-rejection`: what the TSA said. */
  pkiStatus?: PkiStatusName;
  failInfo?: readonly PkiFailureInfoName[];
  /**
   * The TSA's free-text status (RFC 3161 PKIFreeText). Kept on the error for
   * the log, not put in the problem document: like any upstream body, it is
   * not ours to relay.
   */
  statusStrings?: readonly string[];
  cause?: unknown;
}

function codeFor(source: TimestampErrorSource, reason: TimestampFailureReason): ErrorCode {
  if (source === "document") return "PASSERELLE_TIMESTAMP_TOKEN_INVALID";
  return reason === "status-rejection" ? "PASSERELLE_TIMESTAMP_REJECTED" : "PASSERELLE_TIMESTAMP_INVALID";
}

export class TimestampError extends PasserelleError {
  readonly reason: TimestampFailureReason;
  readonly source: TimestampErrorSource;
  readonly upstream: string | undefined;
  readonly pkiStatus: PkiStatusName | undefined;
  readonly failInfo: readonly PkiFailureInfoName[] | undefined;
  readonly statusStrings: readonly string[] | undefined;

  constructor(options: TimestampErrorOptions) {
    const source = options.source ?? "document";
    super(codeFor(source, options.reason), {
      detail: options.detail,
      cause: options.cause,
      extensions: {
        reason: options.reason,
        ...(options.upstream === undefined ? {} : { upstream: options.upstream }),
        ...(options.pkiStatus === undefined ? {} : { pkiStatus: options.pkiStatus }),
        ...(options.failInfo === undefined ? {} : { failInfo: [...options.failInfo] }),
      },
    });
    this.name = "TimestampError";
    this.reason = options.reason;
    this.source = source;
    this.upstream = options.upstream;
    this.pkiStatus = options.pkiStatus;
    this.failInfo = options.failInfo;
    this.statusStrings = options.statusStrings;
  }

  /** The same failure, attributed to the TSA `upstream` that produced the token (so a 502). */
  static fromUpstream(error: TimestampError, upstream: string): TimestampError {
    return new TimestampError({
      reason: error.reason,
      detail: `Time-stamping authority ${upstream}: ${error.detail}`,
      source: "upstream",
      upstream,
      ...(error.pkiStatus === undefined ? {} : { pkiStatus: error.pkiStatus }),
      ...(error.failInfo === undefined ? {} : { failInfo: error.failInfo }),
      cause: error,
    });
  }
}
