/**
 * Passerelle's library API: embed the gateway in a Node process.
 *
 * @example
 * ```ts
 * import { createGateway } from "passerelle";
 * const gateway = await createGateway({ env: { PROFILE: "sandbox", PORT: "0" } });
 * console.log(await gateway.listen());
 * ```
 */
export { createGateway, type CreateGatewayOptions, type Gateway, type SandboxHandle, type StartingSandbox } from "./gateway/create-gateway.js";
export { builtInModules } from "./gateway/built-in-modules.js";
export type { GatewayContext, ReadinessCheck, ServiceModule, StartedModule } from "./gateway/modules.js";
export {
  ConfigError,
  LicenseNotAcceptedError,
  LICENSE_TERMS,
  SETTINGS,
  hashApiKey,
  loadConfig,
  type ConfigIssue,
  type GatewayConfig,
  type Profile,
} from "./config/index.js";
export { ERROR_CATALOGUE, PasserelleError, problemTypeFor, type ErrorCode, type InvalidParam } from "./errors/index.js";
export type { ProblemDocument } from "./http/problem.js";
export type { Vault, VaultEntry, VaultSetOptions } from "./vault/types.js";
