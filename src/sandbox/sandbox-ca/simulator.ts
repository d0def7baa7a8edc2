/**
 * The sandbox certificate authority: serves the sandbox PKI's public
 * certificates, which is what integrators download to trust the simulators
 * (and what a vendor's system configures as truststore).
 *
 * - `GET /ca/root.pem`    the root CA, the one trust anchor to install
 * - `GET /ca/{fr|lu|be}.pem` a country CA
 * - `GET /ca/chain.pem`   every country CA followed by the root
 * - `GET /.well-known/health` liveness
 *
 * It is also the reference example of a simulator built with Fastify: the
 * instance is returned as `app` and never listens itself.
 */
import Fastify, { LogController, type FastifyInstance, type FastifyReply } from "fastify";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { ERROR_CATALOGUE, problemTypeFor, type ErrorCode } from "../../errors/index.js";
import { SANDBOX_COUNTRIES, type SandboxCountry, type SandboxPki } from "../../trust/pki/index.js";
import type { SimulatorDefinition } from "../simulator.js";
import { SANDBOX_CA_SIMULATOR } from "../simulator-ids.js";

export const SANDBOX_CA_SIMULATOR_ID = SANDBOX_CA_SIMULATOR.id;

/** RFC 8555 §9.1: one or more PEM certificates. */
const PEM_CHAIN_CONTENT_TYPE = "application/pem-certificate-chain";
const PROBLEM_CONTENT_TYPE = "application/problem+json; charset=utf-8";

export function sandboxCaSimulator(): SimulatorDefinition {
  return {
    ...SANDBOX_CA_SIMULATOR,
    async create(ctx) {
      return { app: buildSandboxCaApp(ctx.pki, ctx.logger) };
    },
  };
}

export type SandboxCaApp = FastifyInstance<Server, IncomingMessage, ServerResponse, Logger>;

/** The Fastify app behind the simulator (usable alone with `app.inject()`). */
export function buildSandboxCaApp(pki: SandboxPki, logger: Logger): SandboxCaApp {
  // Requests are not logged one by one: integrators poll these files.
  const app: SandboxCaApp = Fastify({
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true }),
  });
  const countryPem = new Map<string, string>(
    SANDBOX_COUNTRIES.map((country: SandboxCountry) => [`${country.toLowerCase()}.pem`, pki.caCertPem(country)]),
  );
  const bundle = [...SANDBOX_COUNTRIES.map((country) => pki.caCertPem(country)), pki.rootCertPem].join("");

  app.get("/ca/root.pem", async (_request, reply) => pemReply(reply, pki.rootCertPem));
  app.get("/ca/chain.pem", async (_request, reply) => pemReply(reply, bundle));
  app.get<{ Params: { file: string } }>("/ca/:file", async (request, reply) => {
    const pem = countryPem.get(request.params.file.toLowerCase());
    if (pem === undefined) return problemReply(reply, "PASSERELLE_NOT_FOUND", request.url, `No certificate ${request.params.file}`);
    return pemReply(reply, pem);
  });
  app.get("/.well-known/health", async () => ({ status: "ok", simulator: SANDBOX_CA_SIMULATOR_ID }));

  app.setNotFoundHandler(async (request, reply) =>
    problemReply(reply, "PASSERELLE_NOT_FOUND", request.url, `No resource ${request.method} ${request.url.split("?")[0]}`),
  );
  app.setErrorHandler(async (error, request, reply) => {
    const status = typeof error === "object" && error !== null && "statusCode" in error ? Number(error.statusCode) : 500;
    if (status >= 400 && status < 500) {
      // Fastify's own refusals (malformed URL, body on a GET…): keep their status, show their message.
      const message = error instanceof Error ? error.message : "The request is not valid";
      return problemReply(reply, codeForClientStatus(status), request.url, message);
    }
    request.log.error({ err: error }, "sandbox CA request failed");
    return problemReply(reply, "PASSERELLE_INTERNAL", request.url, "Something went wrong");
  });
  return app;
}

function pemReply(reply: FastifyReply, pem: string): FastifyReply {
  // The PKI may be re-issued between two sandbox runs: always revalidate.
  return reply.header("content-type", PEM_CHAIN_CONTENT_TYPE).header("cache-control", "no-cache").send(pem);
}

/** RFC 9457 problem details, with the gateway's problem types. */
function problemReply(reply: FastifyReply, code: ErrorCode, instance: string, detail: string): FastifyReply {
  const entry = ERROR_CATALOGUE[code];
  const document = {
    type: problemTypeFor(code),
    title: entry.title,
    status: entry.status,
    detail,
    instance: instance.split("?")[0],
    code,
  };
  return reply.code(document.status).header("content-type", PROBLEM_CONTENT_TYPE).send(JSON.stringify(document));
}

function codeForClientStatus(status: number): ErrorCode {
  const codes = Object.keys(ERROR_CATALOGUE) as ErrorCode[];
  return codes.find((code) => ERROR_CATALOGUE[code].status === status) ?? "PASSERELLE_VALIDATION";
}
