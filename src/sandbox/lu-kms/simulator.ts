/**
 * `lu-kms`: a simulator of the Luxembourg remote signature service the CNS
 * eConnector calls (production `https://hoki-tsu-kms.incert.lu/api/v3/...`,
 * settings `KMS_SIGN_URL`, `KMS_GET_CERTIFICATE_URL`, `KMS_TIMESTAMP_URL`).
 *
 * The real service's JSON is not public; this is the documented shape the
 * sandbox and Passerelle's client (src/services/lu/kms) agree on.
 *
 * **Who may call.** Mutual TLS: the vendor presents its "generic keystore"
 * certificate — a client certificate issued by the sandbox LU CA whose
 * subject has `OU=eConnector generic keystore` (see
 * ./econnector-keystores.ts); any other certificate gets 403
 * `unauthorized_client` (one not chaining to the sandbox root fails the
 * handshake). **For whom.** Every operation carries the practitioner's AeS
 * access token, `Authorization: Bearer <jwt>` (RFC 6750 §2.1), validated
 * against the `lu-aes` simulator (issuer, JWKS signature, audience = an AeS
 * client of the vendor, expiry); the practitioner is the token's
 * `provider_code` claim, and the KMS must hold a key for them.
 *
 * **Operations.**
 * - `POST /api/v3/sign-data` — body `application/json`
 *   `{ "hash": "<base64 digest>", "hashAlgorithm": "SHA-256" | "SHA-384" | "SHA-512",
 *      "signatureAlgorithm": "RSASSA-PKCS1-v1_5" }`
 *   → 200 `{ "signature": "<base64>", "hashAlgorithm": …, "signatureAlgorithm": … }`:
 *   the practitioner's key signs the DigestInfo of the hash (RFC 8017 §8.2,
 *   EMSA-PKCS1-v1_5), so the signature verifies as sha*WithRSAEncryption over
 *   the data that was hashed.
 * - `GET` or `POST /api/v3/get-certificate` (POST body empty or `{}`)
 *   → 200 `{ "certificate": "<base64 DER>", "chain": ["<base64 DER>", …],
 *      "providerCode": "101234-56", "keyAlgorithm": "RSA", "keySize": 2048,
 *      "signatureAlgorithms": ["RSASSA-PKCS1-v1_5"], "hashAlgorithms": [...] }`;
 *   `chain` is the issuing CA then the root.
 * - `POST /api/v3/sign-timestamp` — body an RFC 3161 TimeStampReq,
 *   `application/timestamp-query` → 200 `application/timestamp-reply`, a
 *   TimeStampResp signed by the sandbox TSA identity (LU CA), policy
 *   {@link LU_KMS_TIMESTAMP_POLICY_OID} (RFC 3161 §3.4; refusals are
 *   TimeStampResp rejections with their failInfo, as a TSA does).
 *
 * **Errors** are `application/json` `{ "error": "<code>", "error_description": "<text>" }`
 * (the RFC 6749 §5.2 / RFC 6750 §3.1 shape): 400 `invalid_request` /
 * `unsupported_algorithm`; 401 `invalid_token` (with `WWW-Authenticate:
 * Bearer error="invalid_token"`), or no `error` but `WWW-Authenticate:
 * Bearer realm="lu-kms"` when the header is missing; 403 `unknown_practitioner`,
 * `unauthorized_client`; 415 `invalid_request`; 503 `temporarily_unavailable`
 * (the identity provider cannot be reached, or the `down` fault).
 *
 * Also `GET /.well-known/health`, and the fault injection API
 * `POST|GET|DELETE /_test/faults` (./faults.ts) unless created with
 * `faultInjection: false`.
 */
import { X509Certificate, constants, generateKeyPair, privateEncrypt, type KeyObject } from "node:crypto";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { setTimeout as delay } from "node:timers/promises";
import { promisify } from "node:util";
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { Logger } from "pino";
import { PasserelleError } from "../../errors/index.js";
import { lazily } from "../../lazily.js";
import { AccessTokenRejectedError } from "../../protocols/oidc/access-token.js";
import { TIMESTAMP_QUERY_CONTENT_TYPE, TIMESTAMP_REPLY_CONTENT_TYPE } from "../../protocols/tsp/media-types.js";
import { TimestampResponder } from "../../protocols/tsp/timestamp-responder.js";
import type { SandboxPki } from "../../trust/pki/index.js";
import { SIGNATURE_ALGORITHMS } from "../../trust/signers/index.js";
import type { SignatureAlgorithm } from "../../trust/signer.js";
import { clientCertificateOf } from "../client-certificate.js";
import { LU_AES_SIMULATOR_ID } from "../idp/lu-aes.js";
import { luxembourgPractitioners } from "../idp/lu-aes-practitioners.js";
import { sandboxOidcClients } from "../idp/sandbox-clients.js";
import type { SimulatorDefinition } from "../simulator.js";
import { untrustedTsaSigner } from "../tsa/faults.js";
import { monotonicSerialNumbers } from "../tsa/serial-numbers.js";
import { LU_KMS_PATHS, LU_KMS_SIMULATOR, LU_KMS_SIMULATOR_ID } from "../simulator-ids.js";
import { sandboxTsaSigner } from "../tsa/tsa-identity.js";
import type { AesAccessTokenVerifier } from "./aes-access-tokens.js";
import { GENERIC_KEYSTORE_ORGANIZATIONAL_UNIT } from "./econnector-keystores.js";
import { ForeignSigningCa, KmsFaults, parseKmsFault, type KmsFault, type KmsOperation } from "./faults.js";
import { PractitionerKeyring, type KmsPractitioner, type PractitionerKey } from "./practitioner-keys.js";

export { LU_KMS_PATHS, LU_KMS_SIMULATOR_ID } from "../simulator-ids.js";

/**
 * TSAPolicyId of the KMS's time-stamps: the sandbox arc (see
 * src/sandbox/tsa/simulator.ts, `.1` = time-stamp policies), `.2` for this
 * service — never a real TSA's policy.
 */
export const LU_KMS_TIMESTAMP_POLICY_OID = "2.25.8888202736267528462877072140334340318.1.2";

export const KMS_HASH_ALGORITHMS = ["SHA-256", "SHA-384", "SHA-512"] as const;
export type KmsHashAlgorithm = (typeof KMS_HASH_ALGORITHMS)[number];
export const KMS_SIGNATURE_ALGORITHMS = ["RSASSA-PKCS1-v1_5"] as const;

const PKCS1_BY_HASH: Readonly<Record<KmsHashAlgorithm, SignatureAlgorithm>> = {
  "SHA-256": "RSASSA-PKCS1-v1_5-SHA256",
  "SHA-384": "RSASSA-PKCS1-v1_5-SHA384",
  "SHA-512": "RSASSA-PKCS1-v1_5-SHA512",
};
const CLIENT_AUTH_EKU = "1.3.6.1.5.5.7.3.2";
const MAX_JSON_BYTES = 16 * 1024;
const MAX_QUERY_BYTES = 16 * 1024;
const generateKeyPairAsync = promisify(generateKeyPair);

export interface LuKmsSimulatorOptions {
  /** Who the KMS holds keys for (default: every sandbox practitioner of `lu-aes`). */
  practitioners?: readonly KmsPractitioner[];
  /** Accepted token audiences (default: the `lu-aes` sandbox clients' ids). */
  audiences?: readonly string[];
  /** Register `/_test/faults` (default true). */
  faultInjection?: boolean;
  /** Clock of the time-stamps (tests move it). */
  now?: () => Date;
}

export function luKmsSimulator(options: LuKmsSimulatorOptions = {}): SimulatorDefinition {
  return {
    ...LU_KMS_SIMULATOR,
    async create(ctx) {
      const practitioners = options.practitioners ?? defaultPractitioners();
      const app = await buildLuKmsApp({
        ...options,
        practitioners,
        pki: ctx.pki,
        logger: ctx.logger,
        // Fails the sandbox start, with the reason, when lu-aes is not part of it.
        issuer: `${ctx.simulatorUrl(LU_AES_SIMULATOR_ID)}/auth/realms/default`,
      });
      const testUsers = practitioners.map((practitioner) => ({
        id: practitioner.providerCode,
        label: `${practitioner.givenName} ${practitioner.familyName}: signing key and certificate (LU CA)`,
      }));
      return { app, testUsers };
    },
  };
}

export interface LuKmsAppOptions extends LuKmsSimulatorOptions {
  pki: SandboxPki;
  logger: Logger;
  /** The AeS issuer, `<lu-aes url>/auth/realms/default`. */
  issuer: string;
}

export type LuKmsApp = FastifyInstance<Server, IncomingMessage, ServerResponse, Logger>;

/** The JSON error body (RFC 6749 §5.2 shape). */
interface KmsErrorBody {
  error: string;
  error_description: string;
}

class KmsRefusal extends Error {
  constructor(
    readonly status: number,
    readonly body: KmsErrorBody | undefined,
    readonly headers: Record<string, string> = {},
  ) {
    super(body?.error_description ?? `HTTP ${status}`);
    this.name = "KmsRefusal";
  }
}

const refuse = (status: number, error: string, description: string, headers?: Record<string, string>): KmsRefusal =>
  new KmsRefusal(status, { error, error_description: description }, headers);

/** The Fastify app behind the simulator; requests must arrive over mutual TLS to be served. */
export async function buildLuKmsApp(options: LuKmsAppOptions): Promise<LuKmsApp> {
  const { pki, logger } = options;
  const now = options.now ?? (() => new Date());
  const keyring = new PractitionerKeyring(pki, options.practitioners ?? defaultPractitioners());
  const serialNumber = monotonicSerialNumbers(() => now().getTime());
  const responder = await TimestampResponder.create({
    signer: await sandboxTsaSigner(pki),
    policy: LU_KMS_TIMESTAMP_POLICY_OID,
    serialNumber,
    now,
  });
  const luCa = new X509Certificate(pki.caCertPem("LU"));
  const faults = new KmsFaults();
  // Made on first use only (src/lazily.ts): most runs never inject these faults, and the token verifier (below) waits for a token.
  // The verifier (an OpenID relying party and its HTTP client) loads at the first token: discovery waits for it anyway.
  let verifier: AesAccessTokenVerifier | undefined;
  const tokenVerifier = lazily(async () => {
    const { AesAccessTokenVerifier: Verifier } = await import("./aes-access-tokens.js");
    return (verifier = new Verifier({
      issuer: options.issuer,
      caPem: pki.rootCertPem,
      audiences: async () =>
        options.audiences ?? (await sandboxOidcClients(pki)).filter((c) => c.provider === LU_AES_SIMULATOR_ID).map((c) => c.clientId),
    }));
  });
  let foreign: ForeignSigningCa | undefined;
  const foreignCa = (): ForeignSigningCa => (foreign ??= new ForeignSigningCa(now));
  const untrustedResponder = lazily(async () =>
    TimestampResponder.create({ signer: await untrustedTsaSigner(now()), policy: LU_KMS_TIMESTAMP_POLICY_OID, serialNumber, now }),
  );
  const strangerKey = lazily(async () => (await generateKeyPairAsync("rsa", { modulusLength: 2048 })).privateKey);

  const app: LuKmsApp = Fastify({
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true }),
  });
  app.addHook("onClose", async () => verifier?.close());
  app.addContentTypeParser(TIMESTAMP_QUERY_CONTENT_TYPE, { parseAs: "buffer", bodyLimit: MAX_QUERY_BYTES }, (_request, body, done) =>
    done(null, body),
  );

  /** RFC 8446 §4.4.2: the handshake proved the certificate; here, whether it is a vendor's generic keystore. */
  const assertVendor = (request: FastifyRequest): void => {
    const certificate = clientCertificateOf(request.raw);
    if (certificate === undefined) throw refuse(403, "unauthorized_client", "A client certificate (the generic keystore) is required");
    const issuedByLuCa = certificate.checkIssued(luCa) && certificate.verify(luCa.publicKey);
    const organizationalUnits = certificate.subject.split("\n").filter((line) => line.startsWith("OU=")).map((line) => line.slice(3));
    if (!issuedByLuCa || !organizationalUnits.includes(GENERIC_KEYSTORE_ORGANIZATIONAL_UNIT) || !(certificate.keyUsage ?? []).includes(CLIENT_AUTH_EKU)) {
      throw refuse(403, "unauthorized_client", "The client certificate is not an eConnector generic keystore issued by the LU CA");
    }
  };

  /** RFC 6750 §2.1 and §3.1: the bearer token names the practitioner. */
  const authorise = async (request: FastifyRequest): Promise<PractitionerKey> => {
    const header = request.headers.authorization;
    const match = typeof header === "string" ? /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(header) : null;
    if (header === undefined) {
      throw new KmsRefusal(401, undefined, { "www-authenticate": `Bearer realm="${LU_KMS_SIMULATOR_ID}"` });
    }
    if (match === null) {
      throw refuse(400, "invalid_request", "The Authorization header must be 'Bearer <access token>'", {
        "www-authenticate": `Bearer realm="${LU_KMS_SIMULATOR_ID}", error="invalid_request"`,
      });
    }
    let claims: Record<string, unknown>;
    try {
      claims = (await (await tokenVerifier()).verify(match[1] as string)).claims;
    } catch (error) {
      if (error instanceof AccessTokenRejectedError) {
        request.log.info({ reason: error.reason }, "access token refused");
        throw refuse(401, "invalid_token", error.detail, {
          "www-authenticate": `Bearer realm="${LU_KMS_SIMULATOR_ID}", error="invalid_token"`,
        });
      }
      if (error instanceof PasserelleError) {
        request.log.warn({ err: error }, "identity provider unreachable");
        throw refuse(503, "temporarily_unavailable", "The identity provider cannot be reached to validate the token");
      }
      throw error;
    }
    const providerCode = claims.provider_code;
    if (typeof providerCode !== "string" || !keyring.knows(providerCode)) {
      throw refuse(403, "unknown_practitioner", "The KMS holds no signing key for the practitioner of this token");
    }
    return keyring.keyOf(providerCode);
  };

  /** Steps shared by every operation: faults that replace the answer, the vendor, the practitioner. */
  const admit = async (operation: KmsOperation, request: FastifyRequest, reply: FastifyReply): Promise<{ key: PractitionerKey; fault: KmsFault | undefined }> => {
    const fault = faults.take(operation);
    if (fault?.mode === "slow") {
      request.log.info({ fault: fault.mode, operation }, "injecting a fault");
      // Stop waiting when the client gives up: nothing would read the answer.
      const gone = new AbortController();
      const onClose = (): void => gone.abort();
      reply.raw.once("close", onClose);
      await delay(fault.delayMs, undefined, { signal: gone.signal }).catch(() => undefined);
      reply.raw.off("close", onClose);
    } else if (fault?.mode === "down") {
      request.log.info({ fault: fault.mode, operation }, "injecting a fault");
      throw refuse(503, "temporarily_unavailable", "Injected fault: the KMS is down");
    }
    assertVendor(request);
    return { key: await authorise(request), fault };
  };

  app.post(LU_KMS_PATHS.signData, { bodyLimit: MAX_JSON_BYTES }, async (request, reply) => {
    const { key, fault } = await admit("sign-data", request, reply);
    const { hash, hashAlgorithm } = parseSignDataBody(request.body);
    const spec = SIGNATURE_ALGORITHMS[PKCS1_BY_HASH[hashAlgorithm]];
    let signingKey: KeyObject = key.privateKey;
    if (fault?.mode === "wrong-key") {
      request.log.info({ fault: fault.mode }, "injecting a fault");
      signingKey = await strangerKey();
    }
    // RFC 8017 §9.2: EM = 0x00 01 FF…FF 00 || DigestInfo; privateEncrypt with PKCS#1 padding is exactly RSASSA-PKCS1-v1_5 over a given hash.
    const digestInfo = Buffer.concat([spec.digestInfoPrefix as Buffer, hash]);
    const signature = privateEncrypt({ key: signingKey, padding: constants.RSA_PKCS1_PADDING }, digestInfo);
    request.log.debug({ providerCode: key.practitioner.providerCode, hashAlgorithm }, "signed");
    return reply.code(200).header("cache-control", "no-store").send({
      signature: signature.toString("base64"),
      hashAlgorithm,
      signatureAlgorithm: "RSASSA-PKCS1-v1_5",
    });
  });

  const getCertificate = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    if (request.method === "POST" && !isEmptyObject(request.body)) {
      throw refuse(400, "invalid_request", "get-certificate takes no parameters: send no body or {}");
    }
    const { key, fault } = await admit("get-certificate", request, reply);
    let certificates: X509Certificate[] = [key.certificate, ...key.chain];
    if (fault?.mode === "untrusted-certificate") {
      request.log.info({ fault: fault.mode }, "injecting a fault");
      certificates = await foreignCa().issueFor(key.certificate, key.certificate.publicKey);
    }
    const [certificate, ...chain] = certificates as [X509Certificate, ...X509Certificate[]];
    return reply.code(200).header("cache-control", "no-store").send({
      certificate: certificate.raw.toString("base64"),
      chain: chain.map((ca) => ca.raw.toString("base64")),
      providerCode: key.practitioner.providerCode,
      keyAlgorithm: "RSA",
      keySize: key.privateKey.asymmetricKeyDetails?.modulusLength ?? 2048,
      signatureAlgorithms: [...KMS_SIGNATURE_ALGORITHMS],
      hashAlgorithms: [...KMS_HASH_ALGORITHMS],
    });
  };
  app.get(LU_KMS_PATHS.getCertificate, getCertificate);
  app.post(LU_KMS_PATHS.getCertificate, { bodyLimit: MAX_JSON_BYTES }, getCertificate);

  app.post(LU_KMS_PATHS.signTimestamp, async (request, reply) => {
    // RFC 3161 §3.4: the query is the DER TimeStampReq itself.
    if (mediaTypeOf(request.headers["content-type"]) !== TIMESTAMP_QUERY_CONTENT_TYPE) {
      throw refuse(415, "invalid_request", `Send the TimeStampReq as ${TIMESTAMP_QUERY_CONTENT_TYPE}`);
    }
    const { fault } = await admit("sign-timestamp", request, reply);
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    let signing = responder;
    if (fault?.mode === "untrusted-timestamp") {
      request.log.info({ fault: fault.mode }, "injecting a fault");
      signing = await untrustedResponder();
    }
    return reply
      .code(200)
      .header("content-type", TIMESTAMP_REPLY_CONTENT_TYPE)
      .header("cache-control", "no-store")
      .send(await signing.respond(body));
  });

  app.get("/.well-known/health", async () => ({ status: "ok", simulator: LU_KMS_SIMULATOR_ID }));

  if (options.faultInjection ?? true) {
    app.post("/_test/faults", async (request, reply) => {
      const fault = parseKmsFault(request.body);
      if (typeof fault === "string") throw refuse(400, "invalid_request", fault);
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
    sendRefusal(reply, refuse(404, "invalid_request", `No operation ${request.method} ${request.url.split("?")[0]}`)),
  );
  app.setErrorHandler(async (error, request, reply) => {
    if (error instanceof KmsRefusal) return sendRefusal(reply, error);
    const status = typeof error === "object" && error !== null && "statusCode" in error ? Number(error.statusCode) : 500;
    if (status >= 400 && status < 500) {
      // Fastify's own refusals: unknown media type (415), body too large (413), bad JSON (400).
      return sendRefusal(reply, refuse(status, "invalid_request", error instanceof Error ? error.message : "The request is not valid"));
    }
    request.log.error({ err: error }, "KMS simulator request failed");
    return sendRefusal(reply, refuse(500, "server_error", "Something went wrong"));
  });
  return app;
}

function defaultPractitioners(): KmsPractitioner[] {
  return luxembourgPractitioners().map((practitioner) => ({
    providerCode: String(practitioner.claims.provider_code),
    givenName: String(practitioner.claims.given_name),
    familyName: String(practitioner.claims.family_name),
  }));
}

function sendRefusal(reply: FastifyReply, refusal: KmsRefusal): FastifyReply {
  reply.code(refusal.status).headers(refusal.headers).header("cache-control", "no-store");
  if (refusal.body === undefined) return reply.send();
  return reply.header("content-type", "application/json; charset=utf-8").send(JSON.stringify(refusal.body));
}

function mediaTypeOf(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  return value?.split(";")[0]?.trim().toLowerCase();
}

function isEmptyObject(body: unknown): boolean {
  return body === undefined || body === null || (typeof body === "object" && !Array.isArray(body) && Object.keys(body).length === 0);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const HASH_LENGTH: Readonly<Record<KmsHashAlgorithm, number>> = { "SHA-256": 32, "SHA-384": 48, "SHA-512": 64 };

function parseSignDataBody(body: unknown): { hash: Buffer; hashAlgorithm: KmsHashAlgorithm } {
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw refuse(400, "invalid_request", "The body must be a JSON object");
  const { hash, hashAlgorithm, signatureAlgorithm, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw refuse(400, "invalid_request", `Unknown member ${unknown.join(", ")}`);
  if (typeof hashAlgorithm !== "string" || !(KMS_HASH_ALGORITHMS as readonly string[]).includes(hashAlgorithm)) {
    throw refuse(400, "unsupported_algorithm", `hashAlgorithm must be one of ${KMS_HASH_ALGORITHMS.join(", ")}`);
  }
  if (!(KMS_SIGNATURE_ALGORITHMS as readonly unknown[]).includes(signatureAlgorithm)) {
    throw refuse(400, "unsupported_algorithm", `signatureAlgorithm must be ${KMS_SIGNATURE_ALGORITHMS.join(" or ")}`);
  }
  if (typeof hash !== "string" || !BASE64.test(hash)) throw refuse(400, "invalid_request", "hash must be base64 (RFC 4648 §4)");
  const bytes = Buffer.from(hash, "base64");
  const algorithm = hashAlgorithm as KmsHashAlgorithm;
  if (bytes.length !== HASH_LENGTH[algorithm]) {
    throw refuse(400, "invalid_request", `A ${algorithm} hash is ${HASH_LENGTH[algorithm]} bytes, not ${bytes.length}`);
  }
  return { hash: bytes, hashAlgorithm: algorithm };
}
