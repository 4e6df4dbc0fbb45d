import { ActionableError } from '../errors.ts';

export type IdentErrorKind =
  | 'unreachable'
  | 'login'
  | 'database'
  | 'permission'
  | 'tls'
  | 'timeout'
  | 'deadlock'
  | 'dropped'
  | 'schema'
  | 'query';

/** A failure reading IDENT, with one sentence naming the fix. All but `schema` and `query` may pass by themselves. */
export class IdentDbError extends ActionableError {
  readonly kind: IdentErrorKind;
  constructor(kind: IdentErrorKind, message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'IdentDbError';
    this.kind = kind;
  }

  get transient(): boolean {
    return ['unreachable', 'timeout', 'deadlock', 'dropped'].includes(this.kind);
  }
}

export interface Where {
  host: string;
  port: number | undefined;
  instance: string | undefined;
  database: string;
  user: string;
}

const describeServer = (where: Where) =>
  where.instance ? `${where.host}\\${where.instance}` : `${where.host}:${where.port ?? 1433}`;

/**
 * mssql/tedious errors into kinds. Driver messages are not shown as they are: they can carry the
 * login name or parts of the query; the sentence names the setting to check instead.
 */
export function classifyDbError(error: unknown, where: Where): IdentDbError {
  if (error instanceof IdentDbError) return error;
  const e = (error ?? {}) as {
    code?: string;
    number?: number;
    message?: string;
    originalError?: { code?: string; message?: string };
  };
  const code = e.code ?? e.originalError?.code ?? '';
  const text = `${e.message ?? ''} ${e.originalError?.message ?? ''}`;
  const server = describeServer(where);
  if (e.number === 18456 || code === 'ELOGIN') {
    if (/certificate|self[- ]signed|SSL|TLS/i.test(text)) return tlsError(server, error);
    return new IdentDbError(
      'login',
      // The login's name stays out: this sentence reaches logs and /healthz.
      `SQL Server at ${server} refused the login; check DB_USER and DB_PASSWORD`,
      error,
    );
  }
  if (e.number === 4060 || /Cannot open database/i.test(text)) {
    return new IdentDbError(
      'database',
      `the database "${where.database}" does not exist on ${server} or the login may not open it; check DB_NAME`,
      error,
    );
  }
  if (e.number === 1205)
    return new IdentDbError(
      'deadlock',
      'SQL Server chose this read as a deadlock victim; the next run reads again',
      error,
    );
  if (/certificate|self[- ]signed|unable to verify|DEPTH_ZERO/i.test(text)) return tlsError(server, error);
  if (code === 'EINSTLOOKUP') {
    return new IdentDbError(
      'unreachable',
      `the SQL Server Browser service on ${where.host} (UDP 1434) gave no port for the instance "${where.instance}"; check DB_INSTANCE, that SQL Server Browser runs and UDP 1434 is open, or set DB_PORT to the instance's TCP port`,
      error,
    );
  }
  if (e.number === 229 || /SELECT permission was denied/i.test(text)) {
    // The object's name (an IDENT table) says what to grant; the driver's sentence names the login too.
    const object = /on the object '([^']+)'/i.exec(text)?.[1];
    return new IdentDbError(
      'permission',
      `the login may not read ${object ? `the table ${object}` : 'a table the SQL uses'} (SELECT permission denied, SQL error 229); grant the login DB_USER names SELECT on IDENT's tables, e.g. the db_datareader role of ${where.database}`,
      error,
    );
  }
  if (code === 'ETIMEOUT' && /connect|Failed to connect/i.test(text) && where.instance && !where.port) {
    return new IdentDbError(
      'unreachable',
      `no answer from SQL Server at ${server} in time: a named instance's port comes from the SQL Server Browser service (UDP 1434); check that it runs on ${where.host} and the firewall lets UDP 1434 through, or set DB_PORT to the instance's TCP port`,
      error,
    );
  }
  if (code === 'ETIMEOUT' && /connect|Failed to connect/i.test(text)) {
    return new IdentDbError(
      'unreachable',
      `no answer from SQL Server at ${server} in time; check DB_HOST and DB_PORT (or DB_INSTANCE) and the firewall`,
      error,
    );
  }
  if (code === 'ETIMEOUT')
    return new IdentDbError(
      'timeout',
      'an IDENT query took longer than DB_REQUEST_TIMEOUT_SECONDS; the next run reads again',
      error,
    );
  if (
    code === 'ESOCKET' &&
    /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|Failed to connect/i.test(text)
  ) {
    return new IdentDbError(
      'unreachable',
      `cannot connect to SQL Server at ${server}; check DB_HOST and DB_PORT (or DB_INSTANCE) and that the server accepts TCP connections`,
      error,
    );
  }
  if (
    code === 'ECONNCLOSED' ||
    code === 'ESOCKET' ||
    code === 'ECONNRESET' ||
    /connection (is )?closed|ECONNRESET/i.test(text)
  ) {
    return new IdentDbError(
      'dropped',
      'the connection to SQL Server was lost during a read; the next run reads again',
      error,
    );
  }
  if (code === 'ENOTOPEN')
    return new IdentDbError(
      'dropped',
      'the connection to SQL Server is not open; the next run connects again',
      error,
    );
  if (typeof e.number === 'number' && (e.number === 207 || e.number === 208)) {
    return new IdentDbError(
      'schema',
      'a table or column of the SQL files is missing in this IDENT database; run `ident-sync test-db` to see which',
      error,
    );
  }
  return new IdentDbError(
    'query',
    `an IDENT query failed (${code || (e.number ? `SQL error ${e.number}` : 'unknown error')}); run \`ident-sync test-db\``,
    error,
  );
}

/**
 * An error as `ident-sync test-db` shows it: test-db is the command other errors send a person
 * to, so its own say what to do instead.
 */
export function forTestDb(error: unknown): unknown {
  if (!(error instanceof IdentDbError) || !/ident-sync test-db/.test(error.message)) return error;
  if (error.kind === 'schema')
    return new IdentDbError(
      'schema',
      'a query names a table or column this IDENT database lacks; adapt the SQL file the schema check above names (or restore it from the release)',
      error.cause,
    );
  return new IdentDbError(
    error.kind,
    error.message.replace(
      /; run `ident-sync test-db`.*$/,
      '; check the SQL files in SQL_DIR against the schema check above (or restore them from the release)',
    ),
    error.cause,
  );
}

function tlsError(server: string, cause: unknown) {
  return new IdentDbError(
    'tls',
    `the TLS certificate of ${server} is not trusted; set DB_TRUST_SERVER_CERTIFICATE=true for a self-signed certificate (or DB_ENCRYPT=false on a trusted LAN)`,
    cause,
  );
}
