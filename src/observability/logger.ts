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

/**
 * The structured JSON logger. Every logged object goes through redactDeep
 * (secrets and national identifiers by key and by shape), and request URLs are
 * logged without their query string, where identifiers tend to travel.
 */
export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level,
    base: { service: settings.name ?? "passerelle" },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      level: (label) => ({ level: label }),
      log: (object) => redactDeep(object) as Record<string, unknown>,
    },
    hooks: {
      logMethod(args, method) {
        const redacted = args.map((a) => (typeof a === "string" ? redactString(a) : a)) as Parameters<typeof method>;
        method.apply(this, redacted);
      },
    },
    serializers: {
      req: (req: SerializableRequest) => ({
        id: req.id,
        method: req.method,
        path: req.url?.split("?")[0],
        remoteAddress: req.socket?.remoteAddress,
      }),
      res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
      err: pino.stdSerializers.err,
    },
  };
  return settings.destination ? pino(options, settings.destination) : pino(options);
}
