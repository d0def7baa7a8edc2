/**
 * The provider's own pages between the authorization request and the
 * redirect back to the client (oidc-provider "interactions"): the login form,
 * and a one-button continue page when a signed-in practitioner authorizes
 * another client. Consent is implied for the sandbox clients — signing in
 * grants what the client asked for, as the national providers do for their
 * registered clients.
 *
 * Routes, under the realm (`/auth/realms/<realm>/login-actions/<uid>`):
 * `GET` the page; `POST …/login` (username, password); `POST …/continue`;
 * `POST …/abort`. Every state change is a POST; the interaction cookie
 * (SameSite=Lax, signed) binds them to the browser that started the login.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type Provider from "oidc-provider";
import type { Interaction } from "oidc-provider";
import { escapeHtml, renderPage } from "./html-page.js";
import { readFormBody, RequestRejection, sendHtml } from "./http-exchange.js";
import { realmPath, type IdentityRealm } from "./identity-realm.js";
import type { SandboxPractitioner } from "./practitioners.js";

/** RFC 8176 §2: the sandbox login is a password. */
const LOGIN_AMR = ["pwd"];
const UID = /^[A-Za-z0-9_-]{1,128}$/;

export class InteractionPages {
  readonly #provider: Provider;
  readonly #realm: IdentityRealm;
  readonly #basePath: string;

  constructor(provider: Provider, realm: IdentityRealm) {
    this.#provider = provider;
    this.#realm = realm;
    this.#basePath = `${realmPath(realm)}/login-actions`;
  }

  /** The path of an interaction's page (what oidc-provider redirects the browser to). */
  pathFor(uid: string): string {
    return `${this.#basePath}/${uid}`;
  }

  /** Serves the interaction routes; returns false for other paths. */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    if (!url.pathname.startsWith(`${this.#basePath}/`)) return false;
    const [uid, action, ...extra] = url.pathname.slice(this.#basePath.length + 1).split("/");
    if (uid === undefined || !UID.test(uid) || extra.length > 0 || (action !== undefined && !["login", "continue", "abort"].includes(action))) {
      throw new RequestRejection("PASSERELLE_NOT_FOUND", `No resource ${req.method ?? "GET"} ${url.pathname}`);
    }
    const expectedMethods = action === undefined ? ["GET", "HEAD"] : ["POST"];
    if (!expectedMethods.includes(req.method ?? "GET")) {
      throw new RequestRejection("PASSERELLE_METHOD_NOT_ALLOWED", `Use ${expectedMethods.join(" or ")}`, { allow: expectedMethods.join(", ") });
    }

    const interaction = await this.#interaction(req, res, uid);
    if (interaction === undefined) return true;
    switch (action) {
      case undefined:
        await this.#showPage(res, interaction);
        break;
      case "login":
        await this.#login(req, res, interaction);
        break;
      case "continue":
        await this.#continue(req, res, interaction);
        break;
      case "abort":
        await readFormBody(req);
        await this.#provider.interactionFinished(
          req,
          res,
          { error: "access_denied", error_description: "The practitioner cancelled the sign-in" },
          { mergeWithLastSubmission: false },
        );
        break;
    }
    return true;
  }

  /** The interaction this browser is in, if it is the one in the URL; otherwise answers with an error page. */
  async #interaction(req: IncomingMessage, res: ServerResponse, uid: string): Promise<Interaction | undefined> {
    let interaction: Interaction | undefined;
    try {
      interaction = await this.#provider.interactionDetails(req, res);
    } catch {
      // SessionNotFound: no interaction cookie, or it expired.
      interaction = undefined;
    }
    if (interaction === undefined || interaction.uid !== uid) {
      sendHtml(
        res,
        400,
        renderPage(
          `${this.#realm.displayName}: sign-in expired`,
          "<h1>This sign-in has expired</h1><p>It took too long, or it was opened in another browser. Start again from the application.</p>",
        ),
      );
      return undefined;
    }
    return interaction;
  }

  async #showPage(res: ServerResponse, interaction: Interaction, error?: string, username?: string): Promise<void> {
    const clientName = await this.#clientName(interaction);
    if (interaction.prompt.name === "login") {
      const hint = typeof interaction.params.login_hint === "string" ? interaction.params.login_hint : "";
      sendHtml(res, error === undefined ? 200 : 401, this.#loginPage(interaction.uid, clientName, error, username ?? hint));
      return;
    }
    if (interaction.prompt.name === "consent" && interaction.session !== undefined) {
      const practitioner = this.#realm.practitioners.bySub(interaction.session.accountId);
      sendHtml(res, 200, this.#continuePage(interaction.uid, clientName, practitioner));
      return;
    }
    sendHtml(res, 400, renderPage(`${this.#realm.displayName}: error`, "<h1>This sign-in cannot continue</h1>"));
  }

  async #login(req: IncomingMessage, res: ServerResponse, interaction: Interaction): Promise<void> {
    const form = await readFormBody(req);
    if (interaction.prompt.name !== "login") {
      await this.#showPage(res, interaction);
      return;
    }
    const username = form.get("username")?.trim() ?? "";
    const practitioner = this.#realm.practitioners.authenticate(username, form.get("password") ?? "");
    if (practitioner === undefined) {
      await this.#showPage(res, interaction, "Unknown identifier or wrong password.", username);
      return;
    }
    const grantId = await this.#grantRequested(interaction, practitioner.sub);
    await this.#provider.interactionFinished(
      req,
      res,
      {
        login: { accountId: practitioner.sub, amr: LOGIN_AMR, ...(this.#realm.acr === undefined ? {} : { acr: this.#realm.acr }) },
        consent: { grantId },
      },
      { mergeWithLastSubmission: false },
    );
  }

  async #continue(req: IncomingMessage, res: ServerResponse, interaction: Interaction): Promise<void> {
    await readFormBody(req);
    const accountId = interaction.session?.accountId;
    if (interaction.prompt.name !== "consent" || accountId === undefined) {
      await this.#showPage(res, interaction);
      return;
    }
    const grantId = await this.#grantRequested(interaction, accountId);
    await this.#provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }

  /**
   * Grants the client what its authorization request asked for: the scopes,
   * the individual claims of the `claims` parameter (OIDC Core §5.5), and
   * the same scopes at each requested resource (RFC 8707).
   */
  async #grantRequested(interaction: Interaction, accountId: string): Promise<string> {
    const params = interaction.params;
    const clientId = String(params.client_id);
    const existing = interaction.grantId === undefined ? undefined : await this.#provider.Grant.find(interaction.grantId);
    const grant = existing !== undefined && existing.accountId === accountId ? existing : new this.#provider.Grant({ accountId, clientId });
    const scope = typeof params.scope === "string" ? params.scope : "openid";
    grant.addOIDCScope(scope);
    const claims = requestedClaimNames(params.claims);
    if (claims.length > 0) grant.addOIDCClaims(claims);
    const resources = [params.resource ?? []].flat().filter((resource): resource is string => typeof resource === "string");
    for (const resource of resources) grant.addResourceScope(resource, scope);
    return grant.save();
  }

  async #clientName(interaction: Interaction): Promise<string> {
    const clientId = String(interaction.params.client_id);
    const client = await this.#provider.Client.find(clientId);
    return client?.clientName ?? clientId;
  }

  #loginPage(uid: string, clientName: string, error: string | undefined, username: string): string {
    const action = escapeHtml(this.pathFor(uid));
    const realm = this.#realm;
    const rows = realm.practitioners.all
      .map(
        (p) =>
          `<tr><td>${escapeHtml(p.login)}</td><td>${escapeHtml(p.password)}</td><td>${escapeHtml(p.displayName)}</td><td>${escapeHtml(p.profession)}</td></tr>`,
      )
      .join("");
    return renderPage(
      `${realm.displayName}: sign in`,
      `<h1>${escapeHtml(realm.displayName)}</h1>
<p><strong>${escapeHtml(clientName)}</strong> asks you to sign in.</p>
${error === undefined ? "" : `<p class="error" role="alert">${escapeHtml(error)}</p>`}
<form method="post" action="${action}/login">
<label>${escapeHtml(realm.login.identifierLabel)}<input name="username" autocomplete="username" required autofocus value="${escapeHtml(username)}"></label>
<label>${escapeHtml(realm.login.secretLabel)}<input type="password" name="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button>
</form>
<form method="post" action="${action}/abort"><button type="submit">Cancel</button></form>
<details><summary>Sandbox practitioners</summary>
<table><tr><th>Identifier</th><th>Password</th><th>Name</th><th>Profession</th></tr>${rows}</table></details>`,
    );
  }

  #continuePage(uid: string, clientName: string, practitioner: SandboxPractitioner | undefined): string {
    const action = escapeHtml(this.pathFor(uid));
    return renderPage(
      `${this.#realm.displayName}: continue`,
      `<h1>Continue to ${escapeHtml(clientName)}?</h1>
<p>You are signed in to ${escapeHtml(this.#realm.displayName)} as ${escapeHtml(practitioner?.displayName ?? "a practitioner")}.</p>
<form class="inline" method="post" action="${action}/continue"><button type="submit" autofocus>Continue</button></form>
<form class="inline" method="post" action="${action}/abort"><button type="submit">Cancel</button></form>`,
    );
  }
}

/** Claim names of an OIDC Core §5.5 `claims` request parameter (a JSON string), or none. */
function requestedClaimNames(claims: unknown): string[] {
  if (typeof claims !== "string") return [];
  try {
    const parsed: unknown = JSON.parse(claims);
    if (parsed === null || typeof parsed !== "object") return [];
    const { id_token: idToken, userinfo } = parsed as Record<string, unknown>;
    return [idToken, userinfo].flatMap((member) => (member !== null && typeof member === "object" ? Object.keys(member) : []));
  } catch {
    return [];
  }
}
