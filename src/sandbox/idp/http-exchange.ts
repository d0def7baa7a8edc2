/**
 * Reading requests and writing responses for the identity providers' own
 * routes (pages and the sandbox test API), on plain Node request/response
 * objects — the OpenID Provider itself is oidc-provider's Koa app.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { ERROR_CATALOGUE, problemTypeFor, type ErrorCode } from "../../errors/index.js";
import { PAGE_HEADERS } from "./html-page.js";

/** Forms here hold a user name and a password, or nothing at all. */
const MAX_FORM_BYTES = 16 * 1024;
const FORM_CONTENT_TYPE = "application/x-www-form-urlencoded";

/** A request refused before it reached its handler's logic; answered as problem+json. */
export class RequestRejection extends Error {
  readonly code: ErrorCode;
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: ErrorCode, detail: string, headers: Record<string, string> = {}) {
    super(detail);
    this.name = "RequestRejection";
    this.code = code;
    this.headers = headers;
  }
}

/**
 * The URL-encoded body of a POST. An empty body needs no content type (the
 * test API's approve/deny calls send none); anything else must be a form.
 */
export async function readFormBody(req: IncomingMessage): Promise<URLSearchParams> {
  const declaredLength = Number(req.headers["content-length"] ?? "0");
  if (declaredLength > MAX_FORM_BYTES) throw new RequestRejection("PASSERELLE_PAYLOAD_TOO_LARGE", `Bodies are limited to ${MAX_FORM_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_FORM_BYTES) throw new RequestRejection("PASSERELLE_PAYLOAD_TOO_LARGE", `Bodies are limited to ${MAX_FORM_BYTES} bytes`);
    chunks.push(buffer);
  }
  if (size === 0) return new URLSearchParams();
  const contentType = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  if (contentType !== FORM_CONTENT_TYPE) {
    throw new RequestRejection("PASSERELLE_UNSUPPORTED_MEDIA_TYPE", `Send ${FORM_CONTENT_TYPE}`);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

export function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, PAGE_HEADERS).end(html);
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" }).end(JSON.stringify(body));
}

/** RFC 9457 problem details, with the gateway's problem types (as the sandbox CA answers). */
export function sendProblem(
  res: ServerResponse,
  code: ErrorCode,
  detail: string,
  instance: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  const entry = ERROR_CATALOGUE[code];
  const document = { type: problemTypeFor(code), title: entry.title, status: entry.status, detail, instance, code };
  res
    .writeHead(entry.status, { ...headers, "content-type": "application/problem+json; charset=utf-8", "cache-control": "no-store" })
    .end(JSON.stringify(document));
}

/** 303 See Other: after a POST, the browser follows with a GET (RFC 9110 §15.4.4). */
export function redirectSeeOther(res: ServerResponse, location: string): void {
  res.writeHead(303, { location, "content-length": "0", "cache-control": "no-store" }).end();
}
