/**
 * RFC 3161 time-stamping: requests, the verifying client, standalone token
 * verification, and the TSA side (used by the sandbox TSA).
 */
export {
  TIMESTAMP_HASH_ALGORITHMS,
  isTimestampHashAlgorithm,
  type HashAlgorithmInfo,
  type TimestampHashAlgorithm,
} from "./hash-algorithms.js";
export {
  TimestampError,
  type TimestampErrorOptions,
  type TimestampErrorSource,
  type TimestampFailureReason,
} from "./errors.js";
export {
  PKI_FAILURE_INFO_BITS,
  PKI_STATUS_NAMES,
  type PkiFailureInfo,
  type PkiFailureInfoName,
  type PkiStatusName,
} from "./pki-status.js";
export {
  buildTimestampRequest,
  parseTimestampRequest,
  type ParsedTimestampRequest,
  type TimestampRequest,
  type TimestampRequestOptions,
} from "./timestamp-request.js";
export { parseTimestampResponse, type ParsedTimestampResponse } from "./timestamp-response.js";
export { parseTimestampToken, type ParsedTimestampToken, type TimestampAccuracy } from "./timestamp-token.js";
export { verifyTimestampToken, type TimestampToken, type VerifyTimestampTokenOptions } from "./verify-timestamp-token.js";
export {
  chainToAnchors,
  type ChainVerificationContext,
  type TimestampChainVerifier,
  type TimestampTrust,
} from "./tsa-trust.js";
export { TIMESTAMP_QUERY_CONTENT_TYPE, TIMESTAMP_REPLY_CONTENT_TYPE } from "./media-types.js";
export {
  TimestampClient,
  type TimestampAuthority,
  type TimestampCallOptions,
  type TimestampClientOptions,
} from "./timestamp-client.js";
export {
  TimestampResponder,
  encodeTimestampRejection,
  type TimestampGrant,
  type TimestampRefusal,
  type TimestampResponderOptions,
} from "./timestamp-responder.js";
