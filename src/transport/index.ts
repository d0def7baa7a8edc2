/**
 * Outbound transport: the single way Passerelle calls an upstream service.
 */
export {
  UpstreamClient,
  type UpstreamBreakerOptions,
  type UpstreamOptions,
  type UpstreamPingResult,
  type UpstreamRequest,
  type UpstreamRetryOptions,
  type UpstreamTlsOptions,
} from "./upstream-client.js";
export type { UpstreamResponse } from "./upstream-response.js";
export { UpstreamError, type UpstreamErrorKind, type UpstreamErrorOptions } from "./errors.js";
export type { CircuitState } from "./circuit-breaker.js";
