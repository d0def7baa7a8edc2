/**
 * The practitioner's side of CIBA (OpenID CIBA Core 1.0 §1: the
 * "authentication device"): in production the e-CPS phone app shows the
 * request and its binding message and the practitioner approves or refuses.
 * Here pending requests wait in memory, and an approval page
 * (`GET /_sandbox/ciba`) or a JSON test API decides them:
 *
 * - `GET  /_sandbox/ciba/pending[?login_hint=…]`  the pending requests
 * - `POST /_sandbox/ciba/{auth_req_id}/approve`   → `{ auth_req_id, status: "approved" }`
 * - `POST /_sandbox/ciba/{auth_req_id}/deny`      → `{ auth_req_id, status: "denied" }` (the client then gets `access_denied`)
 *
 * A decision goes to the provider through `backchannelResult`, after which
 * the client's next poll of the token endpoint gets the tokens or the error.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type Provider from "oidc-provider";
import { errors } from "oidc-provider";
import { escapeHtml, renderPage } from "./html-page.js";
import { readFormBody, redirectSeeOther, RequestRejection, sendHtml, sendJson } from "./http-exchange.js";
import type { PractitionerDirectory } from "./practitioners.js";

export const CIBA_APPROVAL_PATH = "/_sandbox/ciba";

export interface CibaRequestRecord {
  authReqId: string;
  accountId: string;
  clientId: string;
  clientName: string;
  bindingMessage: string | undefined;
  scope: string;
  /** Seconds until the request expires (CIBA Core §7.3 `expires_in`). */
  expiresIn: number;
}

export interface PendingCibaRequest extends Omit<CibaRequestRecord, "expiresIn"> {
  /** Epoch milliseconds. */
  requestedAt: number;
  /** Epoch milliseconds. */
  expiresAt: number;
}

export interface CibaApprovalsOptions {
  practitioners: PractitionerDirectory;
  /** `acr` of tokens issued after an approval (PSC: "eidas1"). */
  acr?: string;
  now?: () => number;
}

/** Pending requests beyond this count push out the oldest: the store is bounded whatever clients do. */
const MAX_PENDING = 1000;
/** RFC 8176 §2: the phone approval is a second factor on top of the device key. */
const APPROVAL_AMR = ["mfa"];
const AUTH_REQ_ID = /^[A-Za-z0-9_-]{1,128}$/;

export class CibaApprovals {
  readonly #pending = new Map<string, PendingCibaRequest>();
  readonly #practitioners: PractitionerDirectory;
  readonly #acr: string | undefined;
  readonly #now: () => number;

  constructor(options: CibaApprovalsOptions) {
    this.#practitioners = options.practitioners;
    this.#acr = options.acr;
    this.#now = options.now ?? Date.now;
  }

  /** Called by the provider once it has accepted a backchannel authentication request. */
  record(request: CibaRequestRecord): void {
    this.#prune();
    while (this.#pending.size >= MAX_PENDING) {
      const oldest = this.#pending.keys().next().value;
      if (oldest === undefined) break;
      this.#pending.delete(oldest);
    }
    const { expiresIn, ...described } = request;
    const now = this.#now();
    this.#pending.set(request.authReqId, { ...described, requestedAt: now, expiresAt: now + expiresIn * 1000 });
  }

  /** Unexpired, undecided requests, oldest first; with a hint, only that practitioner's. */
  pending(loginHint?: string): PendingCibaRequest[] {
    this.#prune();
    const all = [...this.#pending.values()];
    if (loginHint === undefined) return all;
    const sub = this.#practitioners.byIdentifier(loginHint)?.sub;
    return all.filter((request) => request.accountId === sub);
  }

  /**
   * Approves a pending request: records the practitioner's consent to what
   * the client asked (scopes, claims, resource) as a grant, and hands it to
   * the provider. False when the request is not pending (unknown, expired,
   * or already decided).
   */
  async approve(provider: Provider, authReqId: string): Promise<boolean> {
    if (this.#take(authReqId) === undefined) return false;
    const request = await provider.BackchannelAuthenticationRequest.find(authReqId);
    if (request === undefined || request.isExpired) return false;
    const grant = new provider.Grant({ accountId: request.accountId, clientId: request.clientId });
    grant.addOIDCScope(request.scope);
    const claims = Object.keys({ ...request.claims?.id_token, ...request.claims?.userinfo });
    if (claims.length > 0) grant.addOIDCClaims(claims);
    for (const resource of [request.resource ?? []].flat()) grant.addResourceScope(resource, request.scope);
    await grant.save();
    await provider.backchannelResult(request, grant, {
      ...(this.#acr === undefined ? {} : { acr: this.#acr }),
      amr: APPROVAL_AMR,
      authTime: Math.floor(this.#now() / 1000),
    });
    return true;
  }

  /** Refuses a pending request (CIBA Core §11: the client's next poll gets `access_denied`). */
  async deny(provider: Provider, authReqId: string): Promise<boolean> {
    if (this.#take(authReqId) === undefined) return false;
    await provider.backchannelResult(authReqId, new errors.AccessDenied("the practitioner refused the request"));
    return true;
  }

  /**
   * Serves `/_sandbox/ciba…`; returns false for other paths. Decisions are
   * POST-only; a decision posted from the approval page (`from=page`)
   * returns the browser to the page.
   */
  async handle(provider: Provider, req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const path = url.pathname;
    if (path !== CIBA_APPROVAL_PATH && !path.startsWith(`${CIBA_APPROVAL_PATH}/`)) return false;
    const loginHint = url.searchParams.get("login_hint") ?? undefined;

    if (path === CIBA_APPROVAL_PATH) {
      allowMethods(req, ["GET", "HEAD"]);
      sendHtml(res, 200, this.#renderApprovalPage(loginHint));
      return true;
    }
    if (path === `${CIBA_APPROVAL_PATH}/pending`) {
      allowMethods(req, ["GET", "HEAD"]);
      sendJson(res, 200, { pending: this.pending(loginHint).map(describe.bind(undefined, this.#practitioners)) });
      return true;
    }
    const decision = /^\/_sandbox\/ciba\/([^/]+)\/(approve|deny)$/.exec(path);
    // oidc-provider's ids are URL-safe (nanoid): anything else is not one, encoded or not.
    const authReqId = decision?.[1];
    if (decision === null || authReqId === undefined || !AUTH_REQ_ID.test(authReqId)) {
      throw new RequestRejection("PASSERELLE_NOT_FOUND", `No resource ${req.method ?? "GET"} ${path}`);
    }
    allowMethods(req, ["POST"]);
    const form = await readFormBody(req);
    const approved = decision[2] === "approve";
    const decided = approved ? await this.approve(provider, authReqId) : await this.deny(provider, authReqId);
    if (!decided) {
      throw new RequestRejection("PASSERELLE_NOT_FOUND", `No pending CIBA request ${authReqId} (unknown, expired or already decided)`);
    }
    if (form.get("from") === "page") {
      const back = form.get("login_hint");
      redirectSeeOther(res, back ? `${CIBA_APPROVAL_PATH}?login_hint=${encodeURIComponent(back)}` : CIBA_APPROVAL_PATH);
    } else {
      sendJson(res, 200, { auth_req_id: authReqId, status: approved ? "approved" : "denied" });
    }
    return true;
  }

  #take(authReqId: string): PendingCibaRequest | undefined {
    const request = this.#pending.get(authReqId);
    this.#pending.delete(authReqId);
    return request !== undefined && request.expiresAt > this.#now() ? request : undefined;
  }

  #prune(): void {
    const now = this.#now();
    for (const [id, request] of this.#pending) if (request.expiresAt <= now) this.#pending.delete(id);
  }

  #renderApprovalPage(loginHint: string | undefined): string {
    const requests = this.pending(loginHint);
    const now = this.#now();
    const hiddenHint = loginHint === undefined ? "" : `<input type="hidden" name="login_hint" value="${escapeHtml(loginHint)}">`;
    const items = requests
      .map((request) => {
        const practitioner = this.#practitioners.bySub(request.accountId);
        const action = `${CIBA_APPROVAL_PATH}/${encodeURIComponent(request.authReqId)}`;
        return `<li>
<p><strong>${escapeHtml(request.clientName)}</strong> asks to sign in
${escapeHtml(practitioner?.displayName ?? request.accountId)} (${escapeHtml(practitioner?.login ?? "")}).</p>
<p>Code shown by the application: <strong>${escapeHtml(request.bindingMessage ?? "(none)")}</strong>
<span class="note">— expires in ${Math.max(0, Math.round((request.expiresAt - now) / 1000))} s</span></p>
<form class="inline" method="post" action="${escapeHtml(action)}/approve"><input type="hidden" name="from" value="page">${hiddenHint}<button type="submit">Approve</button></form>
<form class="inline" method="post" action="${escapeHtml(action)}/deny"><input type="hidden" name="from" value="page">${hiddenHint}<button type="submit">Deny</button></form>
</li>`;
      })
      .join("\n");
    const heading = loginHint === undefined ? "Pending sign-in requests" : `Pending sign-in requests for ${escapeHtml(loginHint)}`;
    return renderPage(
      "e-CPS (sandbox)",
      `<h1>${heading}</h1>
<p class="note">This page plays the practitioner's e-CPS phone app. Check that the code matches the one the application shows.
<a href="${escapeHtml(CIBA_APPROVAL_PATH + (loginHint === undefined ? "" : `?login_hint=${encodeURIComponent(loginHint)}`))}">Refresh</a></p>
${items.length === 0 ? "<p>No pending request.</p>" : `<ul>${items}</ul>`}`,
    );
  }
}

function describe(practitioners: PractitionerDirectory, request: PendingCibaRequest): Record<string, unknown> {
  const practitioner = practitioners.bySub(request.accountId);
  return {
    auth_req_id: request.authReqId,
    login_hint: practitioner?.login,
    practitioner: practitioner?.displayName,
    client_id: request.clientId,
    client_name: request.clientName,
    binding_message: request.bindingMessage ?? null,
    scope: request.scope,
    requested_at: new Date(request.requestedAt).toISOString(),
    expires_at: new Date(request.expiresAt).toISOString(),
  };
}

function allowMethods(req: IncomingMessage, methods: readonly string[]): void {
  if (!methods.includes(req.method ?? "GET")) {
    throw new RequestRejection("PASSERELLE_METHOD_NOT_ALLOWED", `Use ${methods.join(" or ")}`, { allow: methods.join(", ") });
  }
}
