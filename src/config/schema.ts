import { z } from 'zod';
import { parseHealthPort } from './health-port.ts';

/**
 * Every variable the program reads, with its default. Values arrive as strings (environment or
 * `.env`); each parser below turns one into a typed value or fails with a sentence that says
 * what is expected. `.env.example` documents the same list.
 */

const blankToUndefined = (value: unknown) =>
  typeof value === 'string' && value.trim() === ''
    ? undefined
    : typeof value === 'string'
      ? value.trim()
      : value;

const text = () => z.preprocess(blankToUndefined, z.string().optional());

const integer = (min: number, max: number, fallback: number) =>
  z.preprocess(
    blankToUndefined,
    z
      .string({ error: `expected a whole number from ${min} to ${max}` })
      .regex(/^-?\d+$/, { error: `expected a whole number from ${min} to ${max}` })
      .transform(Number)
      .pipe(
        z
          .number()
          .int()
          .min(min, { error: `expected a whole number from ${min} to ${max}` })
          .max(max, { error: `expected a whole number from ${min} to ${max}` }),
      )
      .default(fallback),
  );

const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on', 'y']);
const FALSE_WORDS = new Set(['0', 'false', 'no', 'off', 'n']);
const flag = (fallback: boolean) =>
  z.preprocess(
    blankToUndefined,
    z
      .string()
      .transform((value, ctx) => {
        const word = value.toLowerCase();
        if (TRUE_WORDS.has(word)) return true;
        if (FALSE_WORDS.has(word)) return false;
        ctx.addIssue({ code: 'custom', message: 'expected true or false' });
        return z.NEVER;
      })
      .default(fallback),
  );

const httpUrl = () =>
  z.preprocess(
    blankToUndefined,
    z
      .string()
      .refine((value) => /^https?:\/\/[^\s/]+/i.test(value) && URL.canParse(value), {
        error: 'expected a URL starting with http:// or https://',
      })
      .optional(),
  );

const timeZone = () =>
  z.preprocess(
    blankToUndefined,
    z
      .string()
      .refine(
        (zone) => {
          try {
            new Intl.DateTimeFormat('en', { timeZone: zone });
            return true;
          } catch {
            return false;
          }
        },
        { error: 'expected an IANA time zone such as Europe/Moscow' },
      )
      .default('Europe/Moscow'),
  );

// The earlier Python integration wrote levels in upper case (INFO, WARNING, CRITICAL).
const LOG_LEVEL_ALIASES: Record<string, string> = { warning: 'warn', critical: 'fatal', notset: 'trace' };
const logLevel = () =>
  z.preprocess(
    (value) => {
      const word = blankToUndefined(value);
      if (typeof word !== 'string') return word;
      const lower = word.toLowerCase();
      return LOG_LEVEL_ALIASES[lower] ?? lower;
    },
    z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
        error: 'expected one of fatal, error, warn, info, debug, trace, silent',
      })
      .default('info'),
  );

export const environmentSchema = z.object({
  DB_HOST: text(),
  DB_PORT: z.preprocess(
    blankToUndefined,
    z
      .string()
      .regex(/^\d+$/, { error: 'expected a TCP port from 1 to 65535' })
      .transform(Number)
      .pipe(z.number().int().min(1, { error: 'expected a TCP port from 1 to 65535' }).max(65535))
      .optional(),
  ),
  DB_INSTANCE: text(),
  DB_NAME: z.preprocess(blankToUndefined, z.string().default('PZ')),
  DB_USER: text(),
  DB_PASSWORD: z.string().optional(),
  DB_ENCRYPT: flag(true),
  DB_TRUST_SERVER_CERTIFICATE: flag(false),
  DB_CONNECT_TIMEOUT_SECONDS: integer(1, 300, 15),
  // A clinic chain (src/config/sources.ts): the sources' keys, and the one whose ids stay bare.
  SOURCES: text(),
  SOURCE_BARE_IDS: text(),
  DB_REQUEST_TIMEOUT_SECONDS: integer(1, 3600, 120),

  AMOCRM_SUBDOMAIN: z.preprocess(
    blankToUndefined,
    z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*(\.(amocrm\.(ru|com)|kommo\.com))?$/i, {
        error: 'expected the account name, e.g. myclinic for myclinic.amocrm.ru (or myclinic.kommo.com)',
      })
      .optional(),
  ),
  // The three hosts amoCRM accounts live on (../shared/reference/amocrm-api.md, Hosts).
  AMOCRM_DOMAIN: z.preprocess(
    (value) => (typeof value === 'string' ? value.trim().toLowerCase() || undefined : value),
    z
      .enum(['amocrm.ru', 'amocrm.com', 'kommo.com'], {
        error: 'expected amocrm.ru, amocrm.com or kommo.com',
      })
      .default('amocrm.ru'),
  ),
  AMOCRM_BASE_URL: httpUrl(),
  AMOCRM_CLIENT_ID: text(),
  AMOCRM_CLIENT_SECRET: text(),
  AMOCRM_REDIRECT_URI: z.preprocess(
    blankToUndefined,
    z
      .string()
      .refine((value) => /^https?:\/\//i.test(value) && URL.canParse(value), {
        error: 'expected the redirect URL of the integration, e.g. http://your-server:8080/callback',
      })
      .default('http://localhost:8080/callback'),
  ),
  AMOCRM_LONG_LIVED_TOKEN: text(),
  AMOCRM_TIMEOUT_SECONDS: integer(1, 600, 30),

  SYNC_INTERVAL_MINUTES: integer(1, 1440, 2).refine((minutes) => minutes < 60 || minutes % 60 === 0, {
    error: 'expected a whole number of minutes from 1 to 59, or a multiple of 60 up to 1440',
  }),
  DEEP_SYNC_HOUR_MORNING: integer(0, 23, 8),
  DEEP_SYNC_HOUR_EVENING: integer(0, 23, 20),
  SYNC_OVERLAP_SECONDS: integer(0, 86_400, 300),
  MATCH_BY_PHONE: flag(true),
  // The sources' settings changed and the start's database check refuses them: the operator says they are right.
  CONFIRM_SOURCES: flag(false),
  // Receptions become deals only when asked: clinics that want contacts alone see no change.
  SYNC_RECEPTIONS: flag(false),
  RECEPTIONS_DAYS_BACK: integer(0, 3650, 90),
  TZ: timeZone(),
  // amoCRM's own library and others send at most 50 entities per request.
  BATCH_SIZE: integer(1, 50, 50),
  RATE_LIMIT_RPS: z.preprocess(
    blankToUndefined,
    z
      .string()
      .regex(/^\d+(\.\d+)?$/, { error: 'expected a number of requests per second above 0 and at most 7' })
      .transform(Number)
      .pipe(
        z
          .number()
          .gt(0, { error: 'expected a number of requests per second above 0 and at most 7' })
          .max(7, { error: 'amoCRM allows at most 7 requests per second; expected a number up to 7' }),
      )
      // amoCRM's limit: the pace holds it at arrival (a sliding window with a margin), so no reserve is kept.
      .default(7),
  ),

  STATE_DIR: z.preprocess(blankToUndefined, z.string().default('./state')),
  MAPPING_FILE: text(),
  DEAL_MAPPING_FILE: text(),
  SQL_DIR: text(),
  LOG_LEVEL: logLevel(),
  LOG_FORMAT: z.preprocess(
    (value) => (typeof blankToUndefined(value) === 'string' ? String(value).trim().toLowerCase() : undefined),
    z.enum(['auto', 'json', 'pretty'], { error: 'expected json, pretty or auto' }).default('auto'),
  ),
  // The HEALTHCHECK parses it with the same function, so both agree on what is a port and what is off.
  HEALTH_PORT: z
    .string()
    .optional()
    .transform((value, ctx) => {
      const port = parseHealthPort(value);
      if (port !== undefined) return port;
      ctx.addIssue({ code: 'custom', message: 'expected a port from 0 to 65535 (0: off)' });
      return z.NEVER;
    }),
  // Where /healthz and /metrics listen: this machine only unless a container must publish them.
  HEALTH_HOST: z.preprocess(
    blankToUndefined,
    z
      .string()
      .regex(/^[A-Za-z0-9.:_-]+$/, { error: 'expected an address to listen on, e.g. 127.0.0.1 or 0.0.0.0' })
      .default('127.0.0.1'),
  ),

  // The console (/console on the health server): on by default; a token is required off loopback.
  CONSOLE: flag(true),
  CONSOLE_TOKEN: z.preprocess(
    blankToUndefined,
    z
      .string()
      .min(16, { error: 'expected at least 16 characters (e.g. the output of `openssl rand -hex 16`)' })
      .optional(),
  ),
  // Alerts (docs/alerts.md): each rule's threshold, 0 turns the rule off.
  ALERT_FAILED_RUNS: integer(0, 1000, 3),
  ALERT_NO_SUCCESS_MINUTES: integer(0, 525_600, 60),
  ALERT_TOKEN_DAYS: integer(0, 365, 7),
  ALERT_UNREACHABLE_MINUTES: integer(0, 525_600, 15),
  ALERT_ACCOUNT: flag(true),
  ALERT_REFUSED_GROWTH: integer(0, 1_000_000, 10),
  ALERT_CHECK_MINUTES: integer(1, 60, 1),
  ALERT_TELEGRAM_BOT_TOKEN: text(),
  ALERT_TELEGRAM_CHAT_ID: z.preprocess(
    blankToUndefined,
    z
      .string()
      .regex(/^(-?\d+|@[A-Za-z0-9_]{5,})$/, {
        error: 'expected the numeric chat id (e.g. -1001234567890) or a channel name such as @clinic_alerts',
      })
      .optional(),
  ),
  ALERT_TELEGRAM_API_URL: z.preprocess(
    blankToUndefined,
    z
      .string()
      .refine((value) => /^https?:\/\/[^\s/]+/i.test(value) && URL.canParse(value), {
        error: 'expected a URL starting with http:// or https://',
      })
      .default('https://api.telegram.org'),
  ),
  ALERT_SMTP_HOST: text(),
  // 0: the TLS mode's usual port (587, 465 or 25).
  ALERT_SMTP_PORT: integer(0, 65535, 0),
  ALERT_SMTP_TLS: z.preprocess(
    (value) => (typeof blankToUndefined(value) === 'string' ? String(value).trim().toLowerCase() : undefined),
    z
      .enum(['starttls', 'tls', 'none'], {
        error: 'expected starttls (port 587), tls (port 465) or none (port 25, trusted network only)',
      })
      .default('starttls'),
  ),
  ALERT_SMTP_USER: text(),
  ALERT_SMTP_PASSWORD: z.string().optional(),
  ALERT_EMAIL_FROM: text(),
  ALERT_EMAIL_TO: text(),
  ALERT_WEBHOOK_URL: httpUrl(),
  ALERT_WEBHOOK_SECRET: text(),
  ALERT_WEBHOOK_SECRET_HEADER: z.preprocess(
    blankToUndefined,
    z
      .string()
      .regex(/^[A-Za-z0-9-]+$/, { error: 'expected an HTTP header name such as X-Alert-Secret' })
      .default('X-Alert-Secret'),
  ),

  // Names carried over from the earlier Python integration (seed 003) and other amoCRM guides.
  AMOCRM_ACCESS_TOKEN: text(),
  DB_DRIVER: text(),
  USE_MOCK_AMOCRM: flag(false),
});

export type Environment = z.infer<typeof environmentSchema>;
