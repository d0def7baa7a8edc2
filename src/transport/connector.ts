/**
 * The socket factory of an upstream pool: undici's own connector, plus one
 * fix that makes mutual-TLS failures intelligible.
 *
 * In TLS 1.3 the client finishes its handshake before the server has judged
 * the client certificate (RFC 8446 §4.4.2.4: the server's verdict arrives as
 * an alert, `certificate_required` or `unknown_ca`, after our request has
 * been written). Node emits the alert as an `error` and then, the peer
 * having closed, an `end`; undici turns that `end` into
 * `SocketError: other side closed`, overwriting the alert. Destroying the
 * socket as soon as a TLS alert arrives suppresses the `end`, so the request
 * fails with the alert itself (e.g. `ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED`).
 * Every TLS error alert is fatal (RFC 8446 §6.2), so nothing is lost.
 */
import type { buildConnector as UndiciConnector } from "undici";
import { buildConnector } from "./undici-parts.js";

export type UpstreamConnectOptions = UndiciConnector.BuildOptions;

export function buildUpstreamConnector(options: UpstreamConnectOptions): UndiciConnector.connector {
  const connect = buildConnector(options);
  return (target, callback) => {
    connect(target, (error, socket) => {
      // undici calls back with `(error)` alone on failure, so `socket` may be undefined despite its type.
      if (error === null && socket) {
        // Registered before undici's own listeners, so this runs first.
        socket.on("error", (socketError: NodeJS.ErrnoException) => {
          if (socketError.code?.startsWith("ERR_SSL_") === true) socket.destroy();
        });
      }
      // The callback's two shapes ([null, socket] | [error, null]) do not survive a spread; rebuild them.
      if (error !== null || !socket) callback(error ?? new Error("connector returned no socket"), null);
      else callback(null, socket);
    });
  };
}
