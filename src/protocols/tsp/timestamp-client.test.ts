import "reflect-metadata";
import { execFile } from "node:child_process";
import { KeyObject, X509Certificate, createHash, createPrivateKey, randomBytes, sign, type KeyObject as KeyObjectType } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  X509CertificateGenerator,
} from "@peculiar/x509";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UpstreamClient, UpstreamError } from "../../transport/index.js";
import { SandboxPki, type PemIdentity } from "../../trust/pki/index.js";
import type { Signer } from "../../trust/signer.js";
import { TimestampClient, TimestampError, TimestampResponder, verifyTimestampToken, type TimestampClientOptions } from "./index.js";

const run = promisify(execFile);
const POLICY = "1.3.6.1.4.1.32473.3161.7";
const DIGEST = createHash("sha256").update("résumé de sortie").digest();

let dir: string;
let pki: SandboxPki;
let root: X509Certificate;
let tsa: PemIdentity;
const servers: Server[] = [];
const upstreams: UpstreamClient[] = [];

type Handler = (body: Buffer, req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** A plain HTTP server on a free loopback port; closed after the file. */
async function serve(handler: Handler): Promise<string> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      handler(Buffer.concat(chunks), req, res).catch((error: unknown) => {
        res.writeHead(500).end(String(error));
      });
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function reply(res: ServerResponse, der: Buffer, contentType = "application/timestamp-reply"): void {
  res.writeHead(200, { "content-type": contentType, "content-length": der.length }).end(der);
}

function upstream(baseUrl: string, name = "test-tsa"): UpstreamClient {
  const client = new UpstreamClient({ name, baseUrl, timeoutMs: 5_000, retry: { baseDelayMs: 0, maxDelayMs: 0 } });
  upstreams.push(client);
  return client;
}

function client(baseUrl: string, options: Partial<TimestampClientOptions> = {}): TimestampClient {
  return new TimestampClient({ upstream: upstream(baseUrl), trust: { anchors: [root] }, ...options });
}

function signerFor(key: KeyObjectType, chain: X509Certificate[]): Signer {
  const rsa = key.asymmetricKeyType === "rsa";
  return {
    id: "test",
    keyType: rsa ? "RSA" : "EC",
    algorithms: [rsa ? "RSASSA-PKCS1-v1_5-SHA256" : "ECDSA-P256-SHA256"],
    sign: async (data) => sign("sha256", data, rsa ? key : { key, dsaEncoding: "der" }),
    certificateChain: async () => chain,
  };
}

/** A TSA over HTTP answering with `responder`, the way our sandbox does. */
async function responderTsa(signer: Signer): Promise<string> {
  let serial = 0n;
  const responder = await TimestampResponder.create({ signer, policy: POLICY, serialNumber: () => (serial += 1n) });
  return serve(async (body, _req, res) => reply(res, await responder.respond(body)));
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable("the call should have failed"),
    (error: unknown) => error,
  );
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "passerelle-tsa-client-"));
  pki = await SandboxPki.open(dir);
  root = new X509Certificate(pki.rootCertPem);
  tsa = await pki.clientIdentity("client-test-tsa", {
    country: "BE",
    subject: { C: "BE", O: "Test", CN: "OpenSSL TSA" },
    extendedKeyUsages: ["timeStamping"],
  });
});

afterAll(async () => {
  await Promise.all(upstreams.map((upstreamClient) => upstreamClient.close()));
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  await rm(dir, { recursive: true, force: true });
});

describe("TimestampClient against an OpenSSL TSA (openssl ts -reply)", () => {
  let tsaUrl: string;
  let requests = 0;

  beforeAll(async () => {
    const files = {
      cert: join(dir, "tsa.pem"),
      key: join(dir, "tsa.key"),
      chain: join(dir, "tsa-chain.pem"),
      serial: join(dir, "tsa.serial"),
      config: join(dir, "tsa.cnf"),
    };
    await Promise.all([
      writeFile(files.cert, tsa.certPem),
      writeFile(files.key, tsa.keyPem),
      writeFile(files.chain, tsa.chainPem.join("")),
      writeFile(files.serial, "1000\n"),
    ]);
    await writeFile(
      files.config,
      [
        "[ tsa ]",
        "default_tsa = tsa_config",
        "[ tsa_config ]",
        `serial = ${files.serial}`,
        "crypto_device = builtin",
        `signer_cert = ${files.cert}`,
        `certs = ${files.chain}`,
        `signer_key = ${files.key}`,
        "signer_digest = sha256",
        `default_policy = ${POLICY}`,
        "other_policies = 1.3.6.1.4.1.32473.3161.8",
        "digests = sha256, sha384, sha512",
        "accuracy = secs:1",
        "ordering = no",
        "tsa_name = yes",
        "ess_cert_id_chain = no",
        "ess_cert_id_alg = sha256",
        "",
      ].join("\n"),
    );
    // RFC 3161 §3.4 over plain HTTP: the body is the query, the answer the reply.
    tsaUrl = await serve(async (body, req, res) => {
      requests += 1;
      if (req.headers["content-type"] !== "application/timestamp-query") {
        res.writeHead(415).end();
        return;
      }
      const id = randomBytes(6).toString("hex");
      const query = join(dir, `${id}.tsq`);
      const answer = join(dir, `${id}.tsr`);
      await writeFile(query, body);
      await run("openssl", ["ts", "-reply", "-config", files.config, "-queryfile", query, "-out", answer]);
      reply(res, await readFile(answer));
    });
  });

  it("obtains and verifies a token, then verifies it again standalone", async () => {
    const before = requests;
    const token = await client(`${tsaUrl}/tsa`).timestamp(DIGEST, "SHA-256");
    expect(requests).toBe(before + 1);
    expect(token).toMatchObject({ policy: POLICY, hashAlgorithm: "SHA-256", accuracy: { seconds: 1, millis: 0, micros: 0 } });
    expect(token.messageImprint).toEqual(DIGEST);
    expect(token.tsaCertificate.subject).toBe("C=BE\nO=Test\nCN=OpenSSL TSA");
    expect(typeof token.nonce).toBe("bigint");
    const again = await verifyTimestampToken(token.der, { digest: DIGEST, trust: { anchors: [root] } });
    expect(again.serialNumber).toBe(token.serialNumber);
  });

  it("asks for the configured policy, and verifies without certReq using configured certificates", async () => {
    const token = await client(`${tsaUrl}/tsa`, {
      policy: "1.3.6.1.4.1.32473.3161.8",
      certReq: false,
      certificates: [new X509Certificate(tsa.certPem), new X509Certificate(tsa.chainPem[0] ?? "")],
    }).timestamp(createHash("sha512").update("x").digest(), "SHA-512");
    expect(token.policy).toBe("1.3.6.1.4.1.32473.3161.8");
  });

  it("reports the TSA's refusal with its failInfo (policy it does not offer)", async () => {
    const failure = await failureOf(client(`${tsaUrl}/tsa`, { policy: "1.2.3.4" }).timestamp(DIGEST, "SHA-256"));
    expect(failure).toBeInstanceOf(TimestampError);
    expect(failure).toMatchObject({
      code: "PASSERELLE_TIMESTAMP_REJECTED",
      status: 502,
      reason: "status-rejection",
      pkiStatus: "rejection",
      failInfo: ["unacceptedPolicy"],
      upstream: "test-tsa",
    });
  });

  it("refuses a genTime far from our clock", async () => {
    const anHourAhead = (): Date => new Date(Date.now() + 3_600_000);
    const failure = await failureOf(client(`${tsaUrl}/tsa`, { now: anHourAhead }).timestamp(DIGEST, "SHA-256"));
    expect(failure).toMatchObject({ code: "PASSERELLE_TIMESTAMP_INVALID", status: 502, reason: "time-out-of-tolerance" });
  });
});

describe("TimestampClient refusing bad TSAs", () => {
  it("refuses a token signed by a certificate without the id-kp-timeStamping EKU (502 missing-eku)", async () => {
    const clientAuth = await pki.clientIdentity("client-auth-only", {
      country: "FR",
      subject: { CN: "Not a TSA" },
      extendedKeyUsages: ["clientAuth"],
    });
    const url = await responderTsa(
      signerFor(createPrivateKey(clientAuth.keyPem), [new X509Certificate(clientAuth.certPem), new X509Certificate(clientAuth.chainPem[0] ?? "")]),
    );
    const failure = await failureOf(client(url).timestamp(DIGEST, "SHA-256"));
    expect(failure).toBeInstanceOf(TimestampError);
    expect(failure).toMatchObject({
      code: "PASSERELLE_TIMESTAMP_INVALID",
      status: 502,
      reason: "missing-eku",
      upstream: "test-tsa",
      extensions: { reason: "missing-eku", upstream: "test-tsa" },
    });
  });

  it("refuses a token signed by a certificate whose time-stamping EKU is not critical (502 eku-not-critical)", async () => {
    const algorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
    const keys = await globalThis.crypto.subtle.generateKey(algorithm, true, ["sign", "verify"]);
    const certificate = await X509CertificateGenerator.createSelfSigned(
      {
        name: "CN=Lax TSA",
        keys,
        notBefore: new Date(Date.now() - 3_600_000),
        notAfter: new Date(Date.now() + 3_600_000),
        signingAlgorithm: algorithm,
        extensions: [
          new BasicConstraintsExtension(false, undefined, true),
          new KeyUsagesExtension(KeyUsageFlags.digitalSignature, true),
          new ExtendedKeyUsageExtension([ExtendedKeyUsage.timeStamping], false),
        ],
      },
      globalThis.crypto,
    );
    const lax = new X509Certificate(certificate.toString("pem"));
    const url = await responderTsa(signerFor(KeyObject.from(keys.privateKey), [lax]));
    // Trusted on its own, so the only fault left is the EKU's criticality.
    const failure = await failureOf(client(url, { trust: { anchors: [lax] } }).timestamp(DIGEST, "SHA-256"));
    expect(failure).toMatchObject({ code: "PASSERELLE_TIMESTAMP_INVALID", status: 502, reason: "eku-not-critical" });
  });

  it("refuses an answer that is not application/timestamp-reply (502)", async () => {
    const url = await serve(async (_body, _req, res) => reply(res, Buffer.from("<html>maintenance</html>"), "text/html"));
    const failure = await failureOf(client(url).timestamp(DIGEST, "SHA-256"));
    expect(failure).toBeInstanceOf(UpstreamError);
    expect(failure).toMatchObject({ code: "PASSERELLE_UPSTREAM_BAD_RESPONSE", status: 502, kind: "bad_response" });
  });

  it("answers 503 when the TSA is down", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const failure = await failureOf(client(`http://127.0.0.1:${port}/tsa`).timestamp(DIGEST, "SHA-256"));
    expect(failure).toBeInstanceOf(UpstreamError);
    expect(failure).toMatchObject({ code: "PASSERELLE_UPSTREAM_UNAVAILABLE", status: 503, kind: "unreachable" });
  });

  it("retries a TSA that answers 503 — a time-stamp request is safe to repeat", async () => {
    let calls = 0;
    let serial = 0n;
    const responder = await TimestampResponder.create({
      signer: signerFor(createPrivateKey(tsa.keyPem), [new X509Certificate(tsa.certPem), new X509Certificate(tsa.chainPem[0] ?? "")]),
      policy: POLICY,
      serialNumber: () => (serial += 1n),
    });
    const url = await serve(async (body, _req, res) => {
      calls += 1;
      if (calls < 3) {
        res.writeHead(503).end();
        return;
      }
      reply(res, await responder.respond(body));
    });
    const token = await client(url).timestamp(DIGEST, "SHA-256");
    expect(calls).toBe(3);
    expect(token.serialNumber).toBe("01");
  });

  it("throws TypeError on caller mistakes", () => {
    const ok = upstream("http://127.0.0.1:9");
    expect(() => new TimestampClient({ upstream: ok, trust: {} as never })).toThrow(TypeError);
    expect(() => new TimestampClient({ upstream: {} as never, trust: { anchors: [root] } })).toThrow(TypeError);
    expect(() => new TimestampClient({ upstream: ok, trust: { anchors: [root] }, policy: "x" })).toThrow(TypeError);
    expect(() => new TimestampClient({ upstream: ok, trust: { anchors: [root] }, clockToleranceMs: -1 })).toThrow(TypeError);
    const tsaClient = new TimestampClient({ upstream: ok, trust: { anchors: [root] } });
    return Promise.all([
      expect(tsaClient.timestamp(DIGEST, "MD5" as never)).rejects.toThrow(TypeError),
      expect(tsaClient.timestamp(DIGEST.subarray(1), "SHA-256")).rejects.toThrow(TypeError),
    ]);
  });
});
