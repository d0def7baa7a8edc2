export {
  ConfigError,
  LicenseNotAcceptedError,
  formatIssue,
  hashApiKey,
  loadConfig,
  type ConfigIssue,
  type GatewayConfig,
  type LoadConfigOptions,
} from "./load.js";
export { LICENSE_TERMS } from "./license.js";
export { SETTINGS, PROFILES, type Profile, type Settings, type CallerCredentialSpec, type ClientAuthMode, type LogLevel } from "./settings.js";
