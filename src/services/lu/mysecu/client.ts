/**
 * The mySecu client: deposits a signed PDF for a practitioner, the way the
 * CNS eConnector does (settings `CCSS_URL`, `CCSS_SYNC_URL`,
 * `GENERIC_KEYSTORE_FILE`):
 *
 * 1. a WS-Trust 1.3 Issue request to the STS (`stsUrl`), signed with the
 *    vendor's generic keystore (WS-Security X.509 token + XML-DSig), gets a
 *    SAML 2.0 bearer token for the syncexchange service — cached in process
 *    until shortly before it expires, one STS call shared by concurrent deposits;
 * 2. a SOAP DepositDocument to the syncexchange service (`syncUrl`) with that
 *    token in the wsse:Security header. A token the service refuses is renewed
 *    once.
 *
 * **Idempotency.** Every deposit carries the caller's idempotency key. It is
 * claimed in the vault (compare-and-set, ./idempotency.ts), so across gateway
 * instances a retry returns the first deposit's result instead of depositing
 * twice, and a concurrent duplicate waits for it (or gets a 409). The key also
 * determines the deposit's ClientReference, on which mySecu itself
 * deduplicates: that is what makes it safe for the transport to retry the
 * deposit POST, and for an instance to take over a claim whose owner died.
 *
 * @example
 * ```ts
 * const mySecu = new MySecuClient({ stsUrl: env.CCSS_URL, syncUrl: env.CCSS_SYNC_URL, signer: genericKeystore, vault });
 * const deposit = await mySecu.deposit({ pdf, providerCode: "101234-56", idempotencyKey: "b6f2…" });
 * deposit.depositId; // "MS-…"
 * await mySecu.close();
 * ```
 */
import { createHash } from "node:crypto";
import type { Logger } from "pino";
import { badRequest, type InvalidParam } from "../../../errors/index.js";
import type { GatewayMetrics } from "../../../observability/metrics.js";
import {
  UpstreamClient,
  type UpstreamBreakerOptions,
  type UpstreamPingResult,
  type UpstreamResponse,
  type UpstreamRetryOptions,
  type UpstreamTlsOptions,
} from "../../../transport/index.js";
import type { Signer } from "../../../trust/signer.js";
import type { Vault } from "../../../vault/index.js";
import type { DepositReceipt } from "./deposit-message.js";
import { TOKEN_REFUSAL_FAULTS, depositFaultError, stsFaultError } from "./errors.js";
import { IdempotentRunner } from "./idempotency.js";
import { DEPOSIT_DOCUMENT_ACTION, WST_ISSUE_ACTION } from "./namespaces.js";
import { loadMessages } from "./messages.js";
import { MYSECU_UPSTREAM, soapRequestHeaders, type SoapVersion } from "./soap-http.js";
import type { MySecuTokenTrust, SamlToken } from "./sts-request.js";
import { SamlTokenCache } from "./token-cache.js";

export interface MySecuIdempotencyOptions {
  /** How long a deposit's result is answered again for its key, in seconds. Default 24 h. */
  ttlSeconds?: number;
  /** How long a deposit in progress holds its key before another instance may take it over. Default: long enough for every transport attempt. */
  leaseMs?: number;
  /** How long a concurrent duplicate waits for the first deposit's result before a 409. Default 10 s. */
  waitMs?: number;
  /** Default 100 ms. */
  pollIntervalMs?: number;
}

export interface MySecuClientOptions {
  /** The STS endpoint (`CCSS_URL`); a `?wsdl` query is ignored. */
  stsUrl: string;
  /** The syncexchange endpoint (`CCSS_SYNC_URL`). */
  syncUrl: string;
  /** The vendor's generic keystore: signs the STS requests, its certificate goes in them. */
  signer: Signer;
  /** Where idempotency keys are claimed and results kept (shared by gateway instances). */
  vault: Vault;
  /** wsp:AppliesTo of the token request. Default `syncUrl` without query. */
  audience?: string;
  /** Default "1.1". */
  soapVersion?: SoapVersion;
  /** Trust anchors of mySecu's TLS certificate (and a client identity, if ever required). */
  tls?: UpstreamTlsOptions;
  connectTimeoutMs?: number;
  /** Per attempt. Default 30 s. */
  timeoutMs?: number;
  /** Transport retries of the deposit (safe: mySecu deduplicates on ClientReference). The STS request is sent once. */
  retry?: UpstreamRetryOptions;
  breaker?: UpstreamBreakerOptions;
  metrics?: GatewayMetrics;
  /**
   * Anchors for the STS's assertion-signing certificate. When given, the
   * assertion's signature is verified and its signed NotOnOrAfter drives the
   * cache; otherwise the assertion is passed on as an opaque token and the
   * response's wst:Lifetime is used.
   */
  tokenTrust?: MySecuTokenTrust;
  /** Renew the token this long before it expires. Default 5 min (at most half its life). */
  tokenRefreshMarginMs?: number;
  /** wsu:Timestamp lifetime of the messages sent. Default 300 s. */
  messageTtlSeconds?: number;
  idempotency?: MySecuIdempotencyOptions;
  /** Largest PDF accepted. Default 20 MiB. */
  maxDocumentBytes?: number;
  now?: () => Date;
  logger?: Logger;
}

export interface MySecuDepositRequest {
  /** The signed PDF (PAdES). */
  pdf: Uint8Array;
  /** The practitioner's CNS provider code, e.g. `101234-56` (the AeS token's `provider_code`). */
  providerCode: string;
  /** The caller's key: a retry with the same key never deposits twice. */
  idempotencyKey: string;
  /** Scopes the key (the calling software's id): two callers' keys never collide. */
  callerId?: string;
  /** The patient's national identification number (13 digits), if the document is about one. */
  patientMatricule?: string;
  /** CNS document type, e.g. `ECIT` (upper-case letters, digits, `_`). */
  documentType?: string;
  title?: string;
  fileName?: string;
}

export interface MySecuDeposit {
  depositId: string;
  status: "ACCEPTED";
  /** ISO 8601, as mySecu stated it. */
  receivedAt: string;
  providerCode: string;
  /** SHA-256 of the deposited PDF, lower-case hex, acknowledged by mySecu. */
  documentSha256: string;
  /** The reference mySecu deduplicates on (derived from the idempotency key). */
  clientReference: string;
  /** True when this is the stored result of an earlier request with the same key. */
  replayed: boolean;
}

const PROVIDER_CODE = /^[0-9]{6}-[0-9]{2}$/;
const MATRICULE = /^[0-9]{13}$/;
const DOCUMENT_TYPE = /^[A-Z0-9_]{1,32}$/;
/** draft-ietf-httpapi-idempotency-key-header: a string; we take printable ASCII, as HTTP header values are. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
const SOAP_FAULT_STATUSES = new Set([200, 400, 500]);
const MAX_RESPONSE_BYTES = 1024 * 1024;

interface Endpoint {
  upstream: UpstreamClient;
  path: string;
}

export class MySecuClient {
  readonly #signer: Signer;
  readonly #version: SoapVersion;
  readonly #audience: string;
  readonly #sts: Endpoint;
  readonly #sync: Endpoint;
  readonly #upstreams: UpstreamClient[];
  readonly #tokens: SamlTokenCache;
  readonly #idempotency: IdempotentRunner;
  readonly #tokenTrust: MySecuTokenTrust | undefined;
  readonly #messageTtlSeconds: number;
  readonly #maxDocumentBytes: number;
  readonly #now: () => Date;
  readonly #logger: Logger | undefined;

  constructor(options: MySecuClientOptions) {
    if (options === null || typeof options !== "object") throw new TypeError("MySecuClient needs options");
    const signer = options.signer;
    if (signer === null || typeof signer !== "object" || typeof signer.sign !== "function" || typeof signer.certificateChain !== "function") {
      throw new TypeError("MySecuClient: signer must be a Signer (the generic keystore)");
    }
    if (options.vault === null || typeof options.vault !== "object" || typeof options.vault.compareAndSet !== "function") {
      throw new TypeError("MySecuClient: vault must be a Vault");
    }
    const version = options.soapVersion ?? "1.1";
    if (version !== "1.1" && version !== "1.2") throw new TypeError('MySecuClient: soapVersion must be "1.1" or "1.2"');
    const stsUrl = endpointUrl(options.stsUrl, "stsUrl");
    const syncUrl = endpointUrl(options.syncUrl, "syncUrl");
    this.#signer = signer;
    this.#version = version;
    this.#audience = options.audience ?? syncUrl.href;
    this.#tokenTrust = options.tokenTrust;
    this.#messageTtlSeconds = options.messageTtlSeconds ?? 300;
    this.#maxDocumentBytes = options.maxDocumentBytes ?? 20 * 1024 * 1024;
    this.#now = options.now ?? (() => new Date());
    this.#logger = options.logger;

    // One pool per origin: the STS and syncexchange usually share one (ws.mysecu.lu).
    const byOrigin = new Map<string, UpstreamClient>();
    const endpoint = (url: URL): Endpoint => {
      let upstream = byOrigin.get(url.origin);
      if (upstream === undefined) {
        upstream = new UpstreamClient({
          name: MYSECU_UPSTREAM,
          baseUrl: url.origin,
          ...(options.tls === undefined ? {} : { tls: options.tls }),
          ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }),
          ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
          ...(options.retry === undefined ? {} : { retry: options.retry }),
          ...(options.breaker === undefined ? {} : { breaker: options.breaker }),
          ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
          maxResponseBytes: MAX_RESPONSE_BYTES,
        });
        byOrigin.set(url.origin, upstream);
      }
      return { upstream, path: url.pathname };
    };
    this.#sts = endpoint(stsUrl);
    this.#sync = endpoint(syncUrl);
    this.#upstreams = [...byOrigin.values()];

    this.#tokens = new SamlTokenCache({
      issue: () => this.#issueToken(),
      refreshMarginMs: options.tokenRefreshMarginMs ?? 5 * 60_000,
      now: () => this.#now().getTime(),
    });
    const attempts = options.retry?.maxAttempts ?? 3;
    this.#idempotency = new IdempotentRunner({
      vault: options.vault,
      namespace: "lu-mysecu:deposit",
      ttlSeconds: options.idempotency?.ttlSeconds ?? 24 * 3600,
      // Every transport attempt of the deposit plus the STS call, with room to spare.
      leaseMs: options.idempotency?.leaseMs ?? (options.timeoutMs ?? 30_000) * (attempts + 1) + 30_000,
      waitMs: options.idempotency?.waitMs ?? 10_000,
      pollIntervalMs: options.idempotency?.pollIntervalMs ?? 100,
      now: () => this.#now().getTime(),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
    });
  }

  /**
   * Deposits `request.pdf` on mySecu for the practitioner, once per
   * idempotency key.
   *
   * @throws PasserelleError `PASSERELLE_VALIDATION` (a malformed field),
   *   `PASSERELLE_MYSECU_NOT_ENROLLED`, `PASSERELLE_MYSECU_DEPOSIT_REFUSED`,
   *   `PASSERELLE_IDEMPOTENCY_KEY_REUSED`, `PASSERELLE_CONFLICT` (the same
   *   key is still in progress), `PASSERELLE_MYSECU_STS_REFUSED`,
   *   `PASSERELLE_MYSECU_FAULT`, or an UpstreamError (502/503/504 naming lu-mysecu).
   * @throws TypeError when `request` does not have the documented shape.
   */
  async deposit(request: MySecuDepositRequest): Promise<MySecuDeposit> {
    this.#validate(request);
    const documentSha256 = createHash("sha256").update(request.pdf).digest("hex");
    const fingerprint = createHash("sha256")
      .update(JSON.stringify([request.providerCode, request.patientMatricule ?? null, request.documentType ?? null, request.title ?? null, request.fileName ?? null, documentSha256]))
      .digest("hex");
    const scope = request.callerId ?? "";
    const clientReference = clientReferenceFor(scope, request.idempotencyKey);
    const { result, replayed } = await this.#idempotency.run(scope, request.idempotencyKey, fingerprint, async (): Promise<Omit<MySecuDeposit, "replayed">> => {
      const receipt = await this.#depositWithToken({ ...request, clientReference, documentSha256 });
      this.#logger?.info({ upstream: MYSECU_UPSTREAM, depositId: receipt.depositId, providerCode: request.providerCode }, "document deposited on mySecu");
      return {
        depositId: receipt.depositId,
        status: receipt.status,
        receivedAt: receipt.receivedAt.toISOString(),
        providerCode: request.providerCode,
        documentSha256,
        clientReference,
      };
    });
    return { ...result, replayed };
  }

  /** The vendor's current SAML token (obtained from the STS if none is cached or it is about to expire). */
  token(): Promise<SamlToken> {
    return this.#tokens.get();
  }

  /** Reachability of mySecu (each origin), for readiness checks; never throws. */
  async ping(): Promise<UpstreamPingResult> {
    const results = await Promise.all(this.#upstreams.map((upstream) => upstream.ping()));
    const failed = results.find((result) => !result.ok);
    return failed ?? { ok: true, latencyMs: Math.max(...results.map((result) => result.latencyMs)), detail: results.map((r) => r.detail).join(", ") };
  }

  /** Closes the connection pools. */
  async close(): Promise<void> {
    await Promise.all(this.#upstreams.map((upstream) => upstream.close()));
  }

  async #issueToken(): Promise<SamlToken> {
    const { buildIssueRequest, parseXml, readIssueResponse, readSoapAnswer, signSoapRequest } = await loadMessages();
    const now = this.#now();
    const signed = await signSoapRequest(parseXml(buildIssueRequest(this.#version, this.#audience)), {
      signer: this.#signer,
      version: this.#version,
      now,
      ttlSeconds: this.#messageTtlSeconds,
    });
    // Sent once: a repeat of the same signed message would be refused as a replay, and a deposit retried by its caller signs anew.
    const response = await this.#post(this.#sts, WST_ISSUE_ACTION, signed, false);
    const answer = readSoapAnswer(response.body, this.#version, response.status, MAX_RESPONSE_BYTES);
    if (answer.kind === "fault") {
      this.#logger?.warn({ upstream: MYSECU_UPSTREAM, faultCode: answer.fault.code, reason: answer.fault.reason }, "mySecu STS refused to issue a token");
      throw stsFaultError(answer.fault);
    }
    const token = await readIssueResponse(answer.payload, { appliesTo: this.#audience, trust: this.#tokenTrust, now, status: response.status });
    this.#logger?.debug({ upstream: MYSECU_UPSTREAM, expiresAt: token.expiresAt.toISOString(), verified: token.verified }, "mySecu token issued");
    return token;
  }

  async #depositWithToken(message: MySecuDepositRequest & { clientReference: string; documentSha256: string }): Promise<DepositReceipt> {
    const { buildDepositRequest, readDepositResponse, readSoapAnswer } = await loadMessages();
    for (let attempt = 1; ; attempt += 1) {
      const token = await this.#tokens.get();
      const body = buildDepositRequest(
        this.#version,
        token.assertionXml,
        {
          clientReference: message.clientReference,
          providerCode: message.providerCode,
          patientMatricule: message.patientMatricule,
          documentType: message.documentType,
          title: message.title,
          fileName: message.fileName,
          pdf: message.pdf,
        },
        this.#now(),
        this.#messageTtlSeconds,
      );
      const response = await this.#post(this.#sync, DEPOSIT_DOCUMENT_ACTION, body, true);
      const answer = readSoapAnswer(response.body, this.#version, response.status, MAX_RESPONSE_BYTES);
      if (answer.kind === "payload") return readDepositResponse(answer.payload, message, response.status);
      const fault = answer.fault;
      this.#logger?.info({ upstream: MYSECU_UPSTREAM, faultCode: fault.code, reason: fault.reason }, "mySecu refused a deposit");
      if (attempt === 1 && TOKEN_REFUSAL_FAULTS.has(fault.code)) {
        // The token expired early or the STS was re-keyed: a new one, and the same (deduplicated) deposit again.
        this.#tokens.invalidate(token);
        continue;
      }
      throw depositFaultError(fault, message.providerCode);
    }
  }

  #post(endpoint: Endpoint, action: string, body: string, idempotent: boolean): Promise<UpstreamResponse> {
    return endpoint.upstream.request({
      method: "POST",
      path: endpoint.path,
      headers: soapRequestHeaders(this.#version, action),
      body,
      idempotent,
      // SOAP faults come as 500 (1.1) or 400/500 (1.2) and are read as such; a 503 stays "unavailable".
      expectStatus: (status) => SOAP_FAULT_STATUSES.has(status),
    });
  }

  #validate(request: MySecuDepositRequest): void {
    if (request === null || typeof request !== "object") throw new TypeError("deposit needs a request object");
    if (!(request.pdf instanceof Uint8Array)) throw new TypeError("deposit: pdf must be a Buffer or Uint8Array");
    for (const name of ["providerCode", "idempotencyKey"] as const) {
      if (typeof request[name] !== "string") throw new TypeError(`deposit: ${name} must be a string`);
    }
    for (const name of ["callerId", "patientMatricule", "documentType", "title", "fileName"] as const) {
      if (request[name] !== undefined && typeof request[name] !== "string") throw new TypeError(`deposit: ${name} must be a string when given`);
    }
    const problems: InvalidParam[] = [];
    const problem = (pointer: string, detail: string): void => {
      problems.push({ in: pointer === "/idempotencyKey" ? "header" : "body", pointer, detail });
    };
    if (request.pdf.byteLength === 0) problem("/pdf", "the document is empty");
    if (request.pdf.byteLength > this.#maxDocumentBytes) problem("/pdf", `the document exceeds ${this.#maxDocumentBytes} bytes`);
    if (!PROVIDER_CODE.test(request.providerCode)) problem("/providerCode", "must be a CNS provider code: six digits, '-', two digits");
    if (!IDEMPOTENCY_KEY.test(request.idempotencyKey)) problem("/idempotencyKey", "must be 1 to 255 printable ASCII characters");
    if (request.patientMatricule !== undefined && !MATRICULE.test(request.patientMatricule)) problem("/patientMatricule", "must be 13 digits");
    if (request.documentType !== undefined && !DOCUMENT_TYPE.test(request.documentType)) problem("/documentType", "must be 1 to 32 upper-case letters, digits or '_'");
    for (const name of ["title", "fileName"] as const) {
      const value = request[name];
      if (value !== undefined && (value.length > 256 || !isXmlText(value))) {
        problem(`/${name}`, "must be at most 256 characters, without control characters");
      }
    }
    if (problems.length > 0) throw badRequest(`Invalid mySecu deposit: ${problems.map((p) => `${p.pointer.slice(1)} ${p.detail}`).join("; ")}`, problems);
  }
}

/** XML 1.0 §2.2 Char: what an element may hold (tab, line feed, carriage return, and no other control character). */
function isXmlText(value: string): boolean {
  for (const character of value) {
    const code = character.codePointAt(0) as number;
    if ((code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) || code === 0xfffe || code === 0xffff) return false;
  }
  return true;
}

/** The endpoint URL without query (`CCSS_URL` is documented with `?wsdl`) or fragment. */
function endpointUrl(value: string, name: string): URL {
  if (typeof value !== "string") throw new TypeError(`MySecuClient: ${name} must be a URL`);
  let url: URL;
  try {
    url = new URL(value);
  } catch (error) {
    throw new TypeError(`MySecuClient: ${name} is not a URL`, { cause: error });
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new TypeError(`MySecuClient: ${name} must be http(s)`);
  url.search = "";
  url.hash = "";
  return url;
}

/**
 * The deposit's ClientReference: a name-based UUID (RFC 9562 §5.8, version 8
 * over SHA-256) of the scope and the idempotency key, so every retry of one
 * deposit, from any gateway instance, carries the same reference.
 */
export function clientReferenceFor(scope: string, idempotencyKey: string): string {
  const hash = createHash("sha256").update(`passerelle:lu-mysecu:deposit\u0000${scope}\u0000${idempotencyKey}`).digest();
  hash[6] = ((hash[6] as number) & 0x0f) | 0x80;
  hash[8] = ((hash[8] as number) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString("hex");
  return `urn:uuid:${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
