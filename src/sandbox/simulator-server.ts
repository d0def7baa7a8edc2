/**
 * One simulator's HTTPS server: bound first (so the simulator can learn its
 * URL), given its request handler once `create` has run, and closed within a
 * bounded time.
 */
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Logger } from "pino";
import type { SandboxPki } from "../trust/pki/index.js";
import type {
  RunningSimulator,
  SimulatorEndpoint,
  SimulatorContext,
  SimulatorDefinition,
  SimulatorFastifyApp,
  SimulatorInstance,
  SimulatorRequestHandler,
  TestUser,
} from "./simulator.js";

export interface ListenOptions {
  pki: SandboxPki;
  host: string;
  port: number;
  /** Extra names for the server certificate (the bind host when it is not loopback). */
  extraHostnames: string[];
  /** Trust anchors for client certificates: the root, plus the country CAs as chain helpers. */
  clientCa: string[];
}

export class SimulatorServer {
  readonly definition: SimulatorDefinition;
  readonly #logger: Logger;
  #server: Server | undefined;
  #url: string | undefined;
  #handler: SimulatorRequestHandler | undefined;
  #instance: SimulatorInstance | undefined;
  #testUsers: TestUser[] = [];
  /** Raw TCP sockets, so close() can cut connections that never became HTTP (stuck handshakes). */
  readonly #sockets = new Set<Socket>();

  constructor(definition: SimulatorDefinition, logger: Logger) {
    this.definition = definition;
    this.#logger = logger;
  }

  get url(): string {
    if (this.#url === undefined) throw new Error(`Simulator "${this.definition.id}" is not listening`);
    return this.#url;
  }

  get mutualTls(): boolean {
    return this.definition.tls?.requestClientCertificate === true;
  }

  endpoint(): SimulatorEndpoint {
    return { id: this.definition.id, title: this.definition.title, country: this.definition.country, url: this.url, mutualTls: this.mutualTls };
  }

  describe(): RunningSimulator {
    return { ...this.endpoint(), testUsers: this.#testUsers.map((user) => ({ ...user })) };
  }

  async listen(options: ListenOptions): Promise<void> {
    const country = this.definition.country === "EU" ? undefined : this.definition.country;
    const identity = await options.pki.serverIdentity(this.definition.id, {
      ...(country ? { country } : {}),
      hostnames: options.extraHostnames,
    });
    const server = createServer(
      {
        key: identity.keyPem,
        // The server sends its chain up to (not including) the root, which clients hold.
        cert: [identity.certPem, ...identity.chainPem].join(""),
        minVersion: "TLSv1.2",
        ...(this.mutualTls ? { requestCert: true, rejectUnauthorized: true, ca: options.clientCa } : {}),
      },
      (req, res) => this.#dispatch(req, res),
    );
    server.on("connection", (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once("close", () => this.#sockets.delete(socket));
    });
    server.on("tlsClientError", (err) => {
      // Mostly a client without an acceptable certificate on a mutual-TLS simulator.
      this.#logger.info({ err: { message: err.message, code: (err as NodeJS.ErrnoException).code } }, "TLS handshake refused");
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      server.once("error", onError);
      server.listen(options.port, options.host, () => {
        server.off("error", onError);
        resolve();
      });
    });
    const address = server.address() as AddressInfo;
    this.#url = `https://${urlHost(options.host)}:${address.port}`;
  }

  /** Runs the simulator's `create` and starts answering requests with what it returned. */
  async attach(ctx: SimulatorContext): Promise<void> {
    const instance = await this.definition.create(ctx);
    this.#instance = instance;
    if (instance === null || typeof instance !== "object") {
      throw new TypeError(`create() of simulator "${this.definition.id}" must resolve to { handler } or { app }`);
    }
    if (instance.testUsers !== undefined && !Array.isArray(instance.testUsers)) {
      throw new TypeError(`testUsers of simulator "${this.definition.id}" must be an array`);
    }
    this.#testUsers = instance.testUsers ?? [];
    if (typeof instance.handler === "function") {
      this.#handler = instance.handler;
    } else if (isFastifyApp(instance.app)) {
      const app = instance.app;
      await app.ready();
      this.#handler = (req, res) => app.routing(req, res);
    } else {
      throw new TypeError(`create() of simulator "${this.definition.id}" must resolve to { handler } or { app }`);
    }
    this.#logger.info({ url: this.#url, mutualTls: this.mutualTls }, "simulator listening");
  }

  /**
   * Stops accepting connections, lets requests in flight finish for up to
   * `graceMs`, then cuts every remaining connection; finally releases what
   * `create` built. Errors are collected, not thrown half-way.
   */
  async close(graceMs: number): Promise<Error[]> {
    const errors: Error[] = [];
    const server = this.#server;
    this.#server = undefined;
    if (server !== undefined && server.listening) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const force = setTimeout(() => {
        for (const socket of this.#sockets) socket.destroy();
      }, graceMs);
      try {
        await closed;
      } finally {
        clearTimeout(force);
      }
    }
    const instance = this.#instance;
    this.#instance = undefined;
    this.#handler = undefined;
    if (instance !== undefined) {
      if (isFastifyApp(instance.app)) {
        await Promise.resolve(instance.app.close()).catch((err: unknown) => errors.push(asError(err)));
      }
      if (typeof instance.close === "function") {
        await instance.close().catch((err: unknown) => errors.push(asError(err)));
      }
    }
    return errors;
  }

  #dispatch(req: IncomingMessage, res: ServerResponse): void {
    const handler = this.#handler;
    if (handler === undefined) {
      // Bound but create() has not finished: nobody should know the URL yet.
      res.writeHead(503, { "content-type": "text/plain; charset=utf-8", "retry-after": "1" }).end("Simulator starting\n");
      return;
    }
    try {
      const result = handler(req, res);
      if (result instanceof Promise) {
        result.then(undefined, (err: unknown) => this.#failRequest(res, err));
      }
    } catch (err) {
      this.#failRequest(res, err);
    }
  }

  #failRequest(res: ServerResponse, err: unknown): void {
    this.#logger.error({ err }, "simulator handler failed");
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res
      .writeHead(500, { "content-type": "application/problem+json; charset=utf-8" })
      .end(JSON.stringify({ title: "Internal error", status: 500, detail: "The simulator failed to handle the request." }));
  }
}

function isFastifyApp(value: unknown): value is SimulatorFastifyApp {
  if (value === null || typeof value !== "object") return false;
  const candidate = value as Partial<Record<keyof SimulatorFastifyApp, unknown>>;
  return typeof candidate.ready === "function" && typeof candidate.routing === "function" && typeof candidate.close === "function";
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

/** The host part of a URL for the bind host; wildcard binds are reached through loopback. */
export function urlHost(host: string): string {
  if (host === "0.0.0.0") return "127.0.0.1";
  if (host === "::") return "[::1]";
  return host.includes(":") ? `[${host}]` : host;
}
