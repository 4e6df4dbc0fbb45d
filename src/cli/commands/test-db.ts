import type { Command } from 'commander';
import { ActionableError } from '../../errors.ts';
import { IdentDbError } from '../../ident/errors.ts';
import { SqlPatientSource } from '../../ident/patient-source.ts';
import { connectIdent } from '../../ident/pool.ts';
import { checkSchema } from '../../ident/schema-check.ts';
import { loadSqlFiles } from '../../ident/sql-files.ts';
import { streamRows } from '../../ident/stream.ts';
import { offlineCatalogue, resolveFields } from '../../mapping/catalogue.ts';
import { loadMapFile } from '../../mapping/load-map.ts';
import { createMapper } from '../../mapping/mapper.ts';
import { commandContext } from '../context.ts';

const SAMPLE_ROWS = 5;

export function registerTestDb(program: Command): void {
  program
    .command('test-db')
    .description(
      'check the IDENT database: connection, every table and column the SQL uses, a sample of patients',
    )
    .action(async () => {
      const { config } = commandContext(['database']);
      const db = config.database!;
      const out = (line: string) => process.stdout.write(`${line}\n`);
      const files = loadSqlFiles(config.sqlDir);
      const map = loadMapFile(config.mappingFile);
      const server = db.instance ? `${db.host}\\${db.instance}` : `${db.host}:${db.port}`;
      out(`connecting to ${server}, database ${db.database} (timeout ${db.connectTimeoutMs / 1000} s)…`);
      const connection = await connectIdent(db);
      try {
        const [info] = await collect(
          connection.request(),
          "SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(50)) AS Version, CAST(SERVERPROPERTY('Edition') AS nvarchar(100)) AS Edition, DB_NAME() AS DatabaseName, SUSER_SNAME() AS LoginName",
        );
        out(`server:   SQL Server ${info?.Version} (${info?.Edition})`);
        out(`database: ${info?.DatabaseName}, login: ${info?.LoginName}`);

        const schema = await checkSchema(connection, files);
        if (schema.missing.length > 0) {
          out(
            `schema:   ${schema.missing.length} missing of ${schema.columns} columns in ${schema.tables} tables the SQL uses:`,
          );
          for (const piece of schema.missing) {
            const what = piece.column ? `column ${piece.table}.${piece.column}` : `table ${piece.table}`;
            out(`  - ${what}, used by ${piece.files.map((file) => `${files.dir}/${file}`).join(', ')}`);
          }
          throw new ActionableError(
            `the IDENT database lacks ${schema.missing.length} table(s)/column(s) the SQL uses; adapt the SQL files listed above (unconfirmed columns sit in the UNCONFIRMED block of patients.sql)`,
          );
        }
        out(`schema:   all ${schema.columns} columns in ${schema.tables} tables the SQL uses are present`);

        const source = new SqlPatientSource(connection, files, db, { pageSize: SAMPLE_ROWS });
        const stats = await source.stats();
        out(
          `patients: ${stats.patients}, newest change ${stats.newestChange ? formatWallClock(stats.newestChange) : 'none'}`,
        );
        const mapper = createMapper(resolveFields(map, offlineCatalogue(map)), {
          timeZone: config.sync.timeZone,
        });
        let read = 0;
        const failures: string[] = [];
        const notes = new Map<string, number>();
        for await (const row of source.all()) {
          read += 1;
          const outcome = mapper(row);
          if (!outcome.ok) failures.push(`patient ${outcome.patientId ?? '?'}: ${outcome.reason}`);
          for (const note of outcome.ok ? outcome.contact.notes : outcome.notes)
            notes.set(`${note.field}: ${note.note}`, (notes.get(`${note.field}: ${note.note}`) ?? 0) + 1);
          if (read >= SAMPLE_ROWS) break;
        }
        out(`sample:   ${read} patient(s) read, ${read - failures.length} map cleanly`);
        for (const failure of failures) out(`  - ${failure}`);
        for (const [note, count] of notes) out(`  note: ${note} (${count})`);
        if (failures.length > 0)
          throw new ActionableError(
            `${failures.length} sample patient(s) do not map; fix the SQL or the map for the reasons above`,
          );
        out('IDENT database: OK');
      } finally {
        await connection.close();
      }
    });
}

async function collect(request: ReturnType<Parameters<typeof checkSchema>[0]['request']>, sql: string) {
  const rows: Record<string, unknown>[] = [];
  try {
    for await (const row of streamRows(request, sql)) rows.push(row);
  } catch (error) {
    if (error instanceof IdentDbError) throw error;
    throw new ActionableError(`the server information query failed: ${(error as Error).message}`);
  }
  return rows;
}

/** Dates from IDENT are wall-clock readings (UTC fields hold the server's local time). */
export function formatWallClock(date: Date): string {
  return date
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, '');
}
