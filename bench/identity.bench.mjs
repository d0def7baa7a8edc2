// Identity benchmark (issue #3, "Performance"):
//  a. validating a bring-your-own access token with a cached JWKS, against raw
//     `jose` jwtVerify with a local JWK set on the same token, same run
//     (target ratio >= 0.8) — both the whole service path
//     (IdentityService.validateBroughtToken) and the protocol layer
//     (validateAccessToken from protocols/oidc with a local key set);
//  b. session lookup through the gateway with the Redis vault: wrk on
//     GET /v1/auth/session vs GET /v1/caller (no vault access), p50/p99
//     (target: session p99 < 2 ms on loopback).
// The token and the session are real: a sandbox practitioner logs in through
// the lu-aes simulator's login page, as src/services/identity/identity.e2e.test.ts does.
// Needs wrk and redis-server (Debian packages) and a build (npm run bench builds first).
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { createLocalJWKSet, decodeJwt, jwtVerify } from "jose";
import { parseWrkReport } from "./support/gateway-process.mjs";
import { Agent, fetch } from "undici";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = (p) => import(path.join(root, "dist", p));
const { createGateway } = await dist("gateway/create-gateway.js");
const { identityModule, IDENTITY_MODULE } = await dist("services/identity/module.js");
const { loginThroughSandboxPage, sandboxIdentitySimulators } = await dist("sandbox/idp/index.js");
const { validateAccessToken } = await dist("protocols/oidc/access-token.js");

const KEY = "psk_bench_identity_0123456789abcdef";
const RETURN_URL = "http://127.0.0.1:3000/after-login";
const ANNE = { username: "101234-56", password: "anne-7314" };
const WRK = "/usr/bin/wrk";

for (const [tool, args] of [[WRK, ["--version"]], ["redis-server", ["--version"]]]) {
  if (spawnSync(tool, args).error) {
    console.error(`${tool} is missing: apt-get install -y ${path.basename(tool)}`);
    process.exit(1);
  }
}

const fmt = (n, d = 0) => n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
const load = () => `loadavg(1m) ${loadavg()[0].toFixed(2)}`;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startRedis() {
  const port = await freePort();
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${output}`)), 10_000);
    child.stdout.on("data", (d) => {
      output += d.toString();
      if (output.includes("Ready to accept connections")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited ${code}: ${output}`));
    });
  });
  return { port, child };
}

/** Runs wrk without blocking this process's event loop (the gateway answers from it). */
function wrk(url, seconds, headers, connections = 16) {
  const args = ["-t1", `-c${connections}`, `-d${seconds}s`, "--latency", ...Object.entries(headers).flatMap(([k, v]) => ["-H", `${k}: ${v}`]), url];
  return new Promise((resolve, reject) => {
    const child = spawn(WRK, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d.toString()));
    child.on("error", reject);
    child.on("exit", () => {
      resolve(parseWrkReport(out));
    });
  });
}

/** Awaits `fn` back to back for `ms` milliseconds; ops/s. */
async function opsPerSecond(fn, ms) {
  let n = 0;
  const t0 = performance.now();
  const end = t0 + ms;
  while (performance.now() < end) {
    for (let i = 0; i < 32; i++) await fn();
    n += 32;
  }
  return n / ((performance.now() - t0) / 1000);
}

// --- setup: redis, gateway, a logged-in practitioner ---------------------------
const redis = await startRedis();
const dataDir = mkdtempSync(path.join(tmpdir(), "passerelle-bench-identity-"));
let gateway;
let browser;
const cleanup = async () => {
  await gateway?.close().catch(() => undefined);
  await browser?.close().catch(() => undefined);
  redis.child.kill("SIGTERM");
  rmSync(dataDir, { recursive: true, force: true });
};

let token;
let session;
let gatewayUrl;
let service;
try {
  gateway = await createGateway({
    env: {
      PORT: "0",
      DATA_DIR: dataDir,
      RATE_LIMIT_PER_MINUTE: "0",
      SANDBOX_API_KEY: KEY,
      AUTH_RETURN_URLS: RETURN_URL,
      VAULT_URL: `redis://127.0.0.1:${redis.port}`,
    },
    simulators: sandboxIdentitySimulators(),
    modules: [identityModule()],
    // Request logging stays on (as in production), written nowhere.
    logDestination: new Writable({ write: (_chunk, _encoding, callback) => callback() }),
  });
  gatewayUrl = await gateway.listen();
  const sandbox = gateway.sandbox.sandbox;
  service = gateway.modules.get(IDENTITY_MODULE).service;
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
  const { loginUrl } = await api("POST", "/v1/auth/login", { clientId: "passerelle-aes", returnUrl: RETURN_URL, state: "bench" });
  const opened = await fetch(loginUrl, { redirect: "manual", dispatcher: browser });
  const cookie = (opened.headers.getSetCookie()[0] ?? "").split(";")[0];
  const callback = await loginThroughSandboxPage(new URL(opened.headers.get("location")), { ...ANNE, dispatcher: browser });
  const back = await fetch(callback, { redirect: "manual", headers: { cookie } });
  const code = new URL(back.headers.get("location")).searchParams.get("code");
  if (code === null) throw new Error(`the login failed: ${back.headers.get("location")}`);
  ({ session } = await api("POST", "/v1/auth/session", { code }));
  ({ accessToken: token } = await service.sessionTokens({ caller: "sandbox-demo", requestId: "bench" }, session));
} catch (error) {
  console.error("setup failed:", error);
  await cleanup();
  process.exit(1);
}

// --- a. bring-your-own token validation ---------------------------------------
const claims = decodeJwt(token);
const brought = await service.validateBroughtToken("lu-aes", token); // also fills the service's JWKS cache
const discovery = await (await fetch(`${claims.iss}/.well-known/openid-configuration`, { dispatcher: browser })).json();
const jwks = await (await fetch(discovery.jwks_uri, { dispatcher: browser })).json();
const localKeys = createLocalJWKSet(jwks);
const policy = { issuer: brought.issuer, audience: brought.audience };

const candidates = {
  raw: () => jwtVerify(token, localKeys, { issuer: policy.issuer, audience: policy.audience, algorithms: ["RS256", "PS256", "ES256"] }),
  protocol: () => validateAccessToken(token, localKeys, policy),
  service: () => service.validateBroughtToken("lu-aes", token),
};
const header = JSON.parse(Buffer.from(token.split(".")[0], "base64url").toString());
console.log(`a. Bring-your-own access token (lu-aes, ${header.alg}, ${token.length} chars), cached JWKS; ${load()}`);
for (const fn of Object.values(candidates)) await opsPerSecond(fn, 300); // warm-up (JIT, key import caches)

const ROUNDS = 10;
const ROUND_MS = 200;
const rates = { raw: [], protocol: [], service: [] };
const ratios = { protocol: [], service: [] };
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, fn] of Object.entries(candidates)) rates[name].push(await opsPerSecond(fn, ROUND_MS));
  ratios.protocol.push(rates.protocol[r] / rates.raw[r]);
  ratios.service.push(rates.service[r] / rates.raw[r]);
}
console.log(`  ${ROUNDS} interleaved rounds of ${ROUND_MS} ms each (${fmt((ROUNDS * ROUND_MS) / 1000, 1)} s per candidate); median ops/s, median of per-round ratios:`);
console.log(`  ${"operation".padEnd(58)} ${"ops/s".padStart(9)}  ratio`);
console.log(`  ${"jose jwtVerify, local JWK set (baseline)".padEnd(58)} ${fmt(median(rates.raw)).padStart(9)}  1.00`);
console.log(`  ${"protocols/oidc validateAccessToken, local JWK set".padEnd(58)} ${fmt(median(rates.protocol)).padStart(9)}  ${fmt(median(ratios.protocol), 2)}`);
console.log(`  ${"IdentityService.validateBroughtToken, cached remote JWKS".padEnd(58)} ${fmt(median(rates.service)).padStart(9)}  ${fmt(median(ratios.service), 2)}  (target >= 0.80)`);
console.log(`  per-round service ratios: ${ratios.service.map((x) => fmt(x, 2)).join(" ")}; ${load()}`);

// --- b. session lookup with the Redis vault -----------------------------------
const headers = { "X-Api-Key": KEY };
try {
  const check = await fetch(`${gatewayUrl}/v1/auth/session`, { headers: { ...headers, "X-Session": session } });
  if (check.status !== 200) throw new Error(`GET /v1/auth/session answered ${check.status}: ${await check.text()}`);
  await wrk(`${gatewayUrl}/v1/caller`, 2, headers); // warm-up
  await wrk(`${gatewayUrl}/v1/auth/session`, 2, { ...headers, "X-Session": session });
  console.log(`b. Session lookup through the gateway, Redis vault (redis-server on loopback), request log on; wrk -t1:`);
  const row = (label, run, l) =>
    `  ${label.padEnd(44)} ${fmt(run.rps).padStart(7)} req/s  p50 ${fmt(run.p50ms, 2).padStart(5)} ms  p99 ${fmt(run.p99ms, 2).padStart(5)} ms  (${l})`;
  const runs = [];
  for (const connections of [16, 1]) {
    const seconds = connections === 16 ? 8 : 4;
    const loadCaller = load();
    const caller = await wrk(`${gatewayUrl}/v1/caller`, seconds, headers, connections);
    const loadLookup = load();
    const lookup = await wrk(`${gatewayUrl}/v1/auth/session`, seconds, { ...headers, "X-Session": session }, connections);
    for (const [name, run] of [["/v1/caller", caller], ["/v1/auth/session", lookup]]) {
      if (run.non2xx > 0 || !(run.total > 0)) throw new Error(`${name}: ${run.non2xx} non-2xx of ${run.total} requests ${run.errors ?? ""}`);
    }
    console.log(row(`-c${connections} ${seconds} s GET /v1/caller (no vault, baseline)`, caller, loadCaller));
    console.log(row(`-c${connections} ${seconds} s GET /v1/auth/session`, lookup, loadLookup));
    console.log(`  ${"".padEnd(44)} throughput ratio ${fmt(lookup.rps / caller.rps, 2)}; p99 difference ${fmt(lookup.p99ms - caller.p99ms, 2)} ms`);
    runs.push({ connections, caller, lookup });
  }
  // Where the difference goes: the same lookup without HTTP (Redis HMGET, AES-GCM open, JSON parse, owner check).
  const ctx = { caller: "sandbox-demo", requestId: "bench" };
  const loadDirect = load();
  const workers = 16;
  const perWorker = await Promise.all(Array.from({ length: workers }, () => opsPerSecond(() => service.getSession(ctx, session), 2000)));
  const direct = perWorker.reduce((a, b) => a + b, 0);
  const single = await opsPerSecond(() => service.getSession(ctx, session), 1000);
  console.log(
    `  in-process IdentityService.getSession, no HTTP: ${fmt(direct)} ops/s with ${workers} concurrent, ` +
      `${fmt(1000 / single, 3)} ms per lookup one at a time (${loadDirect})`,
  );
  const [loaded, idle] = runs;
  console.log(
    `  session p99: ${fmt(loaded.lookup.p99ms, 2)} ms at -c16 (saturated: latency there is mostly queueing, the baseline's p99 is ${fmt(loaded.caller.p99ms, 2)} ms), ` +
      `${fmt(idle.lookup.p99ms, 2)} ms at -c1 — target < 2 ms ${idle.lookup.p99ms < 2 ? "met" : "missed"} at -c1, ${loaded.lookup.p99ms < 2 ? "met" : "missed"} at -c16`,
  );
  console.log("  (2 cores shared by wrk, the gateway, redis-server and whatever else runs: see the loadavg figures)");
} catch (error) {
  console.error("session benchmark failed:", error);
  await cleanup();
  process.exit(1);
}
await cleanup();
