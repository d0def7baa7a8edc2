import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../config/index.js";
import { luMaterialFromSettings } from "./config.js";

/** The eConnector's own variables, as a vendor's env file has them (reference 002, "Variables"). */
const ECONNECTOR_ENV = {
  PROFILE: "production",
  ACCEPT_LICENSE: "true",
  VAULT_KEY: "a".repeat(64),
  API_KEYS: `pms:${"b".repeat(64)}`,
  KMS_SIGN_URL: "https://hoki-tsu-kms.incert.lu/api/v3/sign-data",
  KMS_TIMESTAMP_URL: "https://hoki-tsu-kms.incert.lu/api/v3/sign-timestamp",
  KMS_GET_CERTIFICATE_URL: "https://hoki-tsu-kms.incert.lu/api/v3/get-certificate",
  TRUSTSTORE_KMS_FILENAME: "/etc/econnector/truststore-prod.p12",
  GENERIC_KEYSTORE_FILE: "/etc/econnector/keystore-prod.p12",
  GENERIC_KEYSTORE_PWD: "s3cret",
  CCSS_URL: "https://ws.mysecu.lu:443/ws/soap/trust?wsdl",
  CCSS_SYNC_URL: "https://ws.mysecu.lu:443/ws/soap/espinst/syncexchange",
  SYNC_EXCHANGE_WSDL: "https://ws.mysecu.lu:443/ws/soap/espinst/syncexchange?wsdl",
  SIGNING_CA_ALIAS: "signing_ca",
  TIMESTAMP_CA_ALIAS: "timestamp_ca",
  ROOT_SIGNING_CA_ALIAS: "root_signing_ca",
  SERVER_PORT: "8443",
  DEBUG_LOG: "false",
};

const files: Record<string, Buffer> = {
  "/etc/econnector/keystore-prod.p12": Buffer.from("pkcs12 bytes"),
  "/etc/econnector/truststore-prod.p12": Buffer.from("truststore bytes"),
};
const readFile = (file: string): Buffer => {
  const content = files[file];
  if (content === undefined) throw Object.assign(new Error("missing"), { code: "ENOENT" });
  return content;
};

describe("Luxembourg settings (eConnector-compatible)", () => {
  it("accepts a CNS eConnector env file unchanged and maps it to the KMS, mySecu and truststore aliases", () => {
    const config = loadConfig({ env: ECONNECTOR_ENV, readFile: () => "" });
    expect(config.port).toBe(8443);
    const material = luMaterialFromSettings(config, readFile);
    expect(material.kms?.endpoints).toEqual({
      signData: ECONNECTOR_ENV.KMS_SIGN_URL,
      getCertificate: ECONNECTOR_ENV.KMS_GET_CERTIFICATE_URL,
      signTimestamp: ECONNECTOR_ENV.KMS_TIMESTAMP_URL,
    });
    expect(material.kms?.genericKeystore.password).toBe("s3cret");
    expect(material.kms?.truststore).toMatchObject({ path: "/etc/econnector/truststore-prod.p12", aliases: { signingCa: "signing_ca", timestampCa: "timestamp_ca", rootSigningCa: "root_signing_ca" } });
    // CCSS_URL is the WSDL's address in the eConnector: the service is the same URL without ?wsdl.
    expect(material.mysecu).toMatchObject({ stsUrl: "https://ws.mysecu.lu/ws/soap/trust", syncUrl: ECONNECTOR_ENV.CCSS_SYNC_URL, genericKeystore: { password: "s3cret" } });
    expect(material.ihub).toBeUndefined();
    expect(material.missing).toEqual({ kms: [], mysecu: [], ihub: ["IHUB_URL", "IHUB_TRUST_ANCHORS_FILE"] });
  });

  it("reports every missing or unreadable setting of a half-configured part at once", () => {
    const config = loadConfig({
      env: { KMS_SIGN_URL: ECONNECTOR_ENV.KMS_SIGN_URL, GENERIC_KEYSTORE_FILE: "/nowhere.p12", IHUB_URL: "https://ihub.cns.secu.lu/ws/rest/ihub/v1" },
      readFile: () => "",
    });
    let error: unknown;
    try {
      luMaterialFromSettings(config, readFile);
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const names = (error as ConfigError).issues.map((issue) => issue.name);
    expect(names).toEqual(
      expect.arrayContaining(["KMS_GET_CERTIFICATE_URL", "KMS_TIMESTAMP_URL", "TRUSTSTORE_KMS_FILENAME", "GENERIC_KEYSTORE_FILE", "IHUB_TRUST_ANCHORS_FILE"]),
    );
    expect(new Set(names).size).toBe(names.length);
  });

  it("configures mySecu deposits without the KMS (already signed documents need no remote signature)", () => {
    const config = loadConfig({
      env: { CCSS_URL: ECONNECTOR_ENV.CCSS_URL, CCSS_SYNC_URL: ECONNECTOR_ENV.CCSS_SYNC_URL, GENERIC_KEYSTORE_FILE: ECONNECTOR_ENV.GENERIC_KEYSTORE_FILE },
      readFile: () => "",
    });
    const material = luMaterialFromSettings(config, readFile);
    expect(material.kms).toBeUndefined();
    expect(material.mysecu?.syncUrl).toBe(ECONNECTOR_ENV.CCSS_SYNC_URL);
    expect(material.missing.mysecu).toEqual([]);
  });

  it("reports an unreadable KMS truststore at start, like the keystore", () => {
    const config = loadConfig({ env: { ...ECONNECTOR_ENV, TRUSTSTORE_KMS_FILENAME: "/nowhere/truststore.p12" }, readFile: () => "" });
    expect(() => luMaterialFromSettings(config, readFile)).toThrow(/TRUSTSTORE_KMS_FILENAME/);
  });

  it("leaves Luxembourg unconfigured without its settings, saying what each part would need", () => {
    const material = luMaterialFromSettings(loadConfig({ env: {}, readFile: () => "" }), readFile);
    expect(material.kms).toBeUndefined();
    expect(material.missing.kms).toContain("KMS_SIGN_URL");
    expect(material.missing.mysecu).toContain("CCSS_URL");
  });

  it("refuses a periodic template sync without iHub", () => {
    const config = loadConfig({ env: { LU_TEMPLATE_SYNC_MINUTES: "60" }, readFile: () => "" });
    expect(() => luMaterialFromSettings(config, readFile)).toThrow(ConfigError);
  });
});
