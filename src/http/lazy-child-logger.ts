/**
 * Fastify gives every request its own child logger (`request.log`, bound to
 * the request id). Most requests never log through it — their one line is
 * written by app.ts's access log — and making a pino child for each was a
 * visible share of a cheap request. This factory hands Fastify a logger that
 * makes the child on its first use, with the same bindings and options.
 */
import type { FastifyBaseLogger } from "fastify";
import type { Bindings, ChildLoggerOptions, LevelWithSilentOrString } from "pino";

type LogMethod = (...args: unknown[]) => void;

class LazyChildLogger implements FastifyBaseLogger {
  readonly #parent: FastifyBaseLogger;
  readonly #bindings: Bindings;
  readonly #options: ChildLoggerOptions;
  #child: FastifyBaseLogger | undefined;

  constructor(parent: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions) {
    this.#parent = parent;
    this.#bindings = bindings;
    this.#options = options;
  }

  get #logger(): FastifyBaseLogger {
    return (this.#child ??= this.#parent.child(this.#bindings, this.#options));
  }

  #call(method: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent", args: unknown[]): void {
    const logger = this.#logger;
    (logger[method] as LogMethod).apply(logger, args);
  }

  get level(): LevelWithSilentOrString {
    return this.#logger.level;
  }

  set level(level: LevelWithSilentOrString) {
    this.#logger.level = level;
  }

  // Methods on the prototype, not arrow-function fields: nothing allocated per request but the object itself.
  fatal(...args: unknown[]): void {
    this.#call("fatal", args);
  }

  error(...args: unknown[]): void {
    this.#call("error", args);
  }

  warn(...args: unknown[]): void {
    this.#call("warn", args);
  }

  info(...args: unknown[]): void {
    this.#call("info", args);
  }

  debug(...args: unknown[]): void {
    this.#call("debug", args);
  }

  trace(...args: unknown[]): void {
    this.#call("trace", args);
  }

  silent(...args: unknown[]): void {
    this.#call("silent", args);
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#logger.child(bindings, options);
  }
}

/** Fastify's `childLoggerFactory` option. */
export function lazyChildLoggerFactory(logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  return new LazyChildLogger(logger, bindings, options);
}
