// Luxembourg benchmark (issue #5, "Performance"): signed PDFs per second, end to
// end — POST /v1/lu/documents → schema validation → render → PAdES-B-T through
// the lu-kms simulator over mutual TLS (get-certificate, sign-data, and the
// KMS's RFC 3161 time-stamp) — with RSS. Target: over 3,000 signed PDFs per
// minute on one core under 200 MB RSS, reported as a ratio to the same run's raw
// RSA-2048 signing rate (crypto.sign("sha256")): each document costs two RSA
// private-key operations in the sandbox (the practitioner's key in the KMS, the
// TSA's key), both made by the simulators, not by the gateway.
//
// The gateway runs as the Docker image runs it (package.json's start script and
// its node flags, the image's MALLOC_* settings; PORT=0, a fresh DATA_DIR, SANDBOX_API_KEY, rate limit off, log
// level info to /dev/null): its own process, with the simulators in the sandbox
// process it forks (src/sandbox/child-process.ts), which stands in for the AeS,
// the KMS and its TSA — in production those are remote. CPU and RSS figures are
// read from /proc for each process apart; the "per core" figure is the
// gateway process's CPU time per document.
//  a. baseline: raw RSA-2048 signs/s, one thread of this process, before and
//     after the load;
//  c. wrk (a separate process) POSTing eCITs with Accept: application/pdf and
//     the practitioner's AeS token (X-Practitioner-Token) at -c1 then -c8, and
//     briefly with a gateway session (X-Session) instead;
//  b. (profiling aid, run last) where one document's time goes, IN THIS PROCESS
//     with an in-process gateway and simulators (createGateway), no HTTP in
//     front: token check, render, KmsSigner.create, sign-data, sign-timestamp,
//     signPdf's own work, LuService.createDocument whole.
// Anne logs in over HTTP twice: through the gateway (POST /v1/auth/login, the
// lu-aes login page, the gateway's callback, POST /v1/auth/session → session),
// and as a vendor app with its own public AeS client would (code + PKCE straight
// at lu-aes → the access token it brings in X-Practitioner-Token).
// Everything shares the machine's cores with whatever else runs: see loadavg.
// Needs wrk and pdfsig (Debian wrk, poppler-utils) and a build (npm run bench builds first).
import { spawn, spawnSync } from "node:child_process";
import { createHash, generateKeyPairSync, randomBytes, sign as cryptoSign } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { Agent, fetch } from "undici";
import { START_ARGS, START_ENV, cpuSeconds, parseWrkReport, peakRssMb, rssMb, sandboxPid, startProcess, v8MemoryMb, waitStatus } from "./support/gateway-process.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = (p) => import(path.join(root, "dist", p));
const { loginThroughSandboxPage } = await dist("sandbox/idp/index.js");

const KEY = "psk_bench_lu_0123456789abcdef";
const RETURN_URL = "http://127.0.0.1:3000/after-login";
const ANNE = { username: "101234-56", password: "anne-7314" };
// The sandbox's public AeS client (src/sandbox/idp/sandbox-clients.ts): PKCE, no secret. The
// provider takes its redirect URI on any loopback port (RFC 8252 §7.3); nothing listens there,
// the code is read from the redirect itself.
const VENDOR_CLIENT_ID = "passerelle-aes-app";
const VENDOR_REDIRECT_URI = "http://127.0.0.1:8080/v1/auth/callback";
const AES_REALM_PATH = "/auth/realms/default";
const DOCUMENTS_ROUTE = "/v1/lu/documents";
const WRK = "/usr/bin/wrk";
const TARGET_PER_MINUTE = 3000;
const TARGET_RSS_MB = 200;
const CONCURRENCY = 8;
const WARMUP_S = 3;
const RUN_S = 15;
const SEQUENTIAL_WARMUP_S = 2;
const SEQUENTIAL_S = 5;
const SESSION_RUN_S = 5;
const SPLIT_RUNS = 30;

for (const [tool, args] of [[WRK, ["--version"]], ["pdfsig", ["-v"]]]) {
  if (spawnSync(tool, args).error) {
    console.error(`${tool} is missing: apt-get install -y ${tool === "pdfsig" ? "poppler-utils" : path.basename(tool)}`);
    process.exit(1);
  }
}

const fmt = (n, d = 0) => n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
const load = () => `loadavg(1m) ${loadavg()[0].toFixed(2)}`;
const mb = (megabytes) => `${fmt(megabytes, 1)} MB`;
const met = (ok) => (ok ? "met" : "MISSED");
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Raw RSA-2048 PKCS#1 v1.5 SHA-256 signatures per second on this thread, `rounds` rounds of `ms`. */
function rawSignRates(privateKey, rounds, ms) {
  const data = randomBytes(1024);
  const rates = [];
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < ms) {
      cryptoSign("sha256", data, privateKey);
      n += 1;
    }
    rates.push(n / ((performance.now() - t0) / 1000));
  }
  return rates;
}

/** wrk, asynchronously: this process keeps draining the gateway's stderr pipe meanwhile, and samples wrk's CPU time. */
function wrk(url, seconds, connections, script) {
  const args = ["-t1", `-c${connections}`, `-d${seconds}s`, "--latency", "--timeout", "30s", "-s", script, url];
  return new Promise((resolve, reject) => {
    const child = spawn(WRK, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let wrkCpuS = 0;
    const sampler = setInterval(() => {
      try {
        wrkCpuS = cpuSeconds(child.pid);
      } catch {
        // exited between two samples
      }
    }, 200);
    child.stdout.on("data", (d) => (out += d.toString()));
    child.stderr.on("data", (d) => (out += d.toString()));
    child.on("error", (error) => {
      clearInterval(sampler);
      reject(error);
    });
    child.on("exit", () => {
      clearInterval(sampler);
      resolve({
        ...parseWrkReport(out),
        output: out,
        wrkCpuS,
      });
    });
  });
}

/** Lua for wrk: the same POST each time (wrk's documented globals wrk.method/body/headers), the body read from a file as is. */
function wrkScript(headers, bodyFile) {
  const lua = (s) => JSON.stringify(s); // the paths and header values here are ASCII without control characters: JSON quoting is Lua quoting
  return [
    `wrk.method = "POST"`,
    `local file = assert(io.open(${lua(bodyFile)}, "rb"))`,
    `wrk.body = file:read("*a")`,
    `file:close()`,
    ...Object.entries(headers).map(([k, v]) => `wrk.headers[${lua(k)}] = ${lua(v)}`),
    "",
  ].join("\n");
}

/** The gateway's V8 heap (used of committed) and external memory, in MB (see v8MemoryMb). */
async function gatewayMemory(gatewayUrl) {
  const { used, committed, external } = await v8MemoryMb(gatewayUrl);
  return `V8 heap ${fmt(used, 1)} of ${fmt(committed, 1)}, external ${fmt(external, 1)}`;
}

/** Documents the gateway has answered 200 for, from its own counter (GET /metrics, passerelle_http_requests_total). */
async function documentsServed(gatewayUrl) {
  const text = await (await fetch(`${gatewayUrl}/metrics`)).text();
  let n = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("passerelle_http_requests_total{") && line.includes(`route="${DOCUMENTS_ROUTE}"`) && line.includes('method="POST"') && line.includes('status="200"')) {
      n += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return n;
}

/** The counter once the requests wrk left in flight have finished (two equal readings 100 ms apart). */
async function settledDocumentsServed(gatewayUrl) {
  let previous = await documentsServed(gatewayUrl);
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    const now = await documentsServed(gatewayUrl);
    if (now === previous) return now;
    previous = now;
  }
}

/**
 * One timed wrk run with both processes' CPU time around it. Documents are
 * counted by the gateway (wrk's own count leaves out the requests in flight
 * when it stops, whose CPU time is in the reading): CPU per document is exact
 * to the scrape of /metrics.
 */
async function timedRun(target, seconds, connections, script) {
  const loadBefore = load();
  const documents0 = await documentsServed(target.url);
  const gateway0 = cpuSeconds(target.gatewayPid);
  const sandbox0 = cpuSeconds(target.sandboxPid);
  const t0 = performance.now();
  const run = await wrk(`${target.url}${DOCUMENTS_ROUTE}`, seconds, connections, script);
  const documents = (await settledDocumentsServed(target.url)) - documents0;
  const wall = (performance.now() - t0) / 1000;
  const gatewayCpuS = cpuSeconds(target.gatewayPid) - gateway0;
  const sandboxCpuS = cpuSeconds(target.sandboxPid) - sandbox0;
  if (run.non2xx > 0 || !(run.total > 0) || run.errors !== undefined) {
    throw new Error(`wrk -c${connections}: ${run.non2xx} non-2xx of ${run.total} requests ${run.errors ?? ""}\n${run.output}`);
  }
  return { ...run, documents, wall, gatewayCpuS, sandboxCpuS, loadBefore };
}

/** Anne at the lu-aes login page, driven by the same HTTP a browser would use. */
async function loginThroughGateway(gatewayUrl, browser) {
  const api = async (p, body) => {
    const response = await fetch(`${gatewayUrl}${p}`, { method: "POST", headers: { "x-api-key": KEY, "content-type": "application/json" }, body: JSON.stringify(body) });
    const json = await response.json();
    if (!response.ok) throw new Error(`POST ${p}: ${response.status} ${JSON.stringify(json)}`);
    return json;
  };
  // As the vendor app does it (src/services/lu/lu.e2e.test.ts, login()).
  const { loginUrl } = await api("/v1/auth/login", { clientId: "passerelle-aes", returnUrl: RETURN_URL, state: "bench" });
  const opened = await fetch(loginUrl, { redirect: "manual", dispatcher: browser });
  const cookie = (opened.headers.getSetCookie()[0] ?? "").split(";")[0];
  const callback = await loginThroughSandboxPage(new URL(opened.headers.get("location")), { ...ANNE, dispatcher: browser });
  const back = await fetch(callback, { redirect: "manual", headers: { cookie } });
  const code = new URL(back.headers.get("location")).searchParams.get("code");
  if (code === null) throw new Error(`the login through the gateway failed: ${back.headers.get("location")}`);
  return (await api("/v1/auth/session", { code })).session;
}

/** The vendor app's own AeS login: authorization code + PKCE (RFC 7636 §4, S256) with a public client → access token. */
async function vendorAppAccessToken(aesUrl, browser) {
  const issuer = `${aesUrl}${AES_REALM_PATH}`;
  const discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`, { dispatcher: browser })).json();
  const verifier = randomBytes(32).toString("base64url");
  const state = randomBytes(16).toString("base64url");
  const authorization = new URL(discovery.authorization_endpoint);
  authorization.search = new URLSearchParams({
    response_type: "code",
    client_id: VENDOR_CLIENT_ID,
    redirect_uri: VENDOR_REDIRECT_URI,
    scope: "openid profile",
    state,
    code_challenge: createHash("sha256").update(verifier).digest("base64url"),
    code_challenge_method: "S256",
  }).toString();
  const callback = await loginThroughSandboxPage(authorization, { ...ANNE, dispatcher: browser });
  const code = callback.searchParams.get("code");
  if (code === null || callback.searchParams.get("state") !== state) throw new Error(`the vendor app's AeS login failed: ${callback}`);
  const response = await fetch(discovery.token_endpoint, {
    method: "POST",
    dispatcher: browser,
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: VENDOR_REDIRECT_URI, client_id: VENDOR_CLIENT_ID, code_verifier: verifier }).toString(),
  });
  const tokens = await response.json();
  if (!response.ok || typeof tokens.access_token !== "string") throw new Error(`token endpoint: ${response.status} ${JSON.stringify(tokens)}`);
  return tokens.access_token;
}

/** POSTs one eCIT and has pdfsig check it; returns what pdfsig says. */
async function checkedDocument(gatewayUrl, headers, body, file) {
  const answer = await fetch(`${gatewayUrl}${DOCUMENTS_ROUTE}`, { method: "POST", headers, body });
  const pdf = Buffer.from(await answer.arrayBuffer());
  if (answer.status !== 200 || answer.headers.get("content-type") !== "application/pdf") {
    throw new Error(`POST ${DOCUMENTS_ROUTE} answered ${answer.status}: ${pdf.toString("utf8").slice(0, 500)}`);
  }
  writeFileSync(file, pdf);
  const checked = spawnSync("pdfsig", [file], { encoding: "utf8" });
  if (!checked.stdout.includes("Signature is Valid")) throw new Error(`pdfsig does not find the signature valid:\n${checked.stdout}${checked.stderr}`);
  return {
    kB: pdf.length / 1024,
    template: answer.headers.get("x-document-template"),
    type: /Signature Type: (\S+)/.exec(checked.stdout)?.[1] ?? "?",
    signer: /Signer full Distinguished Name: (.*)/.exec(checked.stdout)?.[1] ?? "?",
  };
}

const example = JSON.parse(readFileSync(path.join(root, "docs/examples/lu-ecit.json"), "utf8"));
const data = example.data;
const requestBody = JSON.stringify({ template: example.template, data });

/**
 * b. In this process, not the gateway's: a gateway and its simulators built
 * with createGateway here, and one document's steps timed apart. For
 * profiling; its figures include no HTTP in front of the gateway.
 */
async function splitInProcess(rawSignsPerSecond) {
  const { createGateway } = await dist("gateway/create-gateway.js");
  const { identityModule, IDENTITY_MODULE } = await dist("services/identity/module.js");
  const { LU_MODULE, luModule } = await dist("services/lu/index.js");
  const { KmsClient, KmsSigner, KmsTrust } = await dist("services/lu/kms/index.js");
  const { sandboxIdentitySimulators } = await dist("sandbox/idp/index.js");
  const { luKmsSimulator } = await dist("sandbox/lu-kms/index.js");
  const { signPdf } = await dist("protocols/pades/index.js");
  const { buildTimestampRequest } = await dist("protocols/tsp/index.js");

  const dataDir = mkdtempSync(path.join(tmpdir(), "passerelle-bench-lu-split-"));
  let gateway;
  let browser;
  let kmsClient;
  try {
    gateway = await createGateway({
      env: { PORT: "0", DATA_DIR: dataDir, RATE_LIMIT_PER_MINUTE: "0", SANDBOX_API_KEY: KEY, AUTH_RETURN_URLS: RETURN_URL, LOG_LEVEL: "warn" },
      simulators: [...sandboxIdentitySimulators(), luKmsSimulator()],
      modules: [identityModule(), luModule()],
      logDestination: new Writable({ write: (_chunk, _encoding, callback) => callback() }),
    });
    const gatewayUrl = await gateway.listen();
    const sandbox = gateway.sandbox.sandbox;
    const identity = gateway.modules.get(IDENTITY_MODULE).service;
    const lu = gateway.modules.get(LU_MODULE);
    browser = new Agent({ connect: { ca: sandbox.pki.rootCertPem } });
    const session = await loginThroughGateway(gatewayUrl, browser);
    const { accessToken: token } = await identity.sessionTokens({ caller: "sandbox-demo", requestId: "bench" }, session);

    // A KMS client of our own, configured as the lu module configures its (module.ts).
    const { endpoints, genericKeystore, truststore, serverTrustPem } = lu.material.kms;
    kmsClient = await KmsClient.create({
      endpoints,
      clientIdentity: { pkcs12: genericKeystore.pkcs12, password: genericKeystore.password },
      ...(serverTrustPem === undefined ? {} : { serverTrust: serverTrustPem }),
    });
    const trust = await KmsTrust.fromTruststore(truststore.path, { password: truststore.password, aliases: truststore.aliases });

    const templates = lu.service.templates;
    const ctx = { caller: "sandbox-demo", requestId: "bench-split" };
    const stages = { token: [], render: [], certificate: [], signData: [], timestamp: [], signPdfOwn: [], total: [] };
    const raw = { getCertificate: [], signData: [], signTimestamp: [], createDocument: [] };
    const oneDocument = async (record) => {
      const t0 = performance.now();
      await identity.validateBroughtToken("lu-aes", token);
      const t1 = performance.now();
      const rendered = await templates.render("lu-ecit", data);
      const t2 = performance.now();
      const signer = await KmsSigner.create({ client: kmsClient, trust, accessToken: token });
      const t3 = performance.now();
      let signMs = 0;
      let timestampMs = 0;
      // The same signer and time-stamp callback, with the time spent in each measured.
      const timed = {
        id: signer.id,
        keyType: signer.keyType,
        algorithms: signer.algorithms,
        certificateChain: () => signer.certificateChain(),
        sign: async (bytes, algorithm) => {
          const s = performance.now();
          const signature = await signer.sign(bytes, algorithm);
          signMs += performance.now() - s;
          return signature;
        },
      };
      const timestamp = async (signatureValue) => {
        const s = performance.now();
        const der = await signer.signatureTimestamp(signatureValue);
        timestampMs += performance.now() - s;
        return der;
      };
      await signPdf(rendered.signable, { signer: timed, timestamp, reason: rendered.title, location: "Luxembourg", signingTime: new Date() });
      const t4 = performance.now();
      if (!record) return;
      stages.token.push(t1 - t0);
      stages.render.push(t2 - t1);
      stages.certificate.push(t3 - t2);
      stages.signData.push(signMs);
      stages.timestamp.push(timestampMs);
      stages.signPdfOwn.push(t4 - t3 - signMs - timestampMs);
      stages.total.push(t4 - t0);
    };
    const timeOf = async (list, fn) => {
      const s = performance.now();
      await fn();
      list.push(performance.now() - s);
    };
    for (let i = 0; i < 5; i++) await oneDocument(false);
    const hash = randomBytes(32);
    for (let i = 0; i < SPLIT_RUNS; i++) {
      await oneDocument(true);
      // The bare KMS round trips (mTLS keep-alive request, the simulator's token check and RSA work), no verification on our side.
      await timeOf(raw.getCertificate, () => kmsClient.getCertificate(token));
      await timeOf(raw.signData, () => kmsClient.signData(token, { hash, hashAlgorithm: "SHA-256" }));
      await timeOf(raw.signTimestamp, () => kmsClient.signTimestamp(token, buildTimestampRequest(hash, { hashAlgorithm: "SHA-256", certReq: true }).der));
      await timeOf(raw.createDocument, () => lu.service.createDocument(ctx, { templateId: "lu-ecit", data, practitioner: { accessToken: token } }));
    }
    const m = Object.fromEntries(Object.entries({ ...stages, ...Object.fromEntries(Object.entries(raw).map(([k, v]) => [`raw_${k}`, v])) }).map(([k, v]) => [k, median(v)]));
    const rsaMs = 1000 / rawSignsPerSecond;
    const row = (label, ms, note = "") => `  ${label.padEnd(62)} ${fmt(ms, 2).padStart(6)} ms  ${fmt((100 * ms) / m.total, 0).padStart(3)} %  ${note}`;
    console.log(
      `b. [profiling aid — IN THE BENCH'S PROCESS: gateway + simulators built with createGateway here, one event loop, no HTTP in front] ` +
        `one eCIT, one at a time (median of ${SPLIT_RUNS}; raw RSA-2048 sign = ${fmt(rsaMs, 2)} ms; ${load()}):`,
    );
    console.log(row("AeS token validation (IdentityService.validateBroughtToken)", m.token));
    console.log(row("render (TemplateStore.render: schema, layout, fonts, PDF)", m.render));
    console.log(row("KmsSigner.create: get-certificate + chain validation", m.certificate, `(bare round trip ${fmt(m.raw_getCertificate, 2)} ms)`));
    console.log(row("sign-data round trip + signature check (Signer.sign)", m.signData, `(bare round trip ${fmt(m.raw_signData, 2)} ms)`));
    console.log(row("sign-timestamp round trip + token verification", m.timestamp, `(bare round trip ${fmt(m.raw_signTimestamp, 2)} ms)`));
    console.log(row("signPdf's own work (CMS, incremental update, hashes)", m.signPdfOwn));
    console.log(row("sum of the stages", m.total));
    console.log(
      `  LuService.createDocument, whole (adds schema validation, audit record): ${fmt(m.raw_createDocument, 2)} ms → ` +
        `${fmt(1000 / m.raw_createDocument, 1)} documents/s one at a time`,
    );
    const kmsMs = m.certificate + m.signData + m.timestamp;
    console.log(
      `  KMS share (3 mTLS round trips, simulator included): ${fmt(kmsMs, 2)} ms = ${fmt((100 * kmsMs) / m.total, 0)} % of the sum; ` +
        `the 2 RSA private-key operations in it ≈ ${fmt(2 * rsaMs, 2)} ms`,
    );
  } finally {
    await kmsClient?.close().catch(() => undefined);
    await gateway?.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// --- the gateway, as the Docker image runs it ---------------------------------------
const workDir = mkdtempSync(path.join(tmpdir(), "passerelle-bench-lu-"));
const gw = startProcess(START_ARGS, { SANDBOX_API_KEY: KEY, RATE_LIMIT_PER_MINUTE: "0", AUTH_RETURN_URLS: RETURN_URL });
let browser;
let exitCode = 0;
const summary = [];
try {
  const gatewayUrl = await gw.url;
  await waitStatus(gatewayUrl, "/health/ready");
  const readyS = (performance.now() - gw.t0) / 1000;
  const target = { url: gatewayUrl, gatewayPid: gw.child.pid, sandboxPid: sandboxPid(gw.child.pid) };
  if (target.sandboxPid === undefined) throw new Error("no sandbox process under the gateway (ps --ppid)");
  const rssReady = rssMb(target.gatewayPid);
  const memoryReady = await gatewayMemory(gatewayUrl);
  const sandboxRssReady = rssMb(target.sandboxPid);
  console.log(
    `Gateway: ${Object.entries(START_ENV).map(([k, v]) => `${k}=${v} `).join("")}node ${START_ARGS.map((a) => path.relative(root, a) || a).join(" ")} (pid ${target.gatewayPid}), ready in ${fmt(readyS, 1)} s; ` +
      `sandbox process pid ${target.sandboxPid}; ${load()}`,
  );

  // --- a. baseline: raw RSA-2048 signing, the gateway idle ---------------------------
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  rawSignRates(privateKey, 1, 200); // warm-up
  const rawBefore = rawSignRates(privateKey, 5, 200);
  console.log(`a. Raw RSA-2048 crypto.sign("sha256"), one thread of the bench's process: ${fmt(median(rawBefore))} signs/s (median of 5 × 200 ms; ${load()})`);

  // --- logins over HTTP, then one document each way, checked by pdfsig ----------------
  const described = await (await fetch(`${gatewayUrl}/sandbox`)).json();
  const aesUrl = described.simulators.find((s) => s.id === "lu-aes")?.url;
  if (aesUrl === undefined) throw new Error(`GET /sandbox lists no lu-aes simulator: ${described.simulators.map((s) => s.id).join(", ")}`);
  browser = new Agent({ connect: { ca: described.trustAnchorPem } });
  const session = await loginThroughGateway(gatewayUrl, browser);
  const token = await vendorAppAccessToken(aesUrl, browser);
  const base = { "X-Api-Key": KEY, "Content-Type": "application/json", Accept: "application/pdf" };
  const tokenHeaders = { ...base, "X-Practitioner-Token": token };
  const sessionHeaders = { ...base, "X-Session": session };
  const byToken = await checkedDocument(gatewayUrl, tokenHeaders, requestBody, path.join(workDir, "ecit-token.pdf"));
  const bySession = await checkedDocument(gatewayUrl, sessionHeaders, requestBody, path.join(workDir, "ecit-session.pdf"));
  if ((await documentsServed(gatewayUrl)) !== 2) throw new Error(`GET /metrics does not count POST ${DOCUMENTS_ROUTE} 200 as expected`);
  for (const [label, doc] of [["X-Practitioner-Token (vendor app's AeS token)", byToken], ["X-Session (gateway login)", bySession]]) {
    console.log(`Sanity, ${label}: one eCIT, ${fmt(doc.kB, 1)} kB, ${doc.template} — pdfsig: "Signature is Valid", ${doc.type}, signer ${doc.signer}`);
  }

  // --- c. end to end through HTTP, wrk as the load -------------------------------------
  const bodyFile = path.join(workDir, "ecit.json");
  writeFileSync(bodyFile, requestBody);
  const tokenScript = path.join(workDir, "post-ecit-token.lua");
  writeFileSync(tokenScript, wrkScript(tokenHeaders, bodyFile));
  const sessionScript = path.join(workDir, "post-ecit-session.lua");
  writeFileSync(sessionScript, wrkScript(sessionHeaders, bodyFile));

  await timedRun(target, SEQUENTIAL_WARMUP_S, 1, tokenScript);
  const sequential = await timedRun(target, SEQUENTIAL_S, 1, tokenScript);
  const rssAfterSequential = rssMb(target.gatewayPid);
  const memoryAfterSequential = await gatewayMemory(gatewayUrl);
  await timedRun(target, WARMUP_S, CONCURRENCY, tokenScript);
  const loaded = await timedRun(target, RUN_S, CONCURRENCY, tokenScript);
  const rssAfterLoaded = rssMb(target.gatewayPid);
  const memoryAfterLoaded = await gatewayMemory(gatewayUrl);
  const bySessionRun = await timedRun(target, SESSION_RUN_S, CONCURRENCY, sessionScript);
  const rssEnd = rssMb(target.gatewayPid);
  const memoryEnd = await gatewayMemory(gatewayUrl);
  const peakRss = peakRssMb(target.gatewayPid);
  const sandboxRssEnd = rssMb(target.sandboxPid);
  const sandboxPeakRss = peakRssMb(target.sandboxPid);
  const rawAfter = rawSignRates(privateKey, 5, 200);
  const rawRate = median([...rawBefore, ...rawAfter]);
  const rsaMs = 1000 / rawRate;

  console.log(`c. POST ${DOCUMENTS_ROUTE} (eCIT, Accept: application/pdf), wrk -t1 from its own process, against the gateway's process:`);
  const runs = [
    [`-c1 ${SEQUENTIAL_S} s, token`, sequential, `after ${SEQUENTIAL_WARMUP_S} s warm-up`],
    [`-c${CONCURRENCY} ${RUN_S} s, token`, loaded, `after ${WARMUP_S} s warm-up`],
    [`-c${CONCURRENCY} ${SESSION_RUN_S} s, X-Session`, bySessionRun, "gateway session instead of a token"],
  ];
  for (const [label, run, note] of runs) {
    const gatewayMs = (1000 * run.gatewayCpuS) / run.documents;
    const sandboxMs = (1000 * run.sandboxCpuS) / run.documents;
    console.log(
      `  ${label.padEnd(22)} ${fmt(run.rps, 1).padStart(6)} documents/s = ${fmt(run.rps * 60).padStart(5)}/min  ` +
        `p50 ${fmt(run.p50ms, 1)} ms  p99 ${fmt(run.p99ms, 1)} ms  (${run.documents} documents, ${note}; ${run.loadBefore})`,
    );
    console.log(
      `  ${"".padEnd(22)} gateway process: ${fmt(gatewayMs, 2)} CPU-ms/document → ${fmt(60_000 / gatewayMs)} documents/min per core of gateway CPU ` +
        `(${fmt(run.gatewayCpuS / run.wall, 2)} cores busy)`,
    );
    console.log(
      `  ${"".padEnd(22)} sandbox process (simulators, not the gateway): ${fmt(sandboxMs, 2)} CPU-ms/document (${fmt(run.sandboxCpuS / run.wall, 2)} cores); ` +
        `wrk ${fmt(run.wrkCpuS / run.wall, 2)} cores`,
    );
  }
  console.log(
    `  gateway RSS: ${mb(rssReady)} at ready, ${mb(rssAfterSequential)} after -c1, ${mb(rssAfterLoaded)} after -c${CONCURRENCY}, ` +
      `${mb(rssEnd)} after the X-Session run; peak (VmHWM) ${mb(peakRss)}`,
  );
  console.log(
    `  gateway memory, MB (its /metrics): ready ${memoryReady}; after -c1 ${memoryAfterSequential}; ` +
      `after -c${CONCURRENCY} ${memoryAfterLoaded}; at the end ${memoryEnd} (the rest of the RSS is code, V8's other spaces, OpenSSL and the allocator)`,
  );
  console.log(`  sandbox process RSS (not the gateway): ${mb(sandboxRssReady)} at ready, ${mb(sandboxRssEnd)} at the end, peak ${mb(sandboxPeakRss)}`);
  console.log(
    `  raw RSA-2048: ${fmt(rawRate)} signs/s = ${fmt(rsaMs, 2)} ms/sign (median of 10 rounds: ${fmt(median(rawBefore))} before, ` +
      `${fmt(median(rawAfter))} after the load; ${load()})`,
  );
  const gatewayMs = (1000 * loaded.gatewayCpuS) / loaded.documents;
  const bothMs = (1000 * (loaded.gatewayCpuS + loaded.sandboxCpuS)) / loaded.documents;
  console.log(`  -c${CONCURRENCY}, token: documents/s ÷ raw signs/s = ${fmt(loaded.rps / rawRate, 3)}  (0.5 = nothing but the two RSA signatures, on one thread)`);
  console.log(
    `  -c${CONCURRENCY}, token: CPU per document in raw RSA-2048 signatures: gateway ${fmt(gatewayMs / rsaMs, 1)}, ` +
      `gateway + sandbox ${fmt(bothMs / rsaMs, 1)} (of which the sandbox's 2 are the KMS's and the TSA's signatures)`,
  );

  const perCoreMinute = 60_000 / gatewayMs;
  const rssWorst = Math.max(rssAfterSequential, rssAfterLoaded, rssEnd, peakRss);
  summary.push(
    `Summary (issue #5) — gateway as the Docker image runs it, simulators in the sandbox process, wrk -c${CONCURRENCY} ${RUN_S} s with the AeS token:`,
    `  documents/min per core of gateway CPU : ${fmt(perCoreMinute)} (${fmt(gatewayMs, 2)} CPU-ms/document)  target > ${fmt(TARGET_PER_MINUTE)}: ${met(perCoreMinute > TARGET_PER_MINUTE)}`,
    `  gateway RSS                           : ${mb(rssReady)} ready, ${mb(rssAfterSequential)} after -c1, ${mb(rssAfterLoaded)} after -c${CONCURRENCY}, peak ${mb(peakRss)}  target < ${TARGET_RSS_MB} MB: ${met(rssWorst < TARGET_RSS_MB)}`,
    `  wall-clock throughput                 : ${fmt(loaded.rps, 1)} documents/s = ${fmt(loaded.rps * 60)}/min, p50 ${fmt(loaded.p50ms, 1)} ms, p99 ${fmt(loaded.p99ms, 1)} ms ` +
      `(gateway ${fmt(loaded.gatewayCpuS / loaded.wall, 2)} + sandbox ${fmt(loaded.sandboxCpuS / loaded.wall, 2)} + wrk ${fmt(loaded.wrkCpuS / loaded.wall, 2)} cores of 2 shared)`,
    `  -c1                                   : ${fmt(sequential.rps, 1)} documents/s, p50 ${fmt(sequential.p50ms, 1)} ms, p99 ${fmt(sequential.p99ms, 1)} ms`,
    `  ratio to raw RSA-2048 (same run)      : documents/s ÷ ${fmt(rawRate)} signs/s = ${fmt(loaded.rps / rawRate, 3)}; gateway CPU/document = ${fmt(gatewayMs / rsaMs, 1)} signatures' worth`,
    `  X-Session instead of a token          : ${fmt(bySessionRun.rps, 1)} documents/s, ${fmt(60_000 / ((1000 * bySessionRun.gatewayCpuS) / bySessionRun.documents))}/min per core of gateway CPU`,
    `  sandbox process (not the gateway)     : ${fmt((1000 * loaded.sandboxCpuS) / loaded.documents, 2)} CPU-ms/document, RSS peak ${mb(sandboxPeakRss)}`,
  );
  await gw.cleanup();

  // --- b. per-step split, in this process (profiling) --------------------------------------
  await splitInProcess(rawRate);
} catch (error) {
  console.error("lu benchmark failed:", error);
  if (gw.stderr()) console.error(`gateway stderr:\n${gw.stderr().slice(-2000)}`);
  exitCode = 1;
}
await gw.cleanup().catch(() => undefined);
await browser?.close().catch(() => undefined);
rmSync(workDir, { recursive: true, force: true });
if (summary.length > 0) console.log(summary.join("\n"));
process.exit(exitCode);
