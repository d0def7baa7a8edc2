import type { TLSSocket } from "node:tls";
import type { FastifyRequest } from "fastify";
import { forbidden, unauthenticated } from "../../errors/index.js";
import type { Caller, CallerDirectory, CallerRole } from "./callers.js";

declare module "fastify" {
  interface FastifyRequest {
    /** Set on every /v1 request by authenticateCaller. */
    caller?: Caller;
  }
}

function presentedApiKey(request: FastifyRequest): string | undefined {
  const header = request.headers["x-api-key"];
  if (typeof header === "string" && header !== "") return header.trim();
  const authorization = request.headers.authorization;
  if (typeof authorization === "string") {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match) return match[1];
  }
  return undefined;
}

/**
 * onRequest hook of the /v1 scope: an API key (X-Api-Key or Authorization:
 * Bearer) or, over HTTPS with client-certificate authentication, a verified
 * client certificate whose fingerprint is configured. A presented but unknown
 * API key is refused even if a certificate would match: ambiguity is an error.
 */
export function makeAuthenticateCaller(callers: CallerDirectory) {
  return async function authenticateCaller(request: FastifyRequest): Promise<void> {
    const key = presentedApiKey(request);
    if (key !== undefined) {
      const caller = callers.authenticateApiKey(key);
      if (!caller) throw unauthenticated("The API key is not recognised");
      request.caller = caller;
      return;
    }
    const socket = request.raw.socket as Partial<TLSSocket>;
    if (socket.encrypted === true && socket.authorized === true && typeof socket.getPeerCertificate === "function") {
      const cert = socket.getPeerCertificate();
      if (cert && typeof cert.fingerprint256 === "string") {
        const caller = callers.authenticateCertificate(cert.fingerprint256);
        if (!caller) throw unauthenticated("The client certificate is valid but not registered as a caller (CLIENT_CERT_CALLERS)");
        request.caller = caller;
        return;
      }
    }
    throw unauthenticated("Authenticate with an API key (X-Api-Key or Authorization: Bearer) or a registered client certificate");
  };
}

export function requireRole(request: FastifyRequest, role: CallerRole): Caller {
  const caller = request.caller;
  if (!caller) throw unauthenticated("Authentication required");
  if (!caller.roles.includes(role)) throw forbidden(`This operation requires the ${role} role`);
  return caller;
}
