/**
 * The sandbox Time-Stamping Authority: RFC 3161 over HTTP (§3.4), tokens
 * signed by a TSA certificate of the sandbox PKI.
 *
 * - `POST /tsa` (and `POST /`) with an `application/timestamp-query` body →
 *   `200 application/timestamp-reply`. A well-formed request the TSA will not
 *   serve gets a TimeStampResp with status rejection and its failInfo
 *   (`badAlg` for a hash other than SHA-256/384/512, `unacceptedPolicy`,
 *   `unacceptedExtension`, `badDataFormat` for bytes that are not a
 *   TimeStampReq). Other media types are HTTP errors (415), as are bodies over
 *   16 KiB (413).
 * - `GET /tsa/certificate.pem` the TSA certificate and its issuing CA (to
 *   verify tokens issued without certReq); `GET /.well-known/health`.
 * - `POST /_test/faults` `{ "mode": …, "delayMs"?, "times"? }`, `GET` and
 *   `DELETE` on the same path: fault injection (./faults.ts), unless created
 *   with `faultInjection: false`.
 *
 * Tokens: policy {@link SANDBOX_TSA_POLICY_OID} (configurable), accuracy 1 s,
 * genTime to the second, nonce echoed, the TSA certificate and its CA included
 * only when the request sets certReq (RFC 3161 §2.4.1), serial numbers unique
 * and increasing.
 */
import { setTimeout as delay } from "node:timers/promises";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { randomBytes } from "node:crypto";
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { Logger } from "pino";
import { ERROR_CATALOGUE, problemTypeFor, type ErrorCode } from "../../errors/index.js";
// The modules, not protocols/tsp/index.js: that one brings the time-stamp client and the whole HTTP stack.
import { TIMESTAMP_QUERY_CONTENT_TYPE, TIMESTAMP_REPLY_CONTENT_TYPE } from "../../protocols/tsp/media-types.js";
import { TimestampResponder, encodeTimestampRejection, type TimestampGrant } from "../../protocols/tsp/timestamp-responder.js";
import { parseTimestampRequest } from "../../protocols/tsp/timestamp-request.js";
import type { SandboxCountry, SandboxPki } from "../../trust/pki/index.js";
import type { SimulatorDefinition } from "../simulator.js";
import { SANDBOX_TSA_SIMULATOR, SANDBOX_TSA_SIMULATOR_ID } from "../simulator-ids.js";
import { TsaFaults, parseFault, untrustedTsaSigner, type TsaFault } from "./faults.js";
import { monotonicSerialNumbers } from "./serial-numbers.js";
import { sandboxTsaSigner } from "./tsa-identity.js";

export { SANDBOX_TSA_SIMULATOR_ID };

/**
 * The sandbox TSA's policy: `2.25.<UUID>` (ITU-T X.667 §6.3 — an arc anyone
 * may mint without registration) for the Passerelle sandbox, then `.1` for
 * time-stamp policies, `.1` for this one. Never a real TSA's policy, so a
 * sandbox token cannot be mistaken for a qualified one.
 */
export const SANDBOX_TSA_POLICY_OID = "2.25.8888202736267528462877072140334340318.1.1";

const MAX_REQUEST_BYTES = 16 * 1024;
const PEM_CHAIN_CONTENT_TYPE = "application/pem-certificate-chain";
const PROBLEM_CONTENT_TYPE = "application/problem+json; charset=utf-8";

export interface SandboxTsaOptions {
  /** TSAPolicyId of the tokens (default {@link SANDBOX_TSA_POLICY_OID}); also the only policy a request may ask for. */
  policy?: string;
  /** Country CA issuing the TSA certificate (default LU). */
  country?: SandboxCountry;
  /** Register the `/_test/faults` API (default true: the simulator exists only in the sandbox). */
  faultInjection?: boolean;
  /** Clock of genTime and serial numbers (tests move it). */
  now?: () => Date;
}

export function sandboxTsaSimulator(options: SandboxTsaOptions = {}): SimulatorDefinition {
  return {
    ...SANDBOX_TSA_SIMULATOR,
    async create(ctx) {
      return { app: await buildSandboxTsaApp(ctx.pki, ctx.logger, options) };
    },
  };
}

export type SandboxTsaApp = FastifyInstance<Server, IncomingMessage, ServerResponse, Logger>;

/** The Fastify app behind the simulator (usable alone with `app.inject()`). */
export async function buildSandboxTsaApp(pki: SandboxPki, logger: Logger, options: SandboxTsaOptions = {}): Promise<SandboxTsaApp> {
  const now = options.now ?? (() => new Date());
  const policy = options.policy ?? SANDBOX_TSA_POLICY_OID;
  const serialNumber = monotonicSerialNumbers(() => now().getTime());
  const signer = await sandboxTsaSigner(pki, options.country === undefined ? {} : { country: options.country });
  const responder = await TimestampResponder.create({ signer, policy, serialNumber, now });
  const faults = new TsaFaults();
  // Made on first use only: most runs never inject this fault.
  let untrustedResponder: Promise<TimestampResponder> | undefined;
  const untrusted = (): Promise<TimestampResponder> => {
    const made = (untrustedResponder ??= untrustedTsaSigner(now()).then((untrustedSigner) =>
      TimestampResponder.create({ signer: untrustedSigner, policy, serialNumber, now }),
    ));
    // A failure is not kept: the next request tries again.
    made.catch(() => {
      if (untrustedResponder === made) untrustedResponder = undefined;
    });
    return made;
  };
  const certificatePem = responder.certificateChain.map((certificate) => certificate.toString()).join("");

  const app: SandboxTsaApp = Fastify({
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true }),
  });
  app.addContentTypeParser(TIMESTAMP_QUERY_CONTENT_TYPE, { parseAs: "buffer", bodyLimit: MAX_REQUEST_BYTES }, (_request, body, done) =>
    done(null, body),
  );

  const timestamp = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    // RFC 3161 §3.4: the query is the DER TimeStampReq itself, typed application/timestamp-query.
    if (mediaTypeOf(request.headers["content-type"]) !== TIMESTAMP_QUERY_CONTENT_TYPE) {
      return problemReply(reply, "PASSERELLE_UNSUPPORTED_MEDIA_TYPE", request.url, `Send the TimeStampReq as ${TIMESTAMP_QUERY_CONTENT_TYPE}`);
    }
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const fault = faults.take();
    if (fault !== undefined) {
      const answered = await injectFault(fault, request, reply);
      if (answered !== undefined) return answered;
    }
    const parsed = parseTimestampRequest(body);
    if (parsed === undefined) {
      return tsrReply(reply, encodeTimestampRejection("badDataFormat", "The request is not a DER TimeStampReq"));
    }
    const refusal = responder.refusalFor(parsed);
    if (refusal !== undefined) {
      request.log.info({ failInfo: refusal.failInfo }, "time-stamp request refused");
      return tsrReply(reply, encodeTimestampRejection(refusal.failInfo, refusal.text));
    }
    let grant: TimestampGrant = {
      hashAlgorithmOid: parsed.hashAlgorithmOid,
      hashedMessage: parsed.hashedMessage,
      messageImprintDer: parsed.messageImprintDer,
      nonce: parsed.nonce,
      certReq: parsed.certReq,
      ...(parsed.policy === undefined ? {} : { policy: parsed.policy }),
    };
    let signingResponder = responder;
    if (fault?.mode === "wrong-nonce") {
      grant = { ...grant, nonce: (parsed.nonce ?? 0n) + 1n };
    } else if (fault?.mode === "wrong-imprint") {
      // Another hash of the same length; without the request's encoding, the imprint is re-encoded from it.
      const hashedMessage = Buffer.from(parsed.hashedMessage);
      hashedMessage[hashedMessage.length - 1] = (hashedMessage[hashedMessage.length - 1] ?? 0) ^ 0x01;
      const { messageImprintDer: _echoed, ...rest } = grant;
      grant = { ...rest, hashedMessage };
    } else if (fault?.mode === "untrusted-cert") {
      signingResponder = await untrusted();
    }
    return tsrReply(reply, await signingResponder.grant(grant));
  };

  /** Answers for the faults that replace the answer; undefined for those that alter the token (handled above). */
  const injectFault = async (fault: TsaFault, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    request.log.info({ fault: fault.mode }, "injecting a fault");
    switch (fault.mode) {
      case "error500":
        return problemReply(reply, "PASSERELLE_INTERNAL", request.url, "Injected fault: error500");
      case "garbage":
        return reply.code(200).header("content-type", TIMESTAMP_REPLY_CONTENT_TYPE).send(randomBytes(64));
      case "slow": {
        // Stop waiting when the client gives up: nothing would read the answer.
        const gone = new AbortController();
        const onClose = (): void => gone.abort();
        reply.raw.once("close", onClose);
        await delay(fault.delayMs, undefined, { signal: gone.signal }).catch(() => undefined);
        reply.raw.off("close", onClose);
        return undefined;
      }
      default:
        return undefined;
    }
  };

  app.post("/tsa", timestamp);
  app.post("/", timestamp);
  for (const path of ["/tsa", "/"]) {
    app.get(path, async (request, reply) =>
      problemReply(reply.header("allow", "POST"), "PASSERELLE_METHOD_NOT_ALLOWED", request.url, `POST a TimeStampReq (${TIMESTAMP_QUERY_CONTENT_TYPE})`),
    );
  }
  app.get("/tsa/certificate.pem", async (_request, reply) =>
    reply.header("content-type", PEM_CHAIN_CONTENT_TYPE).header("cache-control", "no-cache").send(certificatePem),
  );
  app.get("/.well-known/health", async () => ({ status: "ok", simulator: SANDBOX_TSA_SIMULATOR_ID }));

  if (options.faultInjection ?? true) {
    app.post("/_test/faults", async (request, reply) => {
      const fault = parseFault(request.body);
      if (typeof fault === "string") return problemReply(reply, "PASSERELLE_VALIDATION", request.url, fault);
      faults.set(fault);
      return reply.code(200).send({ fault: faults.current });
    });
    app.get("/_test/faults", async () => ({ fault: faults.current ?? null }));
    app.delete("/_test/faults", async (_request, reply) => {
      faults.clear();
      return reply.code(204).send();
    });
  }

  app.setNotFoundHandler(async (request, reply) =>
    problemReply(reply, "PASSERELLE_NOT_FOUND", request.url, `No resource ${request.method} ${request.url.split("?")[0]}`),
  );
  app.setErrorHandler(async (error, request, reply) => {
    const status = typeof error === "object" && error !== null && "statusCode" in error ? Number(error.statusCode) : 500;
    if (status >= 400 && status < 500) {
      // Fastify's own refusals: unknown media type (415), body too large (413), bad JSON (400).
      const message = error instanceof Error ? error.message : "The request is not valid";
      return problemReply(reply, codeForClientStatus(status), request.url, message);
    }
    request.log.error({ err: error }, "sandbox TSA request failed");
    return problemReply(reply, "PASSERELLE_INTERNAL", request.url, "Something went wrong");
  });
  return app;
}

function mediaTypeOf(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  return value?.split(";")[0]?.trim().toLowerCase();
}

function tsrReply(reply: FastifyReply, der: Buffer): FastifyReply {
  return reply.code(200).header("content-type", TIMESTAMP_REPLY_CONTENT_TYPE).header("cache-control", "no-store").send(der);
}

/** RFC 9457 problem details, with the gateway's problem types. */
function problemReply(reply: FastifyReply, code: ErrorCode, instance: string, detail: string): FastifyReply {
  const entry = ERROR_CATALOGUE[code];
  const document = { type: problemTypeFor(code), title: entry.title, status: entry.status, detail, instance: instance.split("?")[0], code };
  return reply.code(document.status).header("content-type", PROBLEM_CONTENT_TYPE).send(JSON.stringify(document));
}

function codeForClientStatus(status: number): ErrorCode {
  const preferred: Partial<Record<number, ErrorCode>> = {
    400: "PASSERELLE_MALFORMED_BODY",
    413: "PASSERELLE_PAYLOAD_TOO_LARGE",
    415: "PASSERELLE_UNSUPPORTED_MEDIA_TYPE",
  };
  const codes = Object.keys(ERROR_CATALOGUE) as ErrorCode[];
  return preferred[status] ?? codes.find((code) => ERROR_CATALOGUE[code].status === status) ?? "PASSERELLE_VALIDATION";
}
