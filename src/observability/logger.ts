import pino, { type DestinationStream, type Logger, type LoggerOptions } from "pino";
import { stdoutDestination } from "./log-destination.js";
import { redactDeep, redactString } from "./redact.js";

export interface LoggerSettings {
  level: string;
  /** Defaults to stdout. Tests pass a stream to read what was logged. */
  destination?: DestinationStream;
  name?: string;
}

interface SerializableRequest {
  id?: string;
  method?: string;
  url?: string;
  socket?: { remoteAddress?: string | undefined };
}

const SERIALIZERS: Partial<Record<string, (value: never) => unknown>> = {
  req: (req: SerializableRequest) => ({
    id: req.id,
    method: req.method,
    path: req.url?.split("?")[0],
    remoteAddress: req.socket?.remoteAddress,
  }),
  res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
  err: (err: Error) => (err instanceof Error ? pino.stdSerializers.err(err) : err),
};

/**
 * Serialises the well-known keys first (pino runs `formatters.log` before its
 * own serializers, and walking a raw Fastify request or socket would be both
 * slow and pointless), then redacts the result.
 */
function serializeAndRedact(object: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) {
    const serialize = SERIALIZERS[key];
    out[key] = serialize !== undefined && value !== null && typeof value === "object" ? serialize(value as never) : value;
  }
  return redactDeep(out) as Record<string, unknown>;
}

/**
 * pino's isoTime, formatted once per millisecond: a busy gateway logs several
 * lines per millisecond, and Date#toISOString is a visible share of a line.
 */
function isoTimeMemo(): () => string {
  let lastMs = -1;
  let last = "";
  return () => {
    const now = Date.now();
    if (now !== lastMs) {
      lastMs = now;
      last = `,"time":"${new Date(now).toISOString()}"`;
    }
    return last;
  };
}

/** Loggers made by createLogger: the ones whose line format accessLogWriter reproduces. */
const OWN_LOGGERS = new WeakSet<Logger>();

/**
 * The structured JSON logger. Every logged object goes through redactDeep
 * (secrets and national identifiers by key and by shape), and request URLs are
 * logged without their query string, where identifiers tend to travel.
 */
export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level,
    base: { service: settings.name ?? "passerelle" },
    timestamp: isoTimeMemo(),
    formatters: {
      level: (label) => ({ level: label }),
      log: serializeAndRedact,
    },
    hooks: {
      logMethod(args, method) {
        const redacted = args.map((a) => (typeof a === "string" ? redactString(a) : a)) as Parameters<typeof method>;
        method.apply(this, redacted);
      },
    },
  };
  // Without a destination: stdout, the lines of each event-loop turn written as one string, synchronously (see
  // log-destination.ts), and what is pending flushed when the process exits. The audit trail, which must not lose
  // a record, has its own fsynced sink.
  const logger = pino(options, settings.destination ?? stdoutDestination());
  OWN_LOGGERS.add(logger);
  return logger;
}

/** What the one log line per request says. */
export interface AccessLogEntry {
  reqId: string;
  method: string;
  /** Without its query string. Redacted here, like every logged string. */
  path: string;
  status: number;
  responseTimeMs: number;
  caller: string | undefined;
  remoteAddress: string | undefined;
}

/**
 * The "request completed" line, written to `logger`'s destination as the
 * line `logger.child({ reqId }).info(entry, "request completed")` would be,
 * field for field, without the generic path: no child logger, no walk of the
 * object for secrets (the fields are known: only the path can carry an
 * identifier, and it is redacted), no serializers. That path costs several
 * times this one, and every request takes it. A logger not made by
 * createLogger (an embedder's) gets the generic call.
 */
export function accessLogWriter(logger: Logger): (entry: AccessLogEntry) => void {
  if (!OWN_LOGGERS.has(logger)) {
    return ({ reqId, ...fields }) => logger.child({ reqId }).info(fields, "request completed");
  }
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as DestinationStream;
  const time = (logger as unknown as Record<symbol, unknown>)[pino.symbols.timeSym] as () => string;
  const bindings = (logger as unknown as Record<symbol, unknown>)[pino.symbols.chindingsSym] as string;
  const text = JSON.stringify;
  return (e) => {
    if (!logger.isLevelEnabled("info")) return;
    const caller = e.caller === undefined ? "" : `,"caller":${text(e.caller)}`;
    const address = e.remoteAddress === undefined ? "" : `,"remoteAddress":${text(e.remoteAddress)}`;
    stream.write(
      `{"level":"info"${time()}${bindings},"reqId":${text(e.reqId)},"method":${text(e.method)},"path":${text(redactString(e.path))},` +
        `"status":${e.status},"responseTimeMs":${e.responseTimeMs}${caller}${address},"msg":"request completed"}\n`,
    );
  };
}
