import sql from 'mssql';
import type { DatabaseConfig } from '../config/config.ts';
import { registerSecret } from '../logging/redact.ts';
import { classifyDbError } from './errors.ts';
import type { StreamingRequest } from './stream.ts';

/** What the reading layer needs of a connection; a fake stands in for it in tests. */
export interface SqlConnection {
  request(): StreamingRequest;
  close(): Promise<void>;
}

export function mssqlConfig(db: DatabaseConfig): sql.config {
  registerSecret(db.password);
  return {
    server: db.host,
    ...(db.port === undefined ? {} : { port: db.port }),
    database: db.database,
    user: db.user,
    password: db.password,
    connectionTimeout: db.connectTimeoutMs,
    requestTimeout: db.requestTimeoutMs,
    pool: { max: 2, min: 0, idleTimeoutMillis: 30_000 },
    options: {
      encrypt: db.encrypt,
      trustServerCertificate: db.trustServerCertificate,
      ...(db.instance ? { instanceName: db.instance } : {}),
      appName: 'ident-amocrm-sync',
      // Reads only; on an availability group this may be served by a readable secondary.
      readOnlyIntent: true,
      // datetime values come back as Dates whose UTC fields are the stored wall clock.
      useUTC: true,
      // bigint ids arrive as strings, so ids past 2^53 stay exact.
    },
  };
}

/** Opens a pool to the IDENT database; failures become IdentDbError with the setting to check. */
export async function connectIdent(
  db: DatabaseConfig,
): Promise<SqlConnection & { pool: sql.ConnectionPool }> {
  const pool = new sql.ConnectionPool(mssqlConfig(db));
  // An idle pool can lose its connections (server restart, network); mssql reconnects on the next request.
  pool.on('error', () => undefined);
  try {
    await pool.connect();
  } catch (error) {
    await pool.close().catch(() => undefined);
    throw classifyDbError(error, { ...db, user: db.user });
  }
  return {
    pool,
    request: () => pool.request() as unknown as StreamingRequest,
    close: () => pool.close(),
  };
}

export const SqlTypes = {
  Int: sql.Int,
  /** IDENT's change columns are datetime: a datetime2 parameter would convert the column side. */
  DateTime: sql.DateTime,
  /** rowversion is binary(8). */
  RowVersion: sql.VarBinary(8),
  NVarChar: sql.NVarChar,
} as const;
