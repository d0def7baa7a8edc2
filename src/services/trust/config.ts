/**
 * The trust module's settings as the gateway parsed them, and the checks
 * that involve several of them. Everything is reported at once as a
 * {@link ConfigError}, like the rest of the configuration (exit code 2).
 *
 * Files named by the settings are read when the module starts (see
 * ./configured-signers.ts and ./trust-material.ts), and problems with them
 * are ConfigErrors too: a gateway that cannot sign as configured must not
 * start and look healthy.
 */
import { ConfigError, type ConfigIssue } from "../../config/index.js";
import { parseInteger, parseString, parseUrl, SettingError, type Parser } from "../../config/settings.js";
import { trustSettingSpecs } from "./settings.js";

/** Trust settings, in the format of src/config/settings.ts (see ./settings.ts for why they are built from the gateway's parsers). */
export const TRUST_SETTINGS = trustSettingSpecs({ parseString, parseUrl, parseInteger, SettingError });

type ValueOf<S> = S extends { parse: Parser<infer T> } ? T : never;
/** Parsed trust settings; all optional (a part is configured when its main setting is set). */
export type TrustSettings = { [K in keyof typeof TRUST_SETTINGS]?: ValueOf<(typeof TRUST_SETTINGS)[K]> };

/**
 * Cross-field rules: a PIN with a token, a password with a PKCS#12 file,
 * and trust anchors whenever something must be verified against them (the
 * signer's own certificate before each signature, the TSA's tokens).
 */
export function checkTrustSettings(settings: TrustSettings): void {
  const issues: ConfigIssue[] = [];
  const require = (name: string, value: unknown, why: string): void => {
    if (value === undefined) issues.push({ name, received: "nothing", expected: why });
  };
  if (settings.signerPkcs11TokenLabel !== undefined) {
    require("SIGNER_PKCS11_PIN", settings.signerPkcs11Pin, "the token's user PIN when SIGNER_PKCS11_TOKEN_LABEL is set");
  }
  for (const [name, value, main] of [
    ["SIGNER_PKCS11_PIN", settings.signerPkcs11Pin, settings.signerPkcs11TokenLabel],
    ["SIGNER_PKCS11_KEY_ID", settings.signerPkcs11KeyId, settings.signerPkcs11TokenLabel],
    ["SIGNER_PKCS11_MODULE", settings.signerPkcs11Module, settings.signerPkcs11TokenLabel],
  ] as const) {
    if (value !== undefined && main === undefined) {
      issues.push({ name, received: name.endsWith("PIN") ? "<secret>" : JSON.stringify(value), expected: "SIGNER_PKCS11_TOKEN_LABEL set too" });
    }
  }
  for (const [name, value] of [
    ["SIGNER_KEYSTORE_PASSWORD", settings.signerKeystorePassword],
    ["SIGNER_KEYSTORE_ALIAS", settings.signerKeystoreAlias],
  ] as const) {
    if (value !== undefined && settings.signerKeystoreFile === undefined) {
      issues.push({ name, received: name.endsWith("PASSWORD") ? "<secret>" : JSON.stringify(value), expected: "SIGNER_KEYSTORE_FILE set too" });
    }
  }
  if (settings.signerKeystoreFile !== undefined && isPkcs12Path(settings.signerKeystoreFile)) {
    require("SIGNER_KEYSTORE_PASSWORD", settings.signerKeystorePassword, "the PKCS#12 password of SIGNER_KEYSTORE_FILE");
  }
  const needsAnchors =
    settings.signerKeystoreFile !== undefined || settings.signerPkcs11TokenLabel !== undefined || settings.tsaUrl !== undefined;
  if (needsAnchors) {
    require(
      "TRUST_ANCHORS_FILE",
      settings.trustAnchorsFile,
      "trust anchors: signer certificates are validated before signing, and time-stamp tokens before use",
    );
  }
  for (const [name, main] of [
    ["TRUST_ANCHORS_PASSWORD", settings.trustAnchorsPassword],
    ["TRUST_INTERMEDIATES_FILE", settings.trustIntermediatesFile],
    ["TRUST_CRL_FILES", settings.trustCrlFiles],
  ] as const) {
    if (main !== undefined && settings.trustAnchorsFile === undefined) {
      issues.push({ name, received: name.endsWith("PASSWORD") ? "<secret>" : "set", expected: "TRUST_ANCHORS_FILE set too" });
    }
  }
  for (const [name, value] of [
    ["TSA_CA_FILE", settings.tsaCaFile],
    ["TSA_POLICY", settings.tsaPolicy],
  ] as const) {
    if (value !== undefined && settings.tsaUrl === undefined) issues.push({ name, received: JSON.stringify(value), expected: "TSA_URL set too" });
  }
  if (settings.tsaCaFile !== undefined && settings.tsaUrl !== undefined && !settings.tsaUrl.startsWith("https:")) {
    issues.push({ name: "TSA_CA_FILE", received: JSON.stringify(settings.tsaCaFile), expected: "an https TSA_URL (TLS trust anchors make no sense over http)" });
  }
  if (issues.length > 0) throw new ConfigError(issues);
}

/** PKCS#12 by extension; anything else is read as PEM. */
export function isPkcs12Path(path: string): boolean {
  return /\.(p12|pfx)$/i.test(path);
}
