/**
 * The Luxembourg services as a gateway module: the CNS eConnector SaaS's
 * functions (templates, remote signature, mySecu, iHub updates) configured
 * with the eConnector's own environment variables, or from the sandbox.
 *
 * It needs the identity module (started before it): AeS access tokens are
 * validated there, and gateway sessions with AeS are read there.
 */
import { X509Certificate } from "node:crypto";
import type { Logger } from "pino";
import type { GatewayConfig } from "../../config/index.js";
import type { ReadinessCheck, ServiceModule, StartedModule } from "../../gateway/modules.js";
import { SoftwareSigner, loadPkcs12, type KeyStoreEntry } from "../../trust/signers/index.js";
import { IDENTITY_MODULE, type IdentityModule } from "../identity/module.js";
import { luMaterialFromSandbox, luMaterialFromSettings, luTemplatesDirOf, type LuMaterial } from "./config.js";
import { KmsClient, KmsTrust, kmsTlsOptions } from "./kms/index.js";
import { MySecuClient } from "./mysecu/index.js";
import { luRoutes } from "./routes.js";
import { LuService } from "./service.js";
import { IhubClient, TemplateStore } from "./templates/index.js";

export const LU_MODULE = "lu";

export interface LuModule extends StartedModule {
  readonly service: LuService;
  readonly material: LuMaterial;
}

export interface LuModuleOptions {
  /** Run the periodic iHub sync when LU_TEMPLATE_SYNC_MINUTES > 0 (default true; tests drive syncs themselves). */
  periodicSync?: boolean;
}

export function luModule(options: LuModuleOptions = {}): ServiceModule<LuModule> {
  // The template store (files, font subsets: about half a second) holds nothing to release, so it can start in prepare().
  let prepared: Promise<TemplateStore> | undefined;
  const openTemplates = (config: GatewayConfig, logger: Logger): Promise<TemplateStore> => {
    const opening = TemplateStore.open({ dataDir: luTemplatesDirOf(config), logger });
    opening.catch(() => undefined); // awaited in start(); a failure before that must not leave it unhandled
    return opening;
  };
  return {
    name: LU_MODULE,
    prepare(config, logger) {
      prepared ??= openTemplates(config, logger);
    },
    async start(ctx) {
      const identity = ctx.modules.get(IDENTITY_MODULE) as IdentityModule | undefined;
      if (identity === undefined) throw new TypeError("The lu module needs the identity module, started before it");
      // The template store loads (files, fonts) while the keystores are written and read (PBKDF2 in the thread pool).
      const opening = prepared ?? openTemplates(ctx.config, ctx.logger);
      prepared = undefined;
      const material = ctx.sandbox ? await luMaterialFromSandbox(ctx.config, ctx.sandbox) : luMaterialFromSettings(ctx.config);
      // The KMS client and the mySecu signer both use the eConnector's one generic keystore: read once (PKCS#12 in JavaScript).
      const keystores = new WeakMap<object, Promise<KeyStoreEntry>>();
      const keystoreEntry = (keystore: { pkcs12: Buffer; password: string }): Promise<KeyStoreEntry> => {
        let entry = keystores.get(keystore);
        if (entry === undefined) {
          entry = loadPkcs12(keystore.pkcs12, keystore.password);
          keystores.set(keystore, entry);
        }
        return entry;
      };
      const closers: Array<() => Promise<void>> = [];
      const close = async () => {
        for (const closer of closers.reverse()) await closer().catch((err: unknown) => ctx.logger.warn({ err }, "closing a Luxembourg client failed"));
      };
      try {
        const templates = await opening;
        const checks: ReadinessCheck[] = [
          {
            name: "lu-templates",
            run: async () => {
              if (templates.list().length === 0) throw new Error("no document template is loaded");
            },
          },
        ];

        // Readiness probes go through the upstream registry, which caches them: /status is unauthenticated and
        // must not turn into a mutual-TLS call to a national service per hit. (In the sandbox the composition
        // root already probes each simulator under its id.) The module closes its clients itself.
        const probe = (name: string, ping: () => Promise<{ ok: boolean; latencyMs: number; detail?: string }>): void => {
          if (ctx.upstreams.get(name) === undefined) ctx.upstreams.add({ name, ping, close: async () => undefined });
        };
        let kms: { client: KmsClient; trust: KmsTrust } | undefined;
        let mysecu: MySecuClient | undefined;
        if (material.kms) {
          const { endpoints, genericKeystore, truststore, serverTrustPem } = material.kms;
          const client = new KmsClient({ endpoints, tls: kmsTlsOptions(await keystoreEntry(genericKeystore), serverTrustPem), metrics: ctx.metrics });
          closers.push(() => client.close());
          kms = { client, trust: await KmsTrust.fromTruststore(truststore.path, { password: truststore.password, aliases: truststore.aliases }) };
          probe(client.name, () => client.ping());
        }

        if (material.mysecu) {
          const { stsUrl, syncUrl, genericKeystore, serverTrustPem: mysecuTrust, tokenAnchorsPem, tokenIntermediatesPem } = material.mysecu;
          const signer = new SoftwareSigner(await keystoreEntry(genericKeystore), { id: "lu-generic-keystore" });
          const client = new MySecuClient({
            stsUrl,
            syncUrl,
            signer,
            vault: ctx.vault,
            ...(mysecuTrust === undefined ? {} : { tls: { ca: [...mysecuTrust] } }),
            ...(tokenAnchorsPem === undefined
              ? {}
              : {
                  tokenTrust: {
                    anchors: tokenAnchorsPem.map((pem) => new X509Certificate(pem)),
                    intermediates: (tokenIntermediatesPem ?? []).map((pem) => new X509Certificate(pem)),
                  },
                }),
            metrics: ctx.metrics,
            logger: ctx.logger,
          });
          mysecu = client;
          closers.push(() => client.close());
          probe("lu-mysecu", () => client.ping());
        }

        let ihub: { client: IhubClient; trust: { anchors: readonly string[]; intermediates?: readonly string[] } } | undefined;
        if (material.ihub) {
          const client = new IhubClient({
            baseUrl: material.ihub.baseUrl,
            ...(material.ihub.serverTrustPem === undefined ? {} : { tls: { ca: [...material.ihub.serverTrustPem] } }),
            metrics: ctx.metrics,
          });
          closers.push(() => client.close());
          ihub = {
            client,
            trust: {
              anchors: material.ihub.packageAnchorsPem,
              ...(material.ihub.packageIntermediatesPem === undefined ? {} : { intermediates: material.ihub.packageIntermediatesPem }),
            },
          };
        }

        const service = new LuService({
          templates,
          vault: ctx.vault,
          identity: identity.service,
          audit: ctx.audit,
          logger: ctx.logger,
          missing: material.missing,
          ...(kms === undefined ? {} : { kms }),
          ...(mysecu === undefined ? {} : { mysecu }),
          ...(ihub === undefined ? {} : { ihub }),
        });

        if (ihub !== undefined && material.syncMinutes > 0 && (options.periodicSync ?? true)) {
          const timer = setInterval(() => {
            service.syncTemplates({ caller: "passerelle:scheduler", requestId: `template-sync-${Date.now()}` }).catch((err: unknown) => {
              ctx.logger.warn({ err }, "periodic iHub template sync failed; the current templates stay");
            });
          }, material.syncMinutes * 60_000);
          timer.unref();
          closers.push(async () => clearInterval(timer));
        }

        ctx.logger.info(
          {
            templates: templates.list().map((t) => `${t.id}@${t.version}`),
            kms: kms !== undefined,
            mysecu: mysecu !== undefined,
            ihub: ihub !== undefined,
          },
          "Luxembourg services configured",
        );
        return {
          v1Plugins: [luRoutes(service, { bodyLimit: ctx.config.bodyLimitBytes })],
          readinessChecks: checks,
          close,
          service,
          material,
        };
      } catch (error) {
        await close();
        throw error;
      }
    },
  };
}

