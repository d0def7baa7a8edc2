/**
 * The KMS client and signer against the lu-kms simulator, for real: mutual
 * TLS on loopback with the sandbox's eConnector-style PKCS#12 files (generic
 * keystore, KMS truststore with the integration aliases), real AeS access
 * tokens from the lu-aes simulator, and pdfsig (poppler/NSS) on the PAdES-B-T
 * result.
 */
import { execFile } from "node:child_process";
import { X509Certificate, createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { PDFDocument, StandardFonts } from "pdf-lib";
import { pino } from "pino";
import { Agent, request as httpRequest } from "undici";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { signPdf, verifyPdfSignatures } from "../../../protocols/pades/index.js";
import { verifyTimestampToken } from "../../../protocols/tsp/index.js";
import { luxembourgPractitioners } from "../../../sandbox/idp/lu-aes-practitioners.js";
import { luAesSimulator } from "../../../sandbox/idp/lu-aes.js";
import { SANDBOX_KMS_TRUSTSTORE_ALIASES, luKmsSimulator, writeSandboxEconnectorKeystores } from "../../../sandbox/lu-kms/index.js";
import {
  ANNE_WEBER,
  MARC_SCHMIT,
  aesAccessToken,
  expiredAesAccessToken,
  forgedAesAccessToken,
} from "../../../sandbox/lu-kms/test-support/aes-tokens.js";
import { startSandbox, type RunningSandbox } from "../../../sandbox/start-sandbox.js";
import { KmsClient, KmsSigner, KmsTrust, signatureTimestamp, type KmsClientOptions } from "./index.js";

const run = promisify(execFile);
const PASSWORD = "sandbox-generic-keystore";

let dataDir: string;
let sandbox: RunningSandbox;
let files: { genericKeystoreFile: string; kmsTruststoreFile: string };
let trust: KmsTrust;
let kms: KmsClient;
let anne: string;
let pdf: Buffer;

function endpoints(): KmsClientOptions["endpoints"] {
  const base = sandbox.url("lu-kms");
  return { signData: `${base}/api/v3/sign-data`, getCertificate: `${base}/api/v3/get-certificate`, signTimestamp: `${base}/api/v3/sign-timestamp` };
}

/** A client configured as a vendor configures the eConnector: PKCS#12 generic keystore, sandbox root for TLS. */
async function kmsClient(overrides: Partial<KmsClientOptions> = {}): Promise<KmsClient> {
  return KmsClient.create({
    endpoints: endpoints(),
    clientIdentity: { pkcs12: await readFile(files.genericKeystoreFile), password: PASSWORD },
    serverTrust: [sandbox.pki.rootCertPem],
    ...overrides,
  });
}

/** `POST /_test/faults` with `fault`, or `DELETE` it when `fault` is undefined. */
async function injectFault(fault: Record<string, unknown> | undefined): Promise<void> {
  const identity = await readFile(files.genericKeystoreFile);
  const agent = new Agent({ connect: { ca: sandbox.pki.rootCertPem, pfx: identity, passphrase: PASSWORD } });
  try {
    const response = await httpRequest(`${sandbox.url("lu-kms")}/_test/faults`, {
      dispatcher: agent,
      ...(fault === undefined
        ? { method: "DELETE" }
        : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(fault) }),
    });
    await response.body.dump();
    expect(response.statusCode).toBeLessThan(300);
  } finally {
    await agent.close();
  }
}

async function pdfsig(bytes: Buffer): Promise<string> {
  const path = join(dataDir, `signed-${Date.now()}.pdf`);
  await writeFile(path, bytes);
  const { stdout } = await run("pdfsig", ["-nocert", path], { encoding: "utf8" }).catch(
    (error: { stdout?: string }) => ({ stdout: error.stdout ?? "" }),
  );
  return stdout;
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "passerelle-lu-kms-client-"));
  const practitioners = luxembourgPractitioners()
    .filter((p) => p.claims.provider_code !== MARC_SCHMIT.username)
    .map((p) => ({ providerCode: String(p.claims.provider_code), givenName: String(p.claims.given_name), familyName: String(p.claims.family_name) }));
  sandbox = await startSandbox({ dataDir, simulators: [luAesSimulator(), luKmsSimulator({ practitioners })], logger: pino({ level: "silent" }) });
  files = await writeSandboxEconnectorKeystores(sandbox.pki, join(dataDir, "econnector"), { password: PASSWORD });
  trust = await KmsTrust.fromTruststore(files.kmsTruststoreFile, { password: PASSWORD, aliases: SANDBOX_KMS_TRUSTSTORE_ALIASES });
  kms = await kmsClient();
  anne = await aesAccessToken(sandbox, ANNE_WEBER);

  const document = await PDFDocument.create();
  const page = document.addPage([595, 842]);
  page.drawText("Certificat d'incapacite de travail", { x: 50, y: 780, size: 16, font: await document.embedFont(StandardFonts.Helvetica) });
  pdf = Buffer.from(await document.save({ useObjectStreams: false }));
});

afterAll(async () => {
  await kms?.close();
  await sandbox?.close();
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

afterEach(async () => {
  await injectFault(undefined);
});

describe("KmsSigner over the lu-kms simulator", () => {
  it("signs a PDF PAdES-B-T in the practitioner's name, time-stamped by the KMS; pdfsig and our verifier accept it", async () => {
    const signer = await KmsSigner.create({ client: kms, trust, accessToken: anne });
    expect(signer.certificate.subject).toContain("serialNumber=101234-56");
    const chain = await signer.certificateChain();
    expect(chain.map((c) => c.subject.split("\n").at(-1))).toEqual(["CN=Anne Weber", "CN=Passerelle Sandbox LU CA"]);

    const signed = await signPdf(pdf, { signer, timestamp: signer.signatureTimestamp, reason: "Certificat d'incapacité de travail" });

    const report = await pdfsig(signed);
    expect(report).toContain("Signature Validation: Signature is Valid.");
    expect(report).toContain("Signer Certificate Common Name: Anne Weber");
    expect(report).toContain("Signature Type: ETSI.CAdES.detached");
    expect(report).toContain("Total document signed");

    const root = new X509Certificate(sandbox.pki.rootCertPem);
    const [ours] = await verifyPdfSignatures(signed, {
      verifyChain: async (signerChain) => {
        await trust.signingChain(signerChain[0] as X509Certificate, "lu-kms");
      },
      verifyTimestamp: async (token, signatureValue) =>
        verifyTimestampToken(token, { data: signatureValue, trust: { anchors: [root] } }),
    });
    expect(ours).toMatchObject({ valid: true, integrity: true, chainValid: true, coversWholeDocument: true, reasons: [] });
    expect(ours?.timestamp?.verified).toBe(true);
    expect(Math.abs((ours?.timestamp?.genTime.getTime() ?? 0) - Date.now())).toBeLessThan(60_000);

    // A chain validated once is remembered for the same certificate — but only for a time inside its validity.
    const leaf = signer.certificate;
    expect((await trust.signingChain(leaf, "lu-kms"))[0]?.fingerprint256).toBe(leaf.fingerprint256);
    const afterExpiry = new Date(leaf.validToDate.getTime() + 86_400_000);
    await expect(trust.signingChain(leaf, "lu-kms", afterExpiry)).rejects.toMatchObject({ code: "PASSERELLE_KMS_CERTIFICATE_UNTRUSTED" });
  });

  it("time-stamps through the KMS with a token verified against TIMESTAMP_CA_ALIAS (a helper for any TimestampAuthority)", async () => {
    const signer = await KmsSigner.create({ client: kms, trust, accessToken: anne });
    const digest = createHash("sha384").update("signature").digest();
    const token = await signer.timestampAuthority.timestamp(digest, "SHA-384");
    expect(token.messageImprint.equals(digest)).toBe(true);
    expect(token.tsaCertificate.subject).toContain("CN=Passerelle Sandbox TSA");
    const der = await signatureTimestamp(signer.timestampAuthority)(Buffer.from("signature value"));
    await expect(
      verifyTimestampToken(der, { data: Buffer.from("signature value"), trust: trust.timestampTrust }),
    ).resolves.toMatchObject({ hashAlgorithm: "SHA-256" });
  });

  it("signs hashes that verify with the certificate, for each hash algorithm it offers", async () => {
    const signer = await KmsSigner.create({ client: kms, trust, accessToken: anne });
    const data = Buffer.from("données");
    for (const [algorithm, digest] of [
      ["RSASSA-PKCS1-v1_5-SHA256", "sha256"],
      ["RSASSA-PKCS1-v1_5-SHA384", "sha384"],
      ["RSASSA-PKCS1-v1_5-SHA512", "sha512"],
    ] as const) {
      const signature = await signer.sign(data, algorithm);
      const { verify } = await import("node:crypto");
      expect(verify(digest, data, signer.certificate.publicKey, signature)).toBe(true);
    }
    await expect(signer.sign(data, "RSA-PSS-SHA256")).rejects.toBeInstanceOf(TypeError);
  });

  it("refuses a certificate from a CA outside the truststore: PASSERELLE_KMS_CERTIFICATE_UNTRUSTED, nothing signed", async () => {
    await injectFault({ mode: "untrusted-certificate" });
    const failure = await KmsSigner.create({ client: kms, trust, accessToken: anne }).catch((error: unknown) => error);
    expect(failure).toMatchObject({
      code: "PASSERELLE_KMS_CERTIFICATE_UNTRUSTED",
      status: 502,
      extensions: { upstream: "lu-kms", reason: expect.stringMatching(/^(issuer_not_found|untrusted_root)$/) },
    });
  });

  it("refuses a certificate from the right root but not from SIGNING_CA_ALIAS", async () => {
    const frCaOnly = new KmsTrust({
      signingCas: [sandbox.pki.caCertPem("FR")],
      rootSigningCas: [sandbox.pki.caCertPem("LU")],
      timestampCas: [sandbox.pki.caCertPem("LU")],
    });
    await expect(KmsSigner.create({ client: kms, trust: frCaOnly, accessToken: anne })).rejects.toMatchObject({
      code: "PASSERELLE_KMS_CERTIFICATE_UNTRUSTED",
      extensions: { reason: "not_issued_by_signing_ca" },
    });
  });

  it("refuses a time-stamp from a TSA outside TIMESTAMP_CA_ALIAS: PASSERELLE_TIMESTAMP_INVALID, no PDF", async () => {
    const signer = await KmsSigner.create({ client: kms, trust, accessToken: anne });
    await injectFault({ mode: "untrusted-timestamp" });
    await expect(signPdf(pdf, { signer, timestamp: signer.signatureTimestamp })).rejects.toMatchObject({
      code: "PASSERELLE_TIMESTAMP_INVALID",
      status: 502,
      extensions: { reason: "untrusted-tsa", upstream: "lu-kms" },
    });
  });

  it("refuses a signature by another key: 502, no PDF", async () => {
    const signer = await KmsSigner.create({ client: kms, trust, accessToken: anne });
    await injectFault({ mode: "wrong-key" });
    await expect(signPdf(pdf, { signer, timestamp: signer.signatureTimestamp })).rejects.toMatchObject({
      code: "PASSERELLE_UPSTREAM_BAD_RESPONSE",
      status: 502,
      extensions: { upstream: "lu-kms" },
    });
  });

  it("maps a refused token to 401 PASSERELLE_KMS_TOKEN_REJECTED (expired, forged) and an unknown practitioner to 403", async () => {
    for (const token of [await expiredAesAccessToken(dataDir, anne), await forgedAesAccessToken(anne)]) {
      const failure = await KmsSigner.create({ client: kms, trust, accessToken: token }).catch((error: unknown) => error);
      expect(failure).toMatchObject({
        code: "PASSERELLE_KMS_TOKEN_REJECTED",
        status: 401,
        extensions: { upstream: "lu-kms", kmsError: "invalid_token" },
        headers: { "www-authenticate": 'Bearer error="invalid_token"' },
      });
    }
    const marc = await aesAccessToken(sandbox, MARC_SCHMIT);
    await expect(KmsSigner.create({ client: kms, trust, accessToken: marc })).rejects.toMatchObject({
      code: "PASSERELLE_KMS_FORBIDDEN",
      status: 403,
      extensions: { kmsError: "unknown_practitioner" },
    });
    await expect(kms.getCertificate("not a token")).rejects.toMatchObject({ code: "PASSERELLE_AUTH_TOKEN_INVALID" });
  });

  it("answers 504 naming lu-kms when the KMS is too slow, and 503 when it is down: no half-signed PDF", async () => {
    const impatient = await kmsClient({ timeoutMs: 300, retry: { maxAttempts: 2, baseDelayMs: 10 } });
    try {
      const signer = await KmsSigner.create({ client: impatient, trust, accessToken: anne });
      await injectFault({ mode: "slow", operation: "sign-data", delayMs: 5_000 });
      const started = performance.now();
      await expect(signPdf(pdf, { signer, timestamp: signer.signatureTimestamp })).rejects.toMatchObject({
        code: "PASSERELLE_UPSTREAM_TIMEOUT",
        status: 504,
        extensions: { upstream: "lu-kms" },
      });
      expect(performance.now() - started).toBeLessThan(3_000);

      await injectFault({ mode: "down", operation: "sign-timestamp" });
      await expect(signPdf(pdf, { signer, timestamp: signer.signatureTimestamp })).rejects.toMatchObject({
        code: "PASSERELLE_UPSTREAM_UNAVAILABLE",
        status: 503,
        extensions: { upstream: "lu-kms", upstreamStatus: 503 },
      });
    } finally {
      await impatient.close();
    }
  });

  it("fails the TLS handshake without the generic keystore, and gets 502 with another client certificate", async () => {
    const stranger = await sandbox.pki.clientIdentity("be-stranger", {
      country: "BE",
      subject: { C: "BE", O: "Passerelle Sandbox", CN: "Not a vendor of the CNS" },
    });
    const wrongIdentity = await kmsClient({
      clientIdentity: { keyPem: stranger.keyPem, certificatePem: [stranger.certPem, ...stranger.chainPem].join("") },
      retry: { maxAttempts: 1 },
    });
    const noIdentity = new KmsClient({ endpoints: endpoints(), tls: { ca: sandbox.pki.rootCertPem }, retry: { maxAttempts: 1 } });
    try {
      await expect(wrongIdentity.getCertificate(anne)).rejects.toMatchObject({
        code: "PASSERELLE_UPSTREAM_BAD_RESPONSE",
        extensions: { upstream: "lu-kms", upstreamStatus: 403 },
      });
      await expect(noIdentity.getCertificate(anne)).rejects.toMatchObject({ code: "PASSERELLE_UPSTREAM_UNAVAILABLE", extensions: { upstream: "lu-kms" } });
    } finally {
      await Promise.all([wrongIdentity.close(), noIdentity.close()]);
    }
  });

  it("refuses a truststore without the configured aliases, and a wrong keystore password", async () => {
    await expect(
      KmsTrust.fromTruststore(files.kmsTruststoreFile, { password: PASSWORD, aliases: { ...SANDBOX_KMS_TRUSTSTORE_ALIASES, signingCa: "signing_ca" } }),
    ).rejects.toMatchObject({ code: "PASSERELLE_TRUST_STORE_INVALID" });
    await expect(kmsClient({ clientIdentity: { pkcs12: await readFile(files.genericKeystoreFile), password: "wrong" } })).rejects.toMatchObject({
      code: "PASSERELLE_KEYSTORE_PASSWORD_INCORRECT",
    });
  });
});
