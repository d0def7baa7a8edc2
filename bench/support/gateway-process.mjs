// The gateway as the Docker image runs it, for the benchmarks: its own process
// with the node flags of package.json's "start" script and the image's
// MALLOC_* settings (START_ENV), the simulators (sandbox
// profile) in the child process it forks (src/sandbox/child-process.ts), and
// what /proc says about either process (RSS, CPU time). Linux only.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { get } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * The environment the Docker image gives node beyond the gateway's settings
 * (the Dockerfile's ENV MALLOC_*, glibc's malloc tuning): every process the
 * benchmarks start gets it, the bare Fastify baseline included.
 */
export const START_ENV = Object.fromEntries(
  [...readFileSync(path.join(root, "Dockerfile"), "utf8").matchAll(/\b(MALLOC_[A-Z_]+)=(\d+)/g)].map(([, name, value]) => [name, value]),
);

/** `--flag… /abs/dist/bin/passerelle.js start`: package.json's start script without its `node`. */
export const START_ARGS = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"))
  .scripts.start.split(/\s+/)
  .slice(1)
  .map((a) => (a.endsWith(".js") ? path.join(root, a) : a));

/**
 * Starts `node …args` with a minimal environment (PATH, DATA_DIR, PORT=0,
 * LOG_LEVEL=info unless `env` says otherwise). Its stdout (the JSON log) goes
 * to /dev/null; `url` resolves with the address from the "listening on" line
 * the start command writes to stderr. `stop` sends SIGTERM (the gateway stops
 * its sandbox process too); `cleanup` also removes the data directory.
 */
export function startProcess(args, env = {}, dataDir = mkdtempSync(path.join(tmpdir(), "passerelle-bench-"))) {
  const t0 = performance.now();
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH, DATA_DIR: dataDir, PORT: "0", LOG_LEVEL: "info", ...START_ENV, ...env },
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
  url.catch(() => undefined); // reported to whoever awaits it
  const stopped = new Promise((resolve) => child.once("exit", resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await stopped;
  };
  return {
    child,
    url,
    t0,
    dataDir,
    stderr: () => stderr,
    stop,
    cleanup: async () => {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls `url + probe` every 5 ms until it answers 2xx (fine-grained: cold starts are measured with it). */
export async function waitStatus(url, probe, timeoutMs = 60_000) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(`${url}${probe}`)).ok) return;
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) throw new Error(`${url}${probe} did not answer 2xx within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The sandbox process: the gateway's child running `cli.js sandbox`. */
export function sandboxPid(gatewayPid) {
  const out = spawnSync("ps", ["-o", "pid=,args=", "--ppid", String(gatewayPid)], { encoding: "utf8" }).stdout;
  const line = out.split("\n").find((l) => l.includes(" sandbox"));
  return line ? Number(line.trim().split(/\s+/)[0]) : undefined;
}

function statusField(pid, field) {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Resident set size now, in MB (VmRSS). */
export function rssMb(pid) {
  return statusField(pid, "VmRSS");
}

/** The highest resident set size of the process's life so far, in MB (VmHWM). */
export function peakRssMb(pid) {
  return statusField(pid, "VmHWM");
}

/**
 * The gateway's V8 heap and external memory, in MB, from its process metrics
 * (`GET /metrics`, prom-client's default metrics prefixed passerelle_): `used`
 * is the heap's objects, live or not yet collected; `committed` the memory
 * V8 holds for them (every space's pages); `external` the buffers. What of the
 * RSS is JavaScript, and what is code, OpenSSL and the allocator's. A
 * connection of its own (no keep-alive): the benchmarks ask between runs
 * longer than the gateway's keep-alive timeout.
 */
export async function v8MemoryMb(url) {
  const text = await new Promise((resolve, reject) => {
    get(`${url}/metrics`, { agent: false }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`GET ${url}/metrics answered ${res.statusCode}`));
        return;
      }
      let body = "";
      res.setEncoding("utf8").on("data", (d) => (body += d)).on("end", () => resolve(body)).on("error", reject);
    }).on("error", reject);
  });
  const value = (name) => Number(new RegExp(`^passerelle_${name} (\\S+)$`, "m").exec(text)?.[1]) / 2 ** 20;
  return { used: value("nodejs_heap_size_used_bytes"), committed: value("nodejs_heap_size_total_bytes"), external: value("nodejs_external_memory_bytes") };
}

/**
 * Has the V8 of a process started with `--inspect=127.0.0.1:0` collect its
 * garbage and give the free pages back to the system, as it does by itself
 * once the process has gone ~100 s without allocating (its memory reducer's
 * watchdog): the Chrome DevTools protocol's `HeapProfiler.collectGarbage`, a
 * forced full collection (measured on the gateway: the RSS falls by as much as
 * after the watchdog's). Resolves once it has run, with its duration in ms.
 * Uses the WebSocket client built into Node ≥ 22.
 */
export async function collectGarbage(proc) {
  const endpoint = /Debugger listening on (ws:\/\/\S+)/.exec(proc.stderr())?.[1];
  if (endpoint === undefined) throw new Error("the process was not started with --inspect (no debugger URL on its stderr)");
  const socket = new WebSocket(endpoint);
  try {
    await new Promise((resolve, reject) => {
      socket.addEventListener("open", resolve, { once: true });
      socket.addEventListener("error", () => reject(new Error(`cannot connect to the inspector at ${endpoint}`)), { once: true });
    });
    const t0 = performance.now();
    await new Promise((resolve, reject) => {
      socket.addEventListener("close", () => reject(new Error("the inspector closed the connection before the collection ended")), { once: true });
      socket.addEventListener("message", (event) => {
        const answer = JSON.parse(String(event.data));
        if (answer.id !== 1) return;
        if (answer.error) reject(new Error(`HeapProfiler.collectGarbage: ${answer.error.message}`));
        else resolve();
      });
      socket.send(JSON.stringify({ id: 1, method: "HeapProfiler.collectGarbage" }));
    });
    return performance.now() - t0;
  } finally {
    socket.close();
  }
}

// Clock ticks per second of /proc/<pid>/stat's times (USER_HZ, 100 on Linux x86).
const CLOCK_TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout?.trim()) || 100;

/** CPU time the process has used, user + system, in seconds (proc(5): fields 14 and 15 of /proc/<pid>/stat). */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may hold spaces: count from the ")" that closes it; state is then field 3.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** The figures of one `wrk --latency` run, from its printed report (latencies in ms). */
export function parseWrkReport(out) {
  const latency = (p) => {
    const m = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    return m ? Number(m[1]) * { us: 0.001, ms: 1, s: 1000 }[m[2]] : NaN;
  };
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
    total: Number(/(\d+) requests in/.exec(out)?.[1]),
    p50ms: latency(50),
    p99ms: latency(99),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
    errors: /Socket errors:.*/.exec(out)?.[0],
  };
}
