import { type DestinationStream, type Logger, pino } from 'pino';
import { maskSecrets, redact } from './redact.ts';

export type { Logger };

export interface LoggerOptions {
  level: string;
  format: 'auto' | 'json' | 'pretty';
  /** Where lines go; stdout by default. Tests pass a stream to capture every line. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const pretty = options.format === 'pretty' || (options.format === 'auto' && process.stdout.isTTY === true);
  const base = {
    level: options.level,
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    // redact() already turned errors into safe objects; pino's own serializer would undo that.
    serializers: { err: (value: unknown) => value },

    formatters: {
      level: (label: string) => ({ level: label }),
      log: (object: Record<string, unknown>) => redact(object) as Record<string, unknown>,
    },
    hooks: {
      // Messages are masked too: a secret interpolated into a message is still never written.
      logMethod(this: Logger, args: unknown[], method: (...inner: unknown[]) => void) {
        method.apply(
          this,
          args.map((arg) => (typeof arg === 'string' ? maskSecrets(arg) : arg)),
        );
      },
    },
  };
  if (options.destination) return pino(base, options.destination);
  if (pretty) {
    return pino({
      ...base,
      transport: {
        target: 'pino-pretty',
        options: { colorize: process.stdout.isTTY === true, translateTime: 'SYS:standard' },
      },
    });
  }
  return pino(base);
}

/** A logger that writes nothing, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
