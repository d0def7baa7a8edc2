import { execFile } from "node:child_process";
import { X509Certificate, createHash, verify } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { pino } from "pino";
import { Agent, request as httpRequest } from "undici";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildTimestampRequest, parseTimestampResponse, parseTimestampToken } from "../../protocols/tsp/index.js";
import { SandboxPki, type PemIdentity } from "../../trust/pki/index.js";
import { luxembourgPractitioners } from "../idp/lu-aes-practitioners.js";
import { luAesSimulator } from "../idp/lu-aes.js";
import { startSandbox, type RunningSandbox } from "../start-sandbox.js";
import { GENERIC_KEYSTORE_ORGANIZATIONAL_UNIT, sandboxGenericKeystoreIdentity } from "./econnector-keystores.js";
import { PractitionerKeyring } from "./practitioner-keys.js";
import { LU_KMS_TIMESTAMP_POLICY_OID, luKmsSimulator } from "./simulator.js";
import { ANNE_WEBER, MARC_SCHMIT, aesAccessToken, expiredAesAccessToken, forgedAesAccessToken } from "./test-support/aes-tokens.js";

const run = promisify(execFile);

let dataDir: string;
let sandbox: RunningSandbox;
let kmsUrl: string;
let vendor: Agent;
let anne: string;

/** Marc logs in at lu-aes but the KMS holds no key for him. */
function practitionersWithoutMarc() {
  return luxembourgPractitioners()
    .filter((p) => p.claims.provider_code !== MARC_SCHMIT.username)
    .map((p) => ({ providerCode: String(p.claims.provider_code), givenName: String(p.claims.given_name), familyName: String(p.claims.family_name) }));
}

function agentFor(identity: PemIdentity | undefined): Agent {
  return new Agent({
    connect: {
      ca: sandbox.pki.rootCertPem,
      ...(identity === undefined ? {} : { cert: [identity.certPem, ...identity.chainPem].join(""), key: identity.keyPem }),
    },
  });
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json(): Record<string, unknown>;
}

async function call(
  method: "GET" | "POST" | "DELETE",
  path: string,
  options: { token?: string; json?: unknown; body?: Buffer; contentType?: string; agent?: Agent; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body: string | Buffer | undefined;
  if (options.json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(options.json);
  } else if (options.body !== undefined) {
    headers["content-type"] = options.contentType ?? "application/octet-stream";
    body = options.body;
  }
  const response = await httpRequest(`${kmsUrl}${path}`, { method, headers, body, dispatcher: options.agent ?? vendor });
  const bytes = Buffer.from(await response.body.arrayBuffer());
  return {
    status: response.statusCode,
    headers: response.headers as Record<string, string | string[] | undefined>,
    body: bytes,
    json: () => JSON.parse(bytes.toString("utf8")) as Record<string, unknown>,
  };
}

async function signData(token: string, data: string, hashAlgorithm = "SHA-256"): Promise<Answer> {
  const node = hashAlgorithm.replace("-", "").toLowerCase();
  return call("POST", "/api/v3/sign-data", {
    token,
    json: { hash: createHash(node).update(data).digest("base64"), hashAlgorithm, signatureAlgorithm: "RSASSA-PKCS1-v1_5" },
  });
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "passerelle-lu-kms-"));
  sandbox = await startSandbox({
    dataDir,
    simulators: [luAesSimulator(), luKmsSimulator({ practitioners: practitionersWithoutMarc() })],
    logger: pino({ level: "silent" }),
  });
  kmsUrl = sandbox.url("lu-kms");
  vendor = agentFor(await sandboxGenericKeystoreIdentity(sandbox.pki));
  anne = await aesAccessToken(sandbox, ANNE_WEBER);
});

afterAll(async () => {
  await vendor?.close();
  await sandbox?.close();
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

afterEach(async () => {
  await call("DELETE", "/_test/faults");
});

describe("lu-kms simulator", () => {
  it("is listed with mutual TLS and the practitioners it holds keys for", () => {
    const listed = sandbox.simulators.find((s) => s.id === "lu-kms");
    expect(listed).toMatchObject({ country: "LU", mutualTls: true });
    expect(listed?.testUsers.map((u) => u.id)).toContain(ANNE_WEBER.username);
    expect(listed?.testUsers.map((u) => u.id)).not.toContain(MARC_SCHMIT.username);
  });

  it("get-certificate answers the practitioner's non-repudiation certificate from the LU CA, the same by GET and POST", async () => {
    const answer = await call("GET", "/api/v3/get-certificate", { token: anne });
    expect(answer.status).toBe(200);
    const body = answer.json();
    expect(body).toMatchObject({ providerCode: "101234-56", keyAlgorithm: "RSA", keySize: 2048, signatureAlgorithms: ["RSASSA-PKCS1-v1_5"] });
    const certificate = new X509Certificate(Buffer.from(body.certificate as string, "base64"));
    expect(certificate.subject).toContain("CN=Anne Weber");
    expect(certificate.subject).toContain("serialNumber=101234-56");
    const [issuer, root] = (body.chain as string[]).map((der) => new X509Certificate(Buffer.from(der, "base64")));
    expect(issuer?.raw.equals(new X509Certificate(sandbox.pki.caCertPem("LU")).raw)).toBe(true);
    expect(root?.raw.equals(new X509Certificate(sandbox.pki.rootCertPem).raw)).toBe(true);
    expect(certificate.verify(issuer!.publicKey)).toBe(true);

    // keyUsage nonRepudiation only, as openssl reads it.
    const pem = join(dataDir, "anne.pem");
    await writeFile(pem, certificate.toString());
    const { stdout } = await run("openssl", ["x509", "-in", pem, "-noout", "-ext", "keyUsage,extendedKeyUsage"], { encoding: "utf8" });
    expect(stdout).toMatch(/Key Usage: critical\s+Non Repudiation\s/);
    expect(stdout).toContain("E-mail Protection");

    const byPost = await call("POST", "/api/v3/get-certificate", { token: anne, json: {} });
    expect(byPost.json().certificate).toBe(body.certificate);
  });

  it("keeps each practitioner's key across restarts (cached with the PKI in the data directory)", async () => {
    const served = (await call("GET", "/api/v3/get-certificate", { token: anne })).json().certificate as string;
    // A later start opens the same directory afresh.
    const reopened = await SandboxPki.open(dataDir);
    const key = await new PractitionerKeyring(reopened, practitionersWithoutMarc()).keyOf(ANNE_WEBER.username);
    expect(key.certificate.raw.toString("base64")).toBe(served);
    expect(key.certificate.checkPrivateKey(key.privateKey)).toBe(true);
  });

  it("sign-data signs the hash with the practitioner's key: openssl verifies it as sha*WithRSAEncryption over the data", async () => {
    const certificate = new X509Certificate(Buffer.from((await call("GET", "/api/v3/get-certificate", { token: anne })).json().certificate as string, "base64"));
    const files = { data: join(dataDir, "data.txt"), key: join(dataDir, "anne.pub.pem"), signature: join(dataDir, "sig.bin") };
    await writeFile(files.data, "Certificat d'incapacité de travail");
    await writeFile(files.key, certificate.publicKey.export({ type: "spki", format: "pem" }));
    for (const [hashAlgorithm, digest] of [
      ["SHA-256", "-sha256"],
      ["SHA-512", "-sha512"],
    ] as const) {
      const answer = await signData(anne, "Certificat d'incapacité de travail", hashAlgorithm);
      expect(answer.status).toBe(200);
      expect(answer.json()).toMatchObject({ hashAlgorithm, signatureAlgorithm: "RSASSA-PKCS1-v1_5" });
      await writeFile(files.signature, Buffer.from(answer.json().signature as string, "base64"));
      const { stdout } = await run("openssl", ["dgst", digest, "-verify", files.key, "-signature", files.signature, files.data], { encoding: "utf8" });
      expect(stdout.trim()).toBe("Verified OK");
    }
    const signature = Buffer.from((await signData(anne, "x")).json().signature as string, "base64");
    expect(verify("sha256", Buffer.from("y"), certificate.publicKey, signature)).toBe(false);
  });

  it("sign-timestamp answers RFC 3161 replies that openssl ts -verify accepts", async () => {
    const data = Buffer.from("signature value");
    const request = buildTimestampRequest(createHash("sha256").update(data).digest(), { hashAlgorithm: "SHA-256" });
    const answer = await call("POST", "/api/v3/sign-timestamp", { token: anne, body: request.der, contentType: "application/timestamp-query" });
    expect(answer.status).toBe(200);
    expect(answer.headers["content-type"]).toBe("application/timestamp-reply");
    const token = parseTimestampToken(parseTimestampResponse(answer.body).token ?? Buffer.alloc(0));
    expect(token.policy).toBe(LU_KMS_TIMESTAMP_POLICY_OID);
    expect(token.nonce).toBe(request.nonce);

    const files = { reply: join(dataDir, "r.tsr"), query: join(dataDir, "q.tsq"), root: join(dataDir, "root.pem"), lu: join(dataDir, "lu.pem") };
    await Promise.all([
      writeFile(files.reply, answer.body),
      writeFile(files.query, request.der),
      writeFile(files.root, sandbox.pki.rootCertPem),
      writeFile(files.lu, sandbox.pki.caCertPem("LU")),
    ]);
    const { stdout } = await run("openssl", ["ts", "-verify", "-in", files.reply, "-queryfile", files.query, "-CAfile", files.root, "-untrusted", files.lu], {
      encoding: "utf8",
    });
    expect(stdout).toContain("Verification: OK");

    const wrongType = await call("POST", "/api/v3/sign-timestamp", { token: anne, body: request.der, contentType: "application/octet-stream" });
    expect(wrongType.status).toBe(415);
    expect(wrongType.json()).toMatchObject({ error: "invalid_request" });
  });

  it("answers 401 without a token (RFC 6750 §3.1: no error code) and 401 invalid_token for expired or forged tokens", async () => {
    const missing = await call("GET", "/api/v3/get-certificate");
    expect(missing.status).toBe(401);
    expect(missing.headers["www-authenticate"]).toBe('Bearer realm="lu-kms"');
    expect(missing.body.length).toBe(0);

    for (const token of [await expiredAesAccessToken(dataDir, anne), await forgedAesAccessToken(anne)]) {
      const refused = await signData(token, "x");
      expect(refused.status).toBe(401);
      expect(refused.json()).toMatchObject({ error: "invalid_token" });
      expect(refused.headers["www-authenticate"]).toBe('Bearer realm="lu-kms", error="invalid_token"');
    }
    const notBearer = await call("GET", "/api/v3/get-certificate", { headers: { authorization: `Basic ${Buffer.from("a:b").toString("base64")}` } });
    expect(notBearer.status).toBe(400);
  });

  it("answers 403 unknown_practitioner for a valid token of a practitioner it holds no key for", async () => {
    const marc = await aesAccessToken(sandbox, MARC_SCHMIT);
    const refused = await call("GET", "/api/v3/get-certificate", { token: marc });
    expect(refused.status).toBe(403);
    expect(refused.json()).toMatchObject({ error: "unknown_practitioner" });
  });

  it("validates sign-data bodies strictly", async () => {
    const hash = createHash("sha256").update("x").digest("base64");
    const cases: Array<[unknown, number, string]> = [
      [{ hash, hashAlgorithm: "SHA-1", signatureAlgorithm: "RSASSA-PKCS1-v1_5" }, 400, "unsupported_algorithm"],
      [{ hash, hashAlgorithm: "SHA-256", signatureAlgorithm: "RSASSA-PSS" }, 400, "unsupported_algorithm"],
      [{ hash, hashAlgorithm: "SHA-256" }, 400, "unsupported_algorithm"],
      [{ hash: createHash("sha384").update("x").digest("base64"), hashAlgorithm: "SHA-256", signatureAlgorithm: "RSASSA-PKCS1-v1_5" }, 400, "invalid_request"],
      [{ hash: "not base64!", hashAlgorithm: "SHA-256", signatureAlgorithm: "RSASSA-PKCS1-v1_5" }, 400, "invalid_request"],
      [{ hash, hashAlgorithm: "SHA-256", signatureAlgorithm: "RSASSA-PKCS1-v1_5", extra: 1 }, 400, "invalid_request"],
      [[hash], 400, "invalid_request"],
    ];
    for (const [json, status, error] of cases) {
      const answer = await call("POST", "/api/v3/sign-data", { token: anne, json });
      expect(answer.status, JSON.stringify(json)).toBe(status);
      expect(answer.json(), JSON.stringify(json)).toMatchObject({ error });
    }
  });

  it("serves only the vendor's generic keystore: other sandbox client certificates get 403, none fails the handshake", async () => {
    // The generic keystore's OU, but from another country's CA: still refused.
    const frVendor = await sandbox.pki.clientIdentity("fr-vendor-lookalike", {
      country: "FR",
      subject: { C: "FR", O: "Passerelle Sandbox", OU: GENERIC_KEYSTORE_ORGANIZATIONAL_UNIT, CN: "FR vendor" },
    });
    const luOther = await sandbox.pki.clientIdentity("lu-other-client", {
      country: "LU",
      subject: { C: "LU", O: "Passerelle Sandbox", OU: "Something else", CN: "Other LU client" },
    });
    for (const identity of [frVendor, luOther]) {
      const agent = agentFor(identity);
      try {
        const refused = await call("GET", "/api/v3/get-certificate", { token: anne, agent });
        expect(refused.status).toBe(403);
        expect(refused.json()).toMatchObject({ error: "unauthorized_client" });
      } finally {
        await agent.close();
      }
    }
    const anonymous = agentFor(undefined);
    try {
      await expect(call("GET", "/api/v3/get-certificate", { token: anne, agent: anonymous })).rejects.toThrow();
    } finally {
      await anonymous.close();
    }
  });

  it("injects faults: down answers 503 on every operation, a bad fault request is refused, times bounds it", async () => {
    expect((await call("POST", "/_test/faults", { json: { mode: "sideways" } })).status).toBe(400);
    expect((await call("POST", "/_test/faults", { json: { mode: "wrong-key", operation: "get-certificate" } })).status).toBe(400);
    expect((await call("POST", "/_test/faults", { json: { mode: "down", times: 2 } })).status).toBe(200);
    const first = await signData(anne, "x");
    expect(first.status).toBe(503);
    expect(first.json()).toMatchObject({ error: "temporarily_unavailable" });
    expect((await call("GET", "/api/v3/get-certificate", { token: anne })).status).toBe(503);
    expect((await call("GET", "/api/v3/get-certificate", { token: anne })).status).toBe(200);
    expect((await call("GET", "/_test/faults")).json()).toEqual({ fault: null });
  });
});
