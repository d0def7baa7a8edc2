import pino, { type DestinationStream, type Logger, type LoggerOptions } from "pino";
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
  // Without a destination: stdout, written asynchronously (sonic-boom coalesces the lines logged while a write is
  // in flight, so a busy gateway makes few write calls), which pino flushes
  // synchronously when the process exits. The audit trail, which must not lose a record, has its own fsynced sink.
  return pino(options, settings.destination ?? pino.destination({ dest: 1, sync: false }));
}
