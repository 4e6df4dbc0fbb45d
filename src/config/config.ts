import { join, resolve } from 'node:path';
import { packageRoot } from '../support/package-root.ts';
import type { EnvSource } from './env-source.ts';
import { ConfigError } from './errors.ts';
import { type Environment, environmentSchema } from './schema.ts';
import { type DatabaseValues, planSources, type SourceSetting, sourceValues } from './sources.ts';
import type { SourceScope } from '../sources/source-key.ts';

export interface DatabaseConfig {
  host: string;
  /** Explicit TCP port; when absent and an instance is named, the SQL Browser service finds it. */
  port: number | undefined;
  instance: string | undefined;
  database: string;
  user: string;
  password: string;
  encrypt: boolean;
  trustServerCertificate: boolean;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
}

export interface AmoCrmConfig {
  /** The account's own host, e.g. https://clinic.amocrm.ru; undefined until configured or learned by `auth`. */
  baseUrl: string | undefined;
  /** amocrm.ru, amocrm.com or kommo.com: where the consent page is when no account is configured. */
  domain: 'amocrm.ru' | 'amocrm.com' | 'kommo.com';
  clientId: string | undefined;
  clientSecret: string | undefined;
  redirectUri: string;
  longLivedToken: string | undefined;
  timeoutMs: number;
  rateLimitRps: number;
  batchSize: number;
}

export interface SyncConfig {
  intervalMinutes: number;
  deepSyncHours: readonly [number, number];
  timeZone: string;
  overlapSeconds: number;
  matchByPhone: boolean;
  /**
   * CONFIRM_SOURCES: the sources' settings changed and they are right — start without comparing the
   * state's patients with the databases (src/sources/ownership-check.ts).
   */
  confirmSources: boolean;
  /** Receptions → deals (SYNC_RECEPTIONS); off by default. */
  receptions: boolean;
  /** How far back a deep sync checks receptions (days before today; every future booking too). */
  receptionsDaysBack: number;
}

export interface AlertRulesConfig {
  /** Each threshold 0 turns its rule off. */
  failedRuns: number;
  noSuccessMinutes: number;
  tokenDays: number;
  unreachableMinutes: number;
  account: boolean;
  refusedGrowth: number;
  /** How often the daemon evaluates the rules besides after each run. */
  checkMinutes: number;
}

export interface AlertChannelsConfig {
  telegram?: { botToken: string; chatId: string; apiUrl: string };
  email?: {
    host: string;
    port: number;
    tls: 'starttls' | 'tls' | 'none';
    user: string | undefined;
    password: string | undefined;
    from: string;
    to: string[];
  };
  webhook?: { url: string; secret: string | undefined; secretHeader: string };
}

export interface AlertConfig {
  rules: AlertRulesConfig;
  channels: AlertChannelsConfig;
}

/** One IDENT database of the configuration, with its key. */
export interface SourceConfig {
  scope: SourceScope;
  database: DatabaseConfig;
}

export interface Config {
  alerts: AlertConfig;
  /** The connection of the one source (without SOURCES, or SOURCES naming one); undefined for a chain of several. */
  database: DatabaseConfig | undefined;
  /** SOURCES is set: the sources are read as one chain, ids scoped by key unless the source keeps bare ids. */
  chain: boolean;
  /** Every source's key, whether or not its connection is configured (`main`, bare, without SOURCES). */
  scopes: readonly SourceScope[];
  /** Every source with its connection; empty when a connection is incomplete and the command needs none. */
  sources: readonly SourceConfig[];
  amocrm: AmoCrmConfig;
  sync: SyncConfig;
  stateDir: string;
  mappingFile: string;
  /** The deal map (mapping/deal-map.yaml unless DEAL_MAPPING_FILE says otherwise). */
  dealMappingFile: string;
  /** Folder of the SQL files (patients.sql, select-*.sql…). */
  sqlDir: string;
  log: { level: Environment['LOG_LEVEL']; format: Environment['LOG_FORMAT'] };
  healthPort: number;
  healthHost: string;
  /** The console under /console on the health server; a token it asks for off loopback. */
  console: { enabled: boolean; token: string | undefined };
  /** Notes on settings that were accepted but changed meaning (legacy names); logged at start. */
  notices: string[];
}

/** What a command needs beyond the settings that always have defaults. */
export type Requirement = 'database' | 'amocrm' | 'amocrm-oauth';

export { ConfigError };

const PACKAGE_ROOT = packageRoot();
export const DEFAULT_SQL_DIR = join(PACKAGE_ROOT, 'sql');
export const DEFAULT_MAPPING_FILE = join(PACKAGE_ROOT, 'mapping', 'contact-map.yaml');
export const DEFAULT_DEAL_MAPPING_FILE = join(PACKAGE_ROOT, 'mapping', 'deal-map.yaml');

/**
 * Validates the environment and builds the typed configuration. Every problem is collected and
 * reported at once, one line per variable, so a person fixes the file in a single pass.
 */
export function loadConfig(source: EnvSource, requirements: readonly Requirement[] = []): Config {
  const parsed = environmentSchema.safeParse(source);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const variable = String(issue.path[0] ?? 'environment');
      const shown = describeValue(variable, source[variable]);
      return `${variable}${shown}: ${issue.message}`;
    });
    throw new ConfigError(problems);
  }
  const env = parsed.data;
  const problems: string[] = [];
  const notices: string[] = [];

  if (env.USE_MOCK_AMOCRM) {
    problems.push(
      'USE_MOCK_AMOCRM=true: the mock of the earlier integration is gone; start `npm run emulator` and set AMOCRM_BASE_URL to its address instead',
    );
  }
  if (env.DB_DRIVER)
    notices.push('DB_DRIVER is ignored: this tool talks to SQL Server directly, no ODBC driver needed');

  const { chain, sources } = buildSources(source, env, requirements.includes('database'), problems);
  const amocrm = buildAmoCrm(env, requirements, problems, notices);
  const alerts = buildAlerts(env, problems);

  if (env.DEEP_SYNC_HOUR_MORNING === env.DEEP_SYNC_HOUR_EVENING) {
    notices.push('DEEP_SYNC_HOUR_MORNING equals DEEP_SYNC_HOUR_EVENING: one deep sync a day');
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    alerts,
    database: sources.length === 1 ? sources[0]!.database : undefined,
    chain,
    scopes: sources.length > 0 ? sources.map((entry) => entry.scope) : scopesOf(source),
    sources,
    amocrm,
    sync: {
      intervalMinutes: env.SYNC_INTERVAL_MINUTES,
      deepSyncHours: [env.DEEP_SYNC_HOUR_MORNING, env.DEEP_SYNC_HOUR_EVENING],
      timeZone: env.TZ,
      overlapSeconds: env.SYNC_OVERLAP_SECONDS,
      matchByPhone: env.MATCH_BY_PHONE,
      confirmSources: env.CONFIRM_SOURCES,
      receptions: env.SYNC_RECEPTIONS,
      receptionsDaysBack: env.RECEPTIONS_DAYS_BACK,
    },
    stateDir: resolve(env.STATE_DIR),
    mappingFile: env.MAPPING_FILE ? resolve(env.MAPPING_FILE) : DEFAULT_MAPPING_FILE,
    dealMappingFile: env.DEAL_MAPPING_FILE ? resolve(env.DEAL_MAPPING_FILE) : DEFAULT_DEAL_MAPPING_FILE,
    sqlDir: env.SQL_DIR ? resolve(env.SQL_DIR) : DEFAULT_SQL_DIR,
    log: { level: env.LOG_LEVEL, format: env.LOG_FORMAT },
    healthPort: env.HEALTH_PORT,
    healthHost: env.HEALTH_HOST,
    console: { enabled: env.CONSOLE, token: env.CONSOLE_TOKEN },
    notices,
  };
}

const SMTP_PORTS = { starttls: 587, tls: 465, none: 25 } as const;
const EMAIL = /^[^\s@<>,]+@[^\s@<>,]+$/;

/** A channel is on when its first setting is set; its other settings must then be set too. */
function buildAlerts(env: Environment, problems: string[]): AlertConfig {
  const channels: AlertChannelsConfig = {};
  if (env.ALERT_TELEGRAM_BOT_TOKEN || env.ALERT_TELEGRAM_CHAT_ID) {
    if (!env.ALERT_TELEGRAM_BOT_TOKEN)
      problems.push(
        'ALERT_TELEGRAM_BOT_TOKEN: expected the bot token @BotFather gave, as ALERT_TELEGRAM_CHAT_ID is set',
      );
    else if (!env.ALERT_TELEGRAM_CHAT_ID)
      problems.push(
        'ALERT_TELEGRAM_CHAT_ID: expected the chat the bot writes to (see docs/alerts.md for how to find its id)',
      );
    else
      channels.telegram = {
        botToken: env.ALERT_TELEGRAM_BOT_TOKEN,
        chatId: env.ALERT_TELEGRAM_CHAT_ID,
        apiUrl: env.ALERT_TELEGRAM_API_URL.replace(/\/+$/, ''),
      };
  }
  if (env.ALERT_SMTP_HOST || env.ALERT_EMAIL_TO) {
    const to = (env.ALERT_EMAIL_TO ?? '')
      .split(',')
      .map((address) => address.trim())
      .filter((address) => address !== '');
    const before = problems.length;
    if (!env.ALERT_SMTP_HOST)
      problems.push('ALERT_SMTP_HOST: expected the mail server that sends the alerts');
    if (to.length === 0 || !to.every((address) => EMAIL.test(address)))
      problems.push('ALERT_EMAIL_TO: expected one or more e-mail addresses, separated by commas');
    if (!env.ALERT_EMAIL_FROM || !EMAIL.test(env.ALERT_EMAIL_FROM))
      problems.push('ALERT_EMAIL_FROM: expected the sender address the mail server accepts');
    if (env.ALERT_SMTP_USER && env.ALERT_SMTP_PASSWORD === undefined)
      problems.push("ALERT_SMTP_PASSWORD: expected the password of ALERT_SMTP_USER's mailbox");
    if (problems.length === before)
      channels.email = {
        host: env.ALERT_SMTP_HOST!,
        port: env.ALERT_SMTP_PORT || SMTP_PORTS[env.ALERT_SMTP_TLS],
        tls: env.ALERT_SMTP_TLS,
        user: env.ALERT_SMTP_USER,
        password: env.ALERT_SMTP_PASSWORD,
        from: env.ALERT_EMAIL_FROM!,
        to,
      };
  }
  if (env.ALERT_WEBHOOK_URL)
    channels.webhook = {
      url: env.ALERT_WEBHOOK_URL,
      secret: env.ALERT_WEBHOOK_SECRET,
      secretHeader: env.ALERT_WEBHOOK_SECRET_HEADER,
    };
  else if (env.ALERT_WEBHOOK_SECRET)
    problems.push(
      'ALERT_WEBHOOK_URL: expected the address to POST alerts to, as ALERT_WEBHOOK_SECRET is set',
    );
  return {
    rules: {
      failedRuns: env.ALERT_FAILED_RUNS,
      noSuccessMinutes: env.ALERT_NO_SUCCESS_MINUTES,
      tokenDays: env.ALERT_TOKEN_DAYS,
      unreachableMinutes: env.ALERT_UNREACHABLE_MINUTES,
      account: env.ALERT_ACCOUNT,
      refusedGrowth: env.ALERT_REFUSED_GROWTH,
      checkMinutes: env.ALERT_CHECK_MINUTES,
    },
    channels,
  };
}

const SECRET_VARIABLES = /PASSWORD|SECRET|TOKEN/;
function describeValue(variable: string, value: string | undefined): string {
  if (value === undefined || SECRET_VARIABLES.test(variable)) return '';
  const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
  return `=${JSON.stringify(shown)}`;
}

/**
 * The sources and their connections. A source's connection is complete or the source is left out;
 * when a command needs the database, every incomplete one is a problem, so `sources` is then whole.
 */
function buildSources(
  raw: EnvSource,
  env: Environment,
  required: boolean,
  problems: string[],
): { chain: boolean; sources: SourceConfig[] } {
  const { chain, plans } = planSources(raw, problems);
  const sources: SourceConfig[] = [];
  let complete = true;
  for (const plan of plans) {
    const read = sourceValues(raw, plan, problems);
    if (!read) {
      complete = false;
      continue;
    }
    const database = buildDatabase({ ...env, ...read.values }, read.named, required, problems);
    // DB_NAME's default (PZ) is a single clinic's: in a chain each source names its database.
    const unnamed = chain && !raw[plan.own('DB_NAME')]?.trim() && !raw.DB_NAME?.trim();
    if (unnamed && required)
      problems.push(
        `${read.named('DB_NAME')}: expected the IDENT database of source ${plan.scope.key} (each source of a chain names its database)`,
      );
    if (database && !unnamed) sources.push({ scope: plan.scope, database });
    else complete = false;
  }
  problems.push(...sameDatabase(sources, plans));
  return { chain, sources: complete ? sources : [] };
}

/** The sources' keys alone: what `status` needs, with or without their connections. */
function scopesOf(raw: EnvSource): SourceScope[] {
  return planSources(raw, []).plans.map((plan) => plan.scope);
}

/** A server's name as one spelling: letter case, a trailing dot and this machine's aliases aside. */
export function serverName(host: string): string {
  const name = host.trim().toLowerCase().replace(/\.$/, '');
  return ['localhost', '127.0.0.1', '::1', '[::1]', '(local)', '.', '(localdb)'].includes(name)
    ? 'localhost'
    : name;
}

/** Two sources reading one database would send every patient twice, under two keys. */
function sameDatabase(
  sources: readonly SourceConfig[],
  plans: ReturnType<typeof planSources>['plans'],
): string[] {
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const { scope, database } of sources) {
    const where = [
      serverName(database.host),
      database.port ?? (database.instance ? '' : 1433),
      database.instance?.toLowerCase() ?? '',
      database.database.toLowerCase(),
    ].join('|');
    const other = seen.get(where);
    const plan = plans.find((candidate) => candidate.scope.key === scope.key)!;
    if (other)
      problems.push(
        `${plan.own('DB_NAME')}: the sources ${other} and ${scope.key} read the same database ${database.database} on ${database.host}; give each source its own database (SOURCE_<KEY>_DB_NAME or _DB_HOST)`,
      );
    else seen.set(where, scope.key);
  }
  return problems;
}

/**
 * DB_HOST also accepts the forms an ODBC connection string used: `server\INSTANCE` and
 * `server,port`. Separate variables win over what is written into the host. `named` gives the
 * variable a problem names (SOURCE_NORTH_DB_HOST for a source of a chain).
 */
function buildDatabase(
  env: DatabaseValues & Pick<Environment, 'DB_CONNECT_TIMEOUT_SECONDS' | 'DB_REQUEST_TIMEOUT_SECONDS'>,
  named: (setting: SourceSetting) => string,
  required: boolean,
  problems: string[],
): DatabaseConfig | undefined {
  let host = env.DB_HOST;
  let instance = env.DB_INSTANCE;
  let port = env.DB_PORT;
  if (host?.includes('\\')) {
    const [server, written] = host.split('\\', 2) as [string, string];
    host = server;
    instance ??= written || undefined;
  }
  if (host?.includes(',')) {
    const [server, written] = host.split(',', 2) as [string, string];
    host = server.trim();
    if (port === undefined && /^\d+$/.test(written.trim())) port = Number(written.trim());
  }
  const missing: string[] = [];
  if (!host) missing.push(`${named('DB_HOST')}: expected the IDENT SQL Server host name or address`);
  if (!env.DB_USER) missing.push(`${named('DB_USER')}: expected the SQL login that reads the IDENT database`);
  if (env.DB_PASSWORD === undefined)
    missing.push(`${named('DB_PASSWORD')}: expected the SQL login's password`);
  if (missing.length > 0) {
    if (required) problems.push(...missing);
    return undefined;
  }
  return {
    host: host!,
    // An explicit port wins over the instance name: the SQL Browser lookup is then not needed.
    port: port ?? (instance ? undefined : 1433),
    instance: port === undefined ? instance : undefined,
    database: env.DB_NAME,
    user: env.DB_USER!,
    password: env.DB_PASSWORD!,
    encrypt: env.DB_ENCRYPT,
    trustServerCertificate: env.DB_TRUST_SERVER_CERTIFICATE,
    connectTimeoutMs: env.DB_CONNECT_TIMEOUT_SECONDS * 1000,
    requestTimeoutMs: env.DB_REQUEST_TIMEOUT_SECONDS * 1000,
  };
}

function buildAmoCrm(
  env: Environment,
  requirements: readonly Requirement[],
  problems: string[],
  notices: string[],
): AmoCrmConfig {
  const subdomain = env.AMOCRM_SUBDOMAIN?.toLowerCase();
  const baseUrl = env.AMOCRM_BASE_URL
    ? env.AMOCRM_BASE_URL.replace(/\/+$/, '')
    : subdomain
      ? `https://${subdomain.includes('.') ? subdomain : `${subdomain}.${env.AMOCRM_DOMAIN}`}`
      : undefined;
  let longLivedToken = env.AMOCRM_LONG_LIVED_TOKEN;
  if (!longLivedToken && env.AMOCRM_ACCESS_TOKEN) {
    longLivedToken = env.AMOCRM_ACCESS_TOKEN;
    notices.push('AMOCRM_ACCESS_TOKEN is read as AMOCRM_LONG_LIVED_TOKEN');
  }
  const oauth = requirements.includes('amocrm-oauth');
  if (oauth || requirements.includes('amocrm')) {
    if (!baseUrl && !oauth) {
      problems.push(
        'AMOCRM_SUBDOMAIN: expected the account name (myclinic for myclinic.amocrm.ru; AMOCRM_DOMAIN for amocrm.com or kommo.com), or set AMOCRM_BASE_URL to the full address',
      );
    }
    const needsClient = oauth || !longLivedToken;
    if (needsClient && !env.AMOCRM_CLIENT_ID) {
      problems.push(
        oauth
          ? "AMOCRM_CLIENT_ID: expected the integration's ID from amoCRM (Settings → Integrations → your integration → Keys)"
          : "AMOCRM_CLIENT_ID: expected the integration's ID, or set AMOCRM_LONG_LIVED_TOKEN to a long-lived token",
      );
    }
    if (needsClient && !env.AMOCRM_CLIENT_SECRET) {
      problems.push("AMOCRM_CLIENT_SECRET: expected the integration's secret key from the same page");
    }
  }
  return {
    baseUrl,
    domain: env.AMOCRM_DOMAIN,
    clientId: env.AMOCRM_CLIENT_ID,
    clientSecret: env.AMOCRM_CLIENT_SECRET,
    redirectUri: env.AMOCRM_REDIRECT_URI,
    longLivedToken,
    timeoutMs: env.AMOCRM_TIMEOUT_SECONDS * 1000,
    rateLimitRps: env.RATE_LIMIT_RPS,
    batchSize: env.BATCH_SIZE,
  };
}
