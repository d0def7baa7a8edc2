/**
 * MySecuClient against the lu-mysecu simulator over real HTTPS on loopback
 * (sandbox PKI): STS token, deposit, idempotency across two client
 * instances sharing one vault, and every refusal as the error a caller sees.
 */
import { X509Certificate } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { PasserelleError } from "../../../errors/index.js";
import { parseXml } from "../../../protocols/xml/index.js";
import { luMySecuSimulator, LU_MYSECU_PATHS, LU_MYSECU_SIMULATOR_ID } from "../../../sandbox/lu-mysecu/index.js";
import { testPdf, testPractitionerSigner, testSignedPdf, testVendorSigner } from "../../../sandbox/lu-mysecu/test-fixtures.js";
import { startSandbox, type RunningSandbox } from "../../../sandbox/index.js";
import { UpstreamClient } from "../../../transport/index.js";
import type { SoftwareSigner } from "../../../trust/signers/index.js";
import { MemoryVault, VaultCipher, generateVaultKey, type Vault } from "../../../vault/index.js";
import { MySecuClient, type MySecuClientOptions, type MySecuDepositRequest } from "./client.js";
import { DEPOSIT_DOCUMENT_ACTION, SYNCEXCHANGE_NAMESPACE, WST_ISSUE_ACTION, WST_NAMESPACE } from "./namespaces.js";

const logger = pino({ level: "silent" });

let dataDir: string;
let sandbox: RunningSandbox;
let probe: UpstreamClient;
let vendor: SoftwareSigner;
let anne: SoftwareSigner;
let base: string;
const clients: MySecuClient[] = [];
let keyCounter = 0;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "passerelle-mysecu-client-"));
  sandbox = await startSandbox({ dataDir, simulators: [luMySecuSimulator()], logger });
  base = sandbox.url(LU_MYSECU_SIMULATOR_ID);
  probe = new UpstreamClient({ name: "test-probe", baseUrl: base, tls: { ca: sandbox.pki.rootCertPem } });
  [vendor, anne] = await Promise.all([testVendorSigner(sandbox.pki, "LU"), testPractitionerSigner(sandbox.pki, "101234-56")]);
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await probe.request({ method: "DELETE", path: "/_test/faults" });
});

afterAll(async () => {
  await probe?.close();
  await sandbox?.close();
  await rm(dataDir, { recursive: true, force: true });
});

function newVault(): Vault {
  return new MemoryVault({ cipher: new VaultCipher(generateVaultKey()), maxEntries: 1000 });
}

function newClient(overrides: Partial<MySecuClientOptions> = {}): MySecuClient {
  const client = new MySecuClient({
    // CCSS_URL is documented with its ?wsdl: the client must cope.
    stsUrl: `${base}${LU_MYSECU_PATHS.trust}?wsdl`,
    syncUrl: `${base}${LU_MYSECU_PATHS.syncExchange}`,
    signer: vendor,
    vault: newVault(),
    tls: { ca: sandbox.pki.rootCertPem },
    ...overrides,
  });
  clients.push(client);
  return client;
}

async function request(overrides: Partial<MySecuDepositRequest> = {}): Promise<MySecuDepositRequest> {
  const key = `key-${++keyCounter}`;
  return { pdf: await testSignedPdf(anne, `eCIT ${key}`), providerCode: "101234-56", idempotencyKey: key, documentType: "ECIT", ...overrides };
}

async function deposits(): Promise<Array<{ depositId: string; clientReference: string; providerCode: string }>> {
  return (await probe.request({ method: "GET", path: "/_test/deposits" })).json<{ deposits: Array<{ depositId: string; clientReference: string; providerCode: string }> }>().deposits;
}

async function tokensIssued(): Promise<number> {
  return (await probe.request({ method: "GET", path: "/_test/tokens" })).json<{ tokens: unknown[] }>().tokens.length;
}

async function injectFault(fault: Record<string, unknown>): Promise<void> {
  await probe.request({ method: "POST", path: "/_test/faults", headers: { "content-type": "application/json" }, body: JSON.stringify(fault) });
}

async function failure(promise: Promise<unknown>): Promise<PasserelleError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PasserelleError);
  return error as PasserelleError;
}

describe("MySecuClient", () => {
  it("gets a token from the STS and deposits the document; mySecu acknowledges our bytes", async () => {
    const client = newClient();
    const input = await request({ patientMatricule: undefined, title: "Certificat d'incapacité de travail", fileName: "ecit.pdf" });
    const deposit = await client.deposit(input);
    expect(deposit).toMatchObject({ status: "ACCEPTED", providerCode: "101234-56", replayed: false });
    expect(deposit.depositId).toMatch(/^MS-/);
    expect(deposit.clientReference).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const stored = (await deposits()).find((d) => d.depositId === deposit.depositId);
    expect(stored).toMatchObject({ clientReference: deposit.clientReference, providerCode: "101234-56" });
    const content = await probe.request({ method: "GET", path: `/_test/deposits/${deposit.depositId}/content` });
    expect(content.body.equals(Buffer.from(input.pdf))).toBe(true);
  });

  it("reuses its token until shortly before expiry; concurrent deposits share one STS request", async () => {
    const client = newClient();
    const before = await tokensIssued();
    await Promise.all([client.deposit(await request()), client.deposit(await request()), client.deposit(await request())]);
    await client.deposit(await request());
    expect((await tokensIssued()) - before).toBe(1);
    const token = await client.token();
    expect(token.verified).toBe(false);
    expect(token.expiresAt.getTime() - Date.now()).toBeGreaterThan(55 * 60_000);
  });

  it("verifies the assertion when the STS's signing CA is configured, and refuses it under another CA", async () => {
    const trusted = newClient({ tokenTrust: { anchors: [new X509Certificate(sandbox.pki.caCertPem("LU"))] } });
    const token = await trusted.token();
    expect(token.verified).toBe(true);
    expect(token.id).toMatch(/^_/);
    const deposit = await trusted.deposit(await request());
    expect(deposit.status).toBe("ACCEPTED");

    const distrustful = newClient({ tokenTrust: { anchors: [new X509Certificate(sandbox.pki.caCertPem("FR"))] } });
    const error = await failure(distrustful.token());
    expect(error.code).toBe("PASSERELLE_UPSTREAM_BAD_RESPONSE");
    expect(error.extensions).toMatchObject({ upstream: "lu-mysecu" });
    expect(error.detail).toContain("untrusted_key");
  });

  it("speaks SOAP 1.2", async () => {
    const deposit = await newClient({ soapVersion: "1.2" }).deposit(await request());
    expect(deposit.status).toBe("ACCEPTED");
  });

  it("returns the first result for a retry with the same key, without depositing twice", async () => {
    const vault = newVault();
    const input = await request();
    const first = await newClient({ vault }).deposit(input);
    // Another gateway instance (its own client and token), the same vault.
    const retry = await newClient({ vault }).deposit(input);
    expect(retry).toEqual({ ...first, replayed: true });
    expect((await deposits()).filter((d) => d.clientReference === first.clientReference)).toHaveLength(1);
  });

  it("deposits once when two instances receive the same key at the same time", async () => {
    const vault = newVault();
    const input = await request();
    const [a, b] = await Promise.all([newClient({ vault }).deposit(input), newClient({ vault }).deposit(input)]);
    expect(a.depositId).toBe(b.depositId);
    expect([a.replayed, b.replayed].sort()).toEqual([false, true]);
    expect((await deposits()).filter((d) => d.clientReference === a.clientReference)).toHaveLength(1);
  });

  it("answers 409 to a duplicate that cannot wait for the first deposit, then the result once it is there", async () => {
    const vault = newVault();
    const input = await request();
    await injectFault({ mode: "slow", service: "syncexchange", delayMs: 600, times: 1 });
    const slow = newClient({ vault }).deposit(input);
    await new Promise((resolve) => setTimeout(resolve, 250));
    const impatient = newClient({ vault, idempotency: { waitMs: 0 } });
    const conflict = await failure(impatient.deposit(input));
    expect(conflict.code).toBe("PASSERELLE_CONFLICT");
    expect(conflict.status).toBe(409);
    expect(conflict.headers?.["retry-after"]).toMatch(/^[1-5]$/);
    const first = await slow;
    expect(await impatient.deposit(input)).toEqual({ ...first, replayed: true });
  });

  it("refuses the same key for another document (422)", async () => {
    const vault = newVault();
    const input = await request();
    await newClient({ vault }).deposit(input);
    const error = await failure(newClient({ vault }).deposit({ ...input, pdf: await testSignedPdf(anne, "another document") }));
    expect(error.code).toBe("PASSERELLE_IDEMPOTENCY_KEY_REUSED");
    expect(error.status).toBe(422);
  });

  it("says clearly when the practitioner is not enrolled, and deposits nothing", async () => {
    const sandrine = await testPractitionerSigner(sandbox.pki, "601678-90");
    const client = newClient();
    const input = await request({ providerCode: "601678-90", pdf: await testSignedPdf(sandrine, "eCIT by Sandrine") });
    const error = await failure(client.deposit(input));
    expect(error.code).toBe("PASSERELLE_MYSECU_NOT_ENROLLED");
    expect(error.status).toBe(422);
    expect(error.detail).toContain("601678-90 is not enrolled on mySecu");
    expect(error.extensions).toMatchObject({ upstream: "lu-mysecu", faultCode: "sx:PractitionerNotEnrolled", providerCode: "601678-90" });
    expect((await deposits()).filter((d) => d.providerCode === "601678-90")).toHaveLength(0);
    // The claim was released: a retry with the same key asks mySecu again (no 409).
    expect((await failure(client.deposit(input))).code).toBe("PASSERELLE_MYSECU_NOT_ENROLLED");
  });

  it("reports a document mySecu refuses: bad signature, another signer, invalid matricule", async () => {
    const client = newClient();
    const signed = await testSignedPdf(anne, "eCIT to tamper");
    const tampered = Buffer.from(signed);
    tampered[10] = (tampered[10] as number) ^ 1;
    const marc = await testPractitionerSigner(sandbox.pki, "102345-67");
    const cases: Array<[Partial<MySecuDepositRequest>, string]> = [
      [{ pdf: tampered }, "document_signature_invalid"],
      [{ pdf: await testPdf("unsigned eCIT") }, "document_signature_invalid"],
      [{ pdf: await testSignedPdf(marc, "signed by Marc") }, "signer_mismatch"],
      [{ patientMatricule: "1980010112399" }, "matricule_invalid"],
    ];
    for (const [overrides, reason] of cases) {
      const error = await failure(client.deposit(await request(overrides)));
      expect(error.code, reason).toBe("PASSERELLE_MYSECU_DEPOSIT_REFUSED");
      expect(error.extensions, reason).toMatchObject({ upstream: "lu-mysecu", reason });
    }
  });

  it("reports the STS refusing a keystore the LU CA did not issue (502, faultCode)", async () => {
    const client = newClient({ signer: await testVendorSigner(sandbox.pki, "BE") });
    const error = await failure(client.deposit(await request()));
    expect(error.code).toBe("PASSERELLE_MYSECU_STS_REFUSED");
    expect(error.status).toBe(502);
    expect(error.extensions).toMatchObject({ upstream: "lu-mysecu", faultCode: "wsse:FailedAuthentication" });
  });

  it("renews a token the service refuses, once, and deposits", async () => {
    const client = newClient();
    await client.token();
    const before = await tokensIssued();
    await injectFault({ mode: "reject-token", times: 1 });
    const deposit = await client.deposit(await request());
    expect(deposit.status).toBe("ACCEPTED");
    expect((await tokensIssued()) - before).toBe(1);
  });

  it("gives up when the renewed token is refused too (PASSERELLE_MYSECU_FAULT)", async () => {
    await injectFault({ mode: "reject-token", times: 2 });
    const error = await failure(newClient().deposit(await request()));
    expect(error.code).toBe("PASSERELLE_MYSECU_FAULT");
    expect(error.extensions).toMatchObject({ faultCode: "wsse:InvalidSecurityToken" });
  });

  it("maps mySecu down to 503 and slow to 504, naming lu-mysecu, and the key stays usable", async () => {
    const client = newClient({ timeoutMs: 400, retry: { maxAttempts: 1 } });
    const input = await request();
    await injectFault({ mode: "down", service: "syncexchange", times: 1 });
    const down = await failure(client.deposit(input));
    expect(down.code).toBe("PASSERELLE_UPSTREAM_UNAVAILABLE");
    expect(down.status).toBe(503);
    expect(down.extensions).toMatchObject({ upstream: "lu-mysecu", upstreamStatus: 503 });

    await injectFault({ mode: "slow", service: "sts", delayMs: 1500, times: 1 });
    const slow = await failure(newClient({ timeoutMs: 400 }).deposit(await request()));
    expect(slow.code).toBe("PASSERELLE_UPSTREAM_TIMEOUT");
    expect(slow.status).toBe(504);
    expect(slow.extensions).toMatchObject({ upstream: "lu-mysecu" });

    const deposit = await client.deposit(input);
    expect(deposit.replayed).toBe(false);
  });

  it("retries a deposit whose answer timed out, under the ClientReference's protection: one deposit", async () => {
    const client = newClient({ timeoutMs: 400, retry: { maxAttempts: 3, baseDelayMs: 10 } });
    await client.token();
    // The first attempt is processed after the client gave up on it; the retry is processed too.
    await injectFault({ mode: "slow", service: "syncexchange", delayMs: 700, times: 1 });
    const input = await request();
    const started = Date.now();
    const deposit = await client.deposit(input);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400); // the first attempt timed out: this answer is the retry's
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect((await deposits()).filter((d) => d.clientReference === deposit.clientReference)).toHaveLength(1);
  });

  it("maps mySecu unreachable to 503", async () => {
    const client = newClient({ stsUrl: "https://127.0.0.1:9/ws/soap/trust", syncUrl: "https://127.0.0.1:9/ws/soap/espinst/syncexchange" });
    const error = await failure(client.deposit(await request()));
    expect(error.code).toBe("PASSERELLE_UPSTREAM_UNAVAILABLE");
    expect(error.extensions).toMatchObject({ upstream: "lu-mysecu" });
  });

  it("refuses malformed input before calling mySecu (400 with the fields)", async () => {
    const error = await failure(newClient().deposit({ pdf: Buffer.alloc(0), providerCode: "12345", idempotencyKey: "a b", patientMatricule: "12" }));
    expect(error.code).toBe("PASSERELLE_VALIDATION");
    expect(error.invalidParams?.map((p) => p.pointer).sort()).toEqual(["/idempotencyKey", "/patientMatricule", "/pdf", "/providerCode"]);
    await expect(newClient().deposit({ pdf: "x" as never, providerCode: "101234-56", idempotencyKey: "k" })).rejects.toBeInstanceOf(TypeError);
  });

  it("keeps its copy of the contract in step with the WSDLs the service serves", async () => {
    const sync = (await probe.request({ method: "GET", path: LU_MYSECU_PATHS.syncExchange, query: { wsdl: "" } })).text();
    expect(parseXml(sync).documentElement?.getAttribute("targetNamespace")).toBe(SYNCEXCHANGE_NAMESPACE);
    expect(sync).toContain(`soapAction="${DEPOSIT_DOCUMENT_ACTION}"`);
    const sts = (await probe.request({ method: "GET", path: LU_MYSECU_PATHS.trust, query: { wsdl: "" } })).text();
    expect(parseXml(sts).documentElement?.getAttribute("targetNamespace")).toBe(WST_NAMESPACE);
    expect(sts).toContain(`soapAction="${WST_ISSUE_ACTION}"`);
  });
});
