/**
 * Request and response schemas of the identity routes (TypeBox): one schema
 * drives validation, serialisation and the OpenAPI document.
 */
import { Type, type Static } from "typebox";

const ClientId = Type.String({ minLength: 1, maxLength: 128, pattern: "^[\\x21-\\x7e]+$", description: "An identity client configured in the gateway (its OAuth client_id)" });
const Url = Type.String({ format: "uri", maxLength: 2048 });
const Instant = Type.String({ format: "date-time" });

export const SessionHeaderSchema = Type.Object({
  "x-session": Type.Optional(Type.String({ maxLength: 128, description: "The session handle returned by POST /v1/auth/session or GET /v1/auth/ciba/{id}" })),
});

export const StartLoginBodySchema = Type.Object(
  {
    clientId: ClientId,
    returnUrl: Type.String({ maxLength: 2048, description: "Where the browser goes back when the login ends; must be listed in AUTH_RETURN_URLS" }),
    state: Type.Optional(Type.String({ maxLength: 512, description: "Echoed back to returnUrl: the caller's own CSRF token" })),
    scope: Type.Optional(Type.String({ maxLength: 1024, pattern: "^[\\x21\\x23-\\x5b\\x5d-\\x7e]+( [\\x21\\x23-\\x5b\\x5d-\\x7e]+)*$" })),
    acrValues: Type.Optional(Type.String({ maxLength: 256 })),
    loginHint: Type.Optional(Type.String({ maxLength: 256 })),
    prompt: Type.Optional(Type.Union([Type.Literal("none"), Type.Literal("login"), Type.Literal("consent"), Type.Literal("select_account")])),
  },
  {
    additionalProperties: false,
    examples: [{ clientId: "passerelle-aes", returnUrl: "https://pms.example/after-login", state: "c2a9f0e1" }],
  },
);
export type StartLoginBody = Static<typeof StartLoginBodySchema>;

export const StartLoginResponseSchema = Type.Object(
  {
    loginUrl: Url,
    expiresAt: Instant,
  },
  {
    description: "Open loginUrl in the practitioner's browser before expiresAt",
    examples: [
      {
        loginUrl: "https://gateway.example/v1/auth/login/passerelle-aes?login=psl_6qM3hF0cT1vQyZ8dR2kX9wN4pL7sB5eA3uJ0gH1iK2m",
        expiresAt: "2026-11-23T09:24:03.120Z",
      },
    ],
  },
);

export const LoginParamsSchema = Type.Object({ clientId: ClientId });
export const LoginQuerySchema = Type.Object({
  login: Type.Optional(Type.String({ maxLength: 128, description: "The login ticket from POST /v1/auth/login" })),
});

export const CallbackQuerySchema = Type.Object(
  {
    code: Type.Optional(Type.String({ maxLength: 4096 })),
    state: Type.Optional(Type.String({ maxLength: 512 })),
    error: Type.Optional(Type.String({ maxLength: 256 })),
    error_description: Type.Optional(Type.String({ maxLength: 2048 })),
    iss: Type.Optional(Type.String({ maxLength: 2048 })),
    session_state: Type.Optional(Type.String({ maxLength: 512 })),
  },
  { additionalProperties: true },
);

export const RedirectSchema = Type.Null({ description: "Redirect (Location header)" });

export const ClaimLoginBodySchema = Type.Object(
  { code: Type.String({ minLength: 1, maxLength: 128, description: "The one-time code the browser brought back to returnUrl" }) },
  { additionalProperties: false, examples: [{ code: "psc_Vt7sR1kP0aB9cD8eF7gH6iJ5kL4mN3oP2qR1sT0uV9w" }] },
);

const PractitionerSchema = Type.Object({
  id: Type.Optional(Type.String({ description: "Professional identifier (PSC SubjectNameID, AeS provider code, NIHII)" })),
  givenName: Type.Optional(Type.String()),
  familyName: Type.Optional(Type.String()),
});

const sessionProperties = {
  provider: Type.String({ description: "Identity provider id (fr-psc, lu-aes, be-idp…)" }),
  clientId: Type.String(),
  method: Type.Union([Type.Literal("code"), Type.Literal("ciba")]),
  subject: Type.String({ description: "The provider's `sub`" }),
  practitioner: PractitionerSchema,
  acr: Type.Optional(Type.String()),
  scope: Type.Optional(Type.String()),
  createdAt: Instant,
  expiresAt: Type.Optional({ ...Instant, description: "When the current access token expires; the gateway refreshes it before" }),
  sessionExpiresAt: { ...Instant, description: "When the session ends (the refresh token's end)" },
  refreshedAt: Type.Optional(Instant),
};

const sessionExample = {
  provider: "lu-aes",
  clientId: "passerelle-aes",
  method: "code",
  subject: "ebc623f8-4521-4026-a56e-037ccf7a5a0b",
  practitioner: { id: "101234-56", givenName: "Anne", familyName: "Weber" },
  scope: "openid profile",
  createdAt: "2026-11-23T09:14:03.120Z",
  expiresAt: "2026-11-23T09:19:03.000Z",
  sessionExpiresAt: "2026-11-23T17:14:03.000Z",
};

export const SessionViewSchema = Type.Object(sessionProperties, { examples: [sessionExample] });

export const SessionGrantSchema = Type.Object(
  { session: Type.String({ description: "The session handle: send it as X-Session; keep it secret" }), ...sessionProperties },
  { examples: [{ session: "pss_Wb0lO8qS3tU6vX9yZ2aC5dF8gJ1kM4nP7rS0tV3wY6z", ...sessionExample }] },
);

export const LogoutBodySchema = Type.Object(
  { postLogoutRedirectUri: Type.Optional(Type.String({ maxLength: 2048, description: "Where the provider sends the browser after its logout; must be in AUTH_RETURN_URLS" })) },
  { additionalProperties: false, examples: [{ postLogoutRedirectUri: "https://pms.example/logged-out" }] },
);

export const LogoutResponseSchema = Type.Object(
  {
    revoked: Type.Boolean({ description: "The provider's tokens were revoked (RFC 7009)" }),
    endSessionUrl: Type.Optional({ ...Url, description: "Send the browser here to end the provider's own session (RP-Initiated Logout)" }),
  },
  { examples: [{ revoked: true, endSessionUrl: "https://idp.example/auth/realms/default/protocol/openid-connect/logout?client_id=passerelle-aes&id_token_hint=eyJ..." }] },
);

export const StartCibaBodySchema = Type.Object(
  {
    clientId: ClientId,
    loginHint: Type.String({ minLength: 1, maxLength: 256, description: "The practitioner's identifier at the provider (PSC: IdNat_PS such as 810001234565, or the RPPS)" }),
    bindingMessage: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: "Short text shown on both screens (CIBA Core §7.1)" })),
    scope: Type.Optional(Type.String({ maxLength: 1024 })),
    acrValues: Type.Optional(Type.String({ maxLength: 256 })),
  },
  { additionalProperties: false, examples: [{ clientId: "passerelle-psc", loginHint: "810001234565", bindingMessage: "PMS-4821" }] },
);
export type StartCibaBody = Static<typeof StartCibaBodySchema>;

export const CibaParamsSchema = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });

export const CibaViewSchema = Type.Object(
  {
    id: Type.String(),
    status: Type.Union([Type.Literal("pending"), Type.Literal("approved"), Type.Literal("denied"), Type.Literal("expired"), Type.Literal("failed")]),
    expiresAt: Instant,
    interval: Type.Integer({ description: "Seconds between polls of the provider" }),
    session: Type.Optional(Type.String({ description: "Session handle (status approved): send it as X-Session" })),
    error: Type.Optional(Type.Object({ code: Type.String(), detail: Type.String() }, { description: "Why it ended (denied, expired, failed): a code of docs/errors.md" })),
  },
  {
    examples: [
      { id: "psb_3kL9mN2pQ5rS8tU1vW4xY7zA0bC3dE6fG9hJ2kL5mN8", status: "pending", expiresAt: "2026-11-23T09:16:03.120Z", interval: 5 },
      {
        id: "psb_3kL9mN2pQ5rS8tU1vW4xY7zA0bC3dE6fG9hJ2kL5mN8",
        status: "denied",
        expiresAt: "2026-11-23T09:16:03.120Z",
        interval: 5,
        error: { code: "PASSERELLE_AUTH_DENIED", detail: "The practitioner refused the authentication request" },
      },
    ],
  },
);

export const ValidateTokenBodySchema = Type.Object(
  {
    provider: Type.String({ minLength: 1, maxLength: 64, description: "Identity provider id whose access token this is (e.g. lu-aes)" }),
    token: Type.String({ minLength: 1, maxLength: 16384 }),
  },
  { additionalProperties: false, examples: [{ provider: "lu-aes", token: "eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCJ9..." }] },
);

export const ValidatedTokenSchema = Type.Object(
  {
    active: Type.Literal(true),
    provider: Type.String(),
    issuer: Type.String(),
    subject: Type.String(),
    audience: Type.Array(Type.String()),
    authorizedParty: Type.Optional(Type.String()),
    scope: Type.Optional(Type.String()),
    expiresAt: Instant,
    practitionerId: Type.Optional(Type.String()),
  },
  {
    examples: [
      {
        active: true,
        provider: "lu-aes",
        issuer: "https://aes.example/auth/realms/default",
        subject: "ebc623f8-4521-4026-a56e-037ccf7a5a0b",
        audience: ["passerelle-aes-app"],
        authorizedParty: "passerelle-aes-app",
        scope: "openid profile",
        expiresAt: "2026-11-23T09:19:03.000Z",
        practitionerId: "101234-56",
      },
    ],
  },
);

export const SystemTokenParamsSchema = Type.Object({ clientId: ClientId });

export const SystemTokenSchema = Type.Object(
  {
    accessToken: Type.String(),
    tokenType: Type.String(),
    expiresAt: Instant,
    scope: Type.Optional(Type.String()),
  },
  { examples: [{ accessToken: "eyJhbGciOiJSUzI1NiJ9...", tokenType: "bearer", expiresAt: "2026-11-23T09:19:03.000Z" }] },
);
