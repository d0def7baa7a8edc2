/**
 * Luxembourg mySecu: deposit of signed documents through the CCSS web
 * services (WS-Trust STS, then syncexchange), idempotent across instances.
 */
export {
  MySecuClient,
  clientReferenceFor,
  type MySecuClientOptions,
  type MySecuDeposit,
  type MySecuDepositRequest,
  type MySecuIdempotencyOptions,
} from "./client.js";
export type { MySecuTokenTrust, SamlToken } from "./sts-request.js";
export type { MySecuDepositRefusal } from "./errors.js";
export type { SoapVersion } from "./soap-http.js";
export { IdempotentRunner, type IdempotencyOptions, type IdempotentOutcome } from "./idempotency.js";
export type { SignSoapRequestOptions } from "./ws-security.js";
