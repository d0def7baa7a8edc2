import { mkdtemp, rm, stat } from "node:fs/promises";
import { request, type RequestOptions } from "node:https";
import type { IncomingHttpHeaders } from "node:http";
import { connect, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import type { TLSSocket } from "node:tls";
import { join } from "node:path";
import Fastify from "fastify";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SandboxPki, type PemIdentity } from "../trust/pki/index.js";
import {
  SandboxStartError,
  builtInSimulators,
  clientCertificateOf,
  sandboxCaSimulator,
  startSandbox,
  type RunningSandbox,
  type SimulatorContext,
  type SimulatorDefinition,
  type SimulatorEndpoint,
} from "./index.js";

const logger = pino({ level: "silent" });

let dataDir: string;
let pki: SandboxPki;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "passerelle-sandbox-"));
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One HTTPS GET on a fresh connection (no agent: nothing stays open after the test). */
function httpsGet(url: string, options: RequestOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, ...options }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

function withIdentity(identity: PemIdentity): RequestOptions {
  return { cert: [identity.certPem, ...identity.chainPem].join(""), key: identity.keyPem };
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** Resolves with the connect error code, or "connected". */
function probe(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? "error"));
  });
}

async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  for (let i = 0; i < count; i++) {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    servers.push(server);
  }
  const ports = servers.map((server) => (server.address() as { port: number }).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/** A mutual-TLS simulator that echoes who the client is. */
function echoSimulator(seen: { ctx?: SimulatorContext }): SimulatorDefinition {
  return {
    id: "test-mtls",
    title: "Mutual TLS echo",
    country: "FR",
    tls: { requestClientCertificate: true },
    async create(ctx) {
      seen.ctx = ctx;
      return {
        testUsers: [{ id: "u1", label: "First user", role: "doctor" }],
        handler(req, res) {
          const certificate = clientCertificateOf(req);
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ subject: certificate?.subject ?? null, path: req.url }));
        },
      };
    },
  };
}

/** A Fastify-based simulator, to cover the `app` form. */
function fastifySimulator(): SimulatorDefinition {
  return {
    id: "test-fastify",
    title: "Fastify form",
    country: "LU",
    async create(ctx) {
      const app = Fastify();
      app.get("/whoami", async () => ({ url: ctx.url, ca: ctx.simulatorUrl("sandbox-ca") }));
      app.get("/boom", async () => {
        throw new Error("boom");
      });
      return { app };
    },
  };
}

describe("startSandbox", () => {
  let sandbox: RunningSandbox;
  const seen: { ctx?: SimulatorContext } = {};

  beforeAll(async () => {
    sandbox = await startSandbox({
      dataDir,
      simulators: [sandboxCaSimulator(), echoSimulator(seen), fastifySimulator()],
      logger,
    });
    pki = sandbox.pki;
  });

  afterAll(async () => {
    await sandbox.close();
  });

  it("registers the CA, the TSA, the three identity providers and the national services as built-in simulators", () => {
    expect(builtInSimulators().map(({ id, country }) => ({ id, country }))).toEqual([
      { id: "sandbox-ca", country: "EU" },
      { id: "sandbox-tsa", country: "EU" },
      { id: "fr-psc", country: "FR" },
      { id: "lu-aes", country: "LU" },
      { id: "be-idp", country: "BE" },
      { id: "lu-kms", country: "LU" },
      { id: "lu-mysecu", country: "LU" },
      { id: "lu-ihub", country: "LU" },
    ]);
  });

  it("starts every simulator on its own port of 127.0.0.1 and lists them", () => {
    expect(sandbox.simulators.map(({ id, country, mutualTls }) => ({ id, country, mutualTls }))).toEqual([
      { id: "sandbox-ca", country: "EU", mutualTls: false },
      { id: "test-mtls", country: "FR", mutualTls: true },
      { id: "test-fastify", country: "LU", mutualTls: false },
    ]);
    for (const simulator of sandbox.simulators) {
      expect(simulator.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(sandbox.url(simulator.id)).toBe(simulator.url);
    }
    const ports = sandbox.simulators.map((simulator) => portOf(simulator.url));
    expect(new Set(ports).size).toBe(ports.length);
    expect(sandbox.simulators[1]?.testUsers).toEqual([{ id: "u1", label: "First user", role: "doctor" }]);
    expect(() => sandbox.url("nope")).toThrow(TypeError);
  });

  it("serves the built-in sandbox CA over TLS trusted through the sandbox root", async () => {
    const answer = await httpsGet(`${sandbox.url("sandbox-ca")}/.well-known/health`, { ca: pki.rootCertPem });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ status: "ok", simulator: "sandbox-ca" });
    const root = await httpsGet(`${sandbox.url("sandbox-ca")}/ca/root.pem`, { ca: pki.rootCertPem, servername: "localhost" });
    expect(root.body).toBe(pki.rootCertPem);
  });

  it("refuses TLS 1.1 and older", async () => {
    await expect(
      httpsGet(`${sandbox.url("sandbox-ca")}/.well-known/health`, { ca: pki.rootCertPem, maxVersion: "TLSv1.1", minVersion: "TLSv1" }),
    ).rejects.toThrow();
  });

  it("refuses a client without a certificate on a mutual-TLS simulator", async () => {
    await expect(httpsGet(`${sandbox.url("test-mtls")}/x`, { ca: pki.rootCertPem })).rejects.toThrow(
      /certificate required|handshake failure|socket hang up|ECONNRESET/i,
    );
  });

  it("lets a client with a sandbox client certificate through, and the handler sees its subject", async () => {
    const practitioner = await pki.clientIdentity("test-practitioner", {
      country: "FR",
      subject: { C: "FR", O: "Cabinet Test", CN: "Dr Test" },
    });
    const answer = await httpsGet(`${sandbox.url("test-mtls")}/hello`, { ca: pki.rootCertPem, ...withIdentity(practitioner) });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ subject: "C=FR\nO=Cabinet Test\nCN=Dr Test", path: "/hello" });

    // A client that sends its leaf alone is still verified: the country CAs help build the path.
    const leafOnly = await httpsGet(`${sandbox.url("test-mtls")}/leaf`, {
      ca: pki.rootCertPem,
      cert: practitioner.certPem,
      key: practitioner.keyPem,
    });
    expect(leafOnly.status).toBe(200);
  });

  it("refuses a client certificate from another PKI", async () => {
    const foreign = await SandboxPki.open(join(dataDir, "foreign"));
    const stranger = await foreign.clientIdentity("stranger", { country: "FR", subject: { CN: "Stranger" } });
    await expect(
      httpsGet(`${sandbox.url("test-mtls")}/x`, { ca: pki.rootCertPem, ...withIdentity(stranger) }),
    ).rejects.toThrow(/unknown ca|alert|socket hang up|ECONNRESET/i);
  });

  it("gives create() its own URL, the other simulators' URLs and a data directory", async () => {
    expect(seen.ctx?.url).toBe(sandbox.url("test-mtls"));
    expect(seen.ctx?.simulatorUrl("test-fastify")).toBe(sandbox.url("test-fastify"));
    expect(() => seen.ctx?.simulatorUrl("nope")).toThrow(TypeError);
    expect(seen.ctx?.dataDir).toBe(join(dataDir, "sandbox", "test-mtls"));
    expect((await stat(join(dataDir, "sandbox", "test-mtls"))).isDirectory()).toBe(true);

    const answer = await httpsGet(`${sandbox.url("test-fastify")}/whoami`, { ca: pki.rootCertPem });
    expect(JSON.parse(answer.body)).toEqual({ url: sandbox.url("test-fastify"), ca: sandbox.url("sandbox-ca") });
  });

  it("issues each simulator's certificate from its country CA", async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const req = request(`${sandbox.url("test-fastify")}/whoami`, { agent: false, ca: pki.rootCertPem }, (res) => {
        const socket = res.socket as TLSSocket;
        resolve(String(socket.getPeerCertificate().issuer.CN));
        res.resume();
      });
      req.on("error", reject);
      req.end();
    });
    expect(answer).toBe("Passerelle Sandbox LU CA");
  });
});

describe("startSandbox onListening", () => {
  it("reports every final URL once the ports are bound, before any simulator is created; requests meanwhile get a 503", async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow: SimulatorDefinition = {
      id: "test-slow",
      title: "Created late",
      country: "BE",
      async create() {
        await gate;
        return { handler: (_req, res) => res.end("created") };
      },
    };
    const dir = await mkdtemp(join(tmpdir(), "passerelle-listening-"));
    let onListening: (simulators: SimulatorEndpoint[]) => void = () => undefined;
    const reported = new Promise<SimulatorEndpoint[]>((resolve) => (onListening = resolve));
    const started = startSandbox({ dataDir: dir, simulators: [slow], logger, onListening });
    const [endpoint] = await reported;
    const url = endpoint?.url ?? "";
    expect(endpoint).toEqual({ id: "test-slow", title: "Created late", country: "BE", url: expect.stringMatching(/^https:\/\/127\.0\.0\.1:\d+$/), mutualTls: false });
    const ca = (await SandboxPki.open(dir)).rootCertPem;
    expect((await httpsGet(url, { ca })).status).toBe(503);
    release();
    const sandbox = await started;
    expect(sandbox.url("test-slow")).toBe(url);
    expect((await httpsGet(url, { ca })).body).toBe("created");
    await sandbox.close();
    await rm(dir, { recursive: true, force: true });
  });
});

describe("startSandbox failures and shutdown", () => {
  it("rejects naming the simulator whose create() throws, and leaves nothing listening", async () => {
    const [caPort, goodPort, badPort] = await freePorts(3);
    let goodClosed = false;
    const good: SimulatorDefinition = {
      id: "test-good",
      title: "Good",
      country: "BE",
      async create() {
        return {
          handler: (_req, res) => res.end("ok"),
          close: async () => {
            goodClosed = true;
          },
        };
      },
    };
    const bad: SimulatorDefinition = {
      id: "test-bad",
      title: "Bad",
      country: "FR",
      async create() {
        throw new Error("cannot load fixtures");
      },
    };
    const started = startSandbox({
      dataDir,
      simulators: [sandboxCaSimulator(), good, bad],
      ports: { "sandbox-ca": caPort ?? 0, "test-good": goodPort ?? 0, "test-bad": badPort ?? 0 },
      logger,
    });
    await expect(started).rejects.toThrow(SandboxStartError);
    await expect(started).rejects.toThrow('Sandbox failed to start: simulator "test-bad" (cannot load fixtures)');
    await expect(started).rejects.toMatchObject({ simulatorIds: ["test-bad"] });
    expect(goodClosed).toBe(true);
    for (const port of [caPort, goodPort, badPort]) expect(await probe(port ?? 0)).toBe("ECONNREFUSED");
  });

  it("rejects naming the simulator whose port is taken", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const taken = (blocker.address() as { port: number }).port;
    try {
      const started = startSandbox({ dataDir, simulators: [sandboxCaSimulator()], ports: { "sandbox-ca": taken }, logger });
      await expect(started).rejects.toMatchObject({ name: "SandboxStartError", simulatorIds: ["sandbox-ca"] });
      await expect(started).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it("rejects misuse before binding anything", async () => {
    const ca = sandboxCaSimulator();
    await expect(startSandbox({ dataDir, simulators: [ca, ca], logger })).rejects.toThrow(/Two simulators have the id "sandbox-ca"/);
    await expect(startSandbox({ dataDir, simulators: [ca], ports: { "fr-dmp": 1234 }, logger })).rejects.toThrow(
      /ports names "fr-dmp"/,
    );
    await expect(startSandbox({ dataDir, simulators: [{ ...ca, id: "../x" }], logger })).rejects.toThrow(TypeError);
  });

  it("close() frees the ports, even with an idle keep-alive connection and a request that never ends", async () => {
    const hanging: SimulatorDefinition = {
      id: "test-hanging",
      title: "Never answers /hang",
      country: "FR",
      async create() {
        return {
          handler(req, res) {
            if (req.url !== "/hang") res.end("quick");
          },
        };
      },
    };
    const sandbox = await startSandbox({ dataDir, simulators: [hanging], logger, shutdownGraceMs: 200 });
    const url = sandbox.url("test-hanging");
    const port = portOf(url);
    const { Agent } = await import("node:https");
    const keepAlive = new Agent({ keepAlive: true, ca: sandbox.pki.rootCertPem });
    const quick = await httpsGet(`${url}/quick`, { agent: keepAlive });
    expect(quick.body).toBe("quick");
    const hung = httpsGet(`${url}/hang`, { ca: sandbox.pki.rootCertPem }).catch((err: Error) => err);
    await new Promise((resolve) => setTimeout(resolve, 50));

    const started = performance.now();
    await sandbox.close();
    expect(performance.now() - started).toBeLessThan(2000);
    expect(await hung).toBeInstanceOf(Error);
    expect(await probe(port)).toBe("ECONNREFUSED");
    await sandbox.close(); // idempotent
    keepAlive.destroy();
  });

  it("answers 500 when a plain handler throws, and keeps serving", async () => {
    let calls = 0;
    const flaky: SimulatorDefinition = {
      id: "test-flaky",
      title: "Flaky",
      country: "BE",
      async create() {
        return {
          async handler(_req, res) {
            calls += 1;
            if (calls === 1) throw new Error("first call fails");
            res.end("second call works");
          },
        };
      },
    };
    const sandbox = await startSandbox({ dataDir, simulators: [flaky], logger });
    try {
      const first = await httpsGet(`${sandbox.url("test-flaky")}/`, { ca: sandbox.pki.rootCertPem });
      expect(first.status).toBe(500);
      expect(first.headers["content-type"]).toMatch(/^application\/problem\+json/);
      const second = await httpsGet(`${sandbox.url("test-flaky")}/`, { ca: sandbox.pki.rootCertPem });
      expect(second.body).toBe("second call works");
    } finally {
      await sandbox.close();
    }
  });
});
