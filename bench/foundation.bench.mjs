// Foundation benchmark (issue #2):
//  1. throughput and p99 of an authenticated GET /v1/caller through the gateway
//     vs a bare Fastify route, both measured now, in separate processes, with wrk;
//  2. RSS after start and after two rounds of 100k requests;
//  3. cold start of `passerelle start` (sandbox profile) until /health/live answers.
// Needs wrk (Debian package `wrk`) and a build (npm run bench builds first).
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const KEY = "psk_bench_0123456789abcdef0123456789";
const WRK = "/usr/bin/wrk";

if (spawnSync(WRK, ["--version"]).error) {
  console.error("wrk is missing: apt-get install -y wrk");
  process.exit(1);
}

function startProcess(args, env = {}) {
  const dataDir = mkdtempSync(path.join(tmpdir(), "passerelle-bench-"));
  const t0 = performance.now();
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH, DATA_DIR: dataDir, PORT: "0", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  const url = new Promise((resolve, reject) => {
    child.stderr.on("data", (d) => {
      stderr += d.toString();
      const m = /listening on (http:\/\/[\d.:]+)/.exec(stderr);
      if (m) resolve(m[1]);
    });
    child.on("exit", (code) => reject(new Error(`exited ${code}: ${stderr}`)));
  });
  return { child, url, t0, cleanup: () => { child.kill("SIGKILL"); rmSync(dataDir, { recursive: true, force: true }); } };
}

async function waitLive(url) {
  for (;;) {
    try {
      if ((await fetch(`${url}/health/live`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

function rssMb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

function wrk(url, seconds) {
  const r = spawnSync(WRK, ["-t1", "-c32", `-d${seconds}s`, "--latency", "-H", `X-Api-Key: ${KEY}`, `${url}/v1/caller`], { encoding: "utf8" });
  const out = r.stdout;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const total = Number(/(\d+) requests in/.exec(out)?.[1]);
  const p99raw = /99%\s+([\d.]+)(us|ms|s)/.exec(out);
  const p99ms = p99raw ? Number(p99raw[1]) * ({ us: 0.001, ms: 1, s: 1000 }[p99raw[2]]) : NaN;
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  return { rps, total, p99ms, non2xx };
}

const fmt = (n, d = 0) => n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });

// --- 1. throughput vs bare Fastify -------------------------------------------
const bare = startProcess([path.join(root, "bench/bare-server.mjs")]);
const bareUrl = await bare.url;
wrk(bareUrl, 2); // warm-up
const bareRun = wrk(bareUrl, 5);
bare.cleanup();

const gw = startProcess([path.join(root, "dist/cli.js"), "start"], { SANDBOX_API_KEY: KEY, RATE_LIMIT_PER_MINUTE: "0" });
const gwUrl = await gw.url;
const rssStart = rssMb(gw.child.pid);
wrk(gwUrl, 2); // warm-up
const gwRun = wrk(gwUrl, 5);
if (gwRun.non2xx > 0) throw new Error(`${gwRun.non2xx} non-2xx answers from the gateway`);

console.log("GET /v1/caller (API key auth, rate-limit off, request log on) vs bare Fastify, wrk -t1 -c32 5 s:");
console.log(`  bare Fastify : ${fmt(bareRun.rps)} req/s, p99 ${fmt(bareRun.p99ms, 2)} ms`);
console.log(`  gateway      : ${fmt(gwRun.rps)} req/s, p99 ${fmt(gwRun.p99ms, 2)} ms`);
console.log(`  ratio        : ${fmt(gwRun.rps / bareRun.rps, 2)} (target >= 0.60)`);

// --- 2. RSS across two rounds of 100k requests ---------------------------------
const secondsFor100k = Math.ceil(100_000 / gwRun.rps) + 1;
const round1 = wrk(gwUrl, secondsFor100k);
const rss1 = rssMb(gw.child.pid);
const round2 = wrk(gwUrl, secondsFor100k);
const rss2 = rssMb(gw.child.pid);
console.log("RSS of the gateway (sandbox profile, memory vault):");
console.log(`  after start            : ${fmt(rssStart, 1)} MB`);
console.log(`  after round 1 (${fmt(round1.total)} req): ${fmt(rss1, 1)} MB`);
console.log(`  after round 2 (${fmt(round2.total)} req): ${fmt(rss2, 1)} MB  (growth ${fmt(rss2 - rss1, 1)} MB; target < 120 MB, no growth)`);
gw.cleanup();

// --- 3. cold start ----------------------------------------------------------
const starts = [];
for (let i = 0; i < 5; i++) {
  const p = startProcess([path.join(root, "dist/cli.js"), "start"]);
  const url = await p.url;
  await waitLive(url);
  starts.push(performance.now() - p.t0);
  p.cleanup();
}
starts.sort((a, b) => a - b);
console.log(`Cold start of passerelle start to /health/live (sandbox, fresh DATA_DIR incl. PKI generation), 5 runs:`);
console.log(`  median ${fmt(starts[2])} ms, min ${fmt(starts[0])} ms, max ${fmt(starts[4])} ms (target < 1500 ms)`);
