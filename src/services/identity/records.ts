/**
 * What the identity service keeps in the vault, and under which keys.
 *
 * Every record is JSON in a vault value (encrypted at rest by the vault) and
 * is written with the calling software's id as owner, checked on every read:
 * a handle or id obtained by one caller is useless to another.
 *
 * Keys never contain the secret that reaches the caller or the browser: a
 * session handle, login ticket, `state` or one-time login code is 256 random
 * bits, and the vault key is `identity:<kind>:` + SHA-256 of it. Keys are
 * stored in clear (see src/vault/types.ts), so a dump of Redis reveals
 * neither handles nor tokens.
 */
import { createHash, randomBytes } from "node:crypto";

export type RecordKind = "session" | "login-ticket" | "login-state" | "login-result" | "ciba";

/** 256 bits (RFC 6749 §10.10 asks ≥ 128 for guessable values), base64url, with a readable prefix. */
export function newSecret(prefix: string): string {
  return `${prefix}${randomBytes(32).toString("base64url")}`;
}

export function vaultKeyOf(kind: RecordKind, secret: string): string {
  return `identity:${kind}:${createHash("sha256").update(secret, "utf8").digest("base64url")}`;
}

/** SHA-256 digest for comparing a secret with a stored one (browser binding). */
export function digestOf(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("base64url");
}

/** Handles, tickets and codes are our own format: anything else is refused before touching the vault. */
export function looksLikeSecret(value: unknown, prefix: string): value is string {
  return typeof value === "string" && value.length === prefix.length + 43 && value.startsWith(prefix) && /^[A-Za-z0-9_-]+$/.test(value.slice(prefix.length));
}

export const SESSION_PREFIX = "pss_";
export const LOGIN_TICKET_PREFIX = "psl_";
export const LOGIN_CODE_PREFIX = "psc_";
export const CIBA_PREFIX = "psb_";

/** A logged-in practitioner. Times in epoch milliseconds unless named `…Sec`. */
export interface SessionRecord {
  v: 1;
  provider: string;
  clientId: string;
  method: "code" | "ciba";
  issuer: string;
  subject: string;
  practitionerId: string | undefined;
  givenName: string | undefined;
  familyName: string | undefined;
  acr: string | undefined;
  scope: string | undefined;
  accessToken: string;
  tokenType: string;
  /** Epoch seconds. */
  accessTokenExpiresAt: number | undefined;
  refreshToken: string | undefined;
  /** Epoch seconds: when the refresh token (hence the session) ends. */
  sessionExpiresAt: number;
  idToken: string | undefined;
  createdAt: number;
  refreshedAt: number | undefined;
  /** Set while one gateway instance refreshes (see service.ts `refresh`). */
  refreshLease: { holder: string; until: number } | undefined;
}

export interface LoginTicketRecord {
  v: 1;
  clientId: string;
  returnUrl: string;
  callerState: string | undefined;
  scope: string | undefined;
  acrValues: string | undefined;
  loginHint: string | undefined;
  prompt: string | undefined;
  requestId: string;
  used: boolean;
}

export interface LoginStateRecord {
  v: 1;
  clientId: string;
  returnUrl: string;
  callerState: string | undefined;
  redirectUri: string;
  codeVerifier: string;
  nonce: string;
  /** SHA-256 of the cookie set in the browser that started the login. */
  browserBinding: string;
  requestId: string;
  used: boolean;
}

export interface LoginFailure {
  code: string;
  detail: string;
  extensions: Record<string, unknown> | undefined;
}

export interface LoginResultRecord {
  v: 1;
  clientId: string;
  /** The session to create when the caller claims the result, or why the login failed. */
  session: SessionRecord | undefined;
  failure: LoginFailure | undefined;
  used: boolean;
}

export type CibaStatus = "pending" | "approved" | "denied" | "expired" | "failed";

export interface CibaRecord {
  v: 1;
  clientId: string;
  provider: string;
  authReqId: string;
  loginHint: string;
  /** Seconds; grows by 5 on every slow_down (CIBA Core §11). */
  interval: number;
  nextPollAt: number;
  expiresAt: number;
  status: CibaStatus;
  /** The poller currently asking the provider, so no other instance asks at the same time. */
  lease: { holder: string; until: number } | undefined;
  sessionHandle: string | undefined;
  failure: LoginFailure | undefined;
  requestId: string;
  createdAt: number;
}

/** Parses a stored record; a value that is not ours (another version, corruption) reads as absent. */
export function parseRecord<T extends { v: 1 }>(value: string): T | undefined {
  try {
    const parsed = JSON.parse(value) as unknown;
    return typeof parsed === "object" && parsed !== null && (parsed as { v?: unknown }).v === 1 ? (parsed as T) : undefined;
  } catch {
    return undefined;
  }
}
