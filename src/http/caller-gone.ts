import type { FastifyReply } from "fastify";

/**
 * A signal that fires when the caller goes away before its answer is
 * written: what the services pass to their upstream calls, so that a
 * cancelled request stops its KMS, TSA or mySecu exchanges.
 *
 * Read from the response, closed before it finished — not from Fastify's
 * `request.signal`, which also fires once the request's body has been read
 * (IncomingMessage "close").
 */
export function callerGoneSignal(reply: FastifyReply): AbortSignal {
  const gone = new AbortController();
  reply.raw.once("close", () => {
    if (!reply.raw.writableFinished) gone.abort(new Error("The caller closed the connection"));
  });
  return gone.signal;
}
