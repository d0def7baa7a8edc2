// Luxembourg benchmark (issue #5, "Performance"): signed PDFs per second, end to
// end — POST /v1/lu/documents → schema validation → render → PAdES-B-T through
// the lu-kms simulator over mutual TLS (get-certificate, sign-data, and the
// KMS's RFC 3161 time-stamp) — with the process's RSS. Target: over 3,000
// signed PDFs per minute on one core under 200 MB RSS, reported as a ratio to
// the same run's raw RSA-2048 signing rate (crypto.sign("sha256")): each
// document costs two RSA private-key operations in the sandbox (the
// practitioner's key in the KMS, the TSA's key), so the ceiling is raw/2.
//  a. baseline: raw RSA-2048 signs/s, one thread, before and after the load;
//  b. where one document's time goes, in-process without the gateway's HTTP
//     (token check, TemplateStore.render, KmsSigner.create, sign-data,
//     sign-timestamp, signPdf's own work, LuService.createDocument whole);
//  c. wrk (a separate process) POSTing eCITs with Accept: application/pdf at
//     -c1 then -c8: documents/s and /min, p50/p99, RSS, CPU per document.
// The gateway, the AeS and KMS simulators (in-process, same event loop) and wrk
// share the machine's 2 cores with whatever else runs: see the loadavg figures.
// Needs wrk and pdfsig (Debian wrk, poppler-utils) and a build (npm run bench builds first).
import { spawn, spawnSync } from "node:child_process";
import { generateKeyPairSync, randomBytes, sign as cryptoSign } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { Agent, fetch } from "undici";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = (p) => import(path.join(root, "dist", p));
const { createGateway } = await dist("gateway/create-gateway.js");
const { identityModule, IDENTITY_MODULE } = await dist("services/identity/module.js");
const { LU_MODULE, luModule } = await dist("services/lu/index.js");
const { KmsClient, KmsSigner, KmsTrust } = await dist("services/lu/kms/index.js");
const { loginThroughSandboxPage, sandboxIdentitySimulators } = await dist("sandbox/idp/index.js");
const { luKmsSimulator } = await dist("sandbox/lu-kms/index.js");
const { signPdf } = await dist("protocols/pades/index.js");
const { buildTimestampRequest } = await dist("protocols/tsp/index.js");

const KEY = "psk_bench_lu_0123456789abcdef";
const RETURN_URL = "http://127.0.0.1:3000/after-login";
const ANNE = { username: "101234-56", password: "anne-7314" };
const WRK = "/usr/bin/wrk";
const TARGET_PER_MINUTE = 3000;
const TARGET_RSS_MB = 200;
const CONCURRENCY = 8;
const WARMUP_S = 3;
const RUN_S = 15;
const SEQUENTIAL_S = 4;
const SPLIT_RUNS = 30;

for (const [tool, args] of [[WRK, ["--version"]], ["pdfsig", ["-v"]]]) {
  if (spawnSync(tool, args).error) {
    console.error(`${tool} is missing: apt-get install -y ${tool === "pdfsig" ? "poppler-utils" : path.basename(tool)}`);
    process.exit(1);
  }
}

const fmt = (n, d = 0) => n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
const load = () => `loadavg(1m) ${loadavg()[0].toFixed(2)}`;
const mb = (bytes) => `${fmt(bytes / 2 ** 20, 1)} MB`;
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

/** utime + stime of a process in seconds, from /proc (Linux; USER_HZ is 100 there). */
function cpuSecondsOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/**
 * Runs wrk without blocking this process's event loop (the gateway answers
 * from it), sampling this process's RSS and wrk's CPU time meanwhile.
 */
function wrk(url, seconds, connections, script) {
  const args = ["-t1", `-c${connections}`, `-d${seconds}s`, "--latency", "--timeout", "30s", "-s", script, url];
  return new Promise((resolve, reject) => {
    const child = spawn(WRK, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let wrkCpu = 0;
    let peakRss = process.memoryUsage().rss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      wrkCpu = cpuSecondsOf(child.pid) ?? wrkCpu;
    }, 200);
    const cpu0 = process.cpuUsage();
    const elu0 = performance.eventLoopUtilization();
    const t0 = performance.now();
    child.stdout.on("data", (d) => (out += d.toString()));
    child.stderr.on("data", (d) => (out += d.toString()));
    child.on("error", (error) => {
      clearInterval(sampler);
      reject(error);
    });
    child.on("exit", () => {
      clearInterval(sampler);
      const wall = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const latency = (p) => {
        const m = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
        return m ? Number(m[1]) * { us: 0.001, ms: 1, s: 1000 }[m[2]] : NaN;
      };
      resolve({
        rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
        total: Number(/(\d+) requests in/.exec(out)?.[1]),
        p50ms: latency(50),
        p99ms: latency(99),
        non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
        errors: /Socket errors:.*/.exec(out)?.[0],
        output: out,
        peakRss,
        gatewayCpuS: (cpu.user + cpu.system) / 1e6,
        wrkCpuS: wrkCpu,
        wall,
        elu: performance.eventLoopUtilization(performance.eventLoopUtilization(), elu0).utilization,
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

// --- setup: gateway with the AeS and KMS simulators, Anne logged in ------------
const dataDir = mkdtempSync(path.join(tmpdir(), "passerelle-bench-lu-"));
let gateway;
let browser;
let kmsClient;
const cleanup = async () => {
  await kmsClient?.close().catch(() => undefined);
  await gateway?.close().catch(() => undefined);
  await browser?.close().catch(() => undefined);
  rmSync(dataDir, { recursive: true, force: true });
};

const example = JSON.parse(readFileSync(path.join(root, "docs/examples/lu-ecit.json"), "utf8"));
const data = example.data;
const requestBody = JSON.stringify({ template: example.template, data });

let gatewayUrl;
let token;
let lu;
let identity;
let kmsTrust;
const setupStart = performance.now();
try {
  gateway = await createGateway({
    env: {
      PORT: "0",
      DATA_DIR: dataDir,
      RATE_LIMIT_PER_MINUTE: "0",
      SANDBOX_API_KEY: KEY,
      AUTH_RETURN_URLS: RETURN_URL,
      LOG_LEVEL: "warn",
    },
    simulators: [...sandboxIdentitySimulators(), luKmsSimulator()],
    modules: [identityModule(), luModule()],
    logDestination: new Writable({ write: (_chunk, _encoding, callback) => callback() }),
  });
  gatewayUrl = await gateway.listen();
  const sandbox = gateway.sandbox.sandbox;
  identity = gateway.modules.get(IDENTITY_MODULE).service;
  lu = gateway.modules.get(LU_MODULE);
  browser = new Agent({ connect: { ca: sandbox.pki.rootCertPem } });

  const api = async (method, p, body) => {
    const response = await fetch(`${gatewayUrl}${p}`, {
      method,
      headers: { "x-api-key": KEY, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = await response.json();
    if (!response.ok) throw new Error(`${method} ${p}: ${response.status} ${JSON.stringify(json)}`);
    return json;
  };
  // Anne's login as the vendor app does it (src/services/lu/lu.e2e.test.ts, login()).
  const { loginUrl } = await api("POST", "/v1/auth/login", { clientId: "passerelle-aes", returnUrl: RETURN_URL, state: "bench" });
  const opened = await fetch(loginUrl, { redirect: "manual", dispatcher: browser });
  const cookie = (opened.headers.getSetCookie()[0] ?? "").split(";")[0];
  const callback = await loginThroughSandboxPage(new URL(opened.headers.get("location")), { ...ANNE, dispatcher: browser });
  const back = await fetch(callback, { redirect: "manual", headers: { cookie } });
  const code = new URL(back.headers.get("location")).searchParams.get("code");
  if (code === null) throw new Error(`the login failed: ${back.headers.get("location")}`);
  const { session } = await api("POST", "/v1/auth/session", { code });
  ({ accessToken: token } = await identity.sessionTokens({ caller: "sandbox-demo", requestId: "bench" }, session));

  // A KMS client of our own, configured as the lu module configures its (module.ts), for part b.
  const { endpoints, genericKeystore, truststore, serverTrustPem } = lu.material.kms;
  kmsClient = await KmsClient.create({
    endpoints,
    clientIdentity: { pkcs12: genericKeystore.pkcs12, password: genericKeystore.password },
    ...(serverTrustPem === undefined ? {} : { serverTrust: serverTrustPem }),
  });
  kmsTrust = await KmsTrust.fromTruststore(truststore.path, { password: truststore.password, aliases: truststore.aliases });
} catch (error) {
  console.error("setup failed:", error);
  await cleanup();
  process.exit(1);
}
const rssIdle = process.memoryUsage().rss;
const headers = { "X-Api-Key": KEY, "Content-Type": "application/json", Accept: "application/pdf", "X-Practitioner-Token": token };
console.log(`Setup (gateway, AeS + KMS simulators, Anne's login) ${fmt((performance.now() - setupStart) / 1000, 1)} s; ${load()}`);

let exitCode = 0;
try {
  // --- sanity: one document through HTTP, checked by pdfsig ----------------------
  const first = await fetch(`${gatewayUrl}/v1/lu/documents`, { method: "POST", headers, body: requestBody });
  const pdf = Buffer.from(await first.arrayBuffer());
  if (first.status !== 200 || first.headers.get("content-type") !== "application/pdf") {
    throw new Error(`POST /v1/lu/documents answered ${first.status}: ${pdf.toString("utf8").slice(0, 500)}`);
  }
  const pdfFile = path.join(dataDir, "ecit.pdf");
  writeFileSync(pdfFile, pdf);
  const checked = spawnSync("pdfsig", [pdfFile], { encoding: "utf8" });
  if (!checked.stdout.includes("Signature is Valid")) throw new Error(`pdfsig does not find the signature valid:\n${checked.stdout}${checked.stderr}`);
  const timestamped = /Signature Type: ETSI\.CAdES\.detached/.test(checked.stdout);
  console.log(
    `Sanity: one eCIT (${fmt(pdf.length / 1024, 1)} kB, ${first.headers.get("x-document-template")}) — pdfsig: "Signature is Valid"` +
      `${timestamped ? ", ETSI.CAdES.detached" : ""}, signer ${/Signer full Distinguished Name: (.*)/.exec(checked.stdout)?.[1] ?? "?"}`,
  );

  // --- a. baseline: raw RSA-2048 signing ----------------------------------------
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  rawSignRates(privateKey, 1, 200); // warm-up
  const rawBefore = rawSignRates(privateKey, 5, 200);
  console.log(`a. Raw RSA-2048 crypto.sign("sha256"), one thread: ${fmt(median(rawBefore))} signs/s (median of 5 × 200 ms; ${load()})`);

  // --- b. where one document's time goes (in-process, no gateway HTTP) -------------
  const templates = lu.service.templates;
  const trust = kmsTrust;
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
  const rsaMs = 1000 / median(rawBefore);
  const row = (label, ms, note = "") => `  ${label.padEnd(62)} ${fmt(ms, 2).padStart(6)} ms  ${fmt((100 * ms) / m.total, 0).padStart(3)} %  ${note}`;
  console.log(`b. One eCIT, in-process, one at a time (median of ${SPLIT_RUNS}; raw RSA-2048 sign = ${fmt(rsaMs, 2)} ms; ${load()}):`);
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

  // --- c. end to end through HTTP, wrk as the load ----------------------------------
  const bodyFile = path.join(dataDir, "ecit.json");
  writeFileSync(bodyFile, requestBody);
  const script = path.join(dataDir, "post-ecit.lua");
  writeFileSync(script, wrkScript(headers, bodyFile));
  const url = `${gatewayUrl}/v1/lu/documents`;
  const check = (name, run) => {
    if (run.non2xx > 0 || !(run.total > 0)) throw new Error(`${name}: ${run.non2xx} non-2xx of ${run.total} requests ${run.errors ?? ""}\n${run.output}`);
  };
  const loadSequential = load();
  const sequential = await wrk(url, SEQUENTIAL_S, 1, script);
  check("-c1", sequential);
  const warm = await wrk(url, WARMUP_S, CONCURRENCY, script);
  check("warm-up", warm);
  const rssAfterWarmup = process.memoryUsage().rss;
  const loadLoaded = load();
  const loaded = await wrk(url, RUN_S, CONCURRENCY, script);
  check(`-c${CONCURRENCY}`, loaded);
  const memoryEnd = process.memoryUsage();
  const rssEnd = memoryEnd.rss;
  const rawAfter = rawSignRates(privateKey, 5, 200);
  const rawRate = median([...rawBefore, ...rawAfter]);

  const perCpu = (run) => run.total / run.gatewayCpuS;
  console.log(`c. POST /v1/lu/documents (eCIT, Accept: application/pdf, X-Practitioner-Token), wrk -t1 from a separate process:`);
  for (const [label, run, l] of [
    [`-c1 ${SEQUENTIAL_S} s`, sequential, loadSequential],
    [`-c${CONCURRENCY} ${RUN_S} s (after ${WARMUP_S} s warm-up)`, loaded, loadLoaded],
  ]) {
    console.log(
      `  ${label.padEnd(26)} ${fmt(run.rps, 1).padStart(6)} documents/s = ${fmt(run.rps * 60).padStart(5)}/min  ` +
        `p50 ${fmt(run.p50ms, 1)} ms  p99 ${fmt(run.p99ms, 1)} ms  (${run.total} documents, ${l})`,
    );
    console.log(
      `  ${"".padEnd(26)} gateway process CPU ${fmt(run.gatewayCpuS / run.wall, 2)} cores (event loop busy ${fmt(100 * run.elu, 0)} %), ` +
        `wrk ${fmt(run.wrkCpuS / run.wall, 2)} cores; ${fmt((1000 * run.gatewayCpuS) / run.total, 2)} CPU-ms per document → ` +
        `${fmt(perCpu(run), 1)} documents per CPU-second`,
    );
  }
  console.log(
    `  RSS: ${mb(rssIdle)} idle after start-up and login (no document yet), ${mb(rssAfterWarmup)} after warm-up, ${mb(rssEnd)} at the end, peak ${mb(loaded.peakRss)} during the -c${CONCURRENCY} run ` +
      `(whole process: gateway + simulators; target < ${TARGET_RSS_MB} MB ${Math.max(rssEnd, loaded.peakRss) < TARGET_RSS_MB * 2 ** 20 ? "met" : "missed"})`,
  );
  console.log(
    `  at the end: V8 heap ${mb(memoryEnd.heapUsed)} used of ${mb(memoryEnd.heapTotal)}, external ${mb(memoryEnd.external)} ` +
      `(the rest of the RSS is code, V8's other spaces, OpenSSL and TLS buffers)`,
  );
  const ceiling = rawRate / 2;
  console.log(
    `  raw RSA-2048: ${fmt(rawRate)} signs/s (median of 10 rounds: ${fmt(median(rawBefore))} before, ${fmt(median(rawAfter))} after the load; ${load()})`,
  );
  console.log(`  documents/s ÷ raw signs/s         = ${fmt(loaded.rps / rawRate, 3)}`);
  console.log(`  documents/s ÷ (raw signs/s ÷ 2)   = ${fmt(loaded.rps / ceiling, 3)}  (1.0 = nothing but the two RSA signatures, on one thread)`);
  console.log(`  documents per CPU-second ÷ (raw ÷ 2) = ${fmt(perCpu(loaded) / ceiling, 3)}  (the same, per core actually used)`);
  const perMinute = loaded.rps * 60;
  const oneCorePerMinute = perCpu(loaded) * 60;
  console.log(
    `  target ${fmt(TARGET_PER_MINUTE)}/min on one core: ${fmt(perMinute)}/min measured on ${fmt(loaded.gatewayCpuS / loaded.wall, 2)} cores ` +
      `(${perMinute > TARGET_PER_MINUTE ? "over" : "under"}), ${fmt(oneCorePerMinute)}/min per CPU-second of the process ` +
      `(${oneCorePerMinute > TARGET_PER_MINUTE ? "over" : "under"}); the RSA ceiling alone on one core is ${fmt(ceiling * 60)}/min`,
  );
  console.log(
    "  (one process holds the gateway and both simulators — TLS both ways, the simulator's token checks and RSA work — and wrk runs " +
      "beside it on the same 2 shared cores: see the loadavg figures)",
  );
} catch (error) {
  console.error("lu benchmark failed:", error);
  exitCode = 1;
}
await cleanup();
process.exit(exitCode);
