/**
 * Test support for the trust endpoints: a real gateway (createGateway with
 * the trust module) listening on loopback, called over HTTP, and the
 * independent tools that check what it produces (pdfsig, qpdf, xmlsec1,
 * openssl ts).
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { promisify } from "node:util";
import { PDFDocument, StandardFonts } from "pdf-lib";
import { createGateway, type CreateGatewayOptions, type Gateway } from "../../../gateway/create-gateway.js";
import { createLogger } from "../../../observability/logger.js";
import { trustModule, type TrustModuleOptions } from "../module.js";

const run = promisify(execFile);

export interface TrustGateway {
  gateway: Gateway;
  url: string;
  dataDir: string;
  /** Log lines, parsed. */
  logs: Array<Record<string, unknown>>;
  call(path: string, options?: CallOptions): Promise<Answer>;
  close(): Promise<void>;
}

export interface CallOptions {
  method?: string;
  body?: Buffer | string;
  contentType?: string;
  /** Default: the gateway's demo API key (sandbox), or `options.apiKey`. */
  apiKey?: string | null;
}

export interface Answer {
  status: number;
  headers: Headers;
  body: Buffer;
  json<T = Record<string, unknown>>(): T;
  text(): string;
}

export interface StartOptions extends Omit<CreateGatewayOptions, "env" | "modules" | "logDestination"> {
  env?: Record<string, string>;
  trust?: TrustModuleOptions;
  /** API key used by `call` when it names none. */
  apiKey?: string;
}

export async function startTrustGateway(options: StartOptions = {}): Promise<TrustGateway> {
  const dataDir = await mkdtemp(join(tmpdir(), "passerelle-trust-"));
  const logs: Array<Record<string, unknown>> = [];
  const { env, trust, apiKey, ...rest } = options;
  const logger = createLogger({
    level: "info",
    destination: new Writable({
      write(chunk: Buffer, _encoding, callback) {
        for (const line of chunk.toString().split("\n").filter(Boolean)) logs.push(JSON.parse(line) as Record<string, unknown>);
        callback();
      },
    }),
  });
  let gateway: Gateway;
  try {
    gateway = await createGateway({
      env: { PORT: "0", DATA_DIR: dataDir, RATE_LIMIT_PER_MINUTE: "0", ...env },
      modules: [trustModule(trust)],
      logger,
      ...rest,
    });
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  const url = await gateway.listen();
  const defaultKey = apiKey ?? gateway.sandbox?.demoApiKey;
  return {
    gateway,
    url,
    dataDir,
    logs,
    async call(path, callOptions = {}) {
      const headers: Record<string, string> = {};
      const key = callOptions.apiKey === undefined ? defaultKey : callOptions.apiKey;
      if (key !== undefined && key !== null) headers["x-api-key"] = key;
      if (callOptions.contentType !== undefined) headers["content-type"] = callOptions.contentType;
      const response = await fetch(`${url}${path}`, {
        method: callOptions.method ?? (callOptions.body === undefined ? "GET" : "POST"),
        headers,
        ...(callOptions.body === undefined ? {} : { body: callOptions.body }),
      });
      const body = Buffer.from(await response.arrayBuffer());
      return {
        status: response.status,
        headers: response.headers,
        body,
        json: <T>() => JSON.parse(body.toString("utf8")) as T,
        text: () => body.toString("utf8"),
      };
    },
    async close() {
      await gateway.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A one-page PDF with some text (pdf-lib: a cross-reference stream). */
export async function onePagePdf(text = "Compte rendu de consultation"): Promise<Buffer> {
  const document = await PDFDocument.create();
  const page = document.addPage([595, 842]);
  page.drawText(text, { x: 50, y: 780, size: 14, font: await document.embedFont(StandardFonts.Helvetica) });
  return Buffer.from(await document.save());
}

/** A scratch directory for the tools' input files. */
export async function scratchDirectory(): Promise<{ dir: string; write(name: string, data: Buffer | string): Promise<string>; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "passerelle-trust-tools-"));
  return {
    dir,
    async write(name, data) {
      const path = join(dir, name);
      await writeFile(path, data);
      return path;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** A tool's stdout and stderr, whatever its exit code. */
export async function tool(command: string, args: readonly string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(command, [...args], { encoding: "utf8", timeout: 30_000 });
    return { code: 0, output: `${stdout}${stderr}` };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === "number" ? failed.code : 1, output: `${failed.stdout ?? ""}${failed.stderr ?? ""}` };
  }
}
