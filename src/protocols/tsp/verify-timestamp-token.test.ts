import { execFile } from "node:child_process";
import { X509Certificate, createHash, createPrivateKey, randomBytes, sign, type KeyObject } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Signer } from "../../trust/signer.js";
import {
  TimestampError,
  TimestampResponder,
  buildTimestampRequest,
  parseTimestampResponse,
  parseTimestampToken,
  verifyTimestampToken,
  type ChainVerificationContext,
  type TimestampRequestOptions,
} from "./index.js";

const run = promisify(execFile);
const POLICY = "1.3.6.1.4.1.32473.3161.1";
const DATA = Buffer.from("signature value to time-stamp");

/** A certificate and key made with the openssl CLI: an independent issuer, and quick with P-256 keys. */
interface Issued {
  certPath: string;
  keyPath: string;
  csrPath: string;
  cert: X509Certificate;
  key: KeyObject;
}

let dir: string;
const pki = {} as Record<
  "root" | "intermediate" | "good" | "noncritical" | "noEku" | "extraPurpose" | "badKeyUsage" | "twin" | "otherRoot" | "stranger",
  Issued
>;

const LEAF = "basicConstraints=critical,CA:FALSE\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n";
const TSA_KU = "keyUsage=critical,digitalSignature\n";
const CA = "basicConstraints=critical,CA:TRUE,pathlen:1\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n";

async function issue(
  name: string,
  extensions: string,
  issuer?: Issued,
  options: { serial?: string; days?: number; csrFrom?: Issued } = {},
): Promise<Issued> {
  const keyPath = options.csrFrom?.keyPath ?? join(dir, `${name}.key`);
  const csrPath = options.csrFrom?.csrPath ?? join(dir, `${name}.csr`);
  const certPath = join(dir, `${name}.pem`);
  const extPath = join(dir, `${name}.ext`);
  await writeFile(extPath, `[v3]\n${extensions}`);
  if (options.csrFrom === undefined) {
    await run("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", keyPath, "-out", csrPath, "-subj", `/O=Test/CN=${name}`]);
  }
  const signing = issuer === undefined ? ["-signkey", keyPath] : ["-CA", issuer.certPath, "-CAkey", issuer.keyPath];
  const serial = options.serial ?? `0x${randomBytes(8).toString("hex")}`;
  await run("openssl", ["x509", "-req", "-in", csrPath, ...signing, "-set_serial", serial, "-days", String(options.days ?? 3), "-sha256", "-extfile", extPath, "-extensions", "v3", "-out", certPath]);
  return {
    certPath,
    keyPath,
    csrPath,
    cert: new X509Certificate(await readFile(certPath)),
    key: createPrivateKey(await readFile(keyPath)),
  };
}

function signerFor(identity: Issued, chain: Issued[]): Signer {
  return {
    id: identity.cert.subject,
    keyType: "EC",
    algorithms: ["ECDSA-P256-SHA256"],
    sign: async (data) => sign("sha256", data, { key: identity.key, dsaEncoding: "der" }),
    certificateChain: async () => [identity.cert, ...chain.map((certificate) => certificate.cert)],
  };
}

let serial = 0n;
async function responderFor(identity: Issued, options: { now?: () => Date; chain?: Issued[] } = {}): Promise<TimestampResponder> {
  return TimestampResponder.create({
    signer: signerFor(identity, options.chain ?? [pki.intermediate]),
    policy: POLICY,
    acceptedPolicies: [POLICY, "1.3.6.1.4.1.32473.3161.2"],
    serialNumber: () => (serial += 1n),
    ...(options.now === undefined ? {} : { now: options.now }),
  });
}

/** A token for DATA from `responder`. */
async function tokenFrom(responder: TimestampResponder, options: Partial<TimestampRequestOptions> = {}): Promise<Buffer> {
  const request = buildTimestampRequest(createHash("sha256").update(DATA).digest(), { hashAlgorithm: "SHA-256", ...options });
  const response = parseTimestampResponse(await responder.respond(request.der));
  expect(response.status).toBe("granted");
  return response.token ?? Buffer.alloc(0);
}

async function failureOf(promise: Promise<unknown>): Promise<TimestampError> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(TimestampError);
  return outcome as TimestampError;
}

const anchors = (): X509Certificate[] => [pki.root.cert];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "passerelle-tst-"));
  pki.root = await issue("root", CA);
  pki.otherRoot = await issue("other-root", CA);
  pki.intermediate = await issue("intermediate", `${CA}authorityKeyIdentifier=keyid\n`, pki.root);
  const leaves = await Promise.all([
    issue("good", `${LEAF}${TSA_KU}extendedKeyUsage=critical,timeStamping\n`, pki.intermediate, { serial: "0x7777" }),
    issue("noncritical", `${LEAF}${TSA_KU}extendedKeyUsage=timeStamping\n`, pki.intermediate),
    issue("no-eku", `${LEAF}${TSA_KU}extendedKeyUsage=critical,clientAuth\n`, pki.intermediate),
    issue("extra-purpose", `${LEAF}${TSA_KU}extendedKeyUsage=critical,timeStamping,clientAuth\n`, pki.intermediate),
    issue("bad-ku", `${LEAF}keyUsage=critical,digitalSignature,keyAgreement\nextendedKeyUsage=critical,timeStamping\n`, pki.intermediate),
    issue("stranger", `${LEAF}${TSA_KU}extendedKeyUsage=critical,timeStamping\n`, pki.otherRoot),
  ]);
  [pki.good, pki.noncritical, pki.noEku, pki.extraPurpose, pki.badKeyUsage, pki.stranger] = leaves as [Issued, Issued, Issued, Issued, Issued, Issued];
  // Same key, issuer and serial as "good", different bytes: what the ESS attribute guards against.
  pki.twin = await issue("twin", `${LEAF}${TSA_KU}extendedKeyUsage=critical,timeStamping\n`, pki.intermediate, {
    serial: "0x7777",
    days: 5,
    csrFrom: pki.good,
  });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("verifyTimestampToken", () => {
  it("verifies a token against the data or its digest and returns what it attests", async () => {
    const responder = await responderFor(pki.good);
    const der = await tokenFrom(responder, { nonce: 42n });
    const byData = await verifyTimestampToken(der, { data: DATA, trust: { anchors: anchors() }, nonce: 42n, policy: POLICY });
    expect(byData).toMatchObject({ policy: POLICY, hashAlgorithm: "SHA-256", nonce: 42n, accuracy: { seconds: 1, millis: 0, micros: 0 } });
    expect(byData.tsaCertificate.fingerprint256).toBe(pki.good.cert.fingerprint256);
    expect(byData.messageImprint).toEqual(createHash("sha256").update(DATA).digest());
    expect(byData.der).toEqual(der);
    expect(Math.abs(byData.genTime.getTime() - Date.now())).toBeLessThan(5_000);
    const byDigest = await verifyTimestampToken(der, {
      digest: createHash("sha256").update(DATA).digest(),
      hashAlgorithm: "SHA-256",
      trust: { anchors: anchors() },
    });
    expect(byDigest.serialNumber).toBe(byData.serialNumber);

    // The independent check: openssl accepts our ECDSA token too.
    const tokenPath = join(dir, "ecdsa.tst");
    const dataPath = join(dir, "ecdsa.data");
    await Promise.all([writeFile(tokenPath, der), writeFile(dataPath, DATA)]);
    const { stdout } = await run("openssl", [
      "ts", "-verify", "-token_in", "-in", tokenPath, "-data", dataPath, "-CAfile", pki.root.certPath, "-untrusted", pki.intermediate.certPath,
    ]);
    expect(stdout).toContain("Verification: OK");
  });

  it("takes the TSA certificate from the configuration when the token carries none (certReq false)", async () => {
    const der = await tokenFrom(await responderFor(pki.good), { certReq: false });
    expect(parseTimestampToken(der).certificates).toEqual([]);
    const missing = await failureOf(verifyTimestampToken(der, { data: DATA, trust: { anchors: anchors() } }));
    expect(missing).toMatchObject({ reason: "missing-certificate", code: "PASSERELLE_TIMESTAMP_TOKEN_INVALID", status: 422 });
    const verified = await verifyTimestampToken(der, {
      data: DATA,
      trust: { anchors: anchors() },
      certificates: [pki.intermediate.cert, pki.good.cert],
    });
    expect(verified.tsaCertificate.subject).toBe(pki.good.cert.subject);
  });

  it("hands a chain verifier the TSA certificate first, the other certificates, and genTime; its refusal is untrusted-tsa", async () => {
    const der = await tokenFrom(await responderFor(pki.good));
    const calls: Array<{ subjects: string[]; context: ChainVerificationContext }> = [];
    const token = await verifyTimestampToken(der, {
      data: DATA,
      trust: {
        verifyChain: async (chain, context) => {
          calls.push({ subjects: chain.map((certificate) => certificate.subject), context });
        },
      },
    });
    expect(calls).toEqual([{ subjects: [pki.good.cert.subject, pki.intermediate.cert.subject], context: { at: token.genTime } }]);

    const refused = await failureOf(
      verifyTimestampToken(der, {
        data: DATA,
        trust: {
          verifyChain: async () => {
            throw new Error("certificate revoked");
          },
        },
      }),
    );
    expect(refused).toMatchObject({ reason: "untrusted-tsa", detail: "The TSA certificate is not trusted: certificate revoked" });
  });

  it("refuses a TSA chaining to another anchor, and an anchor list without the TSA's root", async () => {
    const stranger = await tokenFrom(await responderFor(pki.stranger, { chain: [] }));
    expect(await failureOf(verifyTimestampToken(stranger, { data: DATA, trust: { anchors: anchors() } }))).toMatchObject({
      reason: "untrusted-tsa",
    });
    const good = await tokenFrom(await responderFor(pki.good));
    expect(await failureOf(verifyTimestampToken(good, { data: DATA, trust: { anchors: [pki.otherRoot.cert] } }))).toMatchObject({
      reason: "untrusted-tsa",
    });
    // Without the intermediate (token made with an empty chain) no path reaches the root.
    const noIntermediate = await tokenFrom(await responderFor(pki.good, { chain: [] }));
    expect(await failureOf(verifyTimestampToken(noIntermediate, { data: DATA, trust: { anchors: anchors() } }))).toMatchObject({
      reason: "untrusted-tsa",
    });
  });

  it("refuses TSA certificates that RFC 3161 §2.3 does not allow to time-stamp", async () => {
    const cases: Array<[Issued, string, RegExp]> = [
      [pki.noEku, "missing-eku", /does not include id-kp-timeStamping/],
      [pki.extraPurpose, "missing-eku", /id-kp-timeStamping only/],
      [pki.noncritical, "eku-not-critical", /not marked critical/],
      [pki.badKeyUsage, "bad-key-usage", /digitalSignature and\/or nonRepudiation/],
    ];
    for (const [identity, reason, detail] of cases) {
      const der = await tokenFrom(await responderFor(identity));
      const failure = await failureOf(verifyTimestampToken(der, { data: DATA, trust: { anchors: anchors() } }));
      expect(failure.reason, identity.cert.subject).toBe(reason);
      expect(failure.detail).toMatch(detail);
    }
  });

  it("refuses a token made when the TSA certificate was not (yet) valid", async () => {
    const later = new Date(Date.now() + 10 * 24 * 3_600_000);
    const der = await tokenFrom(await responderFor(pki.good, { now: () => later }));
    const failure = await failureOf(verifyTimestampToken(der, { data: DATA, trust: { anchors: anchors() } }));
    expect(failure).toMatchObject({ reason: "untrusted-tsa" });
    expect(failure.detail).toMatch(/not valid at genTime/);
  });

  it("refuses a certificate with the signer's key, issuer and serial that is not the one the ESS attribute names", async () => {
    expect(pki.twin.cert.serialNumber).toBe(pki.good.cert.serialNumber);
    expect(pki.twin.cert.raw.equals(pki.good.cert.raw)).toBe(false);
    const der = await tokenFrom(await responderFor(pki.good), { certReq: false });
    const failure = await failureOf(
      verifyTimestampToken(der, { data: DATA, trust: { anchors: anchors() }, certificates: [pki.twin.cert, pki.intermediate.cert] }),
    );
    expect(failure).toMatchObject({ reason: "bad-signature" });
    expect(failure.detail).toMatch(/names another certificate/);
  });

  it("detects tampering with the TSTInfo and with the signature", async () => {
    const der = await tokenFrom(await responderFor(pki.good), { nonce: 0x1122334455n });
    const nonceAt = der.indexOf(Buffer.from([0x02, 0x05, 0x11, 0x22, 0x33, 0x44, 0x55]));
    expect(nonceAt).toBeGreaterThan(0);
    const changedNonce = Buffer.from(der);
    changedNonce[nonceAt + 6] = 0x56;
    const content = await failureOf(verifyTimestampToken(changedNonce, { data: DATA, trust: { anchors: anchors() } }));
    expect(content).toMatchObject({ reason: "bad-signature" });
    expect(content.detail).toMatch(/message-digest attribute does not match/);

    const changedSignature = Buffer.from(der);
    changedSignature[der.length - 5] = (changedSignature[der.length - 5] ?? 0) ^ 0xff;
    expect(await failureOf(verifyTimestampToken(changedSignature, { data: DATA, trust: { anchors: anchors() } }))).toMatchObject({
      reason: "bad-signature",
    });
  });

  it("checks imprint, requested algorithm, nonce, policy and time window", async () => {
    const der = await tokenFrom(await responderFor(pki.good), { nonce: 7n, policy: "1.3.6.1.4.1.32473.3161.2" });
    const trust = { anchors: anchors() };
    const reasons = await Promise.all([
      failureOf(verifyTimestampToken(der, { data: Buffer.from("other data"), trust })),
      failureOf(verifyTimestampToken(der, { digest: Buffer.alloc(48), hashAlgorithm: "SHA-384", trust })),
      failureOf(verifyTimestampToken(der, { data: DATA, nonce: 8n, trust })),
      failureOf(verifyTimestampToken(der, { data: DATA, policy: POLICY, trust })),
      failureOf(
        verifyTimestampToken(der, {
          data: DATA,
          trust,
          genTimeWindow: { notBefore: new Date(Date.now() + 60_000), notAfter: new Date(Date.now() + 120_000) },
        }),
      ),
    ]);
    expect(reasons.map((failure) => failure.reason)).toEqual([
      "imprint-mismatch",
      "imprint-mismatch",
      "nonce-mismatch",
      "policy-mismatch",
      "time-out-of-tolerance",
    ]);
    const withoutNonce = await tokenFrom(await responderFor(pki.good), { nonce: 0n });
    expect((await verifyTimestampToken(withoutNonce, { data: DATA, nonce: 0n, trust })).nonce).toBe(0n);
  });

  it("says malformed for what is not a token", async () => {
    const good = await tokenFrom(await responderFor(pki.good));
    const response = await (await responderFor(pki.good)).respond(buildTimestampRequest(Buffer.alloc(32), { hashAlgorithm: "SHA-256" }).der);
    for (const bytes of [Buffer.from("not a token"), good.subarray(0, 100), response, pki.good.cert.raw]) {
      expect(await failureOf(verifyTimestampToken(bytes, { data: DATA, trust: { anchors: anchors() } }))).toMatchObject({
        reason: "malformed",
        code: "PASSERELLE_TIMESTAMP_TOKEN_INVALID",
      });
    }
  });

  it("throws TypeError on caller mistakes", async () => {
    const der = await tokenFrom(await responderFor(pki.good));
    const trust = { anchors: anchors() };
    await expect(verifyTimestampToken(der, { trust })).rejects.toThrow(TypeError);
    await expect(verifyTimestampToken(der, { data: DATA, digest: Buffer.alloc(32), trust })).rejects.toThrow(TypeError);
    await expect(verifyTimestampToken(der, { data: DATA, trust: {} as never })).rejects.toThrow(TypeError);
    await expect(verifyTimestampToken(der, { data: DATA, trust: { anchors: [] } })).rejects.toThrow(TypeError);
    await expect(verifyTimestampToken("token" as never, { data: DATA, trust })).rejects.toThrow(TypeError);
  });
});

describe("verifyTimestampToken on tokens made by openssl ts -reply", () => {
  /** Answers `query` with an OpenSSL TSA signing with the "good" certificate. */
  async function opensslReply(query: Buffer, essCertIdAlg: "sha1" | "sha256", digests = "sha256, sha384, sha512"): Promise<Buffer> {
    const name = `${essCertIdAlg}-${randomBytes(4).toString("hex")}`;
    const config = join(dir, `${name}.cnf`);
    await writeFile(join(dir, `${name}.serial`), "01\n");
    await writeFile(
      config,
      [
        "[ tsa ]",
        "default_tsa = tsa_config",
        "[ tsa_config ]",
        `serial = ${join(dir, `${name}.serial`)}`,
        "crypto_device = builtin",
        `signer_cert = ${pki.good.certPath}`,
        `certs = ${pki.intermediate.certPath}`,
        `signer_key = ${pki.good.keyPath}`,
        "signer_digest = sha256",
        `default_policy = ${POLICY}`,
        `digests = ${digests}`,
        "accuracy = secs:1, millisecs:500",
        "ordering = yes",
        "tsa_name = yes",
        "ess_cert_id_chain = no",
        `ess_cert_id_alg = ${essCertIdAlg}`,
        "",
      ].join("\n"),
    );
    const queryPath = join(dir, `${name}.tsq`);
    const replyPath = join(dir, `${name}.tsr`);
    await writeFile(queryPath, query);
    await run("openssl", ["ts", "-reply", "-config", config, "-queryfile", queryPath, "-out", replyPath]);
    return readFile(replyPath);
  }

  it("verifies them, with an ESS signing-certificate (SHA-1) or signing-certificate-v2 attribute", async () => {
    for (const ess of ["sha1", "sha256"] as const) {
      const request = buildTimestampRequest(createHash("sha512").update(DATA).digest(), { hashAlgorithm: "SHA-512" });
      const response = parseTimestampResponse(await opensslReply(request.der, ess));
      expect(response.status).toBe("granted");
      const token = await verifyTimestampToken(response.token ?? Buffer.alloc(0), {
        data: DATA,
        nonce: request.nonce,
        policy: POLICY,
        trust: { anchors: anchors() },
      });
      expect(token).toMatchObject({ hashAlgorithm: "SHA-512", policy: POLICY, accuracy: { seconds: 1, millis: 500, micros: 0 } });
      expect(token.tsaCertificate.subject).toBe(pki.good.cert.subject);
      expect(parseTimestampToken(token.der).ordering).toBe(true);
    }
  });

  it("refuses a token over a SHA-1 imprint as unsupported-algorithm", async () => {
    const queryPath = join(dir, "sha1-query.tsq");
    const dataPath = join(dir, "sha1-query.data");
    await writeFile(dataPath, DATA);
    await run("openssl", ["ts", "-query", "-data", dataPath, "-sha1", "-cert", "-out", queryPath]);
    const response = parseTimestampResponse(await opensslReply(await readFile(queryPath), "sha256", "sha1, sha256"));
    const failure = await failureOf(verifyTimestampToken(response.token ?? Buffer.alloc(0), { data: DATA, trust: { anchors: anchors() } }));
    expect(failure).toMatchObject({ reason: "unsupported-algorithm" });
    expect(failure.detail).toContain("SHA-1");
  });
});

describe("parseTimestampResponse", () => {
  it("splits a granted answer into its status and the token's exact bytes, and refuses what is not one DER TimeStampResp", async () => {
    const responder = await responderFor(pki.good);
    const request = buildTimestampRequest(createHash("sha256").update(DATA).digest(), { hashAlgorithm: "SHA-256" });
    const reply = await responder.respond(request.der);
    const parsed = parseTimestampResponse(reply);
    expect(parsed.status).toBe("granted");
    // The token is the answer's second element, byte for byte.
    expect(reply.subarray(reply.length - (parsed.token?.length ?? 0)).equals(parsed.token ?? Buffer.alloc(1))).toBe(true);
    expect(parseTimestampToken(parsed.token ?? Buffer.alloc(0)).nonce).toBe(request.nonce);

    const refused = (bytes: Uint8Array) => expect(() => parseTimestampResponse(bytes)).toThrow(TimestampError);
    refused(Buffer.concat([reply, Buffer.from([0x00])])); // trailing byte
    refused(reply.subarray(0, reply.length - 1)); // truncated
    refused(Buffer.from([0x30, 0x80, 0x00, 0x00])); // indefinite length (BER, not DER)
    refused(Buffer.from([0x30, 0x81, 0x03, 0x02, 0x01, 0x00])); // non-minimal length
    refused(Buffer.from([0x31, 0x03, 0x02, 0x01, 0x00])); // a SET, not a SEQUENCE
    refused(Buffer.alloc(0));
    // A rejection must not carry a token.
    const rejection = Buffer.from([0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x02]);
    expect(parseTimestampResponse(rejection)).toMatchObject({ status: "rejection", token: undefined });
  });
});
