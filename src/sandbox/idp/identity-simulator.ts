/**
 * Turns an identity realm into a sandbox simulator: one HTTPS server (given
 * by the framework) serving, in one plain Node handler,
 *
 * - `/auth/realms/<realm>/…`            the OpenID Provider (oidc-provider's Koa app, mounted at the issuer path)
 * - `/auth/realms/<realm>/login-actions/…`  the login pages (./interaction-pages.ts)
 * - `/_sandbox/ciba…`                    the CIBA approval page and test API, on realms with CIBA
 * - `/`                                  where the issuer is, as JSON
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { SimulatorDefinition, SimulatorRequestHandler } from "../simulator.js";
import type { SimulatorInfo } from "../simulator-ids.js";
import { buildIdentityProvider } from "./build-provider.js";
import { CIBA_APPROVAL_PATH, CibaApprovals } from "./ciba-approvals.js";
import { clientMetadataFor } from "./client-registration.js";
import { RequestRejection, sendJson, sendProblem } from "./http-exchange.js";
import { realmPath, type IdentityRealm } from "./identity-realm.js";
import { InteractionPages } from "./interaction-pages.js";
import { loadOrCreateProviderKeys } from "./provider-keys.js";
import { sandboxOidcClients } from "./sandbox-clients.js";

export interface IdentitySimulatorSpec {
  /** From ../simulator-ids.ts; must agree with the realm (provider id, client certificates). */
  info: SimulatorInfo;
  /** Built per `create`, so no state is shared between two sandboxes. */
  realm(): IdentityRealm;
}

export function defineIdentitySimulator(spec: IdentitySimulatorSpec): SimulatorDefinition {
  const { provider: id, tlsClientAuth } = spec.realm();
  // RFC 8705 §2: tls_client_auth needs the client certificate, asked for during the handshake.
  if (id !== spec.info.id || tlsClientAuth !== (spec.info.tls?.requestClientCertificate === true)) {
    throw new TypeError(`Identity simulator "${spec.info.id}": its realm (provider "${id}", tls_client_auth ${String(tlsClientAuth)}) disagrees with its info`);
  }
  return {
    ...spec.info,
    async create(ctx) {
      const realm = spec.realm();
      const [keys, clients] = await Promise.all([loadOrCreateProviderKeys(ctx.dataDir), sandboxOidcClients(ctx.pki)]);
      const basePath = realmPath(realm);
      const issuer = `${ctx.url}${basePath}`;
      const cibaApprovals = realm.ciba
        ? new CibaApprovals({ practitioners: realm.practitioners, ...(realm.acr === undefined ? {} : { acr: realm.acr }) })
        : undefined;
      const provider = buildIdentityProvider({
        issuer,
        realm,
        keys,
        clients: clients.filter((client) => client.provider === id).map(clientMetadataFor),
        ...(cibaApprovals === undefined ? {} : { cibaApprovals }),
        logger: ctx.logger,
      });
      const interactionPages = new InteractionPages(provider, realm);
      const providerListener = provider.callback();

      const forwardToProvider = (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
        // Mounted like Express's app.use(path, …): oidc-provider routes on the
        // path below the issuer and rebuilds its URLs from `originalUrl`.
        const originalUrl = `${url.pathname}${url.search}`;
        const below = originalUrl.slice(basePath.length);
        Object.assign(req, { originalUrl });
        req.url = below.startsWith("/") ? below : `/${below}`;
        return providerListener(req, res);
      };

      const handler: SimulatorRequestHandler = async (req, res) => {
        const rawUrl = req.url ?? "/";
        // Only the path and query of the request line count (a "//host/…" request target names no other host).
        const url = new URL(rawUrl.startsWith("/") ? `${ctx.url}${rawUrl}` : `${ctx.url}/${rawUrl}`);
        try {
          if (await interactionPages.handle(req, res, url)) return;
          if (cibaApprovals !== undefined && (await cibaApprovals.handle(provider, req, res, url))) return;
          if (url.pathname === basePath || url.pathname.startsWith(`${basePath}/`)) {
            await forwardToProvider(req, res, url);
            return;
          }
          if (url.pathname === "/" && (req.method === "GET" || req.method === "HEAD")) {
            sendJson(res, 200, {
              simulator: id,
              issuer,
              discovery: `${issuer}/.well-known/openid-configuration`,
              ...(cibaApprovals === undefined ? {} : { ciba_approval_page: `${ctx.url}${CIBA_APPROVAL_PATH}` }),
            });
            return;
          }
          throw new RequestRejection("PASSERELLE_NOT_FOUND", `No resource ${req.method ?? "GET"} ${url.pathname}`);
        } catch (err) {
          if (!(err instanceof RequestRejection) || res.headersSent) throw err;
          sendProblem(res, err.code, err.message, url.pathname, err.headers);
        }
      };

      return { handler, testUsers: realm.practitioners.testUsers() };
    },
  };
}
