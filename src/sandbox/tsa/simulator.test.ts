import { execFile } from "node:child_process";
import { X509Certificate, createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  TimestampClient,
  TimestampError,
  buildTimestampRequest,
  parseTimestampResponse,
  parseTimestampToken,
  verifyTimestampToken,
} from "../../protocols/tsp/index.js";
import { UpstreamClient, UpstreamError } from "../../transport/index.js";
import { SandboxPki } from "../../trust/pki/index.js";
import { startSandbox, type RunningSandbox } from "../start-sandbox.js";
import { SANDBOX_TSA_POLICY_OID, buildSandboxTsaApp, sandboxTsaSimulator, type SandboxTsaApp } from "./simulator.js";

const logger = pino({ level: "silent" });
const run = promisify(execFile);
const QUERY = { "content-type": "application/timestamp-query" };

let dataDir: string;
let pki: SandboxPki;
let files: { root: string; chain: string; tsaAndChain: string };

/** Runs openssl; resolves with its exit code and output instead of throwing on failure. */
async function openssl(args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run("openssl", args);
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failure = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failure.code ?? 1, output: `${failure.stdout ?? ""}${failure.stderr ?? ""}` };
  }
}

async function writeTemp(name: string, content: string | Uint8Array): Promise<string> {
  const path = join(dataDir, name);
  await writeFile(path, content);
  return path;
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "passerelle-sandbox-tsa-"));
  pki = await SandboxPki.open(dataDir);
  files = {
    root: await writeTemp("root.pem", pki.rootCertPem),
    chain: await writeTemp("chain.pem", pki.caCertPem("LU")),
    tsaAndChain: "", // written once the TSA certificate exists
  };
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe("sandbox TSA simulator", () => {
  let app: SandboxTsaApp;

  beforeAll(async () => {
    app = await buildSandboxTsaApp(pki, logger);
    await app.ready();
    const pem = await app.inject({ method: "GET", url: "/tsa/certificate.pem" });
    files.tsaAndChain = await writeTemp("tsa-and-chain.pem", pem.body);
  });

  afterAll(async () => {
    await app.close();
  });

  afterEach(async () => {
    await app.inject({ method: "DELETE", url: "/_test/faults" });
  });

  async function timestampReply(query: Uint8Array, url = "/tsa"): Promise<Buffer> {
    const res = await app.inject({ method: "POST", url, headers: QUERY, payload: Buffer.from(query) });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("application/timestamp-reply");
    return res.rawPayload;
  }

  it("issues tokens that openssl ts -verify accepts, checked against the query and against the data", async () => {
    const data = Buffer.from("Lettre de liaison — Dr Dupont");
    const request = buildTimestampRequest(createHash("sha256").update(data).digest(), { hashAlgorithm: "SHA-256" });
    const reply = await timestampReply(request.der);
    const paths = {
      query: await writeTemp("ours.tsq", request.der),
      reply: await writeTemp("ours.tsr", reply),
      data: await writeTemp("ours.data", data),
    };
    const byQuery = await openssl(["ts", "-verify", "-in", paths.reply, "-queryfile", paths.query, "-CAfile", files.root, "-untrusted", files.chain]);
    expect(byQuery.output).toContain("Verification: OK");
    expect(byQuery.code).toBe(0);
    const byData = await openssl(["ts", "-verify", "-in", paths.reply, "-data", paths.data, "-CAfile", files.root, "-untrusted", files.chain]);
    expect(byData.output).toContain("Verification: OK");

    // The same reply checked against other data fails: openssl really looks at the imprint.
    const other = await writeTemp("other.data", "something else");
    const wrong = await openssl(["ts", "-verify", "-in", paths.reply, "-data", other, "-CAfile", files.root, "-untrusted", files.chain]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.output).toMatch(/message imprint mismatch/i);
  });

  it("answers requests made by openssl ts -query (SHA-512, no nonce), also on POST /", async () => {
    const data = await writeTemp("openssl.data", "données de santé");
    const query = await writeTemp("openssl.tsq", "");
    expect((await openssl(["ts", "-query", "-data", data, "-sha512", "-no_nonce", "-cert", "-out", query])).code).toBe(0);
    const reply = await timestampReply(await readFile(query), "/");
    const replyPath = await writeTemp("openssl.tsr", reply);
    const verified = await openssl(["ts", "-verify", "-in", replyPath, "-queryfile", query, "-CAfile", files.root, "-untrusted", files.chain]);
    expect(verified.output).toContain("Verification: OK");
    const token = parseTimestampToken(parseTimestampResponse(reply).token ?? Buffer.alloc(0));
    expect(token.hashAlgorithm).toBe("SHA-512");
    expect(token.nonce).toBeUndefined();
  });

  it("echoes the nonce, stamps genTime to the second with 1 s accuracy, under the sandbox policy, with increasing serials", async () => {
    const digest = createHash("sha256").update("x").digest();
    const first = buildTimestampRequest(digest, { hashAlgorithm: "SHA-256", nonce: 0xfedcba9876543210fedcban });
    const second = buildTimestampRequest(digest, { hashAlgorithm: "SHA-256", policy: SANDBOX_TSA_POLICY_OID });
    const tokens = [];
    for (const request of [first, second]) {
      const response = parseTimestampResponse(await timestampReply(request.der));
      expect(response.status).toBe("granted");
      tokens.push(parseTimestampToken(response.token ?? Buffer.alloc(0)));
    }
    const [a, b] = tokens as [ReturnType<typeof parseTimestampToken>, ReturnType<typeof parseTimestampToken>];
    expect(a.nonce).toBe(0xfedcba9876543210fedcban);
    expect(b.nonce).toBe(second.nonce);
    expect(a.genTime.getUTCMilliseconds()).toBe(0);
    expect(Math.abs(a.genTime.getTime() - Date.now())).toBeLessThan(5_000);
    expect(a.accuracy).toEqual({ seconds: 1, millis: 0, micros: 0 });
    expect(a.policy).toBe(SANDBOX_TSA_POLICY_OID);
    expect(b.policy).toBe(SANDBOX_TSA_POLICY_OID);
    expect(BigInt(`0x${b.serialNumber}`)).toBeGreaterThan(BigInt(`0x${a.serialNumber}`));
  });

  it("includes the TSA certificate and its CA only when certReq is set", async () => {
    const digest = createHash("sha384").update("y").digest();
    const withCerts = parseTimestampResponse(await timestampReply(buildTimestampRequest(digest, { hashAlgorithm: "SHA-384" }).der));
    const carried = parseTimestampToken(withCerts.token ?? Buffer.alloc(0)).certificates;
    // A SET OF in DER order, so not necessarily TSA first.
    expect(carried.map((certificate) => certificate.subject.split("\n").at(-1)).sort()).toEqual([
      "CN=Passerelle Sandbox LU CA",
      "CN=Passerelle Sandbox TSA",
    ]);

    const request = buildTimestampRequest(digest, { hashAlgorithm: "SHA-384", certReq: false });
    const reply = await timestampReply(request.der);
    expect(parseTimestampToken(parseTimestampResponse(reply).token ?? Buffer.alloc(0)).certificates).toEqual([]);
    // openssl then needs the TSA certificate from outside, as RFC 3161 §2.4.1 intends.
    const paths = { query: await writeTemp("nocert.tsq", request.der), reply: await writeTemp("nocert.tsr", reply) };
    const withoutTsa = await openssl(["ts", "-verify", "-in", paths.reply, "-queryfile", paths.query, "-CAfile", files.root, "-untrusted", files.chain]);
    expect(withoutTsa.code).not.toBe(0);
    const withTsa = await openssl(["ts", "-verify", "-in", paths.reply, "-queryfile", paths.query, "-CAfile", files.root, "-untrusted", files.tsaAndChain]);
    expect(withTsa.output).toContain("Verification: OK");
  });

  it("signs with a certificate whose id-kp-timeStamping EKU is critical and key usage is digitalSignature", async () => {
    const text = await openssl(["x509", "-in", files.tsaAndChain, "-noout", "-text"]);
    expect(text.output).toMatch(/X509v3 Extended Key Usage: critical\s+Time Stamping\s/);
    expect(text.output).toMatch(/X509v3 Key Usage: critical\s+Digital Signature\s/);
    expect(text.output).toContain("Issuer: C = LU, O = Passerelle Sandbox, CN = Passerelle Sandbox LU CA");
  });

  it("refuses a SHA-1 imprint with rejection / badAlg", async () => {
    const data = await writeTemp("sha1.data", "old");
    const query = join(dataDir, "sha1.tsq");
    expect((await openssl(["ts", "-query", "-data", data, "-sha1", "-out", query])).code).toBe(0);
    const reply = await timestampReply(await readFile(query));
    expect(parseTimestampResponse(reply)).toMatchObject({ status: "rejection", failInfo: ["badAlg"], token: undefined });
    const printed = await openssl(["ts", "-reply", "-in", await writeTemp("sha1.tsr", reply), "-text"]);
    expect(printed.output).toContain("Status: Rejected");
    expect(printed.output).toContain("unrecognized or unsupported algorithm identifier");
  });

  it("refuses bytes that are not a TimeStampReq with rejection / badDataFormat", async () => {
    const valid = buildTimestampRequest(createHash("sha256").update("z").digest(), { hashAlgorithm: "SHA-256" }).der;
    for (const body of [Buffer.from("hello, TSA"), Buffer.alloc(0), valid.subarray(0, valid.length - 3), Buffer.concat([valid, Buffer.from([0])])]) {
      expect(parseTimestampResponse(await timestampReply(body))).toMatchObject({ status: "rejection", failInfo: ["badDataFormat"] });
    }
  });

  it("refuses a digest of the wrong length, another policy, and request extensions", async () => {
    const digest = createHash("sha256").update("w").digest();
    const craft = (changes: Partial<pkijs.TimeStampReq>): Buffer => {
      const request = new pkijs.TimeStampReq({
        version: 1,
        messageImprint: new pkijs.MessageImprint({
          hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: "2.16.840.1.101.3.4.2.1" }),
          hashedMessage: new asn1js.OctetString({ valueHex: digest }),
        }),
        ...changes,
      });
      return Buffer.from(request.toSchema().toBER());
    };
    const short = craft({
      messageImprint: new pkijs.MessageImprint({
        hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: "2.16.840.1.101.3.4.2.1" }),
        hashedMessage: new asn1js.OctetString({ valueHex: digest.subarray(0, 20) }),
      }),
    });
    expect(parseTimestampResponse(await timestampReply(short)).failInfo).toEqual(["badDataFormat"]);
    expect(parseTimestampResponse(await timestampReply(craft({ version: 2 }))).failInfo).toEqual(["badDataFormat"]);
    expect(parseTimestampResponse(await timestampReply(craft({ reqPolicy: "1.2.3.4" })))).toMatchObject({
      status: "rejection",
      failInfo: ["unacceptedPolicy"],
      statusStrings: ["Policy 1.2.3.4 is not offered by this authority"],
    });
    const withExtension = craft({
      extensions: [new pkijs.Extension({ extnID: "1.2.3.4.5", extnValue: new asn1js.Null().toBER() })],
    });
    expect(parseTimestampResponse(await timestampReply(withExtension)).failInfo).toEqual(["unacceptedExtension"]);
  });

  it("answers HTTP errors to what is not a time-stamp query", async () => {
    const json = await app.inject({ method: "POST", url: "/tsa", payload: { digest: "abc" } });
    expect(json.statusCode).toBe(415);
    expect(json.json()).toMatchObject({ code: "PASSERELLE_UNSUPPORTED_MEDIA_TYPE", status: 415 });
    const text = await app.inject({ method: "POST", url: "/tsa", headers: { "content-type": "text/plain" }, payload: "hi" });
    expect(text.statusCode).toBe(415);
    expect(text.headers["content-type"]).toBe("application/problem+json; charset=utf-8");
    const huge = await app.inject({ method: "POST", url: "/tsa", headers: QUERY, payload: Buffer.alloc(17 * 1024) });
    expect(huge.statusCode).toBe(413);
    expect(huge.json()).toMatchObject({ code: "PASSERELLE_PAYLOAD_TOO_LARGE" });
    const get = await app.inject({ method: "GET", url: "/tsa" });
    expect(get.statusCode).toBe(405);
    expect(get.headers.allow).toBe("POST");
    expect((await app.inject({ method: "POST", url: "/nowhere", headers: QUERY, payload: Buffer.from([0x30, 0]) })).statusCode).toBe(404);
  });

  it("serves the TSA certificate and its CA", async () => {
    const res = await app.inject({ method: "GET", url: "/tsa/certificate.pem" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("application/pem-certificate-chain");
    const [tsa, ca] = (res.body.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n/g) ?? []).map((pem) => new X509Certificate(pem));
    expect(tsa?.checkIssued(ca as X509Certificate)).toBe(true);
    expect(ca?.toString()).toBe(pki.caCertPem("LU"));
  });

  it("validates the fault API, applies a fault `times` times, and clears it", async () => {
    for (const payload of [{ mode: "explode" }, { mode: "slow", delayMs: -1 }, { mode: "garbage", times: 0 }, { mode: "garbage", extra: 1 }, []]) {
      const res = await app.inject({ method: "POST", url: "/_test/faults", payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json()).toMatchObject({ code: "PASSERELLE_VALIDATION" });
    }
    const set = await app.inject({ method: "POST", url: "/_test/faults", payload: { mode: "error500", times: 1 } });
    expect(set.json()).toEqual({ fault: { mode: "error500", delayMs: 10_000, remaining: 1 } });
    const query = buildTimestampRequest(createHash("sha256").update("f").digest(), { hashAlgorithm: "SHA-256" }).der;
    const failed = await app.inject({ method: "POST", url: "/tsa", headers: QUERY, payload: query });
    expect(failed.statusCode).toBe(500);
    expect((await app.inject({ method: "GET", url: "/_test/faults" })).json()).toEqual({ fault: null });
    await timestampReply(query);

    await app.inject({ method: "POST", url: "/_test/faults", payload: { mode: "garbage" } });
    const garbage = await app.inject({ method: "POST", url: "/tsa", headers: QUERY, payload: query });
    expect(garbage.headers["content-type"]).toBe("application/timestamp-reply");
    let parseFailure: unknown;
    try {
      parseTimestampResponse(garbage.rawPayload);
    } catch (error) {
      parseFailure = error;
    }
    expect(parseFailure).toBeInstanceOf(TimestampError);
    expect(parseFailure).toMatchObject({ reason: "malformed" });
    expect((await app.inject({ method: "DELETE", url: "/_test/faults" })).statusCode).toBe(204);
    await timestampReply(query);
  });

  it("has no fault API when created without it", async () => {
    const plain = await buildSandboxTsaApp(pki, logger, { faultInjection: false });
    try {
      const res = await plain.inject({ method: "POST", url: "/_test/faults", payload: { mode: "garbage" } });
      expect(res.statusCode).toBe(404);
    } finally {
      await plain.close();
    }
  });
});

describe("sandbox TSA over HTTPS, through startSandbox, with the TimestampClient", () => {
  let sandbox: RunningSandbox;
  let anchors: X509Certificate[];
  const upstreams: UpstreamClient[] = [];

  function upstream(options: { timeoutMs?: number } = {}): UpstreamClient {
    const client = new UpstreamClient({
      name: "sandbox-tsa",
      baseUrl: sandbox.url("sandbox-tsa"),
      tls: { ca: sandbox.pki.rootCertPem },
      timeoutMs: options.timeoutMs ?? 5_000,
      retry: { maxAttempts: 1 },
    });
    upstreams.push(client);
    return client;
  }

  function client(options: { policy?: string; timeoutMs?: number } = {}): TimestampClient {
    return new TimestampClient({
      upstream: upstream(options),
      path: "/tsa",
      trust: { anchors },
      ...(options.policy === undefined ? {} : { policy: options.policy }),
    });
  }

  async function injectFault(fault: Record<string, unknown>): Promise<void> {
    await upstream().request({
      method: "POST",
      path: "/_test/faults",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(fault),
    });
  }

  beforeAll(async () => {
    sandbox = await startSandbox({ dataDir, pki, simulators: [sandboxTsaSimulator()], logger, shutdownGraceMs: 200 });
    anchors = [new X509Certificate(sandbox.pki.rootCertPem)];
  });

  afterAll(async () => {
    await Promise.all(upstreams.map((client) => client.close()));
    await sandbox.close();
  });

  afterEach(async () => {
    await upstream().request({ method: "DELETE", path: "/_test/faults" });
  });

  it("time-stamps a digest; the verified token also verifies standalone against the data", async () => {
    const data = Buffer.from("%PDF-1.7 signature value");
    const digest = createHash("sha256").update(data).digest();
    const token = await client({ policy: SANDBOX_TSA_POLICY_OID }).timestamp(digest, "SHA-256");
    expect(token.policy).toBe(SANDBOX_TSA_POLICY_OID);
    expect(token.messageImprint).toEqual(digest);
    expect(token.tsaCertificate.subject).toContain("CN=Passerelle Sandbox TSA");
    expect(Math.abs(token.genTime.getTime() - Date.now())).toBeLessThan(5_000);
    const again = await verifyTimestampToken(token.der, { data, trust: { anchors } });
    expect(again.serialNumber).toBe(token.serialNumber);
  });

  it("refuses each injected fault with its precise error", async () => {
    const digest = createHash("sha256").update("fault").digest();
    const cases: Array<[Record<string, unknown>, Record<string, unknown>]> = [
      [{ mode: "wrong-nonce" }, { code: "PASSERELLE_TIMESTAMP_INVALID", status: 502, reason: "nonce-mismatch", upstream: "sandbox-tsa" }],
      [{ mode: "wrong-imprint" }, { code: "PASSERELLE_TIMESTAMP_INVALID", status: 502, reason: "imprint-mismatch" }],
      [{ mode: "untrusted-cert" }, { code: "PASSERELLE_TIMESTAMP_INVALID", status: 502, reason: "untrusted-tsa" }],
      [{ mode: "garbage" }, { code: "PASSERELLE_TIMESTAMP_INVALID", status: 502, reason: "malformed" }],
      [{ mode: "error500" }, { code: "PASSERELLE_UPSTREAM_BAD_RESPONSE", status: 502, upstreamStatus: 500 }],
    ];
    for (const [fault, expected] of cases) {
      await injectFault(fault);
      const failure = await client().timestamp(digest, "SHA-256").catch((error: unknown) => error);
      expect(failure, String(fault.mode)).toMatchObject(expected);
    }
  });

  it("answers 504 when the TSA is too slow", async () => {
    await injectFault({ mode: "slow", delayMs: 3_000 });
    const started = performance.now();
    const failure = await client({ timeoutMs: 300 }).timestamp(createHash("sha256").update("slow").digest(), "SHA-256").catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(UpstreamError);
    expect(failure).toMatchObject({ code: "PASSERELLE_UPSTREAM_TIMEOUT", status: 504, kind: "timeout" });
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it("reports a refused policy as PASSERELLE_TIMESTAMP_REJECTED with the failInfo", async () => {
    const failure = await client({ policy: "1.2.3.4.5" })
      .timestamp(createHash("sha512").update("p").digest(), "SHA-512")
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(TimestampError);
    expect(failure).toMatchObject({
      code: "PASSERELLE_TIMESTAMP_REJECTED",
      status: 502,
      reason: "status-rejection",
      pkiStatus: "rejection",
      failInfo: ["unacceptedPolicy"],
      extensions: { reason: "status-rejection", upstream: "sandbox-tsa", pkiStatus: "rejection", failInfo: ["unacceptedPolicy"] },
    });
  });
});
