import type { FastifyReply } from "fastify";
import { handlerTimedOut } from "./request-lifecycle.js";

/**
 * A signal that fires when nobody waits for the answer any more: the caller
 * closed the connection before its answer was written, or the request
 * overran REQUEST_TIMEOUT_MS and was answered 503 already. The services pass
 * it to their upstream calls, so that an abandoned request stops its KMS, TSA
 * or mySecu exchanges.
 *
 * Read from the response, when it closes — not from Fastify's
 * `request.signal`, which also fires once the request's body has been read
 * (IncomingMessage "close").
 */
export function callerGoneSignal(reply: FastifyReply): AbortSignal {
  const gone = new AbortController();
  reply.raw.once("close", () => {
    if (handlerTimedOut(reply)) gone.abort(new Error("The request took longer than REQUEST_TIMEOUT_MS"));
    else if (!reply.raw.writableFinished) gone.abort(new Error("The caller closed the connection"));
  });
  return gone.signal;
}
