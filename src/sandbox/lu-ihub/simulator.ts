/**
 * The iHub simulator (CNS template update service), id `lu-ihub`, under
 * `/ws/rest/ihub/v1` like the real service's `IHUB_URL`:
 *
 * - `GET  /ws/rest/ihub/v1/templates/packages` the published versions and the latest one
 * - `GET  /ws/rest/ihub/v1/templates/packages/latest` the latest package (bundle, `ETag` = manifest SHA-256; `If-None-Match` → 304)
 * - `GET  /ws/rest/ihub/v1/templates/packages/{version}` one version
 * - `GET  /.well-known/health`
 * - `POST /_test/latest` `{ "version"?: "1.0.0", "mode"?: "corrupt-file" | … }`, `GET` and `DELETE` on the same path:
 *   what `latest` serves (./faults.ts), unless created with `faultInjection: false`.
 *
 * Packages are signed by a code-signing certificate of the sandbox
 * Luxembourg CA (./signing-identities.ts): a gateway trusts the LU CA as
 * its iHub truststore. The published versions are in ./catalogue.ts.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import Fastify, { LogController, type FastifyInstance, type FastifyReply } from "fastify";
import type { Logger } from "pino";
import { ERROR_CATALOGUE, problemTypeFor, type ErrorCode } from "../../errors/index.js";
import { BUNDLE_MEDIA_TYPE, encodeBundle } from "../../services/lu/templates/package-format.js";
import type { SandboxPki } from "../../trust/pki/index.js";
import type { SimulatorDefinition } from "../simulator.js";
import { lazily } from "../../lazily.js";
import { LU_IHUB_SIMULATOR } from "../simulator-ids.js";
import { buildCatalogue, type PublishedPackage } from "./catalogue.js";
import { damagedBundle, parseLatestOverride, type LatestOverride } from "./faults.js";
import { luIhubSigner, untrustedSigner, wrongPurposeSigner } from "./signing-identities.js";

export const LU_IHUB_SIMULATOR_ID = LU_IHUB_SIMULATOR.id;
export const LU_IHUB_BASE_PATH = "/ws/rest/ihub/v1";

const PROBLEM_CONTENT_TYPE = "application/problem+json; charset=utf-8";

export interface LuIhubOptions {
  /** Register the `/_test/latest` API (default true: the simulator exists only in the sandbox). */
  faultInjection?: boolean;
  /** Built-in template directory the catalogue starts from (default Passerelle's). */
  builtinDir?: string;
}

export function luIhubSimulator(options: LuIhubOptions = {}): SimulatorDefinition {
  return {
    ...LU_IHUB_SIMULATOR,
    async create(ctx) {
      return { app: await buildLuIhubApp(ctx.pki, ctx.logger, options) };
    },
  };
}

export type LuIhubApp = FastifyInstance<Server, IncomingMessage, ServerResponse, Logger>;

/** The Fastify app behind the simulator (usable alone with `app.inject()`). */
export async function buildLuIhubApp(pki: SandboxPki, logger: Logger, options: LuIhubOptions = {}): Promise<LuIhubApp> {
  const signer = await luIhubSigner(pki);
  const catalogue: PublishedPackage[] = await buildCatalogue(signer, ...(options.builtinDir === undefined ? [] : [options.builtinDir]));
  const bundles = new Map(catalogue.map((entry) => [entry.version, encodeBundle(entry.pkg)]));
  const newest = catalogue[catalogue.length - 1]!;
  const faultSigners = { wrongPurpose: lazily(() => wrongPurposeSigner(pki)), untrusted: lazily(() => untrustedSigner()) };
  let override: LatestOverride = {};

  const app: LuIhubApp = Fastify({ loggerInstance: logger, logController: new LogController({ disableRequestLogging: true }) });

  const sendPackage = (reply: FastifyReply, entry: PublishedPackage, ifNoneMatch: string | undefined): FastifyReply => {
    const etag = `"${entry.pkg.digest}"`;
    reply.header("etag", etag).header("cache-control", "no-cache");
    // RFC 9110 §13.1.2: a match of the current representation's tag answers 304.
    if (ifNoneMatch !== undefined && ifNoneMatch.split(",").some((tag) => tag.trim().replace(/^W\//, "") === etag)) return reply.code(304).send();
    return reply.header("content-type", BUNDLE_MEDIA_TYPE).send(bundles.get(entry.version));
  };

  app.get(`${LU_IHUB_BASE_PATH}/templates/packages`, async () => ({
    latest: (override.version ?? newest.version),
    packages: catalogue.map((entry) => ({
      version: entry.version,
      digest: entry.pkg.digest,
      size: bundles.get(entry.version)!.length,
      publishedAt: entry.publishedAt,
    })),
  }));

  app.get(`${LU_IHUB_BASE_PATH}/templates/packages/latest`, async (request, reply) => {
    const entry = catalogue.find((candidate) => candidate.version === (override.version ?? newest.version)) ?? newest;
    if (override.mode !== undefined) {
      request.log.info({ mode: override.mode, version: entry.version }, "serving a damaged template package (test fault)");
      return reply.header("content-type", BUNDLE_MEDIA_TYPE).send(await damagedBundle(entry.pkg, override.mode, faultSigners));
    }
    return sendPackage(reply, entry, request.headers["if-none-match"]);
  });

  app.get<{ Params: { version: string } }>(`${LU_IHUB_BASE_PATH}/templates/packages/:version`, async (request, reply) => {
    const entry = catalogue.find((candidate) => candidate.version === request.params.version);
    if (entry === undefined) return problemReply(reply, "PASSERELLE_NOT_FOUND", request.url, `No template package ${request.params.version}`);
    return sendPackage(reply, entry, request.headers["if-none-match"]);
  });

  app.get("/.well-known/health", async () => ({ status: "ok", simulator: LU_IHUB_SIMULATOR_ID }));

  if (options.faultInjection ?? true) {
    app.post("/_test/latest", async (request, reply) => {
      const parsed = parseLatestOverride(request.body, catalogue.map((entry) => entry.version));
      if (typeof parsed === "string") return problemReply(reply, "PASSERELLE_VALIDATION", request.url, parsed);
      override = parsed;
      return override;
    });
    app.get("/_test/latest", async () => override);
    app.delete("/_test/latest", async (_request, reply) => {
      override = {};
      return reply.code(204).send();
    });
  }

  app.setNotFoundHandler(async (request, reply) =>
    problemReply(reply, "PASSERELLE_NOT_FOUND", request.url, `No resource ${request.method} ${request.url.split("?")[0]}`),
  );
  app.setErrorHandler(async (error, request, reply) => {
    const status = typeof error === "object" && error !== null && "statusCode" in error ? Number(error.statusCode) : 500;
    if (status >= 400 && status < 500) {
      return problemReply(reply, status === 415 ? "PASSERELLE_UNSUPPORTED_MEDIA_TYPE" : "PASSERELLE_VALIDATION", request.url, error instanceof Error ? error.message : "Bad request");
    }
    request.log.error({ err: error }, "iHub simulator request failed");
    return problemReply(reply, "PASSERELLE_INTERNAL", request.url, "Something went wrong");
  });
  return app;
}

/** RFC 9457 problem details, with the gateway's problem types. */
function problemReply(reply: FastifyReply, code: ErrorCode, instance: string, detail: string): FastifyReply {
  const entry = ERROR_CATALOGUE[code];
  const document = { type: problemTypeFor(code), title: entry.title, status: entry.status, detail, instance: instance.split("?")[0], code };
  return reply.code(document.status).header("content-type", PROBLEM_CONTENT_TYPE).send(JSON.stringify(document));
}
