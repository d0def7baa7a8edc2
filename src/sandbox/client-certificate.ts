/**
 * The certificate a client presented on a mutual-TLS simulator. With
 * `requestClientCertificate` the handshake already rejected clients without a
 * certificate chaining to the sandbox root, so a handler only decides *who*
 * the client is (subject, serial number, key usage for its service).
 */
import type { X509Certificate } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { TLSSocket } from "node:tls";

/** The verified client certificate of this request, or `undefined` on a connection without one. */
export function clientCertificateOf(req: IncomingMessage): X509Certificate | undefined {
  const socket = req.socket;
  if (!(socket instanceof TLSSocket) || !socket.authorized) return undefined;
  return socket.getPeerX509Certificate();
}
