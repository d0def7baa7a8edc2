/**
 * The contract between the sandbox and each national-service simulator.
 *
 * A simulator is a module exporting a factory of `SimulatorDefinition`. The
 * sandbox gives it its own HTTPS server (certificate from the sandbox PKI,
 * mutual TLS when asked), binds the port *before* calling `create`, so the
 * simulator knows its public URL (an OIDC provider needs it for `issuer`) and
 * those of the other simulators.
 *
 * `create` returns either a plain Node request listener (`handler`) or a
 * Fastify instance (`app`). For Fastify, build the instance normally (no
 * `listen`, no `serverFactory`): the sandbox awaits `app.ready()`, routes
 * requests through `app.routing(req, res)` and calls `app.close()` on
 * shutdown. See ./sandbox-ca/simulator.ts for a complete example.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { SandboxPki } from "../trust/pki/index.js";

/** Country of a simulated service; "EU" for sandbox-wide services (the sandbox CA). */
export type SimulatorCountry = "FR" | "LU" | "BE" | "EU";

/** A user of the simulated service that integrators can log in as (shown on GET /sandbox). */
export interface TestUser {
  id: string;
  label: string;
  [detail: string]: unknown;
}

export interface SimulatorContext {
  pki: SandboxPki;
  /** Child logger bound to `{ simulator: id }`. */
  logger: Logger;
  /** A directory of the simulator's own (`<dataDir>/sandbox/<id>`), created before `create` runs. */
  dataDir: string;
  /** This simulator's base URL, e.g. `https://127.0.0.1:40123` (no trailing slash). */
  url: string;
  /** Base URL of another simulator started with this one; throws `TypeError` for an unknown id. */
  simulatorUrl(id: string): string;
}

/**
 * A plain request listener. If it throws, or returns a promise that rejects,
 * the request is answered with a 500 (other return values are ignored, so
 * `(req, res) => res.end("ok")` is fine).
 */
export type SimulatorRequestHandler = (req: IncomingMessage, res: ServerResponse) => unknown;

/** The part of a Fastify instance (`FastifyInstance`) the sandbox uses. */
export interface SimulatorFastifyApp {
  ready(): PromiseLike<unknown>;
  routing(req: IncomingMessage, res: ServerResponse): void;
  close(): PromiseLike<unknown>;
}

interface SimulatorInstanceCommon {
  testUsers?: TestUser[];
  /** Releases what `create` acquired; called after the server stopped accepting requests. */
  close?(): Promise<void>;
}

export type SimulatorInstance = SimulatorInstanceCommon &
  ({ handler: SimulatorRequestHandler; app?: never } | { app: SimulatorFastifyApp; handler?: never });

export interface SimulatorDefinition {
  /** Lower-case slug, `<country>-<service>` ("fr-dmp", "lu-kms"); also the name of its TLS server identity. */
  id: string;
  /** Human label. */
  title: string;
  country: SimulatorCountry;
  /** Builds the request handler, with the test data to show on GET /sandbox. */
  create(ctx: SimulatorContext): Promise<SimulatorInstance>;
  tls?: {
    /**
     * Mutual TLS: the handshake fails unless the client presents a certificate
     * chaining to the sandbox root (RFC 8446 §4.3.2 / RFC 5246 §7.4.4).
     */
    requestClientCertificate?: boolean;
  };
}

/** A simulator whose port is bound: where it answers (once started). */
export interface SimulatorEndpoint {
  id: string;
  title: string;
  country: SimulatorCountry;
  url: string;
  mutualTls: boolean;
}

/** A started simulator, as listed by the sandbox. */
export interface RunningSimulator extends SimulatorEndpoint {
  testUsers: TestUser[];
}
