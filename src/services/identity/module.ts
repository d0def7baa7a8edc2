/**
 * The identity service as a gateway module: in the sandbox profile, the
 * sandbox's identity providers configured by issuer like real ones; in the
 * other profiles, the providers named by the settings (PSC_*, AES_*, BE_*).
 */
import type { ServiceModule, StartedModule } from "../../gateway/modules.js";
import { identityConfigFromSettings, identityProvidersFromSandbox, type IdentityConfig, type IdentitySettings } from "./config.js";
import { identityBrowserRoutes, identityRoutes } from "./routes.js";
import { IdentityService } from "./service.js";

/** Where a finished sandbox login may return when AUTH_RETURN_URLS is not set: a vendor app on port 3000. */
export const SANDBOX_RETURN_URLS: readonly string[] = ["http://127.0.0.1:3000/after-login", "http://localhost:3000/after-login"];

export interface IdentityModule extends StartedModule {
  readonly service: IdentityService;
}

export const IDENTITY_MODULE = "identity";

export function identityModule(): ServiceModule<IdentityModule> {
  return {
    name: IDENTITY_MODULE,
    async start(ctx) {
      // The gateway's configuration holds the identity settings (merged into its SETTINGS table).
      const settings: IdentitySettings = ctx.config;
      let config: IdentityConfig;
      if (ctx.sandbox) {
        config = {
          providers: await identityProvidersFromSandbox(ctx.sandbox),
          // The callback is the gateway's own, wherever it ended up listening.
          redirectUri: settings.authRedirectUri ?? (() => `${ctx.publicUrl()}/v1/auth/callback`),
          returnUrls: settings.authReturnUrls ?? SANDBOX_RETURN_URLS,
        };
      } else {
        config = identityConfigFromSettings(settings);
      }
      const service = new IdentityService({ config, vault: ctx.vault, audit: ctx.audit, logger: ctx.logger, metrics: ctx.metrics });
      ctx.logger.info({ providers: config.providers.map((p) => p.id) }, "identity providers configured");
      return {
        v1Plugins: [identityRoutes(service)],
        publicV1Plugins: [identityBrowserRoutes(service)],
        close: () => service.close(),
        service,
      };
    },
  };
}

