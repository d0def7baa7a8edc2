/**
 * `lu-mysecu`: a simulator of the CCSS mySecu web services the Luxembourg
 * eConnector deposits signed documents on (settings `CCSS_URL`,
 * `CCSS_SYNC_URL`, `SYNC_EXCHANGE_WSDL`; production host ws.mysecu.lu).
 *
 * - `POST /ws/soap/trust` — the authentication service, a **WS-Trust 1.3
 *   STS** (./sts.ts). SOAP 1.1 or 1.2. The vendor signs its
 *   RequestSecurityToken (Issue) with its generic keystore: WS-Security
 *   BinarySecurityToken (X.509 v3 certificate issued by the sandbox LU CA) +
 *   XML-DSig over soap:Body and wsu:Timestamp (./request-signature.ts). The
 *   answer holds a SAML 2.0 bearer assertion about the vendor, signed by the
 *   STS (LU CA certificate), valid one hour for the syncexchange audience
 *   (./saml-assertion.ts).
 * - `POST /ws/soap/espinst/syncexchange` — the business service,
 *   DepositDocument (./syncexchange.ts): the assertion in the wsse:Security
 *   header, a PAdES-signed PDF for an enrolled practitioner (provider code)
 *   and optionally a patient matricule → a deposit id.
 * - `GET <either path>?wsdl` — their WSDLs (./wsdl.ts), with the message
 *   schemas (Passerelle's design: the CCSS does not publish them).
 *
 * Refusals are SOAP faults with distinct codes (./soap-faults.ts). Enrolled
 * practitioners: every Luxembourg sandbox practitioner except Sandrine
 * Wagner (601678-90) — see ./enrolment.ts and GET /sandbox.
 *
 * Sandbox-only routes (unless `testRoutes: false`): `GET /_test/deposits`
 * (what was deposited, without content), `GET /_test/deposits/{id}/content`
 * (the PDF), `DELETE /_test/deposits`, `GET /_test/tokens` (assertions
 * issued), and fault injection `POST|GET|DELETE /_test/faults` (./faults.ts).
 * `GET /.well-known/health` for liveness.
 */
import { X509Certificate } from "node:crypto";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { setTimeout as delay } from "node:timers/promises";
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { Logger } from "pino";
import type { SandboxPki } from "../../trust/pki/index.js";
import { SoftwareSigner } from "../../trust/signers/index.js";
import type { SimulatorDefinition } from "../simulator.js";
import { LU_MYSECU_SIMULATOR } from "../simulator-ids.js";
import { DepositStore, type DepositRecord } from "./deposit-store.js";
import { EnrolmentRegistry, sandboxMySecuPractitioners, type MySecuPractitioner } from "./enrolment.js";
import { InjectedFaults, parseInjectedFault, type MySecuService } from "./faults.js";
import { DEPOSIT_DOCUMENT_ACTION, WST_ISSUE_ACTION } from "./namespaces.js";
import { ReplayCache } from "./request-signature.js";
import { MYSECU_FAULT_CODES, MySecuFault } from "./soap-faults.js";
import { SOAP_CONTENT_TYPES, readSoapRequest, soapFault, type SoapRequest } from "./soap-envelope.js";
import { issueToken, type IssuedTokenSummary } from "./sts.js";
import { depositDocument } from "./syncexchange.js";
import { stsWsdl, syncExchangeWsdl } from "./wsdl.js";

export const LU_MYSECU_SIMULATOR_ID = LU_MYSECU_SIMULATOR.id;

/** Paths as in the eConnector's CCSS_URL and CCSS_SYNC_URL. */
export const LU_MYSECU_PATHS = {
  trust: "/ws/soap/trust",
  syncExchange: "/ws/soap/espinst/syncexchange",
} as const;

/** Name of the STS's assertion-signing identity in the sandbox PKI (issued by the LU CA). */
export const LU_MYSECU_STS_IDENTITY = "lu-mysecu-sts-signer";

/** RFC 9336 §3.1 id-kp-documentSigning: the assertion is a signed XML document. */
const DOCUMENT_SIGNING_EKU = "1.3.6.1.5.5.7.3.36";
const MAX_STS_REQUEST_BYTES = 256 * 1024;
const DEFAULT_MAX_DOCUMENT_BYTES = 20 * 1024 * 1024;
const MAX_KEPT_TOKENS = 1000;

export interface LuMySecuSimulatorOptions {
  /** Who mySecu knows, enrolled or not (default: the LU sandbox practitioners, all enrolled but 601678-90). */
  practitioners?: readonly MySecuPractitioner[];
  /** Lifetime of the SAML assertions (default 3600 s). */
  tokenLifetimeSeconds?: number;
  /** Clock difference tolerated with clients (default 60 s). */
  clockSkewMs?: number;
  /** Oldest accepted wsu:Created of a signed STS request (default 5 min). */
  maxRequestAgeMs?: number;
  /** Largest PDF accepted (default 20 MiB). */
  maxDocumentBytes?: number;
  /** Register the `/_test/*` routes (default true). */
  testRoutes?: boolean;
  /** The simulator's clock (tests move it). */
  now?: () => Date;
}

export function luMySecuSimulator(options: LuMySecuSimulatorOptions = {}): SimulatorDefinition {
  return {
    ...LU_MYSECU_SIMULATOR,
    async create(ctx) {
      const app = await buildLuMySecuApp({ ...options, pki: ctx.pki, logger: ctx.logger, url: ctx.url });
      const testUsers = app.mySecu.enrolment.all.map((practitioner) => ({
        id: practitioner.providerCode,
        label: `${practitioner.displayName} (${practitioner.profession}): ${practitioner.enrolled ? "enrolled on mySecu" : "NOT enrolled on mySecu, deposits are refused"}`,
        enrolled: practitioner.enrolled,
      }));
      return { app, testUsers };
    },
  };
}

export interface LuMySecuAppOptions extends LuMySecuSimulatorOptions {
  pki: SandboxPki;
  logger: Logger;
  /** The simulator's base URL (no trailing slash): endpoints, issuer and audience derive from it. */
  url: string;
}

/** What tests and the sandbox read from a running simulator. */
export interface LuMySecuState {
  enrolment: EnrolmentRegistry;
  deposits: DepositStore;
  stsCertificate: X509Certificate;
  stsUrl: string;
  syncExchangeUrl: string;
}

/** The STS's assertion-signing key and certificate (sandbox LU CA), cached with the sandbox PKI. */
export async function sandboxMySecuStsSigner(pki: SandboxPki): Promise<SoftwareSigner> {
  const identity = await pki.clientIdentity(LU_MYSECU_STS_IDENTITY, {
    country: "LU",
    subject: { C: "LU", O: "Passerelle Sandbox", OU: "mySecu", CN: "mySecu STS (sandbox)" },
    extendedKeyUsages: [DOCUMENT_SIGNING_EKU],
    keyUsages: ["digitalSignature"],
  });
  return SoftwareSigner.fromPem({ keyPem: identity.keyPem, certificatePem: [identity.certPem, ...identity.chainPem].join("") }, { id: LU_MYSECU_STS_IDENTITY });
}

export type LuMySecuApp = FastifyInstance<Server, IncomingMessage, ServerResponse, Logger> & { mySecu: LuMySecuState };

export async function buildLuMySecuApp(options: LuMySecuAppOptions): Promise<LuMySecuApp> {
  const { pki, logger } = options;
  const now = options.now ?? (() => new Date());
  const base = options.url.replace(/\/+$/, "");
  const stsUrl = `${base}${LU_MYSECU_PATHS.trust}`;
  const syncExchangeUrl = `${base}${LU_MYSECU_PATHS.syncExchange}`;
  const clockSkewMs = options.clockSkewMs ?? 60_000;
  const maxDocumentBytes = options.maxDocumentBytes ?? DEFAULT_MAX_DOCUMENT_BYTES;

  const stsSigner = await sandboxMySecuStsSigner(pki);
  const [stsCertificate] = await stsSigner.certificateChain();
  if (stsCertificate === undefined) throw new Error("unreachable: the STS signer has a certificate");
  const luCa = new X509Certificate(pki.caCertPem("LU"));
  const root = new X509Certificate(pki.rootCertPem);

  const state: LuMySecuState = {
    enrolment: new EnrolmentRegistry(options.practitioners ?? sandboxMySecuPractitioners()),
    deposits: new DepositStore(),
    stsCertificate,
    stsUrl,
    syncExchangeUrl,
  };
  const replay = new ReplayCache();
  const faults = new InjectedFaults();
  const tokens: IssuedTokenSummary[] = [];

  const app = Fastify({
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true }),
    // Base64 makes a PDF a third larger; the envelope and the assertion add a few kilobytes.
    bodyLimit: Math.ceil(maxDocumentBytes * 1.4) + 64 * 1024,
  }) as unknown as LuMySecuApp;
  app.decorate("mySecu", state);
  for (const type of ["text/xml", "application/soap+xml"]) {
    app.addContentTypeParser(type, { parseAs: "buffer" }, (_request, body, done) => done(null, body));
  }

  /** One SOAP endpoint: fault injection, envelope, action, then the operation; refusals become SOAP faults. */
  const soapEndpoint = (service: MySecuService, action: string, maxBytes: number, operation: (soap: SoapRequest) => Promise<string>) =>
    async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      const slow = faults.take("slow", service);
      if (slow !== undefined) await delay(slow.delayMs);
      if (faults.take("down", service) !== undefined) {
        const fault = soapFault("1.1", MYSECU_FAULT_CODES.serviceUnavailable, "mySecu is temporarily unavailable");
        return reply.code(503).header("content-type", fault.contentType).header("retry-after", "1").send(fault.body);
      }
      const refusal = service === "sts" ? "invalidRequest" : "badRequest";
      let soap: SoapRequest | undefined;
      try {
        if (!Buffer.isBuffer(request.body)) throw new MySecuFault(refusal, "The request must be a SOAP envelope (text/xml or application/soap+xml)");
        soap = readSoapRequest(request.body, maxBytes, refusal);
        checkAction(request, soap, action, refusal);
        const response = await operation(soap);
        return reply.code(200).header("content-type", SOAP_CONTENT_TYPES[soap.version]).send(response);
      } catch (error) {
        const fault =
          error instanceof MySecuFault
            ? error
            : new MySecuFault("internalError", "Something went wrong in mySecu (see the simulator's log)", error);
        if (fault.fault === "internalError") request.log.error({ err: error }, "mySecu request failed");
        else request.log.info({ service, fault: `${fault.code.prefix}:${fault.code.localName}`, reason: fault.message }, "mySecu refusal");
        const message = soapFault(soap?.version ?? "1.1", fault.code, fault.message);
        return reply.code(message.status).header("content-type", message.contentType).send(message.body);
      }
    };

  app.post(
    LU_MYSECU_PATHS.trust,
    soapEndpoint("sts", WST_ISSUE_ACTION, MAX_STS_REQUEST_BYTES, async (soap) => {
      const { response, token } = await issueToken(
        soap,
        {
          issuer: stsUrl,
          syncExchangeUrl,
          signer: stsSigner,
          vendorCa: luCa,
          tokenLifetimeSeconds: options.tokenLifetimeSeconds ?? 3600,
          clockSkewMs,
          maxRequestAgeMs: options.maxRequestAgeMs ?? 5 * 60_000,
          replay,
        },
        now(),
      );
      tokens.push(token);
      if (tokens.length > MAX_KEPT_TOKENS) tokens.shift();
      return response;
    }),
  );
  app.post(
    LU_MYSECU_PATHS.syncExchange,
    soapEndpoint("syncexchange", DEPOSIT_DOCUMENT_ACTION, app.initialConfig.bodyLimit ?? maxDocumentBytes * 2, async (soap) => {
      if (faults.take("reject-token", "syncexchange") !== undefined) {
        throw new MySecuFault("invalidSecurityToken", "The SAML assertion is no longer accepted (the STS was re-keyed): get a new one");
      }
      return depositDocument(
        soap,
        {
          url: syncExchangeUrl,
          stsIssuer: stsUrl,
          stsCertificate,
          signingCa: luCa,
          timestampRoot: root,
          enrolment: state.enrolment,
          store: state.deposits,
          maxDocumentBytes,
          clockSkewMs,
        },
        now,
      );
    }),
  );

  const wsdlRoute = (wsdl: string) => async (request: FastifyRequest, reply: FastifyReply) => {
    const query = request.query as Record<string, unknown>;
    if (!Object.keys(query).some((name) => name.toLowerCase() === "wsdl")) {
      return reply.code(405).header("allow", "POST").header("content-type", "text/plain; charset=utf-8").send("POST a SOAP request, or GET ?wsdl");
    }
    return reply.header("content-type", "text/xml; charset=utf-8").send(wsdl);
  };
  app.get(LU_MYSECU_PATHS.trust, wsdlRoute(stsWsdl(stsUrl)));
  app.get(LU_MYSECU_PATHS.syncExchange, wsdlRoute(syncExchangeWsdl(syncExchangeUrl)));
  app.get("/.well-known/health", async () => ({ status: "ok", simulator: LU_MYSECU_SIMULATOR_ID }));

  if (options.testRoutes !== false) {
    app.get("/_test/deposits", async () => ({ deposits: state.deposits.all.map(describeDeposit) }));
    app.get<{ Params: { id: string } }>("/_test/deposits/:id/content", async (request, reply) => {
      const deposit = state.deposits.byId(request.params.id);
      if (deposit === undefined) return reply.code(404).send({ error: "not_found", error_description: `No deposit ${request.params.id}` });
      return reply.header("content-type", "application/pdf").send(deposit.content);
    });
    app.delete("/_test/deposits", async (_request, reply) => {
      state.deposits.clear();
      return reply.code(204).send();
    });
    app.get("/_test/tokens", async () => ({ tokens: [...tokens] }));
    app.post("/_test/faults", async (request, reply) => {
      const fault = parseInjectedFault(request.body);
      if (typeof fault === "string") return reply.code(400).send({ error: "invalid_request", error_description: fault });
      faults.add(fault);
      return reply.code(201).send({ faults: faults.active });
    });
    app.get("/_test/faults", async () => ({ faults: faults.active }));
    app.delete("/_test/faults", async (_request, reply) => {
      faults.clear();
      return reply.code(204).send();
    });
  }
  return app;
}

/**
 * SOAP 1.1 §6.1.1 SOAPAction header / SOAP 1.2 Part 2 §7.1.4 `action`
 * media-type parameter: optional, but when given it must name the operation.
 */
function checkAction(request: FastifyRequest, soap: SoapRequest, expected: string, refusal: "invalidRequest" | "badRequest"): void {
  let action: string | undefined;
  if (soap.version === "1.1") {
    const header = request.headers.soapaction;
    action = typeof header === "string" ? header.trim().replace(/^"(.*)"$/, "$1") : undefined;
    if ((request.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() !== "text/xml") {
      throw new MySecuFault(refusal, "A SOAP 1.1 request is sent as text/xml");
    }
  } else {
    const contentType = request.headers["content-type"] ?? "";
    if (contentType.split(";")[0]?.trim().toLowerCase() !== "application/soap+xml") {
      throw new MySecuFault(refusal, "A SOAP 1.2 request is sent as application/soap+xml");
    }
    action = /;\s*action\s*=\s*"?([^";]*)"?/i.exec(contentType)?.[1];
  }
  if (action !== undefined && action !== "" && action !== expected) throw new MySecuFault(refusal, `Unknown action ${action} (expected ${expected})`);
}

function describeDeposit(deposit: DepositRecord): Record<string, unknown> {
  return {
    depositId: deposit.depositId,
    clientReference: deposit.clientReference,
    vendor: deposit.vendor,
    providerCode: deposit.providerCode,
    patientMatricule: deposit.patientMatricule ?? null,
    documentType: deposit.documentType ?? null,
    title: deposit.title ?? null,
    fileName: deposit.fileName ?? null,
    documentSha256: deposit.documentSha256,
    size: deposit.size,
    signerSubject: deposit.signerSubject,
    receivedAt: deposit.receivedAt.toISOString(),
  };
}
