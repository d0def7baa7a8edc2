/**
 * The identity routes, in two Fastify plugins:
 *
 * - {@link identityRoutes}: the calling software's API, mounted in the
 *   authenticated /v1 scope (API key or client certificate);
 * - {@link identityBrowserRoutes}: the two pages the practitioner's browser
 *   visits, `GET /v1/auth/login/{clientId}` and `GET /v1/auth/callback`. The
 *   browser has no API key, so they must be mounted under /v1 *outside* the
 *   caller authentication; they are bound to the caller by the login ticket
 *   and the state instead (see service.ts).
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { unauthenticated } from "../../errors/index.js";
import { requireRole } from "../../http/auth/authenticate.js";
import { V1_PROBLEMS, problemResponses } from "../../http/schemas.js";
import {
  CallbackQuerySchema,
  CibaParamsSchema,
  CibaViewSchema,
  ClaimLoginBodySchema,
  LoginParamsSchema,
  LoginQuerySchema,
  LogoutBodySchema,
  LogoutResponseSchema,
  RedirectSchema,
  SessionGrantSchema,
  SessionHeaderSchema,
  SessionViewSchema,
  StartCibaBodySchema,
  StartLoginBodySchema,
  StartLoginResponseSchema,
  SystemTokenParamsSchema,
  SystemTokenSchema,
  ValidatedTokenSchema,
  ValidateTokenBodySchema,
  type StartCibaBody,
  type StartLoginBody,
} from "./schemas.js";
import type { CallContext, IdentityService } from "./service.js";

const TAGS = ["identity"];
const SECURITY: Array<Record<string, string[]>> = [{ apiKey: [] }, { bearer: [] }];
const SESSION_HEADER = "x-session";

function contextOf(request: FastifyRequest): CallContext {
  if (!request.caller) throw unauthenticated("Authentication required");
  return { caller: request.caller.id, requestId: request.id };
}

function sessionHandleOf(request: FastifyRequest): string | undefined {
  const value = request.headers[SESSION_HEADER];
  return typeof value === "string" ? value.trim() : undefined;
}

/** The calling software's identity API (authenticated /v1 scope). */
export function identityRoutes(service: IdentityService): FastifyPluginAsync {
  return async (v1) => {
    v1.post(
      "/auth/login",
      {
        schema: {
          tags: TAGS,
          summary: "Start a practitioner login (authorization code + PKCE); open the returned loginUrl in the browser",
          description:
            "The browser then goes through the provider and comes back to returnUrl with `code` (a one-time login code, " +
            "and `error` when the login failed) and your `state`. Exchange the code with POST /v1/auth/session.",
          security: SECURITY,
          body: StartLoginBodySchema,
          response: { 201: StartLoginResponseSchema, ...problemResponses(...V1_PROBLEMS, 404) },
        },
      },
      async (request, reply) => {
        const body = request.body as StartLoginBody;
        const started = await service.startLogin(contextOf(request), body);
        return reply.code(201).send(started);
      },
    );

    v1.post(
      "/auth/session",
      {
        schema: {
          tags: TAGS,
          summary: "Exchange the one-time login code for a session handle",
          description: "Only the caller that started the login can. A failed login answers here with its problem (e.g. PASSERELLE_AUTH_ID_TOKEN_INVALID).",
          security: SECURITY,
          body: ClaimLoginBodySchema,
          response: { 201: SessionGrantSchema, ...problemResponses(...V1_PROBLEMS, 410, 422, 502) },
        },
      },
      async (request, reply) => {
        const { session, view } = await service.claimLogin(contextOf(request), (request.body as { code: string }).code);
        return reply.code(201).send({ session, ...view });
      },
    );

    v1.get(
      "/auth/session",
      {
        schema: {
          tags: TAGS,
          summary: "Who is logged in, since when, until when, with which provider",
          security: SECURITY,
          headers: SessionHeaderSchema,
          response: { 200: SessionViewSchema, ...problemResponses(...V1_PROBLEMS) },
        },
      },
      async (request) => service.getSession(contextOf(request), sessionHandleOf(request)),
    );

    v1.post(
      "/auth/refresh",
      {
        schema: {
          tags: TAGS,
          summary: "Refresh the session's tokens now (refresh-token rotation)",
          security: SECURITY,
          headers: SessionHeaderSchema,
          response: { 200: SessionViewSchema, ...problemResponses(...V1_PROBLEMS, 409, 502, 504) },
        },
      },
      async (request) => service.refreshSession(contextOf(request), sessionHandleOf(request)),
    );

    v1.post(
      "/auth/logout",
      {
        schema: {
          tags: TAGS,
          summary: "End the session: forget it here, revoke its tokens, and get the provider's logout URL",
          security: SECURITY,
          headers: SessionHeaderSchema,
          body: LogoutBodySchema,
          response: { 200: LogoutResponseSchema, ...problemResponses(...V1_PROBLEMS) },
        },
        // The body is optional: a bare POST is an empty object.
        preValidation: async (request) => {
          if (request.body === undefined || request.body === null) request.body = {};
        },
      },
      async (request) => {
        const body = (request.body ?? {}) as { postLogoutRedirectUri?: string };
        return service.logout(contextOf(request), sessionHandleOf(request), body);
      },
    );

    v1.post(
      "/auth/ciba",
      {
        schema: {
          tags: TAGS,
          summary: "Start a decoupled login (OpenID CIBA, poll mode): the practitioner approves on their phone",
          security: SECURITY,
          body: StartCibaBodySchema,
          response: { 202: CibaViewSchema, ...problemResponses(...V1_PROBLEMS, 404, 422, 502, 503, 504) },
        },
      },
      async (request, reply) => reply.code(202).send(await service.startCiba(contextOf(request), request.body as StartCibaBody)),
    );

    v1.get(
      "/auth/ciba/:id",
      {
        schema: {
          tags: TAGS,
          summary: "State of a CIBA login: pending, approved (with the session handle), denied, expired or failed",
          security: SECURITY,
          params: CibaParamsSchema,
          response: { 200: CibaViewSchema, ...problemResponses(...V1_PROBLEMS, 404) },
        },
      },
      async (request) => service.cibaStatus(contextOf(request), (request.params as { id: string }).id),
    );

    v1.post(
      "/auth/token/validate",
      {
        schema: {
          tags: TAGS,
          summary: "Validate a practitioner access token the caller brings (signature, issuer, audience, expiry)",
          security: SECURITY,
          body: ValidateTokenBodySchema,
          response: { 200: ValidatedTokenSchema, ...problemResponses(...V1_PROBLEMS, 502, 503) },
        },
      },
      async (request) => {
        contextOf(request);
        const body = request.body as { provider: string; token: string };
        const token = await service.validateBroughtToken(body.provider, body.token);
        return {
          active: true,
          provider: token.provider,
          issuer: token.issuer,
          subject: token.subject,
          audience: token.audience,
          ...(token.authorizedParty === undefined ? {} : { authorizedParty: token.authorizedParty }),
          ...(token.scope === undefined ? {} : { scope: token.scope }),
          expiresAt: new Date(token.expiresAt * 1000).toISOString(),
          ...(token.practitionerId === undefined ? {} : { practitionerId: token.practitionerId }),
        };
      },
    );

    v1.post(
      "/auth/system-token/:clientId",
      {
        schema: {
          tags: TAGS,
          summary: "A system client's access token (client credentials), cached until shortly before expiry — admin callers only",
          security: SECURITY,
          params: SystemTokenParamsSchema,
          response: { 200: SystemTokenSchema, ...problemResponses(...V1_PROBLEMS, 404, 502, 504) },
        },
      },
      async (request) => {
        // The gateway's own organisation credentials: not for every calling software.
        requireRole(request, "admin");
        const token = await service.systemToken((request.params as { clientId: string }).clientId);
        return { accessToken: token.accessToken, tokenType: token.tokenType, expiresAt: new Date(token.expiresAt * 1000).toISOString(), ...(token.scope === undefined ? {} : { scope: token.scope }) };
      },
    );
  };
}

/** The practitioner's browser: login redirect and OIDC callback (mounted under /v1 without caller authentication). */
export function identityBrowserRoutes(service: IdentityService): FastifyPluginAsync {
  return async (scope) => {
    scope.get(
      "/auth/login/:clientId",
      {
        schema: {
          tags: TAGS,
          summary: "Browser: go to the identity provider (opened from loginUrl; no API key)",
          params: LoginParamsSchema,
          querystring: LoginQuerySchema,
          response: { 302: RedirectSchema, ...problemResponses(400, 404, 500, 502, 503) },
        },
      },
      async (request, reply) => {
        const { clientId } = request.params as { clientId: string };
        const { location, cookie } = await service.beginAuthorization({ clientId, ticket: (request.query as { login?: string }).login });
        const secure = request.protocol === "https" ? "; Secure" : "";
        reply.header("set-cookie", `${cookie.name}=${cookie.value}; Path=${cookie.path}; Max-Age=${cookie.maxAgeSec}; HttpOnly; SameSite=Lax${secure}`);
        return redirect(reply, location);
      },
    );

    scope.get(
      "/auth/callback",
      {
        schema: {
          tags: TAGS,
          summary: "Browser: the OIDC redirect_uri; sends the browser back to the caller's returnUrl with a one-time code",
          querystring: CallbackQuerySchema,
          response: { 302: RedirectSchema, ...problemResponses(400, 500, 503) },
        },
      },
      async (request, reply) => {
        const query = new URLSearchParams(request.url.split("?")[1] ?? "");
        const { location, clearCookie } = await service.completeAuthorization({ query, cookies: cookiesOf(request), requestId: request.id });
        reply.header("set-cookie", `${clearCookie.name}=; Path=${clearCookie.path}; Max-Age=0; HttpOnly; SameSite=Lax`);
        return redirect(reply, location);
      },
    );
  };
}

function redirect(reply: FastifyReply, location: string): FastifyReply {
  // The next page must not learn this URL (it carries a ticket, a state or a one-time code).
  return reply.code(302).header("location", location).header("referrer-policy", "no-referrer").header("cache-control", "no-store").send();
}

/** RFC 6265 §5.4 `Cookie: a=b; c=d`; only our cookies matter and they are plain base64url. */
function cookiesOf(request: FastifyRequest): Record<string, string> {
  const header = request.headers.cookie;
  const cookies: Record<string, string> = {};
  if (typeof header !== "string") return cookies;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (name.startsWith("passerelle_login_")) cookies[name] = part.slice(eq + 1).trim();
  }
  return cookies;
}
