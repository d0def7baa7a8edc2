import pino, { type DestinationStream } from "pino";

/** What CoalescingDestination writes to: pino's destination (sonic-boom), or any stream that can flush synchronously. */
export interface FlushableDestination extends DestinationStream {
  flushSync(): void;
}

/**
 * A pino destination that hands the lines written in one event-loop turn to
 * its target as one string, at the end of the turn.
 *
 * Under load a turn serves tens of requests, each with its access line: one
 * write(2) per turn rather than one per line. (It was first written for
 * sonic-boom's asynchronous mode, which appends each line to the text waiting
 * behind the write in flight and measures that text again on every append;
 * stdout is now written synchronously, see stdoutDestination.)
 *
 * Order is kept, and no line waits past the current turn. `flushSync()` writes
 * what is pending, then flushes the target; the stdout destination does so at
 * process exit.
 */
export class CoalescingDestination implements FlushableDestination {
  readonly #target: FlushableDestination;
  readonly #pending: string[] = [];
  #scheduled = false;

  constructor(target: FlushableDestination) {
    this.#target = target;
  }

  write(line: string): void {
    this.#pending.push(line);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
  }

  flushSync(): void {
    this.#flush();
    this.#target.flushSync();
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    if (this.#pending.length === 0) return;
    const text = this.#pending.length === 1 ? (this.#pending[0] as string) : this.#pending.join("");
    this.#pending.length = 0;
    this.#target.write(text);
  };
}

let stdout: CoalescingDestination | undefined;

/**
 * The process's stdout for logs, shared by every logger that writes there:
 * coalesced per turn, written synchronously (pino's default mode), and flushed
 * at exit.
 *
 * Not asynchronously: sonic-boom's asynchronous mode keeps the text logged
 * while its write is in flight on the heap until the write completes, and under
 * load that text outlived two young collections and was promoted. With the
 * access line on, 8 s of wrk on GET /v1/caller promoted 29–42 MB (3.3 MB
 * written synchronously, as with the access line off), and the gateway's RSS
 * rose by some 20 MB instead of 6 (README, "Memory"). A synchronous write also
 * keeps memory bounded when the reader of stdout is slow (it waits for the
 * reader, as a blocking Docker log driver does, instead of queueing without
 * limit) and loses no line if the process dies.
 */
export function stdoutDestination(): CoalescingDestination {
  if (stdout === undefined) {
    const destination = new CoalescingDestination(pino.destination({ dest: 1, sync: true }));
    // Prepended: pino's exit handler (registered when its destination was made) flushes the destination underneath,
    // and must find these lines there.
    process.prependListener("exit", () => {
      try {
        destination.flushSync();
      } catch {
        // stdout is gone (a closed pipe): nothing can be written any more.
      }
    });
    stdout = destination;
  }
  return stdout;
}
