/**
 * Where the Luxembourg services are and what to trust, from the eConnector
 * settings (real deployments) or from the running sandbox (which writes the
 * same kinds of files — a PKCS#12 generic keystore and a KMS truststore with
 * aliases — so that the sandbox exercises the production code paths).
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { settingFileReader } from "../../config/setting-files.js";
import { ConfigError, type ConfigIssue, type GatewayConfig } from "../../config/index.js";
import type { SandboxEndpoints } from "../../sandbox/index.js";
import { LU_KMS_PATHS, LU_KMS_SIMULATOR_ID } from "../../sandbox/simulator-ids.js";
import type { KmsEndpoints } from "./kms/index.js";

export interface KmsMaterial {
  endpoints: KmsEndpoints;
  genericKeystore: { pkcs12: Buffer; password: string };
  truststore: { path: string; password: string; aliases: { signingCa: string; timestampCa: string; rootSigningCa: string } };
  /** TLS anchors of the KMS; Node's public roots when absent. */
  serverTrustPem?: readonly string[];
}

export interface MySecuMaterial {
  stsUrl: string;
  /** The vendor's generic keystore: it signs the STS requests (WS-Security). */
  genericKeystore: { pkcs12: Buffer; password: string };
  syncUrl: string;
  /** TLS anchors of mySecu; Node's public roots when absent. */
  serverTrustPem?: readonly string[];
  /** Anchors of the STS's assertion-signing certificate; the assertion is passed on unverified when absent. */
  tokenAnchorsPem?: readonly string[];
  /** CA certificates that may complete the STS certificate's chain. */
  tokenIntermediatesPem?: readonly string[];
}

export interface IhubMaterial {
  baseUrl: string;
  serverTrustPem?: readonly string[];
  /** Who may sign template packages. */
  packageAnchorsPem: readonly string[];
  /** CA certificates that may complete the package signer's chain. */
  packageIntermediatesPem?: readonly string[];
}

export interface LuMaterial {
  kms: KmsMaterial | undefined;
  /** Present with `kms`: mySecu authenticates the vendor with the same generic keystore. */
  mysecu: MySecuMaterial | undefined;
  ihub: IhubMaterial | undefined;
  templatesDir: string;
  syncMinutes: number;
  /** The settings a missing part needs, to say so in a 503. */
  missing: { kms: string[]; mysecu: string[]; ihub: string[] };
}

/** The Luxembourg settings as parsed by the gateway's configuration (see ./settings.ts). */
type LuConfig = Pick<
  GatewayConfig,
  | "dataDir"
  | "kmsSignUrl"
  | "kmsTimestampUrl"
  | "kmsGetCertificateUrl"
  | "truststoreKmsFilename"
  | "truststoreKmsPassword"
  | "genericKeystoreFile"
  | "genericKeystorePwd"
  | "ccssUrl"
  | "ccssSyncUrl"
  | "ihubUrl"
  | "ihubTrustAnchorsFile"
  | "signingCaAlias"
  | "timestampCaAlias"
  | "rootSigningCaAlias"
  | "luTemplatesDir"
  | "luTlsCaFile"
  | "luTemplateSyncMinutes"
>;

/**
 * From the settings. A part is configured when its URL is set; a part that is
 * half configured is a start-up error listing every missing setting.
 */
export function luMaterialFromSettings(config: LuConfig, readFile: (file: string) => Buffer = (file) => readFileSync(file)): LuMaterial {
  const issues: ConfigIssue[] = [];
  const read = settingFileReader(issues, readFile);
  const need = (name: string, value: unknown, why: string): void => {
    if (value === undefined) issues.push({ name, received: "nothing", expected: why });
  };

  const tlsCa = read("LU_TLS_CA_FILE", config.luTlsCaFile);
  const serverTrustPem = tlsCa === undefined ? undefined : splitPem(tlsCa.toString("utf8"));
  if (serverTrustPem !== undefined && serverTrustPem.length === 0) {
    issues.push({ name: "LU_TLS_CA_FILE", received: JSON.stringify(config.luTlsCaFile), expected: "PEM certificates" });
  }
  const trust = serverTrustPem === undefined || serverTrustPem.length === 0 ? {} : { serverTrustPem };

  const kmsUrls = [config.kmsSignUrl, config.kmsGetCertificateUrl, config.kmsTimestampUrl];
  const wantsKms = kmsUrls.some((url) => url !== undefined);
  const wantsMySecu = config.ccssUrl !== undefined || config.ccssSyncUrl !== undefined;
  // One generic keystore serves both: the KMS's mutual TLS and the mySecu STS requests' signature.
  const keystore = wantsKms || wantsMySecu ? read("GENERIC_KEYSTORE_FILE", config.genericKeystoreFile) : undefined;
  const genericKeystore = keystore === undefined ? undefined : { pkcs12: keystore, password: config.genericKeystorePwd ?? "" };

  let kms: KmsMaterial | undefined;
  if (wantsKms) {
    need("KMS_SIGN_URL", config.kmsSignUrl, "the sign-data URL: the KMS settings go together");
    need("KMS_GET_CERTIFICATE_URL", config.kmsGetCertificateUrl, "the get-certificate URL: the KMS settings go together");
    need("KMS_TIMESTAMP_URL", config.kmsTimestampUrl, "the sign-timestamp URL: the KMS settings go together");
    need("GENERIC_KEYSTORE_FILE", config.genericKeystoreFile, "the generic keystore (PKCS#12): the KMS authenticates the vendor with it");
    need("TRUSTSTORE_KMS_FILENAME", config.truststoreKmsFilename, "the KMS truststore (PKCS#12) with the signing and timestamp CAs");
    // Read now so that a missing truststore is a configuration error (exit code 2), like the keystore.
    // The eConnector names a file bundled in its image; here it is a path (relative to the working directory).
    const truststoreReadable = read("TRUSTSTORE_KMS_FILENAME", config.truststoreKmsFilename) !== undefined;
    if (genericKeystore !== undefined && truststoreReadable && config.kmsSignUrl && config.kmsGetCertificateUrl && config.kmsTimestampUrl && config.truststoreKmsFilename) {
      kms = {
        endpoints: { signData: config.kmsSignUrl, getCertificate: config.kmsGetCertificateUrl, signTimestamp: config.kmsTimestampUrl },
        genericKeystore,
        truststore: {
          path: config.truststoreKmsFilename,
          password: config.truststoreKmsPassword ?? "",
          aliases: { signingCa: config.signingCaAlias, timestampCa: config.timestampCaAlias, rootSigningCa: config.rootSigningCaAlias },
        },
        ...trust,
      };
    }
  }

  let mysecu: MySecuMaterial | undefined;
  if (wantsMySecu) {
    need("CCSS_URL", config.ccssUrl, "the mySecu STS URL: the mySecu settings go together");
    need("CCSS_SYNC_URL", config.ccssSyncUrl, "the mySecu syncexchange URL: the mySecu settings go together");
    need("GENERIC_KEYSTORE_FILE", config.genericKeystoreFile, "the generic keystore: it signs the mySecu STS requests");
    // The eConnector's CCSS_URL ends in ?wsdl (the WSDL's address): the service is the same URL without it.
    if (config.ccssUrl !== undefined && config.ccssSyncUrl !== undefined && genericKeystore !== undefined) {
      mysecu = { stsUrl: withoutWsdlQuery(config.ccssUrl), syncUrl: config.ccssSyncUrl, genericKeystore, ...trust };
    }
  }

  let ihub: IhubMaterial | undefined;
  if (config.ihubUrl !== undefined) {
    need("IHUB_TRUST_ANCHORS_FILE", config.ihubTrustAnchorsFile, "the CA certificate(s) of iHub's package signer: packages are verified before use");
    const anchors = read("IHUB_TRUST_ANCHORS_FILE", config.ihubTrustAnchorsFile);
    if (anchors !== undefined) {
      const pems = splitPem(anchors.toString("utf8"));
      if (pems.length === 0) issues.push({ name: "IHUB_TRUST_ANCHORS_FILE", received: JSON.stringify(config.ihubTrustAnchorsFile), expected: "PEM certificates" });
      ihub = { baseUrl: config.ihubUrl, packageAnchorsPem: pems, ...trust };
    }
  }
  if (config.luTemplateSyncMinutes > 0 && config.ihubUrl === undefined) {
    issues.push({ name: "LU_TEMPLATE_SYNC_MINUTES", received: String(config.luTemplateSyncMinutes), expected: "0 without IHUB_URL (there is nothing to sync from)" });
  }
  if (issues.length > 0) throw new ConfigError(dedupe(issues));
  return {
    kms,
    mysecu,
    ihub,
    templatesDir: luTemplatesDirOf(config),
    syncMinutes: config.luTemplateSyncMinutes,
    missing: {
      kms: kms === undefined ? ["KMS_SIGN_URL", "KMS_GET_CERTIFICATE_URL", "KMS_TIMESTAMP_URL", "GENERIC_KEYSTORE_FILE", "TRUSTSTORE_KMS_FILENAME"] : [],
      mysecu: mysecu === undefined ? ["CCSS_URL", "CCSS_SYNC_URL", "GENERIC_KEYSTORE_FILE"] : [],
      ihub: ihub === undefined ? ["IHUB_URL", "IHUB_TRUST_ANCHORS_FILE"] : [],
    },
  };
}

/**
 * The sandbox: the eConnector files written under DATA_DIR/lu from the
 * sandbox PKI (a fresh keystore password per run), and the simulators' URLs.
 * Explicit settings still win, so a sandbox can point at a real service.
 */
export async function luMaterialFromSandbox(config: LuConfig, sandbox: SandboxEndpoints): Promise<LuMaterial> {
  const running = new Set(sandbox.simulators.map((s) => s.id));
  const root = [sandbox.pki.rootCertPem];
  const dir = join(config.dataDir, "lu");
  const password = randomBytes(18).toString("base64url");
  // Loaded in the sandbox profile only (the key store writer, not the simulator: that runs in the sandbox process).
  const { SANDBOX_KMS_TRUSTSTORE_ALIASES, writeSandboxEconnectorKeystores } = await import("../../sandbox/lu-kms/econnector-keystores.js");
  const files = await writeSandboxEconnectorKeystores(sandbox.pki, dir, { password });
  const kmsBase = running.has(LU_KMS_SIMULATOR_ID) ? sandbox.url(LU_KMS_SIMULATOR_ID) : undefined;
  const mysecuBase = running.has("lu-mysecu") ? sandbox.url("lu-mysecu") : undefined;
  const ihubBase = running.has("lu-ihub") ? sandbox.url("lu-ihub") : undefined;
  const sandboxConfig: LuConfig = {
    ...config,
    ...(kmsBase === undefined
      ? {}
      : {
          kmsSignUrl: config.kmsSignUrl ?? `${kmsBase}${LU_KMS_PATHS.signData}`,
          kmsGetCertificateUrl: config.kmsGetCertificateUrl ?? `${kmsBase}${LU_KMS_PATHS.getCertificate}`,
          kmsTimestampUrl: config.kmsTimestampUrl ?? `${kmsBase}${LU_KMS_PATHS.signTimestamp}`,
          genericKeystoreFile: config.genericKeystoreFile ?? files.genericKeystoreFile,
          genericKeystorePwd: config.genericKeystoreFile === undefined ? password : config.genericKeystorePwd,
          truststoreKmsFilename: config.truststoreKmsFilename ?? files.kmsTruststoreFile,
          truststoreKmsPassword: config.truststoreKmsFilename === undefined ? password : config.truststoreKmsPassword,
          ...(config.truststoreKmsFilename === undefined
            ? {
                signingCaAlias: SANDBOX_KMS_TRUSTSTORE_ALIASES.signingCa,
                timestampCaAlias: SANDBOX_KMS_TRUSTSTORE_ALIASES.timestampCa,
                rootSigningCaAlias: SANDBOX_KMS_TRUSTSTORE_ALIASES.rootSigningCa,
              }
            : {}),
        }),
    ...(mysecuBase === undefined
      ? {}
      : { ccssUrl: config.ccssUrl ?? `${mysecuBase}/ws/soap/trust?wsdl`, ccssSyncUrl: config.ccssSyncUrl ?? `${mysecuBase}/ws/soap/espinst/syncexchange` }),
    ...(ihubBase === undefined ? {} : { ihubUrl: config.ihubUrl ?? `${ihubBase}/ws/rest/ihub/v1` }),
  };
  // iHub's package signer is trusted through the sandbox PKI below, not through IHUB_TRUST_ANCHORS_FILE.
  const material = luMaterialFromSettings({ ...sandboxConfig, ihubUrl: undefined, ihubTrustAnchorsFile: undefined, luTemplateSyncMinutes: 0 }, (file) =>
    readFileSync(file),
  );
  const sandboxAnchors = [sandbox.pki.rootCertPem];
  return {
    ...material,
    syncMinutes: sandboxConfig.ihubUrl === undefined ? 0 : config.luTemplateSyncMinutes,
    missing: { ...material.missing, ihub: sandboxConfig.ihubUrl === undefined ? material.missing.ihub : [] },
    kms: material.kms && { ...material.kms, serverTrustPem: root },
    mysecu: material.mysecu && { ...material.mysecu, serverTrustPem: root, tokenAnchorsPem: sandboxAnchors, tokenIntermediatesPem: [sandbox.pki.caCertPem("LU")] },
    ihub:
      sandboxConfig.ihubUrl === undefined
        ? undefined
        : { baseUrl: sandboxConfig.ihubUrl, serverTrustPem: root, packageAnchorsPem: sandboxAnchors, packageIntermediatesPem: [sandbox.pki.caCertPem("LU")] },
  };
}

/** Where applied template packages live: LU_TEMPLATES_DIR, or DATA_DIR/lu/templates. */
export function luTemplatesDirOf(config: Pick<GatewayConfig, "dataDir" | "luTemplatesDir">): string {
  return config.luTemplatesDir ?? join(config.dataDir, "lu", "templates");
}

function withoutWsdlQuery(url: string): string {
  const parsed = new URL(url);
  if (parsed.search.toLowerCase() === "?wsdl") parsed.search = "";
  return parsed.toString();
}

export function splitPem(text: string): string[] {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.filter((pem) => {
    try {
      new X509Certificate(pem);
      return true;
    } catch {
      return false;
    }
  });
}

function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = issue.name;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
