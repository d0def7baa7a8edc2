/**
 * The identity service's problems, one factory per situation, so that the
 * same situation always gets the same code and wording (docs/errors.md lists
 * the codes). Protocol-level failures (a bad ID token, a provider error) are
 * raised by src/protocols/oidc/ and pass through unchanged unless a more
 * precise code exists here (e.g. `invalid_grant` on a code exchange).
 */
import { PasserelleError, badRequest } from "../../errors/index.js";
import { ProviderRejectedError } from "../../protocols/oidc/index.js";

export function unknownClient(clientId: string, flow?: string): PasserelleError {
  return new PasserelleError("PASSERELLE_AUTH_UNKNOWN_CLIENT", {
    detail:
      flow === undefined
        ? `No identity client ${JSON.stringify(clientId)} is configured`
        : `No identity client ${JSON.stringify(clientId)} is configured for the ${flow} flow`,
  });
}

export function loginInvalid(detail: string): PasserelleError {
  return new PasserelleError("PASSERELLE_AUTH_LOGIN_INVALID", { detail });
}

export function stateInvalid(detail: string): PasserelleError {
  return new PasserelleError("PASSERELLE_AUTH_STATE_INVALID", { detail });
}

export function sessionInvalid(): PasserelleError {
  // Unknown, expired, logged out or another caller's: one answer, so a handle cannot be probed.
  return new PasserelleError("PASSERELLE_AUTH_SESSION_INVALID", {
    detail: "The session handle (X-Session) is missing, unknown or expired; log the practitioner in again",
    headers: { "www-authenticate": 'Session realm="passerelle"' },
  });
}

export function authenticationDenied(detail: string): PasserelleError {
  return new PasserelleError("PASSERELLE_AUTH_DENIED", { detail });
}

export function authenticationExpired(detail: string): PasserelleError {
  return new PasserelleError("PASSERELLE_AUTH_EXPIRED", { detail });
}

export function unknownUser(provider: string): PasserelleError {
  return new PasserelleError("PASSERELLE_AUTH_UNKNOWN_USER", { detail: `${provider} does not know this login hint`, extensions: { upstream: provider } });
}

export function returnUrlNotAllowed(pointer: string): PasserelleError {
  return badRequest("This URL is not one of the configured return URLs (AUTH_RETURN_URLS)", [
    { in: "body", pointer, detail: "is not an allowed return URL" },
  ]);
}

/**
 * The more precise meaning of a provider's OAuth error, where the flow gives
 * it one (RFC 6749 §5.2, CIBA Core §13); otherwise the error as it was.
 */
export function refineProviderError(error: unknown, flow: "code" | "ciba-start" | "refresh"): unknown {
  if (!(error instanceof ProviderRejectedError)) return error;
  const provider = String(error.extensions?.upstream ?? "the identity provider");
  switch (`${flow}:${error.oauthError ?? ""}`) {
    case "code:invalid_grant":
      return new PasserelleError("PASSERELLE_AUTH_CODE_REJECTED", {
        detail: `${provider} refused the authorization code (used, expired, or issued for another login)`,
        cause: error,
        extensions: { upstream: provider, providerError: "invalid_grant" },
      });
    case "ciba-start:unknown_user_id":
      return unknownUser(provider);
    case "ciba-start:access_denied":
      return authenticationDenied(`${provider} refused the authentication request`);
    case "ciba-start:invalid_binding_message":
      return badRequest(`${provider} refused the binding message`, [{ in: "body", pointer: "/bindingMessage", detail: "was refused by the provider" }]);
    case "refresh:invalid_grant":
      return sessionInvalid();
    default:
      return error;
  }
}
