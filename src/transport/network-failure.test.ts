import { describe, expect, it } from "vitest";
import { describeNetworkFailure } from "./network-failure.js";
import type { NetworkFailureContext } from "./network-failure.js";

const context: NetworkFailureContext = {
  upstream: "fr-dmp",
  connectTimeoutMs: 5_000,
  timeoutMs: 30_000,
  presentsClientCertificate: true,
};

function nodeError(code: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`some low-level message for ${code}`), { code, ...extra });
}

describe("describeNetworkFailure", () => {
  it.each([
    ["UNABLE_TO_VERIFY_LEAF_SIGNATURE", "certificate not trusted"],
    ["DEPTH_ZERO_SELF_SIGNED_CERT", "certificate not trusted (self-signed)"],
    ["SELF_SIGNED_CERT_IN_CHAIN", "certificate not trusted (self-signed certificate in chain)"],
    ["CERT_HAS_EXPIRED", "certificate expired"],
    ["CERT_NOT_YET_VALID", "certificate not yet valid"],
    ["ERR_TLS_CERT_ALTNAME_INVALID", "certificate does not match the host name"],
    ["ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED", "the server requires a client certificate"],
    ["ERR_SSL_TLSV1_ALERT_UNKNOWN_CA", "the server does not trust the issuer of our client certificate"],
    ["ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE", "the server rejected our client certificate"],
    ["ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED", "the server says our client certificate has expired"],
    ["ERR_SSL_WRONG_VERSION_NUMBER", "ERR_SSL_WRONG_VERSION_NUMBER"],
  ])("reports %s as a final TLS failure", (code, reason) => {
    expect(describeNetworkFailure(nodeError(code), context)).toEqual({
      kind: "tls",
      transient: false,
      detail: `TLS handshake with fr-dmp failed: ${reason}`,
    });
  });

  it("tells a TLS 1.2 handshake_failure apart by whether we present a certificate", () => {
    const error = nodeError("ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE");
    expect(describeNetworkFailure(error, { ...context, presentsClientCertificate: false }).detail).toBe(
      "TLS handshake with fr-dmp failed: the server may require a client certificate",
    );
    expect(describeNetworkFailure(error, context).detail).toBe(
      "TLS handshake with fr-dmp failed: no common cipher or protocol, or our client certificate was refused",
    );
  });

  it.each([
    ["ECONNREFUSED", "connection refused"],
    ["ENOTFOUND", "host name not found"],
    ["ECONNRESET", "connection reset"],
    ["EHOSTUNREACH", "host unreachable"],
  ])("reports %s as a transient unreachable upstream", (code, reason) => {
    expect(describeNetworkFailure(nodeError(code), context)).toEqual({
      kind: "unreachable",
      transient: true,
      detail: `Upstream fr-dmp unreachable: ${reason}`,
    });
  });

  it("reports a connect timeout as unreachable (nothing was sent) and a headers timeout as a timeout", () => {
    expect(describeNetworkFailure(nodeError("UND_ERR_CONNECT_TIMEOUT"), context)).toEqual({
      kind: "unreachable",
      transient: true,
      detail: "Upstream fr-dmp unreachable: connection timed out after 5000 ms",
    });
    expect(describeNetworkFailure(nodeError("UND_ERR_HEADERS_TIMEOUT"), context)).toEqual({
      kind: "timeout",
      transient: true,
      detail: "Upstream fr-dmp timed out after 30000 ms",
    });
    expect(describeNetworkFailure(nodeError("UND_ERR_BODY_TIMEOUT"), context).kind).toBe("timeout");
  });

  it("finds the code in a cause chain and in happy-eyeballs AggregateErrors", () => {
    const wrapped = new Error("fetch failed", { cause: nodeError("CERT_HAS_EXPIRED") });
    expect(describeNetworkFailure(wrapped, context).detail).toBe("TLS handshake with fr-dmp failed: certificate expired");
    const aggregate = new AggregateError([nodeError("ECONNREFUSED"), nodeError("ECONNREFUSED")], "connect failed");
    expect(describeNetworkFailure(aggregate, context).detail).toBe("Upstream fr-dmp unreachable: connection refused");
  });

  it("distinguishes a connection closed before any answer from one closed mid-exchange", () => {
    const fresh = nodeError("UND_ERR_SOCKET", { socket: { bytesRead: 0 } });
    expect(describeNetworkFailure(fresh, context).detail).toBe(
      "Upstream fr-dmp unreachable: connection closed by the server before any answer; it may have refused our client certificate",
    );
    expect(describeNetworkFailure(fresh, { ...context, presentsClientCertificate: false }).detail).toBe(
      "Upstream fr-dmp unreachable: connection closed by the server before any answer",
    );
    const midway = nodeError("UND_ERR_SOCKET", { socket: { bytesRead: 120 } });
    expect(describeNetworkFailure(midway, context).detail).toBe("Upstream fr-dmp unreachable: connection closed unexpectedly");
  });

  it("never quotes the low-level message, only the code", () => {
    const failure = describeNetworkFailure(nodeError("EWHATEVER"), context);
    expect(failure).toEqual({ kind: "unreachable", transient: true, detail: "Upstream fr-dmp unreachable: request failed (EWHATEVER)" });
    expect(describeNetworkFailure(new Error("no code at all"), context).detail).toBe(
      "Upstream fr-dmp unreachable: request failed",
    );
  });
});
