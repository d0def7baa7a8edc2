/**
 * The client of the Luxembourg remote signature service (KMS) the CNS
 * eConnector uses: `sign-data`, `get-certificate` and `sign-timestamp`,
 * each at its own URL (`KMS_SIGN_URL`, `KMS_GET_CERTIFICATE_URL`,
 * `KMS_TIMESTAMP_URL`), over mutual TLS with the vendor's "generic keystore"
 * as client identity, each call carrying the practitioner's AeS access token
 * (RFC 6750 §2.1). The JSON shapes are those of the sandbox simulator,
 * documented in src/sandbox/lu-kms/simulator.ts.
 *
 * Every call goes through the gateway transport (`UpstreamClient`, one per
 * origin of the three URLs): timeouts, retries, circuit breaker, metrics,
 * and the 502/503/504 `UpstreamError` naming the upstream when the KMS is
 * down, slow or answers badly. All three operations are retried on
 * transient failures: signing a hash with RSASSA-PKCS1-v1_5 is a
 * deterministic function of the key and the hash (a repeated call yields
 * the same signature and changes nothing), and so is reading the
 * certificate; a repeated time-stamp request yields another token for the
 * same imprint, of which only the one received is used.
 *
 * This class checks the answers' shape only. Trust — the certificate chain,
 * the signature against the certificate, the time-stamp token — is
 * `KmsSigner`'s and `KmsTimestampAuthority`'s.
 *
 * @example
 * ```ts
 * const kms = await KmsClient.create({
 *   endpoints: { signData: env.KMS_SIGN_URL, getCertificate: env.KMS_GET_CERTIFICATE_URL, signTimestamp: env.KMS_TIMESTAMP_URL },
 *   clientIdentity: { pkcs12: await readFile(env.GENERIC_KEYSTORE_FILE), password: env.GENERIC_KEYSTORE_PWD },
 *   metrics,
 * });
 * const { certificate, chain } = await kms.getCertificate(accessToken);
 * ```
 */
import { X509Certificate } from "node:crypto";
import type { GatewayMetrics } from "../../../observability/metrics.js";
import { AccessTokenRejectedError } from "../../../protocols/oidc/index.js";
import {
  UpstreamClient,
  UpstreamError,
  type UpstreamBreakerOptions,
  type UpstreamResponse,
  type UpstreamRetryOptions,
  type UpstreamTlsOptions,
} from "../../../transport/index.js";
import { toNodeCertificate, type CertificateInput } from "../../../trust/certificates/index.js";
import { loadPemIdentity, loadPkcs12, type KeyStoreEntry } from "../../../trust/signers/index.js";
import { kmsForbidden, kmsTokenRejected, safeKmsErrorCode } from "./errors.js";

/** The three operations' full URLs, as the eConnector's settings give them. */
export interface KmsEndpoints {
  /** `KMS_SIGN_URL`, e.g. `https://hoki-tsu-kms.incert.lu/api/v3/sign-data`. */
  signData: string;
  /** `KMS_GET_CERTIFICATE_URL`. */
  getCertificate: string;
  /** `KMS_TIMESTAMP_URL`. */
  signTimestamp: string;
}

/** The vendor's generic keystore: a PKCS#12 file (`GENERIC_KEYSTORE_FILE` / `_PWD`), or PEM. */
export type KmsClientIdentity =
  | { pkcs12: Uint8Array; password: string; alias?: string }
  | { keyPem: string | Buffer; certificatePem: string | Buffer; password?: string };

export interface KmsTransportOptions {
  endpoints: KmsEndpoints;
  /** Upstream name in errors, logs and metrics (default `lu-kms`). */
  name?: string;
  metrics?: GatewayMetrics;
  /** Per attempt (default 10 000 ms: a signature must not hold a request for the transport's 30 s default). */
  timeoutMs?: number;
  connectTimeoutMs?: number;
  retry?: UpstreamRetryOptions;
  breaker?: UpstreamBreakerOptions;
}

export interface KmsClientOptions extends KmsTransportOptions {
  clientIdentity: KmsClientIdentity;
  /** Anchors for the KMS's TLS server certificate; default Node's bundled public roots. */
  serverTrust?: readonly CertificateInput[];
}

export const KMS_HASH_ALGORITHMS = ["SHA-256", "SHA-384", "SHA-512"] as const;
export type KmsHashAlgorithm = (typeof KMS_HASH_ALGORITHMS)[number];
export type KmsSignatureAlgorithm = "RSASSA-PKCS1-v1_5";

export interface KmsSignDataRequest {
  /** The digest to sign (the KMS wraps it in a DigestInfo, RFC 8017 §9.2). */
  hash: Uint8Array;
  hashAlgorithm: KmsHashAlgorithm;
  /** Default RSASSA-PKCS1-v1_5, the only one the service is known to offer. */
  signatureAlgorithm?: KmsSignatureAlgorithm;
}

/** What get-certificate answers, parsed but not yet trusted. */
export interface KmsCertificateAnswer {
  certificate: X509Certificate;
  /** The CAs the KMS sent with it, in its order. */
  chain: X509Certificate[];
}

export interface KmsCallOptions {
  signal?: AbortSignal;
}

const DEFAULT_NAME = "lu-kms";
const DEFAULT_TIMEOUT_MS = 10_000;
/** Certificates, signatures and time-stamp replies are small. */
const MAX_RESPONSE_BYTES = 1024 * 1024;
const HASH_LENGTH: Readonly<Record<KmsHashAlgorithm, number>> = { "SHA-256": 32, "SHA-384": 48, "SHA-512": 64 };
const TIMESTAMP_QUERY = "application/timestamp-query";
const TIMESTAMP_REPLY = "application/timestamp-reply";
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** RFC 6750 §2.1 b64token. */
const BEARER_TOKEN = /^[A-Za-z0-9._~+/-]+=*$/;
const MAX_TOKEN_LENGTH = 16 * 1024;

interface Endpoint {
  upstream: UpstreamClient;
  path: string;
}

export class KmsClient {
  /** The upstream name (`lu-kms`). */
  readonly name: string;
  readonly #upstreams: UpstreamClient[];
  readonly #signData: Endpoint;
  readonly #getCertificate: Endpoint;
  readonly #signTimestamp: Endpoint;

  /**
   * Loads the client identity (PKCS#12 in JavaScript, so Java keystores with
   * legacy encryption work too) and builds the client. Rejects with
   * `PASSERELLE_KEYSTORE_INVALID` / `_PASSWORD_INCORRECT` for an unusable keystore.
   */
  static async create(options: KmsClientOptions): Promise<KmsClient> {
    if (options === null || typeof options !== "object") throw new TypeError("KmsClient.create needs options");
    const entry = await loadClientIdentity(options.clientIdentity);
    const { clientIdentity: _identity, serverTrust, ...transport } = options;
    return new KmsClient({ ...transport, tls: kmsTlsOptions(entry, serverTrust) });
  }

  /** From TLS options already in transport form (PEM client identity and anchors). */
  constructor(options: KmsTransportOptions & { tls: UpstreamTlsOptions }) {
    if (options === null || typeof options !== "object") throw new TypeError("KmsClient needs options");
    const { endpoints } = options;
    if (endpoints === null || typeof endpoints !== "object") throw new TypeError("KmsClient needs endpoints { signData, getCertificate, signTimestamp }");
    this.name = options.name ?? DEFAULT_NAME;
    const byOrigin = new Map<string, UpstreamClient>();
    const endpointOf = (label: keyof KmsEndpoints): Endpoint => {
      let url: URL;
      try {
        url = new URL(endpoints[label]);
      } catch {
        throw new TypeError(`endpoints.${label} must be an absolute URL`);
      }
      // Mutual TLS is the KMS's client authentication: plain HTTP cannot carry it.
      if (url.protocol !== "https:") throw new TypeError(`endpoints.${label} must be an https URL`);
      if (url.search !== "" || url.hash !== "") throw new TypeError(`endpoints.${label} must have no query or fragment`);
      let upstream = byOrigin.get(url.origin);
      if (upstream === undefined) {
        upstream = new UpstreamClient({
          name: this.name,
          baseUrl: url.origin,
          tls: options.tls,
          timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
          maxResponseBytes: MAX_RESPONSE_BYTES,
          ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }),
          ...(options.retry === undefined ? {} : { retry: options.retry }),
          ...(options.breaker === undefined ? {} : { breaker: options.breaker }),
          ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
        });
        byOrigin.set(url.origin, upstream);
      }
      return { upstream, path: url.pathname };
    };
    this.#signData = endpointOf("signData");
    this.#getCertificate = endpointOf("getCertificate");
    this.#signTimestamp = endpointOf("signTimestamp");
    this.#upstreams = [...byOrigin.values()];
  }

  /** Signs `request.hash` with the practitioner's key; resolves with the raw RSA signature (not yet verified). */
  async signData(accessToken: string, request: KmsSignDataRequest, options: KmsCallOptions = {}): Promise<Buffer> {
    assertAccessToken(accessToken);
    if (request === null || typeof request !== "object") throw new TypeError("signData needs { hash, hashAlgorithm }");
    if (!(KMS_HASH_ALGORITHMS as readonly string[]).includes(request.hashAlgorithm)) {
      throw new TypeError(`hashAlgorithm must be one of ${KMS_HASH_ALGORITHMS.join(", ")}`);
    }
    if (!(request.hash instanceof Uint8Array) || request.hash.length !== HASH_LENGTH[request.hashAlgorithm]) {
      throw new TypeError(`hash must be the ${HASH_LENGTH[request.hashAlgorithm]}-byte ${request.hashAlgorithm} digest`);
    }
    const signatureAlgorithm = request.signatureAlgorithm ?? "RSASSA-PKCS1-v1_5";
    if (signatureAlgorithm !== "RSASSA-PKCS1-v1_5") throw new TypeError("signatureAlgorithm must be RSASSA-PKCS1-v1_5");
    const answer = await this.#call(this.#signData, accessToken, options, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ hash: Buffer.from(request.hash).toString("base64"), hashAlgorithm: request.hashAlgorithm, signatureAlgorithm }),
    });
    const body = this.#jsonObject(answer);
    const signature = this.#base64(answer, body.signature, "signature");
    if (signature.length === 0) throw this.#badResponse(answer, "an empty signature");
    return signature;
  }

  /** The practitioner's signing certificate and the CAs the KMS sends with it (parsed, not yet trusted). */
  async getCertificate(accessToken: string, options: KmsCallOptions = {}): Promise<KmsCertificateAnswer> {
    assertAccessToken(accessToken);
    const answer = await this.#call(this.#getCertificate, accessToken, options, { method: "GET", headers: { accept: "application/json" } });
    const body = this.#jsonObject(answer);
    const certificate = this.#certificate(answer, body.certificate, "certificate");
    const chain = body.chain === undefined ? [] : body.chain;
    if (!Array.isArray(chain) || chain.length > 10) throw this.#badResponse(answer, "a chain that is not an array of certificates");
    return { certificate, chain: chain.map((entry, index) => this.#certificate(answer, entry, `chain[${index}]`)) };
  }

  /**
   * Sends a DER TimeStampReq (RFC 3161 §3.4) and resolves with the DER
   * TimeStampResp as received; its verification is the caller's (see
   * `KmsTimestampAuthority`).
   */
  async signTimestamp(accessToken: string, timestampQuery: Uint8Array, options: KmsCallOptions = {}): Promise<Buffer> {
    assertAccessToken(accessToken);
    if (!(timestampQuery instanceof Uint8Array) || timestampQuery.length === 0) throw new TypeError("timestampQuery must be the DER TimeStampReq");
    const answer = await this.#call(this.#signTimestamp, accessToken, options, {
      method: "POST",
      headers: { "content-type": TIMESTAMP_QUERY, accept: TIMESTAMP_REPLY },
      body: timestampQuery,
    });
    const mediaType = mediaTypeOf(answer.headers["content-type"]);
    if (mediaType !== TIMESTAMP_REPLY) throw this.#badResponse(answer, `${mediaType ?? "no content type"}, not ${TIMESTAMP_REPLY}`);
    return answer.body;
  }

  /**
   * Readiness: whether every origin the endpoints name answers over mutual
   * TLS (any HTTP status counts; see UpstreamClient.ping). Never throws.
   */
  async ping(): Promise<{ ok: boolean; latencyMs: number; detail?: string }> {
    const results = await Promise.all(this.#upstreams.map((upstream) => upstream.ping()));
    const failed = results.find((result) => !result.ok);
    const latencyMs = Math.max(0, ...results.map((result) => result.latencyMs));
    return failed === undefined ? { ok: true, latencyMs, ...(results[0]?.detail === undefined ? {} : { detail: results[0].detail }) } : { ...failed, latencyMs };
  }

  /** Closes the connection pools. */
  async close(): Promise<void> {
    await Promise.allSettled(this.#upstreams.map((upstream) => upstream.close()));
  }

  async #call(
    endpoint: Endpoint,
    accessToken: string,
    options: KmsCallOptions,
    request: { method: string; headers: Record<string, string>; body?: string | Uint8Array },
  ): Promise<UpstreamResponse> {
    const answer = await endpoint.upstream.request({
      ...request,
      path: endpoint.path,
      headers: { ...request.headers, authorization: `Bearer ${accessToken}` },
      idempotent: true,
      // 401/403 are answers about the practitioner, handled below; other statuses are the transport's errors.
      expectStatus: (status) => (status >= 200 && status < 300) || status === 401 || status === 403,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    if (answer.status === 401) throw kmsTokenRejected(this.name, errorCodeOf(answer));
    if (answer.status === 403) {
      const code = errorCodeOf(answer);
      if (code === "unauthorized_client") {
        // The vendor's certificate, not the practitioner: a configuration problem of this gateway.
        throw new UpstreamError({
          upstream: this.name,
          kind: "bad_status",
          detail: `Upstream ${this.name} refused the gateway's client certificate (generic keystore)`,
          upstreamStatus: 403,
          upstreamBody: answer.body,
        });
      }
      throw kmsForbidden(this.name, code);
    }
    return answer;
  }

  #jsonObject(answer: UpstreamResponse): Record<string, unknown> {
    const body = answer.json<unknown>();
    if (body === null || typeof body !== "object" || Array.isArray(body)) throw this.#badResponse(answer, "JSON that is not an object");
    return body as Record<string, unknown>;
  }

  #base64(answer: UpstreamResponse, value: unknown, member: string): Buffer {
    if (typeof value !== "string" || !BASE64.test(value)) throw this.#badResponse(answer, `no base64 "${member}"`);
    return Buffer.from(value, "base64");
  }

  #certificate(answer: UpstreamResponse, value: unknown, member: string): X509Certificate {
    const der = this.#base64(answer, value, member);
    try {
      return new X509Certificate(der);
    } catch {
      throw this.#badResponse(answer, `a "${member}" that is not a DER certificate`);
    }
  }

  #badResponse(answer: UpstreamResponse, what: string): UpstreamError {
    return new UpstreamError({
      upstream: this.name,
      kind: "bad_response",
      detail: `Upstream ${this.name} answered with ${what}`,
      upstreamStatus: answer.status,
      upstreamBody: answer.body,
    });
  }
}

/** The generic keystore as a key store entry (its key, certificate and issuers). */
export async function loadClientIdentity(identity: KmsClientIdentity): Promise<KeyStoreEntry> {
  if (identity === null || typeof identity !== "object") throw new TypeError("clientIdentity must be { pkcs12, password } or { keyPem, certificatePem }");
  if ("pkcs12" in identity) {
    return loadPkcs12(identity.pkcs12, identity.password, identity.alias === undefined ? {} : { alias: identity.alias });
  }
  return loadPemIdentity(identity);
}

/**
 * TLS options for the KMS: the client certificate and its issuers (RFC 8446
 * §4.4.2: the chain up to, not including, the root), the key, and the
 * server's anchors.
 */
export function kmsTlsOptions(entry: KeyStoreEntry, serverTrust?: readonly CertificateInput[]): UpstreamTlsOptions {
  const certificates = [entry.certificate, ...entry.chain];
  return {
    cert: certificates.map((certificate) => certificate.toString()).join(""),
    key: entry.privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
    ...(serverTrust === undefined ? {} : { ca: serverTrust.map((anchor) => toNodeCertificate(anchor).toString()) }),
  };
}

function assertAccessToken(token: unknown): asserts token is string {
  if (typeof token !== "string") throw new TypeError("accessToken must be a string");
  // The token comes from the gateway's caller: a malformed one (or a header injection attempt) is bad input, not a bug.
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH || !BEARER_TOKEN.test(token)) {
    throw new AccessTokenRejectedError("malformed", "The access token is not an RFC 6750 bearer token");
  }
}

function errorCodeOf(answer: UpstreamResponse): string | undefined {
  try {
    const body = JSON.parse(answer.body.toString("utf8")) as unknown;
    return body !== null && typeof body === "object" ? safeKmsErrorCode((body as Record<string, unknown>).error) : undefined;
  } catch {
    return undefined;
  }
}

function mediaTypeOf(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  return value?.split(";")[0]?.trim().toLowerCase();
}
