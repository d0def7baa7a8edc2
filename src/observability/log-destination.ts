import { writeSync } from "node:fs";
import type { DestinationStream } from "pino";

/** What CoalescingDestination writes to: a FileDescriptorWriter, or any stream that can flush synchronously. */
export interface FlushableDestination extends DestinationStream {
  flushSync(): void;
}

/**
 * A pino destination that hands the lines written in one event-loop turn to
 * its target as one string, at the end of the turn.
 *
 * Under load a turn serves tens of requests, each with its access line: one
 * write(2) per turn rather than one per line.
 *
 * Order is kept, and no line waits past the current turn. `flushSync()` writes
 * what is pending, then flushes the target. At process exit, when no later
 * turn comes, `writeThrough()` flushes and then hands every further line to the
 * target at once (the stdout destination does so).
 */
export class CoalescingDestination implements FlushableDestination {
  readonly #target: FlushableDestination;
  readonly #pending: string[] = [];
  #scheduled = false;
  #throughToTarget = false;

  constructor(target: FlushableDestination) {
    this.#target = target;
  }

  write(line: string): void {
    if (this.#throughToTarget) {
      try {
        this.#target.write(line);
      } catch {
        // The process is exiting and its log cannot be written: nothing more can be done with the line.
      }
      return;
    }
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

  /** Flushes, then writes each later line as it comes: for the process's last moments, when no turn ends. */
  writeThrough(): void {
    this.flushSync();
    this.#throughToTarget = true;
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    if (this.#pending.length === 0) return;
    const text = this.#pending.length === 1 ? (this.#pending[0] as string) : this.#pending.join("");
    this.#pending.length = 0;
    this.#target.write(text);
  };
}

/** Milliseconds to wait before writing again to a descriptor that would block (EAGAIN): sonic-boom waits 100. */
const WOULD_BLOCK_WAIT_MS = 10;
const waitCell = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes text to a file descriptor synchronously and whole: a partial write is
 * continued, a descriptor that would block (a non-blocking pipe that is full)
 * is waited for, and once the reader is gone (EPIPE) lines are dropped, as
 * pino drops them. Other errors are thrown to the caller.
 *
 * Not sonic-boom (pino.destination), which converts every string it has
 * written into a Buffer to account for a possible partial write. Under load
 * that is one Buffer of a turn's lines (often 8 kB and more) per turn, and
 * with 4 MB semi-spaces it cost 15 % of the gateway's throughput on
 * GET /v1/caller in paired runs (0.85 times; the same without the conversion,
 * 1.03). Here the text goes to write(2) as a string, and is converted only in
 * the rare case of a partial write.
 */
export class FileDescriptorWriter implements FlushableDestination {
  readonly #fd: number;
  #readerGone = false;

  constructor(fd: number) {
    this.#fd = fd;
  }

  write(text: string): void {
    if (this.#readerGone || text.length === 0) return;
    const written = this.#writeOnce(text);
    if (written === null || written === Buffer.byteLength(text)) return;
    // A partial write (or EAGAIN): the rest, in bytes, until it is all written.
    let rest = Buffer.from(text).subarray(written);
    while (rest.length > 0) {
      const more = this.#writeOnce(rest);
      if (more === null) return;
      rest = rest.subarray(more);
    }
  }

  flushSync(): void {
    // Nothing is buffered here.
  }

  /** Bytes written, 0 after waiting out EAGAIN, or null once the reader is gone. */
  #writeOnce(data: string | Buffer): number | null {
    try {
      return typeof data === "string" ? writeSync(this.#fd, data, null, "utf8") : writeSync(this.#fd, data);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EAGAIN") {
        Atomics.wait(waitCell, 0, 0, WOULD_BLOCK_WAIT_MS);
        return 0;
      }
      if (code === "EPIPE") {
        this.#readerGone = true;
        return null;
      }
      throw error;
    }
  }
}

let stdout: CoalescingDestination | undefined;

/**
 * The process's stdout for logs, shared by every logger that writes there:
 * coalesced per turn, written synchronously (pino's default mode, without
 * sonic-boom: see FileDescriptorWriter), and flushed at exit.
 *
 * Not asynchronously: sonic-boom's asynchronous mode keeps the text logged
 * while its write is in flight on the heap until the write completes, and under
 * load that text outlived two young collections and was promoted. With the
 * access line on, 8 s of wrk on GET /v1/caller promoted 29–42 MB (3.3 MB
 * written synchronously, as with the access line off), and the gateway's RSS
 * rose by some 20 MB instead of 6 (README, Architecture). A synchronous write also
 * keeps memory bounded when the reader of stdout is slow (it waits for the
 * reader, as a blocking Docker log driver does, instead of queueing without
 * limit) and loses no line if the process dies.
 */
export function stdoutDestination(): CoalescingDestination {
  if (stdout === undefined) {
    const destination = new CoalescingDestination(new FileDescriptorWriter(1));
    // Whichever exit listeners run before this one, their lines are pending and flushed here; those that
    // run after it are written as they come.
    process.on("exit", () => {
      try {
        destination.writeThrough();
      } catch {
        // stdout is unusable: nothing can be written any more.
      }
    });
    stdout = destination;
  }
  return stdout;
}
