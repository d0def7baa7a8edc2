/**
 * The signers of a real deployment, from the settings:
 *
 * - `keystore`: a software key from SIGNER_KEYSTORE_FILE (PKCS#12 or PEM).
 *   The file is followed: when it changes (size, modification time or
 *   inode — a renewed certificate copied or renamed into place), the next
 *   signature reads it again. A file that no longer loads (half-written,
 *   wrong password) keeps the previous key in use; both outcomes log one
 *   line and count in `passerelle_trust_reloads_total{store="signer-keystore"}`.
 * - `pkcs11`: a card or HSM through PKCS#11 (SIGNER_PKCS11_*), found by
 *   token label, the key by its certificate's CKA_ID. The library must exist
 *   at start; the token is opened at first use (the card may be inserted
 *   later), and the first signature logs in, once. Its issuers come from the
 *   trust material, since a card holds only its own certificate.
 */
import { constants } from "node:fs";
import { access, readFile, stat } from "node:fs/promises";
import type { Logger } from "pino";
import { ConfigError } from "../../config/index.js";
import { PasserelleError } from "../../errors/index.js";
import type { GatewayMetrics } from "../../observability/metrics.js";
import { DEFAULT_PKCS11_MODULE, Pkcs11Signer } from "../../trust/pkcs11/index.js";
import type { Signer } from "../../trust/signer.js";
import { SoftwareSigner } from "../../trust/signers/index.js";
import { isPkcs12Path, type TrustSettings } from "./config.js";
import { KEYSTORE_SIGNER_ID, PKCS11_SIGNER_ID } from "./settings.js";
import { lazySignerSource, type SignerSource } from "./signer-registry.js";
import type { TrustMaterial } from "./trust-material.js";

/** The `store` label of the keystore's reloads in `passerelle_trust_reloads_total`. */
export const KEYSTORE_RELOAD_STORE = "signer-keystore";
/** The CPS signature key's CKA_ID (src/trust/pki/card-certificates.ts CPS_SIGNATURE_KEY). */
const DEFAULT_PKCS11_KEY_ID = "02";
/** How often, at most, a signature checks whether the keystore file changed. */
const DEFAULT_KEYSTORE_CHECK_MS = 1_000;

export interface ConfiguredSignerOptions {
  logger: Logger;
  metrics: GatewayMetrics;
  trust: TrustMaterial;
  /** Minimum time between two checks of the keystore file (default 1 s; 0 checks at every signature). */
  keystoreCheckIntervalMs?: number;
}

/** The configured signers (possibly none). Throws ConfigError when one cannot be loaded at start. */
export async function configuredSignerSources(settings: TrustSettings, options: ConfiguredSignerOptions): Promise<SignerSource[]> {
  const sources: SignerSource[] = [];
  try {
    if (settings.signerKeystoreFile !== undefined) {
      sources.push(await KeystoreSignerSource.open(settings.signerKeystoreFile, settings, options));
    }
    if (settings.signerPkcs11TokenLabel !== undefined) sources.push(await openPkcs11Source(settings, options));
  } catch (error) {
    await Promise.allSettled(sources.map((source) => source.close()));
    throw error;
  }
  return sources;
}

async function loadKeystore(file: string, settings: TrustSettings): Promise<SoftwareSigner> {
  const data = await readFile(file);
  if (isPkcs12Path(file)) {
    return SoftwareSigner.fromPkcs12(data, settings.signerKeystorePassword ?? "", {
      id: KEYSTORE_SIGNER_ID,
      ...(settings.signerKeystoreAlias === undefined ? {} : { alias: settings.signerKeystoreAlias }),
    });
  }
  // One PEM file holds the key and the certificates: loadPemIdentity picks each kind of block.
  return SoftwareSigner.fromPem(
    { keyPem: data, certificatePem: data, ...(settings.signerKeystorePassword === undefined ? {} : { password: settings.signerKeystorePassword }) },
    { id: KEYSTORE_SIGNER_ID },
  );
}

async function fileStamp(file: string): Promise<string> {
  try {
    const info = await stat(file);
    return `${info.ino}:${info.size}:${info.mtimeMs}`;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? "error";
  }
}

function keystoreConfigError(file: string, error: unknown): ConfigError {
  const detail =
    error instanceof PasserelleError
      ? `${error.code}: ${error.detail}`
      : `a readable key store (${(error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : "error")})`;
  const name = error instanceof PasserelleError && error.code === "PASSERELLE_KEYSTORE_PASSWORD_INCORRECT" ? "SIGNER_KEYSTORE_PASSWORD" : "SIGNER_KEYSTORE_FILE";
  return new ConfigError([{ name, received: name === "SIGNER_KEYSTORE_PASSWORD" ? "<secret>" : JSON.stringify(file), expected: detail }]);
}

class KeystoreSignerSource implements SignerSource {
  readonly id = KEYSTORE_SIGNER_ID;
  readonly kind = "software" as const;
  readonly label: string;
  readonly #file: string;
  readonly #settings: TrustSettings;
  readonly #logger: Logger;
  readonly #metrics: GatewayMetrics;
  readonly #checkIntervalMs: number;
  #signer: SoftwareSigner;
  #stamp: string;
  #checkedAt = 0;
  #checking: Promise<void> | undefined;

  private constructor(file: string, signer: SoftwareSigner, stamp: string, settings: TrustSettings, options: ConfiguredSignerOptions) {
    this.#file = file;
    this.#signer = signer;
    this.#stamp = stamp;
    this.#settings = settings;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    this.#checkIntervalMs = options.keystoreCheckIntervalMs ?? DEFAULT_KEYSTORE_CHECK_MS;
    this.label = `Software key from ${file}`;
  }

  static async open(file: string, settings: TrustSettings, options: ConfiguredSignerOptions): Promise<KeystoreSignerSource> {
    const stamp = await fileStamp(file);
    let signer: SoftwareSigner;
    try {
      signer = await loadKeystore(file, settings);
    } catch (error) {
      throw keystoreConfigError(file, error);
    }
    const source = new KeystoreSignerSource(file, signer, stamp, settings, options);
    source.#checkedAt = Date.now();
    return source;
  }

  async acquire(): Promise<Signer> {
    if (Date.now() - this.#checkedAt >= this.#checkIntervalMs) {
      // Concurrent signatures share one check (and one reload).
      this.#checking ??= this.#reloadIfChanged().finally(() => {
        this.#checking = undefined;
      });
      await this.#checking;
    }
    return this.#signer;
  }

  async #reloadIfChanged(): Promise<void> {
    this.#checkedAt = Date.now();
    const stamp = await fileStamp(this.#file);
    if (stamp === this.#stamp) return;
    // Stamped before reading: a write landing while we read changes the stamp again, so the next check retries.
    this.#stamp = stamp;
    try {
      const signer = await loadKeystore(this.#file, this.#settings);
      const [certificate] = await signer.certificateChain();
      this.#signer = signer;
      this.#metrics.trustReloads.inc({ store: KEYSTORE_RELOAD_STORE, outcome: "success" });
      this.#logger.info(
        { store: KEYSTORE_RELOAD_STORE, file: this.#file, subject: certificate?.subject.replaceAll("\n", ", "), notAfter: certificate?.validToDate.toISOString() },
        "signer keystore reloaded",
      );
    } catch (error) {
      this.#metrics.trustReloads.inc({ store: KEYSTORE_RELOAD_STORE, outcome: "error" });
      this.#logger.error({ store: KEYSTORE_RELOAD_STORE, file: this.#file, err: error }, "signer keystore reload failed; keeping the previous key");
    }
  }

  async close(): Promise<void> {
    await this.#checking?.catch(() => undefined);
  }
}

async function openPkcs11Source(settings: TrustSettings, options: ConfiguredSignerOptions): Promise<SignerSource> {
  const tokenLabel = settings.signerPkcs11TokenLabel as string;
  const modulePath = settings.signerPkcs11Module ?? DEFAULT_PKCS11_MODULE;
  try {
    await access(modulePath, constants.R_OK);
  } catch (error) {
    throw new ConfigError([
      { name: "SIGNER_PKCS11_MODULE", received: JSON.stringify(modulePath), expected: `a readable PKCS#11 library (${(error as NodeJS.ErrnoException).code ?? "error"})` },
    ]);
  }
  // The card may be inserted after start (a practitioner's workstation): the token is looked up at
  // first use, and again after a failure; until then signatures fail with PASSERELLE_CARD_UNAVAILABLE (503).
  return lazySignerSource({ id: PKCS11_SIGNER_ID, kind: "pkcs11", label: `PKCS#11 token ${tokenLabel}` }, () =>
    Pkcs11Signer.open({
      tokenLabel,
      pin: settings.signerPkcs11Pin ?? "",
      certificateId: settings.signerPkcs11KeyId ?? DEFAULT_PKCS11_KEY_ID,
      modulePath,
      issuerCertificates: [...options.trust.intermediates(), ...options.trust.anchors()],
      id: PKCS11_SIGNER_ID,
    }),
  );
}
