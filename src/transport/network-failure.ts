/**
 * Turns what Node and undici throw when a connection or exchange fails into a
 * sentence an operator can act on ("certificate not trusted", "connection
 * refused"). Only error *codes* are used: Node's OpenSSL messages
 * (`error:0A000086:SSL routines::certificate verify failed`) say nothing more
 * and the raw error stays available as the `cause` for the log.
 */
import type { UpstreamErrorKind } from "./errors.js";

export interface NetworkFailure {
  kind: Extract<UpstreamErrorKind, "timeout" | "unreachable" | "tls">;
  /** Caller-facing sentence naming the upstream. */
  detail: string;
  /**
   * Whether trying again may help. A certificate that is not trusted today
   * will not be trusted in 200 ms, so TLS verification failures are final.
   */
  transient: boolean;
}

export interface NetworkFailureContext {
  upstream: string;
  connectTimeoutMs: number;
  timeoutMs: number;
  /** Whether this client presents a certificate (mutual TLS). */
  presentsClientCertificate: boolean;
}

/**
 * undici's `SocketError` carries counters of the failed socket; `bytesRead`
 * counts application data, so 0 means the server closed the connection
 * without ever answering on it (not a stale keep-alive connection).
 */
function closedBeforeAnyAnswer(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const { code, socket } = error as { code?: unknown; socket?: { bytesRead?: unknown } };
  return code === "UND_ERR_SOCKET" && socket?.bytesRead === 0;
}

/** Verification failures of the upstream's certificate (OpenSSL X509_V_ERR_* names, as Node reports them). */
const SERVER_CERTIFICATE_REASONS: Readonly<Record<string, string>> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "certificate not trusted",
  DEPTH_ZERO_SELF_SIGNED_CERT: "certificate not trusted (self-signed)",
  SELF_SIGNED_CERT_IN_CHAIN: "certificate not trusted (self-signed certificate in chain)",
  UNABLE_TO_GET_ISSUER_CERT: "certificate not trusted (issuer unknown)",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "certificate not trusted (issuer unknown)",
  CERT_UNTRUSTED: "certificate not trusted",
  CERT_REJECTED: "certificate not trusted",
  INVALID_CA: "certificate not trusted (invalid CA certificate)",
  CERT_SIGNATURE_FAILURE: "certificate signature invalid",
  CERT_HAS_EXPIRED: "certificate expired",
  CERT_NOT_YET_VALID: "certificate not yet valid",
  CERT_REVOKED: "certificate revoked",
  ERR_TLS_CERT_ALTNAME_INVALID: "certificate does not match the host name",
};

/**
 * TLS alerts the upstream sent us (RFC 8446 §6.2). With TLS 1.3 the server
 * checks our certificate after the client considers the handshake done, so
 * these may surface on the first read rather than during connect.
 */
const PEER_ALERT_REASONS: Readonly<Record<string, string>> = {
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: "the server requires a client certificate",
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: "the server rejected our client certificate",
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN: "the server rejected our client certificate",
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: "the server does not trust the issuer of our client certificate",
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: "the server says our client certificate has expired",
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_REVOKED: "the server says our client certificate is revoked",
  ERR_SSL_TLSV1_ALERT_ACCESS_DENIED: "the server denied access to our client certificate",
  ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION: "no TLS version in common with the server",
};

const CONNECTION_REASONS: Readonly<Record<string, string>> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  EPIPE: "connection closed while sending",
  UND_ERR_SOCKET: "connection closed unexpectedly",
  UND_ERR_CLOSED: "connection closed unexpectedly",
  ENOTFOUND: "host name not found",
  EAI_AGAIN: "host name resolution failed",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  EHOSTDOWN: "host down",
  ETIMEDOUT: "connection timed out",
};

/** Every `code` found on the error, its `cause` chain and, for happy-eyeballs failures, its `AggregateError` members. */
function collectCodes(error: unknown, codes: string[] = [], depth = 0): string[] {
  if (depth > 5 || typeof error !== "object" || error === null) return codes;
  const { code, cause, errors } = error as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === "string") codes.push(code);
  if (Array.isArray(errors)) for (const member of errors) collectCodes(member, codes, depth + 1);
  collectCodes(cause, codes, depth + 1);
  return codes;
}

export function describeNetworkFailure(error: unknown, context: NetworkFailureContext): NetworkFailure {
  const { upstream } = context;
  const codes = collectCodes(error);

  for (const code of codes) {
    const serverReason = SERVER_CERTIFICATE_REASONS[code];
    if (serverReason !== undefined) {
      return { kind: "tls", transient: false, detail: `TLS handshake with ${upstream} failed: ${serverReason}` };
    }
    const alertReason = PEER_ALERT_REASONS[code];
    if (alertReason !== undefined) {
      return { kind: "tls", transient: false, detail: `TLS handshake with ${upstream} failed: ${alertReason}` };
    }
    if (code === "ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE") {
      // TLS 1.2 servers answer a missing client certificate with a bare handshake_failure alert.
      const hint = context.presentsClientCertificate
        ? "no common cipher or protocol, or our client certificate was refused"
        : "the server may require a client certificate";
      return { kind: "tls", transient: false, detail: `TLS handshake with ${upstream} failed: ${hint}` };
    }
  }

  for (const code of codes) {
    if (code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT") {
      return { kind: "timeout", transient: true, detail: `Upstream ${upstream} timed out after ${context.timeoutMs} ms` };
    }
    if (code === "UND_ERR_CONNECT_TIMEOUT") {
      // Nothing was sent: the upstream is unreachable (503), not slow to answer (504).
      return {
        kind: "unreachable",
        transient: true,
        detail: `Upstream ${upstream} unreachable: connection timed out after ${context.connectTimeoutMs} ms`,
      };
    }
    if (code === "UND_ERR_SOCKET" && closedBeforeAnyAnswer(error)) {
      // Some servers (Node's own among them) refuse a client certificate by
      // closing the connection after the handshake, with no TLS alert.
      const hint = context.presentsClientCertificate ? "; it may have refused our client certificate" : "";
      return {
        kind: "unreachable",
        transient: true,
        detail: `Upstream ${upstream} unreachable: connection closed by the server before any answer${hint}`,
      };
    }
    const reason = CONNECTION_REASONS[code];
    if (reason !== undefined) {
      return { kind: "unreachable", transient: true, detail: `Upstream ${upstream} unreachable: ${reason}` };
    }
  }

  // Any other OpenSSL or Node TLS failure: the code is safe to show and enough to search for.
  const tlsCode = codes.find((code) => code.startsWith("ERR_SSL_") || code.startsWith("ERR_TLS_"));
  if (tlsCode !== undefined) {
    return { kind: "tls", transient: false, detail: `TLS handshake with ${upstream} failed: ${tlsCode}` };
  }

  const firstCode = codes[0];
  return {
    kind: "unreachable",
    transient: true,
    detail: `Upstream ${upstream} unreachable: request failed${firstCode === undefined ? "" : ` (${firstCode})`}`,
  };
}
