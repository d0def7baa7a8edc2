import type { TLSSocket } from "node:tls";
import type { FastifyRequest, onRequestHookHandler } from "fastify";
import { PasserelleError, forbidden, unauthenticated } from "../../errors/index.js";
import type { Caller, CallerDirectory, CallerRole } from "./callers.js";
import type { FailedAuthLimiter } from "./failed-auth-limiter.js";

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
 * With a `limiter`, an address that failed too often is refused with 429
 * first, and every failure is counted against its address.
 *
 * A callback hook, not an async one: every /v1 request runs it, and it never
 * waits for anything, so it need not cost a promise and a microtask.
 */
export function makeAuthenticateCaller(callers: CallerDirectory, limiter?: FailedAuthLimiter): onRequestHookHandler {
  const refuse = (request: FastifyRequest, detail: string): PasserelleError => {
    limiter?.recordFailure(request.ip);
    return unauthenticated(detail);
  };
  /** Sets request.caller, or says why not. */
  const authenticate = (request: FastifyRequest): PasserelleError | undefined => {
    if (limiter !== undefined && !limiter.idle) {
      const retryAfter = limiter.retryAfterSeconds(request.ip);
      if (retryAfter > 0) {
        return new PasserelleError("PASSERELLE_RATE_LIMITED", {
          detail: `Too many failed authentications from this address (${limiter.max} per minute); retry in ${retryAfter} s`,
          headers: { "retry-after": String(retryAfter) },
        });
      }
    }
    const key = presentedApiKey(request);
    if (key !== undefined) {
      const caller = callers.authenticateApiKey(key);
      if (!caller) return refuse(request, "The API key is not recognised");
      request.caller = caller;
      return undefined;
    }
    const socket = request.raw.socket as Partial<TLSSocket>;
    if (socket.encrypted === true && socket.authorized === true && typeof socket.getPeerCertificate === "function") {
      const cert = socket.getPeerCertificate();
      if (cert && typeof cert.fingerprint256 === "string") {
        const caller = callers.authenticateCertificate(cert.fingerprint256);
        if (!caller) return refuse(request, "The client certificate is valid but not registered as a caller (CLIENT_CERT_CALLERS)");
        request.caller = caller;
        return undefined;
      }
    }
    return refuse(request, "Authenticate with an API key (X-Api-Key or Authorization: Bearer) or a registered client certificate");
  };
  return function authenticateCaller(request, _reply, done) {
    done(authenticate(request));
  };
}

export function requireRole(request: FastifyRequest, role: CallerRole): Caller {
  const caller = request.caller;
  if (!caller) throw unauthenticated("Authentication required");
  if (!caller.roles.includes(role)) throw forbidden(`This operation requires the ${role} role`);
  return caller;
}
