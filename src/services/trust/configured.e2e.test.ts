/**
 * The trust endpoints configured like a real deployment (integration
 * profile): a software key store and a PKCS#11 token as signers, trust
 * anchors and a CRL from files, a TSA URL. Checks that a signer whose
 * certificate expired or was revoked is refused, that key store and trust
 * anchors reload without a restart (log line, metric), that an unreachable
 * TSA fails cleanly, and that bad files stop the start with a clear
 * configuration error.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, hashApiKey } from "../../config/index.js";
import { signXml } from "../../protocols/xmldsig/index.js";
import { createSoftHsmToken, importIdentity, isSoftHsmAvailable } from "../../trust/pkcs11/index.js";
import { SoftwareSigner } from "../../trust/signers/index.js";
import type { PdfVerdict, XmlVerdict } from "./service.js";
import { onePagePdf, startTrustGateway, type Answer, type TrustGateway } from "./test-support/harness.js";
import { createTestCa, type TestCa, type TestIdentity } from "./test-support/test-ca.js";

const run = promisify(execFile);
const hsm = await isSoftHsmAvailable();
const ADMIN_KEY = "ops-admin-key-0123456789abcdef";
const ACME_KEY = "acme-pms-key-0123456789abcdef";
const DAY = 24 * 60 * 60 * 1000;

let dir: string;
let ca: TestCa;
let otherCa: TestCa;
let valid: TestIdentity;
let expired: TestIdentity;
let revoked: TestIdentity;
let cardIdentity: TestIdentity;
let baseEnv: Record<string, string>;
let pdf: Buffer;

/** Replaces a file the way an operator's deployment does: write aside, then rename into place. */
async function replaceFile(path: string, content: string | Buffer): Promise<void> {
  const aside = `${path}.${randomBytes(4).toString("hex")}.tmp`;
  await writeFile(aside, content);
  await rename(aside, path);
}

function expectProblem(answer: Answer, status: number, code: string): Record<string, unknown> {
  expect(answer.status, answer.text()).toBe(status);
  const problem = answer.json();
  expect(problem.code).toBe(code);
  return problem;
}

async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "passerelle-trust-configured-"));
  [ca, otherCa] = await Promise.all([createTestCa("CN=Test Health CA,O=Passerelle Tests,C=LU"), createTestCa("CN=Other CA,O=Elsewhere,C=BE")]);
  [valid, expired, revoked, cardIdentity] = await Promise.all([
    ca.issue({ subject: "CN=Dr Valid,O=Cabinet,C=LU" }),
    ca.issue({ subject: "CN=Dr Expired,O=Cabinet,C=LU", notBefore: new Date(Date.now() - 400 * DAY), notAfter: new Date(Date.now() - DAY) }),
    ca.issue({ subject: "CN=Dr Revoked,O=Cabinet,C=LU" }),
    ca.issue({ subject: "CN=Dr Card,O=Cabinet,C=LU" }),
  ]);
  await writeFile(join(dir, "anchors.pem"), ca.certPem);
  await writeFile(join(dir, "ca.crl"), await ca.crl([revoked.serialNumber]));
  await writeFile(join(dir, "signer.pem"), valid.keyPem + valid.certPem);
  baseEnv = {
    PROFILE: "integration",
    ACCEPT_LICENSE: "true",
    VAULT_KEY: randomBytes(32).toString("hex"),
    API_KEYS: `ops:${hashApiKey(ADMIN_KEY)}:admin,acme-pms:${hashApiKey(ACME_KEY)}`,
    SIGNER_KEYSTORE_FILE: join(dir, "signer.pem"),
    TRUST_ANCHORS_FILE: join(dir, "anchors.pem"),
    TRUST_CRL_FILES: join(dir, "ca.crl"),
  };
  pdf = await onePagePdf();
});

afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe("a configured gateway", () => {
  let gw: TrustGateway;

  beforeAll(async () => {
    const env: Record<string, string> = { ...baseEnv, TSA_URL: "http://127.0.0.1:9/tsa", TSA_TIMEOUT_MS: "3000" };
    if (hsm) {
      const token = await createSoftHsmToken({ label: "TEST-CARD", soPin: "12345678", userPin: "4321", dir: join(dir, "softhsm") });
      await importIdentity(token, { keyPem: cardIdentity.keyPem, certPem: cardIdentity.certPem, label: "Signature", id: "02" });
      // Before the first C_Initialize of this process (SoftHSM reads it once).
      process.env.SOFTHSM2_CONF = token.configPath;
      Object.assign(env, { SIGNER_PKCS11_TOKEN_LABEL: "TEST-CARD", SIGNER_PKCS11_PIN: "4321" });
    }
    gw = await startTrustGateway({ env, apiKey: ADMIN_KEY, trust: { keystoreCheckIntervalMs: 0, trustStoreWatch: { debounceMs: 20, pollIntervalMs: 100 } } });
  });

  afterAll(async () => {
    await gw?.close();
  });

  it("signs with the key store's key, verified against the configured anchors and CRL", async () => {
    const answer = await gw.call("/v1/sign/pdf?level=B-B", { body: pdf, contentType: "application/pdf" });
    expect(answer.status, answer.text()).toBe(200);
    expect(answer.headers.get("x-signer")).toBe("keystore");
    const verdict = (await gw.call("/v1/verify/pdf", { body: answer.body, contentType: "application/pdf" })).json<PdfVerdict>();
    expect(verdict).toMatchObject({ valid: true, signatures: [{ valid: true, signer: { subject: "CN=Dr Valid, O=Cabinet, C=LU" }, chain: { valid: true } }] });
    expect(verdict.signatures[0]).not.toHaveProperty("timestamp");
  });

  it.skipIf(!hsm)("signs with the PKCS#11 token named by SIGNER_PKCS11_TOKEN_LABEL, its issuer taken from the anchors", async () => {
    const answer = await gw.call("/v1/sign/xml?signer=pkcs11", { body: "<Invoice><Total>42</Total></Invoice>", contentType: "application/xml" });
    expect(answer.status, answer.text()).toBe(200);
    const verdict = (await gw.call("/v1/verify/xml", { body: answer.body, contentType: "application/xml" })).json<XmlVerdict>();
    expect(verdict).toMatchObject({ valid: true, signatureAlgorithm: "ecdsa-sha256", signer: { subject: "CN=Dr Card, O=Cabinet, C=LU" } });
  });

  it("fails a B-T signature with 503 naming the unreachable TSA, which readiness reports too", async () => {
    const problem = expectProblem(await gw.call("/v1/sign/pdf", { body: pdf, contentType: "application/pdf" }), 503, "PASSERELLE_UPSTREAM_UNAVAILABLE");
    expect(problem.upstream).toBe("tsa");
    const ready = await gw.call("/health/ready", { apiKey: null });
    expect(ready.status).toBe(503);
    expect(ready.json<{ checks: Array<{ name: string; status: string }> }>().checks).toContainEqual(expect.objectContaining({ name: "upstream:tsa", status: "fail" }));
  });

  it("gives a non-admin caller no signer unless SIGNER_CALLERS lists one", async () => {
    const problem = expectProblem(await gw.call("/v1/sign/pdf?level=B-B", { body: pdf, contentType: "application/pdf", apiKey: ACME_KEY }), 403, "PASSERELLE_FORBIDDEN");
    expect(problem.detail).toContain("acme-pms may use no signer");
  });

  it("follows the key store file: an expired, then a revoked certificate are refused before signing; a broken file keeps the last good key", async () => {
    const sign = () => gw.call("/v1/sign/pdf?level=B-B", { body: pdf, contentType: "application/pdf" });

    await replaceFile(join(dir, "signer.pem"), expired.keyPem + expired.certPem);
    const expiredProblem = expectProblem(await sign(), 422, "PASSERELLE_CERTIFICATE_INVALID");
    expect(expiredProblem).toMatchObject({ reason: "expired", certificate: { subject: "CN=Dr Expired, O=Cabinet, C=LU" } });
    expect(gw.logs.some((line) => line.msg === "signer keystore reloaded" && String(line.subject).includes("Dr Expired"))).toBe(true);

    await replaceFile(join(dir, "signer.pem"), revoked.keyPem + revoked.certPem);
    const revokedProblem = expectProblem(await sign(), 422, "PASSERELLE_CERTIFICATE_INVALID");
    expect(revokedProblem).toMatchObject({ reason: "revoked", revocation: { revocationReason: expect.any(String) } });
    const { records } = await gw.gateway.audit.query({ limit: 10, action: "trust.sign.pdf" });
    expect(records.at(-1)).toMatchObject({ outcome: "failure", caller: { software: "ops" } });
    expect(records.at(-1)?.detail).toContain("refused=revoked");

    await replaceFile(join(dir, "signer.pem"), valid.keyPem + valid.certPem);
    expect((await sign()).status).toBe(200);
    await replaceFile(join(dir, "signer.pem"), valid.keyPem.slice(0, 60));
    expect((await sign()).status).toBe(200);
    expect(gw.logs.some((line) => line.msg === "signer keystore reload failed; keeping the previous key")).toBe(true);

    const metrics = (await gw.call("/metrics", { apiKey: null })).text();
    expect(metrics).toMatch(/passerelle_trust_reloads_total\{store="signer-keystore",outcome="success"\} 3/);
    expect(metrics).toMatch(/passerelle_trust_reloads_total\{store="signer-keystore",outcome="error"\} 1/);
  });

  it("follows the trust anchors file: a signature by another CA verifies once that CA is added", async () => {
    const stranger = await otherCa.issue({ subject: "CN=Dr Elsewhere,O=Elsewhere,C=BE" });
    const signer = SoftwareSigner.fromPem({ keyPem: stranger.keyPem, certificatePem: stranger.certPem });
    const { xml } = await signXml("<Note>ok</Note>", { signer, keyInfo: "chain" });
    const verify = async () => (await gw.call("/v1/verify/xml", { body: xml, contentType: "application/xml" })).json<XmlVerdict>();
    expect(await verify()).toMatchObject({ valid: false, reason: "untrusted_key" });

    await replaceFile(join(dir, "anchors.pem"), ca.certPem + otherCa.certPem);
    // The CRL files cover the first CA only, and revocation is required when CRLs are configured.
    const afterReload = await until(verify, (verdict) => verdict.valid || verdict.chain?.reason === "revocation_unavailable");
    expect(afterReload).toMatchObject({ valid: false, chain: { valid: false, reason: "revocation_unavailable" } });
    await replaceFile(join(dir, "ca.crl"), (await ca.crl([revoked.serialNumber])) + (await otherCa.crl([])));
    expect(await until(verify, (verdict) => verdict.valid)).toMatchObject({ valid: true, signedElements: [expect.stringMatching(/^<Note>ok<ds:Signature/)] });
    expect(gw.logs.some((line) => line.msg === "trust store reloaded" && line.store === "trust")).toBe(true);
    expect((await gw.call("/metrics", { apiKey: null })).text()).toMatch(/passerelle_trust_reloads_total\{store="trust",outcome="success"\} 1/);
  });
});

describe("configuration errors stop the start", () => {
  // The tests above rewrote signer.pem: these start from a key store of their own.
  const goodEnv = (): Record<string, string> => ({ ...baseEnv, SIGNER_KEYSTORE_FILE: join(dir, "good-signer.pem") });
  beforeAll(async () => {
    await writeFile(join(dir, "good-signer.pem"), valid.keyPem + valid.certPem);
  });

  const startFails = async (env: Record<string, string>): Promise<ConfigError> => {
    const error = await startTrustGateway({ env: { ...goodEnv(), ...env } }).then(
      async (gw) => {
        await gw.close();
        throw new Error("the gateway started");
      },
      (error: unknown) => error,
    );
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  };

  it("a signer without trust anchors, a PIN without a token", async () => {
    const error = await startFails({ TRUST_ANCHORS_FILE: "", TRUST_CRL_FILES: "", SIGNER_PKCS11_PIN: "1234" });
    expect(error.issues.map((issue) => issue.name).sort()).toEqual(["SIGNER_PKCS11_PIN", "TRUST_ANCHORS_FILE"]);
  });

  it("a truncated PKCS#12 key store, and a wrong password", async () => {
    await writeFile(join(dir, "key.pem"), valid.keyPem);
    await writeFile(join(dir, "cert.pem"), valid.certPem);
    const p12 = join(dir, "signer.p12");
    await run("openssl", ["pkcs12", "-export", "-inkey", join(dir, "key.pem"), "-in", join(dir, "cert.pem"), "-passout", "pass:right-password", "-out", p12]);
    const wrong = await startFails({ SIGNER_KEYSTORE_FILE: p12, SIGNER_KEYSTORE_PASSWORD: "wrong-password" });
    expect(wrong.issues).toEqual([expect.objectContaining({ name: "SIGNER_KEYSTORE_PASSWORD", received: "<secret>", expected: expect.stringContaining("PASSERELLE_KEYSTORE_PASSWORD_INCORRECT") })]);

    const truncated = join(dir, "truncated.p12");
    await writeFile(truncated, (await readFile(p12)).subarray(0, 300));
    const broken = await startFails({ SIGNER_KEYSTORE_FILE: truncated, SIGNER_KEYSTORE_PASSWORD: "right-password" });
    expect(broken.issues).toEqual([expect.objectContaining({ name: "SIGNER_KEYSTORE_FILE", expected: expect.stringContaining("PASSERELLE_KEYSTORE_INVALID") })]);

    // The right password works, PKCS#12 and all.
    const gw = await startTrustGateway({ env: { ...goodEnv(), SIGNER_KEYSTORE_FILE: p12, SIGNER_KEYSTORE_PASSWORD: "right-password" }, apiKey: ADMIN_KEY });
    try {
      expect((await gw.call("/v1/sign/xml", { body: "<a/>", contentType: "application/xml" })).status).toBe(200);
    } finally {
      await gw.close();
    }
  });

  it("an unreadable anchors file, and SIGNER_CALLERS naming a signer that does not exist", async () => {
    expect((await startFails({ TRUST_ANCHORS_FILE: join(dir, "missing.pem") })).issues[0]?.name).toBe("TRUST_ANCHORS_FILE");
    const unknown = await startFails({ SIGNER_CALLERS: "acme-pms:keystore+fr-10001234565" });
    expect(unknown.issues).toEqual([expect.objectContaining({ name: "SIGNER_CALLERS", received: "unknown signer fr-10001234565" })]);
  });
});
