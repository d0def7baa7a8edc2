/**
 * The sandbox's counterparts of the key material a Luxembourg eConnector is
 * configured with (CNS eConnector SaaS installation guide, settings
 * `GENERIC_KEYSTORE_FILE` / `GENERIC_KEYSTORE_PWD`, `TRUSTSTORE_KMS_FILENAME`,
 * `SIGNING_CA_ALIAS`, `TIMESTAMP_CA_ALIAS`, `ROOT_SIGNING_CA_ALIAS`):
 *
 * - the **generic keystore**: the vendor's client identity, issued by the
 *   sandbox LU CA (in production the CCSS issues it from the vendor's CSR).
 *   It authenticates the vendor to the KMS (mutual TLS) and signs the
 *   mySecu WS-Trust requests;
 * - the **KMS truststore**: the CAs that issue the practitioners' signing
 *   certificates and the time-stamping certificates, under the aliases of the
 *   eConnector's integration environment (`test_signing_ca`,
 *   `test_timestamp_ca`, `test_root_signing_ca`).
 *
 * In the sandbox, the LU CA issues both the practitioners' certificates and
 * the TSA's (src/sandbox/tsa/tsa-identity.ts), under the sandbox root.
 *
 * @example
 * ```ts
 * const files = await writeSandboxEconnectorKeystores(pki, "/etc/passerelle/lu", { password: "changeit" });
 * // GENERIC_KEYSTORE_FILE=files.genericKeystoreFile  TRUSTSTORE_KMS_FILENAME=files.kmsTruststoreFile
 * ```
 */
import { X509Certificate, createPrivateKey } from "node:crypto";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { PemIdentity, SandboxPki } from "../../trust/pki/index.js";
import { encodePkcs12KeyStore, encodePkcs12TrustStore } from "./pkcs12-writer.js";

/** Name of the vendor's identity in the sandbox PKI. */
export const SANDBOX_GENERIC_KEYSTORE_IDENTITY = "lu-econnector-generic-keystore";

/**
 * The organisational unit that marks a sandbox certificate as an eConnector
 * generic keystore; the KMS simulator accepts only LU CA client
 * certificates carrying it.
 */
export const GENERIC_KEYSTORE_ORGANIZATIONAL_UNIT = "eConnector generic keystore";

/** friendlyName of the key entry in the generic keystore. */
export const GENERIC_KEYSTORE_ALIAS = "generic";

/** The truststore aliases of the eConnector's integration environment (its settings' documented values). */
export const SANDBOX_KMS_TRUSTSTORE_ALIASES = {
  signingCa: "test_signing_ca",
  timestampCa: "test_timestamp_ca",
  rootSigningCa: "test_root_signing_ca",
} as const;

/** File names, after the eConnector's `keystore-integration.p12` / `truststore-integration.p12`. */
export const SANDBOX_GENERIC_KEYSTORE_FILE = "keystore-sandbox.p12";
export const SANDBOX_KMS_TRUSTSTORE_FILE = "truststore-sandbox.p12";

/**
 * PBKDF2 and MAC iterations of the sandbox files: OpenSSL 3's `pkcs12
 * -export` default. They are rewritten with a fresh random password at each
 * start and read back three times (KMS client, KMS trust, mySecu signer), so
 * the writer's stronger default (10 000) would cost the sandbox's start-up
 * a tenth of a second for files that protect nothing lasting.
 */
const SANDBOX_PKCS12_ITERATIONS = 2048;

export interface SandboxEconnectorKeystoreOptions {
  /** Password of both files (`GENERIC_KEYSTORE_PWD`, and the truststore's). */
  password: string;
  /** The vendor's name in the certificate's CN (default "Passerelle sandbox vendor"). */
  vendorName?: string;
}

export interface SandboxEconnectorKeystores {
  /** PKCS#12: the vendor's key, its certificate, the LU CA and the root. */
  genericKeystore: Buffer;
  /** PKCS#12: the three CA certificates under {@link SANDBOX_KMS_TRUSTSTORE_ALIASES}. */
  kmsTruststore: Buffer;
  aliases: typeof SANDBOX_KMS_TRUSTSTORE_ALIASES;
  /** The same identity as PEM (for clients configured with PEM files). */
  identity: PemIdentity;
}

export interface SandboxEconnectorKeystoreFiles {
  genericKeystoreFile: string;
  kmsTruststoreFile: string;
  aliases: typeof SANDBOX_KMS_TRUSTSTORE_ALIASES;
}

/**
 * The vendor's sandbox client identity (issued once, then cached with the
 * PKI): TLS client authentication and digital signatures.
 */
export function sandboxGenericKeystoreIdentity(pki: SandboxPki, vendorName = "Passerelle sandbox vendor"): Promise<PemIdentity> {
  if (typeof vendorName !== "string" || vendorName.trim() === "") throw new TypeError("vendorName must be a non-empty string");
  return pki.clientIdentity(SANDBOX_GENERIC_KEYSTORE_IDENTITY, {
    country: "LU",
    subject: { C: "LU", O: "Passerelle Sandbox", OU: GENERIC_KEYSTORE_ORGANIZATIONAL_UNIT, CN: vendorName },
    extendedKeyUsages: ["clientAuth"],
    keyUsages: ["digitalSignature"],
  });
}

/** Both files, in memory. */
export async function sandboxEconnectorKeystores(
  pki: SandboxPki,
  options: SandboxEconnectorKeystoreOptions,
): Promise<SandboxEconnectorKeystores> {
  if (options === null || typeof options !== "object" || typeof options.password !== "string") {
    throw new TypeError("sandboxEconnectorKeystores needs { password }");
  }
  const identity = await sandboxGenericKeystoreIdentity(pki, options.vendorName);
  const root = new X509Certificate(pki.rootCertPem);
  const luCa = new X509Certificate(pki.caCertPem("LU"));
  const [genericKeystore, kmsTruststore] = await Promise.all([
    encodePkcs12KeyStore({
      privateKey: createPrivateKey(identity.keyPem),
      certificate: new X509Certificate(identity.certPem),
      chain: [...identity.chainPem.map((pem) => new X509Certificate(pem)), root],
      alias: GENERIC_KEYSTORE_ALIAS,
      password: options.password,
      iterations: SANDBOX_PKCS12_ITERATIONS,
    }),
    encodePkcs12TrustStore({
      entries: [
        { alias: SANDBOX_KMS_TRUSTSTORE_ALIASES.signingCa, certificate: luCa },
        { alias: SANDBOX_KMS_TRUSTSTORE_ALIASES.timestampCa, certificate: luCa },
        { alias: SANDBOX_KMS_TRUSTSTORE_ALIASES.rootSigningCa, certificate: root },
      ],
      password: options.password,
      iterations: SANDBOX_PKCS12_ITERATIONS,
    }),
  ]);
  return { genericKeystore, kmsTruststore, aliases: SANDBOX_KMS_TRUSTSTORE_ALIASES, identity };
}

/**
 * Writes {@link SANDBOX_GENERIC_KEYSTORE_FILE} and {@link SANDBOX_KMS_TRUSTSTORE_FILE}
 * into `directory` (created if needed; files mode 0600, replaced atomically).
 */
export async function writeSandboxEconnectorKeystores(
  pki: SandboxPki,
  directory: string,
  options: SandboxEconnectorKeystoreOptions,
): Promise<SandboxEconnectorKeystoreFiles> {
  if (typeof directory !== "string" || directory === "") throw new TypeError("directory must be a non-empty path");
  const stores = await sandboxEconnectorKeystores(pki, options);
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const genericKeystoreFile = join(directory, SANDBOX_GENERIC_KEYSTORE_FILE);
  const kmsTruststoreFile = join(directory, SANDBOX_KMS_TRUSTSTORE_FILE);
  await Promise.all([writeAtomically(genericKeystoreFile, stores.genericKeystore), writeAtomically(kmsTruststoreFile, stores.kmsTruststore)]);
  return { genericKeystoreFile, kmsTruststoreFile, aliases: SANDBOX_KMS_TRUSTSTORE_ALIASES };
}

async function writeAtomically(path: string, bytes: Buffer): Promise<void> {
  // A reader (a trust store watching the file) never sees half a file.
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, bytes, { mode: 0o600 });
  await rename(temporary, path);
}
