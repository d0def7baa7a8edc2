/**
 * The Luxembourg settings, named exactly like the CNS eConnector SaaS's
 * environment variables (../shared/reference/002 "Variables"), so a vendor
 * migrating keeps its env file. The few additions the eConnector does not
 * need (it bundles its truststore's password; it has no template directory
 * or sync period) say so in their description.
 *
 * Built from the gateway's parsers, passed in, for the reason given in
 * src/services/identity/settings.ts (no module cycle with src/config).
 */
import type { Parser, SettingSpec } from "../../config/settings.js";
import type { SettingParsers } from "../identity/settings.js";

export interface LuSettingParsers extends SettingParsers {
  parseInteger(min: number, max: number): Parser<number>;
}

export function luSettingSpecs(p: LuSettingParsers) {
  const parseHttps = p.parseUrl(["https"]);
  const parseHttpUrl = p.parseUrl(["http", "https"]);
  return {
    kmsSignUrl: { env: "KMS_SIGN_URL", description: "Remote signature service: sign-data URL (e.g. https://hoki-tsu-kms.incert.lu/api/v3/sign-data)", parse: parseHttps },
    kmsTimestampUrl: { env: "KMS_TIMESTAMP_URL", description: "Remote signature service: sign-timestamp URL (RFC 3161)", parse: parseHttps },
    kmsGetCertificateUrl: { env: "KMS_GET_CERTIFICATE_URL", description: "Remote signature service: get-certificate URL", parse: parseHttps },
    truststoreKmsFilename: {
      env: "TRUSTSTORE_KMS_FILENAME",
      description: "PKCS#12 truststore holding the signing, root signing and timestamp CAs (aliases below) and the KMS's TLS anchors",
      parse: p.parseString,
    },
    truststoreKmsPassword: {
      env: "TRUSTSTORE_KMS_PASSWORD",
      description: "Password of TRUSTSTORE_KMS_FILENAME (Passerelle addition; empty when absent)",
      parse: p.parseString,
      secret: true,
    },
    genericKeystoreFile: {
      env: "GENERIC_KEYSTORE_FILE",
      description: "PKCS#12 generic keystore (from the CSR sent to the CCSS): client identity towards the KMS and mySecu",
      parse: p.parseString,
    },
    genericKeystorePwd: { env: "GENERIC_KEYSTORE_PWD", description: "Password of GENERIC_KEYSTORE_FILE", parse: p.parseString, secret: true },
    ccssUrl: { env: "CCSS_URL", description: "mySecu authentication service (WS-Trust STS), e.g. https://ws.mysecu.lu:443/ws/soap/trust?wsdl", parse: parseHttps },
    ccssSyncUrl: { env: "CCSS_SYNC_URL", description: "mySecu business service (syncexchange) endpoint", parse: parseHttps },
    syncExchangeWsdl: { env: "SYNC_EXCHANGE_WSDL", description: "mySecu business service WSDL (accepted for compatibility; the contract is built in)", parse: parseHttps },
    ihubUrl: { env: "IHUB_URL", description: "iHub template update service, e.g. https://ihub.cns.secu.lu/ws/rest/ihub/v1 (optional)", parse: parseHttpUrl },
    ihubTrustAnchorsFile: {
      env: "IHUB_TRUST_ANCHORS_FILE",
      description: "PEM CA certificate(s) that issue iHub's package-signing certificate (Passerelle addition; required with IHUB_URL)",
      parse: p.parseString,
    },
    luTlsCaFile: {
      env: "LU_TLS_CA_FILE",
      description: "PEM trust anchors of the KMS, mySecu and iHub TLS certificates (Passerelle addition; default: system roots)",
      parse: p.parseString,
    },
    saasKeystore: {
      env: "SAAS_KEYSTORE",
      description: "PKCS#12 keystore of the gateway's own HTTPS certificate (eConnector name; alternative to TLS_CERT_FILE/TLS_KEY_FILE)",
      parse: p.parseString,
    },
    saasKeystorePassword: { env: "SAAS_KEYSTORE_PASSWORD", description: "Password of SAAS_KEYSTORE", parse: p.parseString, secret: true },
    saasKeystoreKeyPassword: {
      env: "SAAS_KEYSTORE_KEY_PASSWORD",
      description: "Password of the private key in SAAS_KEYSTORE: accepted when equal to SAAS_KEYSTORE_PASSWORD (one password, as keytool writes PKCS#12)",
      parse: p.parseString,
      secret: true,
    },
    signingCaAlias: { env: "SIGNING_CA_ALIAS", description: "Alias of the signing CA in the KMS truststore", parse: p.parseString, default: "signing_ca" },
    timestampCaAlias: { env: "TIMESTAMP_CA_ALIAS", description: "Alias of the timestamp CA in the KMS truststore", parse: p.parseString, default: "timestamp_ca" },
    rootSigningCaAlias: {
      env: "ROOT_SIGNING_CA_ALIAS",
      description: "Alias of the root signing CA in the KMS truststore",
      parse: p.parseString,
      default: "root_signing_ca",
    },
    luTemplatesDir: {
      env: "LU_TEMPLATES_DIR",
      description: "Where applied iHub template packages are kept (Passerelle addition; default <DATA_DIR>/lu/templates)",
      parse: p.parseString,
    },
    luTemplateSyncMinutes: {
      env: "LU_TEMPLATE_SYNC_MINUTES",
      description: "Period of the iHub template sync job in minutes (Passerelle addition; 0 disables; needs IHUB_URL)",
      parse: p.parseInteger(0, 10_080),
      default: 0,
    },
  } as const satisfies Record<string, SettingSpec<unknown>>;
}
