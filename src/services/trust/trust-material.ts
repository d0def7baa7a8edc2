/**
 * What the trust endpoints validate certificates against: the signers' own
 * certificates before each signature, the signer of a document being
 * verified, and the TSA certificate of every time-stamp token.
 *
 * - Sandbox: the sandbox root is the anchor; the country CAs are
 *   intermediates (so every path is checked up to the root, CA constraints
 *   included). No CRLs: the sandbox PKI publishes none.
 * - Otherwise: a {@link TrustStore} over TRUST_ANCHORS_FILE (and
 *   TRUST_INTERMEDIATES_FILE), which reloads when the files change — with a
 *   log line and `passerelle_trust_reloads_total{store="trust"}` — and the
 *   CRL files of TRUST_CRL_FILES, re-read when they change.
 * - Nothing configured: every chain is refused with a reason that says so.
 */
import { X509Certificate } from "node:crypto";
import type { Logger } from "pino";
import { ConfigError } from "../../config/index.js";
import type { GatewayMetrics } from "../../observability/metrics.js";
import type { SandboxEndpoints } from "../../sandbox/index.js";
import {
  CertificateError,
  FileCrlSource,
  TrustStore,
  validateChain,
  type CertificatePurpose,
  type ChainValidationFailure,
  type ChainValidationResult,
  type CrlSource,
  type TrustStoreSource,
  type TrustStoreWatchOptions,
} from "../../trust/certificates/index.js";
import { SANDBOX_COUNTRIES } from "../../trust/pki/index.js";
import type { TrustSettings } from "./config.js";

export interface ChainCheck {
  purpose: CertificatePurpose;
  /** Certificates that came with the leaf (from the document, the token or the card). */
  intermediates?: readonly X509Certificate[];
  /** Validation time; default now. */
  at?: Date;
}

export interface TrustMaterial {
  /** `sandbox`, `configured` or `none`: shown by GET /v1/trust/certificates. */
  readonly source: "sandbox" | "configured" | "none";
  anchors(): readonly X509Certificate[];
  intermediates(): readonly X509Certificate[];
  /** Validates `leaf` for `purpose`; never throws for an invalid chain (the failure is in the result). */
  validate(leaf: X509Certificate, check: ChainCheck): Promise<ChainValidationResult>;
  close(): Promise<void>;
}

/** The name of the trust store in logs and in the reload metric's `store` label. */
export const TRUST_STORE_NAME = "trust";

export function sandboxTrustMaterial(sandbox: SandboxEndpoints): TrustMaterial {
  const anchors = [new X509Certificate(sandbox.pki.rootCertPem)];
  const intermediates = SANDBOX_COUNTRIES.map((country) => new X509Certificate(sandbox.pki.caCertPem(country)));
  return {
    source: "sandbox",
    anchors: () => anchors,
    intermediates: () => intermediates,
    validate: (leaf, check) =>
      validateChain(leaf, {
        anchors,
        intermediates: [...intermediates, ...(check.intermediates ?? [])],
        purpose: check.purpose,
        ...(check.at === undefined ? {} : { at: check.at }),
      }),
    close: async () => undefined,
  };
}

export interface ConfiguredTrustOptions {
  logger: Logger;
  metrics: GatewayMetrics;
  /** How to follow the files (TrustStore's options); default file events and a 5 s stat check. */
  watch?: false | TrustStoreWatchOptions;
}

/**
 * The configured anchors, or `none` when TRUST_ANCHORS_FILE is not set.
 * Throws ConfigError when a file cannot be read at start (no previous
 * content to fall back on then).
 */
export async function configuredTrustMaterial(settings: TrustSettings, options: ConfiguredTrustOptions): Promise<TrustMaterial> {
  if (settings.trustAnchorsFile === undefined) return noTrustMaterial();
  const sources: TrustStoreSource[] = [
    {
      path: settings.trustAnchorsFile,
      role: "anchors",
      ...(settings.trustAnchorsPassword === undefined ? {} : { password: settings.trustAnchorsPassword }),
    },
  ];
  if (settings.trustIntermediatesFile !== undefined) sources.push({ path: settings.trustIntermediatesFile, role: "intermediates" });
  let store: TrustStore;
  try {
    store = await TrustStore.open({
      name: TRUST_STORE_NAME,
      sources,
      logger: options.logger,
      metrics: options.metrics,
      ...(options.watch === undefined ? {} : { watch: options.watch }),
    });
  } catch (error) {
    if (error instanceof TypeError) throw error;
    const detail = error instanceof Error ? error.message : String(error);
    throw new ConfigError([
      {
        name: settings.trustIntermediatesFile === undefined ? "TRUST_ANCHORS_FILE" : "TRUST_ANCHORS_FILE / TRUST_INTERMEDIATES_FILE",
        received: JSON.stringify(settings.trustAnchorsFile),
        expected: `readable trust anchors (${detail})`,
      },
    ]);
  }
  const crls: CrlSource[] = (settings.trustCrlFiles ?? []).map((file) => new FileCrlSource(file));
  return {
    source: "configured",
    anchors: () => store.anchors,
    intermediates: () => store.intermediates,
    validate: (leaf, check) =>
      store.validate(leaf, {
        purpose: check.purpose,
        ...(check.intermediates === undefined ? {} : { intermediates: check.intermediates }),
        ...(check.at === undefined ? {} : { at: check.at }),
        ...(crls.length === 0 ? {} : { crls }),
      }),
    close: () => store.close(),
  };
}

function noTrustMaterial(): TrustMaterial {
  return {
    source: "none",
    anchors: () => [],
    intermediates: () => [],
    validate: async (leaf): Promise<ChainValidationFailure> => {
      const detail = "No trust anchors are configured (TRUST_ANCHORS_FILE): no certificate can be trusted";
      return { valid: false, reason: "untrusted_root", detail, error: new CertificateError({ reason: "untrusted_root", detail: `${detail} (${leaf.subject.replaceAll("\n", ", ")})` }) };
    },
    close: async () => undefined,
  };
}
