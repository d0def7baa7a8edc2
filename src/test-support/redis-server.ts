/**
 * Real Redis processes for integration tests: a standalone server, a Sentinel
 * watching it, or a small Cluster. Each runs the Debian `redis-server` binary
 * on free loopback ports, in its own temporary directory, with persistence
 * off; `stop()` kills it and removes the directory.
 *
 * Tests never skip when Redis is missing: they fail with the install command.
 */
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const HOST = "127.0.0.1";
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const INSTALL_HINT = "redis-server is not installed; install it with: apt-get install -y redis-server";

export interface RedisServerHandle {
  /** `redis://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Kills the server and removes its directory (idempotent). */
  stop(): Promise<void>;
  /** Runs SAVE and returns the RDB file Redis wrote. */
  dump(): Promise<Buffer>;
}

export interface StartRedisServerOptions {
  /** Listen on this port (e.g. to restart a server where a client expects it); default: a free one. */
  port?: number;
  /** Extra `redis-server` arguments, e.g. `["--cluster-enabled", "yes"]`. */
  args?: string[];
}

/**
 * A free port found by binding port 0 is free only until someone else takes
 * it (another test's server, the kernel handing it out again): when
 * redis-server then fails to bind, start again on fresh ports.
 */
async function retryOnPortClash<T>(start: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await start();
    } catch (error) {
      const clash = error instanceof Error && error.message.includes("Address already in use");
      if (!clash || attempt >= attempts) throw error;
    }
  }
}

export async function startRedisServer(options: StartRedisServerOptions = {}): Promise<RedisServerHandle> {
  return options.port !== undefined ? startRedisServerOnce(options) : retryOnPortClash(() => startRedisServerOnce(options));
}

async function startRedisServerOnce(options: StartRedisServerOptions): Promise<RedisServerHandle> {
  const dir = await mkdtemp(join(tmpdir(), "passerelle-redis-"));
  try {
    const port = options.port ?? (await findFreePort());
    const args = [
      "--port", String(port),
      "--bind", HOST,
      "--save", "",
      "--appendonly", "no",
      "--dir", dir,
      // Uncompressed RDB strings, so that tests searching the dump for a
      // token are not fooled by LZF compression.
      "--rdbcompression", "no",
      ...(options.args ?? []),
    ];
    const child = await startRedisProcess(args, port);
    return {
      url: `redis://${HOST}:${port}`,
      port,
      stop: () => stopRedisProcess(child, dir),
      async dump() {
        const reply = await sendRedisCommand(port, ["SAVE"]);
        if (reply !== "OK") {
          throw new Error(`redis-server SAVE answered ${reply}`);
        }
        return readFile(join(dir, "dump.rdb"));
      },
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

export interface RedisSentinelHandle {
  /** `redis+sentinel://127.0.0.1:<port>/<masterName>` */
  url: string;
  port: number;
  masterName: string;
  stop(): Promise<void>;
}

/** Starts one Sentinel (quorum 1) monitoring the master on `masterPort`. */
export async function startRedisSentinel(masterPort: number, masterName = "passerelle"): Promise<RedisSentinelHandle> {
  const dir = await mkdtemp(join(tmpdir(), "passerelle-sentinel-"));
  try {
    const port = await findFreePort();
    // Sentinel rewrites its configuration file, so it must be a real file.
    const configFile = join(dir, "sentinel.conf");
    await writeFile(
      configFile,
      [
        `port ${port}`,
        `bind ${HOST}`,
        `dir ${dir}`,
        `sentinel monitor ${masterName} ${HOST} ${masterPort} 1`,
        `sentinel down-after-milliseconds ${masterName} 5000`,
        "",
      ].join("\n"),
    );
    const child = await startRedisProcess([configFile, "--sentinel"], port);
    return {
      url: `redis+sentinel://${HOST}:${port}/${masterName}`,
      port,
      masterName,
      stop: () => stopRedisProcess(child, dir),
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

export interface RedisClusterHandle {
  /** `redis+cluster://127.0.0.1:<p1>,127.0.0.1:<p2>,...` */
  url: string;
  nodes: RedisServerHandle[];
  stop(): Promise<void>;
}

/** Starts `size` masters (no replicas) and joins them with `redis-cli --cluster create`. */
export async function startRedisCluster(size = 3): Promise<RedisClusterHandle> {
  const nodes: RedisServerHandle[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((node) => node.stop()));
  };
  try {
    for (let index = 0; index < size; index += 1) {
      // An explicit bus port: the default (port + 10000) may be taken. Both ports are chosen afresh on a clash.
      nodes.push(
        await retryOnPortClash(async () =>
          startRedisServerOnce({
            args: [
              "--cluster-enabled", "yes",
              "--cluster-config-file", "nodes.conf",
              "--cluster-node-timeout", "2000",
              "--cluster-port", String(await findFreePort()),
            ],
          }),
        ),
      );
    }
    await promisify(execFile)(
      "redis-cli",
      ["--cluster", "create", ...nodes.map((node) => `${HOST}:${node.port}`), "--cluster-replicas", "0", "--cluster-yes"],
      { timeout: START_TIMEOUT_MS },
    ).catch((error: NodeJS.ErrnoException) => {
      throw error.code === "ENOENT" ? new Error(INSTALL_HINT.replace("redis-server is", "redis-cli is"), { cause: error }) : error;
    });
    await waitUntil(async () => {
      const states = await Promise.all(nodes.map((node) => sendRedisCommand(node.port, ["CLUSTER", "INFO"])));
      return states.every((info) => info.includes("cluster_state:ok"));
    }, "the cluster did not reach cluster_state:ok");
    return { url: `redis+cluster://${nodes.map((node) => `${HOST}:${node.port}`).join(",")}`, nodes, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Sends one command and returns the reply of a simple, integer, error or bulk
 * string type as text (errors are returned as `-ERR ...`, not thrown).
 */
export function sendRedisCommand(port: number, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: HOST, port });
    let received = Buffer.alloc(0);
    socket.setTimeout(2000, () => socket.destroy(new Error(`redis on port ${port} did not answer ${args[0]}`)));
    socket.on("error", reject);
    socket.on("connect", () => {
      const frames = args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`);
      socket.write(`*${args.length}\r\n${frames.join("")}`);
    });
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const reply = parseReply(received);
      if (reply !== undefined) {
        socket.end();
        resolve(reply);
      }
    });
  });
}

function parseReply(buffer: Buffer): string | undefined {
  const lineEnd = buffer.indexOf("\r\n");
  if (lineEnd === -1) {
    return undefined;
  }
  const line = buffer.subarray(0, lineEnd).toString("utf8");
  if (line.startsWith("$")) {
    const length = Number(line.slice(1));
    if (length < 0) {
      return "";
    }
    const end = lineEnd + 2 + length;
    return buffer.length >= end + 2 ? buffer.subarray(lineEnd + 2, end).toString("utf8") : undefined;
  }
  return line.startsWith("-") ? line : line.slice(1);
}

async function startRedisProcess(args: string[], port: number): Promise<ChildProcess> {
  const child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keepTail = (chunk: Buffer): void => {
    output = (output + chunk.toString("utf8")).slice(-4000);
  };
  child.stdout?.on("data", keepTail);
  child.stderr?.on("data", keepTail);
  const gone = new AbortController();
  const failed = new Promise<never>((_resolve, reject) => {
    child.once("error", (error: NodeJS.ErrnoException) => {
      gone.abort();
      reject(error.code === "ENOENT" ? new Error(INSTALL_HINT, { cause: error }) : error);
    });
    child.once("exit", (code, signal) => {
      gone.abort();
      reject(new Error(`redis-server exited during start-up (code ${code}, signal ${signal}):\n${output}`));
    });
  });
  failed.catch(() => undefined);
  const ready = waitUntil(
    async () => (await sendRedisCommand(port, ["PING"])) === "PONG",
    `redis-server on port ${port} did not answer PING`,
    gone.signal,
  );
  ready.catch(() => undefined);
  try {
    await Promise.race([failed, ready]);
  } catch (error) {
    await stopRedisProcess(child, undefined);
    throw error;
  }
  return child;
}

async function stopRedisProcess(child: ChildProcess, dir: string | undefined): Promise<void> {
  if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const killTimer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(killTimer);
  }
  if (dir !== undefined) {
    await rm(dir, { recursive: true, force: true });
  }
}

async function waitUntil(condition: () => Promise<boolean>, message: string, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let lastError: unknown;
  while (Date.now() < deadline && signal?.aborted !== true) {
    try {
      if (await condition()) {
        return;
      }
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(message, { cause: lastError });
}

/** A port that was free a moment ago (bind port 0, read it, close). */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === "object") {
          resolve(address.port);
        } else {
          reject(new Error("could not read the port of a probe server"));
        }
      });
    });
  });
}
