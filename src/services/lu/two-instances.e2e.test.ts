/**
 * Two gateway instances behind a (notional) load balancer, configured like a
 * real deployment — `integration` profile, the CNS eConnector's environment
 * variables, a shared Redis vault — against the sandbox simulators run on
 * their own (as `passerelle sandbox` does). A practitioner logs in through
 * instance A; instance B serves her documents; retries and concurrent
 * duplicates on either instance deposit once. Nothing but Redis is shared.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { Agent, fetch, request as httpRequest } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashApiKey } from "../../config/index.js";
import { createGateway, type Gateway } from "../../gateway/create-gateway.js";
import { loginThroughSandboxPage, sandboxIdentitySimulators, sandboxOidcClients } from "../../sandbox/idp/index.js";
import { startSandbox, type RunningSandbox } from "../../sandbox/index.js";
import { LU_KMS_PATHS, SANDBOX_KMS_TRUSTSTORE_ALIASES, luKmsSimulator, writeSandboxEconnectorKeystores } from "../../sandbox/lu-kms/index.js";
import { luMySecuSimulator } from "../../sandbox/lu-mysecu/index.js";
import { findFreePort, startRedisServer, type RedisServerHandle } from "../../test-support/redis-server.js";
import { identityModule } from "../identity/module.js";
import { luModule } from "./module.js";
import { sampleEcitData } from "./templates/test-fixtures.js";

const KEY = "psk_two_instances_0123456789";
const RETURN_URL = "https://pms.example/after-login";

let dir: string;
let sandbox: RunningSandbox;
let redis: RedisServerHandle;
let a: { gateway: Gateway; url: string };
let b: { gateway: Gateway; url: string };
let browser: Agent;
let session: string;

async function startInstance(env: Record<string, string>, name: string): Promise<{ gateway: Gateway; url: string }> {
  const gateway = await createGateway({
    env: { ...env, DATA_DIR: join(dir, name) },
    modules: [identityModule(), luModule()],
    logDestination: new Writable({ write: (_chunk, _encoding, callback) => callback() }),
  });
  return { gateway, url: await gateway.listen() };
}

async function call(instance: { url: string }, method: string, path: string, options: { headers?: Record<string, string>; body?: unknown } = {}) {
  const response = await fetch(`${instance.url}${path}`, {
    method,
    headers: { "x-api-key": KEY, ...(options.body === undefined ? {} : { "content-type": "application/json" }), ...options.headers },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "passerelle-two-"));
  const silent = pino({ level: "silent" });
  sandbox = await startSandbox({ dataDir: join(dir, "sandbox"), simulators: [...sandboxIdentitySimulators(), luKmsSimulator(), luMySecuSimulator()], logger: silent });
  redis = await startRedisServer();
  const pki = sandbox.pki;
  const rootFile = join(dir, "sandbox-root.pem");
  await writeFile(rootFile, pki.rootCertPem);
  const password = randomBytes(12).toString("hex");
  const files = await writeSandboxEconnectorKeystores(pki, join(dir, "econnector"), { password });
  const aes = (await sandboxOidcClients(pki)).find((client) => client.clientId === "passerelle-aes");
  const portA = await findFreePort();
  const kms = sandbox.url("lu-kms");
  const mysecu = sandbox.url("lu-mysecu");
  // What a vendor's env file holds: the eConnector's names, plus the gateway's own.
  const env = {
    PROFILE: "integration",
    ACCEPT_LICENSE: "true",
    VAULT_URL: redis.url,
    VAULT_KEY: randomBytes(32).toString("hex"),
    API_KEYS: `pms:${hashApiKey(KEY)}:admin`,
    RATE_LIMIT_PER_MINUTE: "0",
    AES_ISSUER: `${sandbox.url("lu-aes")}/auth/realms/default`,
    AES_CLIENT_ID: "passerelle-aes",
    AES_CLIENT_SECRET: aes?.clientSecret ?? "",
    AES_CA_FILE: rootFile,
    AUTH_REDIRECT_URI: `http://127.0.0.1:${portA}/v1/auth/callback`,
    AUTH_RETURN_URLS: RETURN_URL,
    KMS_SIGN_URL: `${kms}${LU_KMS_PATHS.signData}`,
    KMS_GET_CERTIFICATE_URL: `${kms}${LU_KMS_PATHS.getCertificate}`,
    KMS_TIMESTAMP_URL: `${kms}${LU_KMS_PATHS.signTimestamp}`,
    GENERIC_KEYSTORE_FILE: files.genericKeystoreFile,
    GENERIC_KEYSTORE_PWD: password,
    TRUSTSTORE_KMS_FILENAME: files.kmsTruststoreFile,
    TRUSTSTORE_KMS_PASSWORD: password,
    SIGNING_CA_ALIAS: SANDBOX_KMS_TRUSTSTORE_ALIASES.signingCa,
    TIMESTAMP_CA_ALIAS: SANDBOX_KMS_TRUSTSTORE_ALIASES.timestampCa,
    ROOT_SIGNING_CA_ALIAS: SANDBOX_KMS_TRUSTSTORE_ALIASES.rootSigningCa,
    CCSS_URL: `${mysecu}/ws/soap/trust?wsdl`,
    CCSS_SYNC_URL: `${mysecu}/ws/soap/espinst/syncexchange`,
    LU_TLS_CA_FILE: rootFile,
  };
  a = await startInstance({ ...env, PORT: String(portA) }, "a");
  b = await startInstance({ ...env, PORT: "0" }, "b");
  expect(a.gateway.sandbox).toBeUndefined();

  // Anne logs in through instance A.
  browser = new Agent({ connect: { ca: pki.rootCertPem } });
  const started = await call(a, "POST", "/v1/auth/login", { body: { clientId: "passerelle-aes", returnUrl: RETURN_URL } });
  const opened = await fetch(started.body.loginUrl as string, { redirect: "manual", dispatcher: browser });
  const cookie = (opened.headers.getSetCookie()[0] ?? "").split(";")[0] ?? "";
  const callback = await loginThroughSandboxPage(new URL(opened.headers.get("location") ?? ""), { username: "101234-56", password: "anne-7314", dispatcher: browser });
  const back = await fetch(callback, { redirect: "manual", headers: { cookie } });
  const code = new URL(back.headers.get("location") ?? "").searchParams.get("code");
  session = (await call(a, "POST", "/v1/auth/session", { body: { code } })).body.session as string;
}, 90_000);

afterAll(async () => {
  await a?.gateway.close();
  await b?.gateway.close();
  await browser?.close();
  await redis?.stop();
  await sandbox?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function depositsAtMySecu(): Promise<Array<{ depositId: string; clientReference: string }>> {
  const agent = new Agent({ connect: { ca: sandbox.pki.rootCertPem } });
  try {
    const answer = await httpRequest(`${sandbox.url("lu-mysecu")}/_test/deposits`, { dispatcher: agent });
    return ((await answer.body.json()) as { deposits: Array<{ depositId: string; clientReference: string }> }).deposits;
  } finally {
    await agent.close();
  }
}

describe("two stateless instances sharing only Redis (integration profile, eConnector settings)", () => {
  it("serves on B the session opened on A, and signs there in the practitioner's name", async () => {
    expect((await call(b, "GET", "/v1/auth/session", { headers: { "x-session": session } })).status).toBe(200);
    const created = await call(b, "POST", "/v1/lu/documents", { headers: { "x-session": session }, body: { template: "lu-ecit", data: sampleEcitData() } });
    expect(created.status).toBe(200);
    expect(created.body.document).toMatchObject({ signer: { providerCode: "101234-56" }, signatureLevel: "PAdES-B-T" });
  });

  it("answers a retry on the other instance with the first result, and two concurrent duplicates deposit once", async () => {
    const ask = (instance: { url: string }, key: string) =>
      call(instance, "POST", "/v1/lu/documents", { headers: { "x-session": session }, body: { template: "lu-ecit", data: sampleEcitData(), deposit: { idempotencyKey: key } } });
    const first = await ask(a, "two-instances-1");
    expect(first.status).toBe(200);
    const retry = await ask(b, "two-instances-1");
    expect(retry.status).toBe(200);
    expect(retry.body.pdf).toBe(first.body.pdf);
    expect(retry.body.deposit).toMatchObject({ depositId: (first.body.deposit as { depositId: string }).depositId, replayed: true });

    const [onA, onB] = await Promise.all([ask(a, "two-instances-2"), ask(b, "two-instances-2")]);
    expect([onA.status, onB.status]).toEqual([200, 200]);
    const ids = [onA.body.deposit, onB.body.deposit].map((d) => (d as { depositId: string }).depositId);
    expect(ids[0]).toBe(ids[1]);
    const stored = (await depositsAtMySecu()).filter((d) => d.depositId === ids[0]);
    expect(stored).toHaveLength(1);
  });

  it("reports each instance ready, with its upstreams, on /econnector/status", async () => {
    for (const instance of [a, b]) {
      const status = await fetch(`${instance.url}/econnector/status`);
      const body = (await status.json()) as { status: string; checks: Array<{ name: string; status: string }> };
      expect(body.status).toBe("UP");
      expect(body.checks.map((c) => c.name)).toEqual(expect.arrayContaining(["vault", "lu-templates", "upstream:lu-kms", "upstream:lu-mysecu"]));
    }
  });
});
