import { type DestinationStream, type Logger, pino } from 'pino';
import { zonedIso } from '../support/zoned-time.ts';
import { maskSecrets, redact } from './redact.ts';

export type { Logger };

export interface LoggerOptions {
  level: string;
  format: 'auto' | 'json' | 'pretty';
  /** Where lines go: stdout (the daemon) or stderr (commands whose stdout is their answer). Tests pass a stream. */
  destination?: DestinationStream | 'stdout' | 'stderr';
  /** The clinic's zone (TZ): every line's time is written on its clock, with the offset. */
  timeZone?: string;
}

export function createLogger(options: LoggerOptions): Logger {
  const target = options.destination ?? 'stdout';
  const fd = target === 'stderr' ? 2 : 1;
  const terminal = (fd === 2 ? process.stderr : process.stdout).isTTY === true;
  const pretty =
    options.format === 'pretty' || (options.format === 'auto' && terminal && typeof target === 'string');
  const timeZone = options.timeZone ?? 'UTC';
  const base = {
    level: options.level,
    base: undefined,
    timestamp: () => `,"time":"${zonedIso(new Date(), timeZone)}"`,
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
  if (typeof target !== 'string') return pino(base, target);
  if (pretty) {
    return pino({
      ...base,
      transport: {
        target: 'pino-pretty',
        options: { destination: fd, colorize: terminal, translateTime: false },
      },
    });
  }
  return pino(base, pino.destination({ fd, sync: true }));
}

/** A logger that writes nothing, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
