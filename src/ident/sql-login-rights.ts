import { type SqlConnection, SqlTypes } from './pool.ts';
import { streamRows } from './stream.ts';

/**
 * What the login may change in the IDENT database. ident-sync only reads, and its SQL is checked
 * for that, but a login that can write (many IDENT installations connect as `sa`) turns any slip
 * into damage: `test-db` says so, as a warning — the clinic may have no other login yet.
 */
export interface WriteRights {
  /** Server or database roles that can write: sysadmin, db_owner, db_datawriter, db_ddladmin. */
  roles: string[];
  /** Tables the SQL reads that this login may insert into, update or delete from. */
  tables: string[];
}

export const ROLES_QUERY = `SELECT IS_SRVROLEMEMBER('sysadmin') AS SysAdmin, IS_ROLEMEMBER('db_owner') AS DbOwner, IS_ROLEMEMBER('db_datawriter') AS DataWriter, IS_ROLEMEMBER('db_ddladmin') AS DdlAdmin`;

const ROLE_COLUMNS: [string, string][] = [
  ['SysAdmin', 'sysadmin'],
  ['DbOwner', 'db_owner'],
  ['DataWriter', 'db_datawriter'],
  ['DdlAdmin', 'db_ddladmin'],
];

/** One row per table: may this login insert, update or delete there. */
export const tablesQuery = (count: number): string =>
  `SELECT t.TableName, HAS_PERMS_BY_NAME(N'dbo.' + t.TableName, 'OBJECT', 'INSERT') AS CanInsert, HAS_PERMS_BY_NAME(N'dbo.' + t.TableName, 'OBJECT', 'UPDATE') AS CanUpdate, HAS_PERMS_BY_NAME(N'dbo.' + t.TableName, 'OBJECT', 'DELETE') AS CanDelete FROM (VALUES ${Array.from(
    { length: count },
    (_, index) => `(@t${index})`,
  ).join(', ')}) AS t (TableName)`;

export function rolesFrom(row: Record<string, unknown> | undefined): string[] {
  return ROLE_COLUMNS.filter(([column]) => Number(row?.[column]) === 1).map(([, role]) => role);
}

export function writableTablesFrom(rows: readonly Record<string, unknown>[]): string[] {
  return rows
    .filter((row) => [row.CanInsert, row.CanUpdate, row.CanDelete].some((value) => Number(value) === 1))
    .map((row) => String(row.TableName));
}

export async function writeRights(
  connection: SqlConnection,
  tables: readonly string[],
): Promise<WriteRights> {
  const roles: Record<string, unknown>[] = [];
  for await (const row of streamRows(connection.request(), ROLES_QUERY)) roles.push(row);
  const rows: Record<string, unknown>[] = [];
  if (tables.length > 0) {
    const request = connection.request();
    tables.forEach((table, index) => request.input(`t${index}`, SqlTypes.NVarChar, table));
    for await (const row of streamRows(request, tablesQuery(tables.length))) rows.push(row);
  }
  return { roles: rolesFrom(roles[0]), tables: writableTablesFrom(rows) };
}

/** The warning `test-db` prints, or undefined when the login can only read. */
export function writeRightsWarning(rights: WriteRights, login: string): string | undefined {
  if (rights.roles.length === 0 && rights.tables.length === 0) return undefined;
  const what = [
    ...(rights.roles.length > 0 ? [`is ${rights.roles.join(', ')}`] : []),
    ...(rights.tables.length > 0 ? [`may change ${rights.tables.join(', ')}`] : []),
  ].join(' and ');
  return `login:    warning: ${login} ${what}, though ident-sync only reads; create a login that only reads for it (db_datareader on the IDENT database, see docs/security.md) and set DB_USER to it`;
}
