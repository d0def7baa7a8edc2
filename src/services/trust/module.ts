/**
 * The generic trust endpoints as a gateway module: sign (PAdES, XML-DSig,
 * XAdES), verify, time-stamp, and list certificates.
 *
 * - Sandbox profile: a signer per sandbox practitioner (software keys from
 *   the sandbox PKI, plus CPS cards in SoftHSM when installed), the sandbox
 *   root and country CAs as trust material, and the `sandbox-tsa` simulator
 *   as TSA. The SIGNER_*, TRUST_* and TSA_URL settings are ignored there
 *   (SIGNER_CALLERS and TSA_TIMEOUT_MS apply).
 * - Other profiles: the signers, anchors, CRLs and TSA of the settings
 *   (./settings.ts). Problems with them fail start-up as configuration
 *   errors.
 */
import { readFile } from "node:fs/promises";
import { ConfigError } from "../../config/index.js";
import type { GatewayContext, ServiceModule, StartedModule } from "../../gateway/modules.js";
import type { TrustStoreWatchOptions } from "../../trust/certificates/index.js";
import { UpstreamClient } from "../../transport/index.js";
import { checkTrustSettings, type TrustSettings } from "./config.js";
import { configuredSignerSources } from "./configured-signers.js";
import { trustRoutes } from "./routes.js";
import { SANDBOX_TSA_SIMULATOR_ID } from "../../sandbox/simulator-ids.js";
import { sandboxSignerSources, type SignerSet } from "./sandbox-signers.js";
import { TrustService } from "./service.js";
import { SignerRegistry } from "./signer-registry.js";
import { GatewayTimestampAuthority } from "./timestamp-authority.js";
import { configuredTrustMaterial, sandboxTrustMaterial, type TrustMaterial } from "./trust-material.js";

export const TRUST_MODULE = "trust";
/** The upstream name of the TSA configured by TSA_URL (in errors, logs, metrics and readiness). */
export const CONFIGURED_TSA_UPSTREAM = "tsa";
/** The sandbox TSA's RFC 3161 endpoint (src/sandbox/tsa/simulator.ts). */
const SANDBOX_TSA_PATH = "/tsa";

export interface TrustModuleOptions {
  /** Sandbox: provision CPS cards in SoftHSM when it is installed (default true). */
  sandboxCards?: boolean;
  /** Sandbox: how many French practitioners get a card (default 2). */
  maxSandboxCards?: number;
  /** How the trust store follows TRUST_ANCHORS_FILE (default: file events and a 5 s stat check). */
  trustStoreWatch?: false | TrustStoreWatchOptions;
  /** Minimum time between two checks of SIGNER_KEYSTORE_FILE for changes (default 1 s). */
  keystoreCheckIntervalMs?: number;
}

export interface TrustModule extends StartedModule {
  readonly service: TrustService;
  readonly signers: SignerRegistry;
}

export function trustModule(options: TrustModuleOptions = {}): ServiceModule<TrustModule> {
  return {
    name: TRUST_MODULE,
    async start(ctx) {
      // The gateway's configuration holds the trust settings (merged into its SETTINGS table).
      const settings: TrustSettings = ctx.config;
      const sandbox = ctx.sandbox;
      if (sandbox === undefined) checkTrustSettings(settings);
      else warnIgnoredInSandbox(ctx, settings);

      const releases: Array<() => Promise<void>> = [];
      const release = async (): Promise<void> => {
        for (const close of releases.reverse()) await close().catch((error: unknown) => ctx.logger.warn({ err: error }, "trust module cleanup failed"));
      };
      try {
        const trust: TrustMaterial =
          sandbox === undefined
            ? await configuredTrustMaterial(settings, {
                logger: ctx.logger,
                metrics: ctx.metrics,
                ...(options.trustStoreWatch === undefined ? {} : { watch: options.trustStoreWatch }),
              })
            : sandboxTrustMaterial(sandbox);
        releases.push(() => trust.close());

        let signerSet: SignerSet;
        if (sandbox === undefined) {
          signerSet = {
            sources: await configuredSignerSources(settings, {
              logger: ctx.logger,
              metrics: ctx.metrics,
              trust,
              ...(options.keystoreCheckIntervalMs === undefined ? {} : { keystoreCheckIntervalMs: options.keystoreCheckIntervalMs }),
            }),
            close: async () => undefined,
          };
        } else {
          signerSet = await sandboxSignerSources(sandbox, ctx.logger, ctx.config.dataDir, {
            ...(options.sandboxCards === undefined ? {} : { cards: options.sandboxCards }),
            ...(options.maxSandboxCards === undefined ? {} : { maxCards: options.maxSandboxCards }),
          });
        }
        const sources = signerSet.sources;
        releases.push(async () => {
          await Promise.allSettled(sources.map((source) => source.close()));
          await signerSet.close();
        });
        const signers = registryOf(signerSet, settings, sandbox !== undefined);

        const tsa = await timestampAuthorityOf(ctx, settings, trust);
        const service = new TrustService({ signers, trust, ...(tsa === undefined ? {} : { tsa }), audit: ctx.audit, logger: ctx.logger, maxXmlBytes: ctx.config.bodyLimitBytes });
        if (sandbox === undefined) await warnAboutSignerCertificates(ctx, signers, trust);
        ctx.logger.info(
          { signers: signers.all().map((s) => s.id), trust: trust.source, anchors: trust.anchors().length, tsa: tsa?.upstream ?? null },
          "trust endpoints configured",
        );
        return {
          v1Plugins: [trustRoutes(service, { bodyLimit: ctx.config.bodyLimitBytes })],
          close: release,
          service,
          signers,
        };
      } catch (error) {
        await release();
        throw error;
      }
    },
  };
}

function registryOf(set: SignerSet, settings: TrustSettings, sandbox: boolean): SignerRegistry {
  const known = new Set(set.sources.map((source) => source.id));
  const unknown = Object.values(settings.signerCallers ?? {}).flat().filter((id) => !known.has(id));
  if (unknown.length > 0) {
    throw new ConfigError([
      {
        name: "SIGNER_CALLERS",
        received: `unknown signer ${[...new Set(unknown)].join(", ")}`,
        expected: `signer ids among: ${[...known].join(", ") || "(none configured)"}`,
      },
    ]);
  }
  return new SignerRegistry(set.sources, {
    ...(settings.signerCallers === undefined ? {} : { callers: settings.signerCallers }),
    openWhenUnlisted: sandbox,
  });
}

/**
 * The sandbox TSA through the upstream client the gateway registered for the
 * simulator (its id), or TSA_URL through a client registered here as `tsa`,
 * so that readiness probes see it.
 */
async function timestampAuthorityOf(ctx: GatewayContext, settings: TrustSettings, trust: TrustMaterial): Promise<GatewayTimestampAuthority | undefined> {
  const timeoutMs = settings.tsaTimeoutMs ?? 10_000;
  const sandbox = ctx.sandbox;
  if (sandbox !== undefined) {
    if (!sandbox.simulators.some((simulator) => simulator.id === SANDBOX_TSA_SIMULATOR_ID)) {
      ctx.logger.warn("the sandbox-tsa simulator is not running: B-T signatures and time-stamps are unavailable");
      return undefined;
    }
    const registered = ctx.upstreams.get(SANDBOX_TSA_SIMULATOR_ID);
    const upstream =
      registered instanceof UpstreamClient
        ? registered
        : ctx.upstreams.add(
            new UpstreamClient({
              name: `trust-${SANDBOX_TSA_SIMULATOR_ID}`,
              baseUrl: sandbox.url(SANDBOX_TSA_SIMULATOR_ID),
              tls: { ca: sandbox.pki.rootCertPem },
              metrics: ctx.metrics,
            }),
          );
    return new GatewayTimestampAuthority({ upstream, path: SANDBOX_TSA_PATH, trust, timeoutMs });
  }
  if (settings.tsaUrl === undefined) return undefined;
  let ca: string | undefined;
  if (settings.tsaCaFile !== undefined) {
    try {
      ca = await readFile(settings.tsaCaFile, "utf8");
    } catch (error) {
      throw new ConfigError([
        { name: "TSA_CA_FILE", received: JSON.stringify(settings.tsaCaFile), expected: `a readable file (${(error as NodeJS.ErrnoException).code ?? "error"})` },
      ]);
    }
  }
  const upstream = ctx.upstreams.add(
    new UpstreamClient({ name: CONFIGURED_TSA_UPSTREAM, baseUrl: settings.tsaUrl, ...(ca === undefined ? {} : { tls: { ca } }), metrics: ctx.metrics }),
  );
  return new GatewayTimestampAuthority({
    upstream,
    trust,
    timeoutMs,
    ...(settings.tsaPolicy === undefined ? {} : { policy: settings.tsaPolicy }),
  });
}

function warnIgnoredInSandbox(ctx: GatewayContext, settings: TrustSettings): void {
  const ignored = (
    [
      ["SIGNER_KEYSTORE_FILE", settings.signerKeystoreFile],
      ["SIGNER_PKCS11_TOKEN_LABEL", settings.signerPkcs11TokenLabel],
      ["TRUST_ANCHORS_FILE", settings.trustAnchorsFile],
      ["TRUST_CRL_FILES", settings.trustCrlFiles],
      ["TSA_URL", settings.tsaUrl],
    ] as const
  )
    .filter(([, value]) => value !== undefined)
    .map(([name]) => name);
  if (ignored.length > 0) ctx.logger.warn({ ignored }, "the sandbox profile signs and verifies with the sandbox PKI and TSA; these settings are ignored");
}

/** A configured signer whose certificate will be refused is worth a line at start, not only at the first signature. */
async function warnAboutSignerCertificates(ctx: GatewayContext, signers: SignerRegistry, trust: TrustMaterial): Promise<void> {
  for (const source of signers.all()) {
    if (source.kind !== "software") continue; // a card is opened at first use
    const [leaf, ...issuers] = await (await source.acquire()).certificateChain();
    if (leaf === undefined) continue;
    const result = await trust.validate(leaf, { purpose: "signature", intermediates: issuers });
    if (!result.valid) ctx.logger.warn({ signer: source.id, reason: result.reason, detail: result.detail }, "signer certificate is not usable: signatures will be refused");
  }
}
