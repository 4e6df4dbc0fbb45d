// node-sql-parser reads \' inside a literal as an escaped quote; SQL Server does not (and reads a lone
// \ in code as a money constant, like $). Between two \' the parser once saw one string while SQL
// Server would run the statements between: the verdict now comes from our own reading (issue 22
// security follow-up, item 1; found by the attacker's tests).
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SqlPatientSource } from '../../src/ident/patient-source.ts';
import { readOnlyProblems } from '../../src/ident/sql-analysis.ts';
import { asWritten, loadSqlFiles } from '../../src/ident/sql-files.ts';

const SMUGGLED = [
  "SELECT SYSDATETIME() AS DbNow, MIN_ACTIVE_ROWVERSION() AS DbRowVersion, 'a\\' AS Pad",
  'DISABLE TRIGGER ALL ON dbo.Patients',
  'SET TRANSACTION ISOLATION LEVEL SERIALIZABLE BEGIN TRAN SELECT TOP (1) 1 AS Held FROM dbo.Patients WITH (TABLOCKX, HOLDLOCK)',
  "SELECT \\'done'",
].join('\n');

describe('a backslash before a quote cannot hide statements from the read-only check', () => {
  it("readOnlyProblems refuses four statements hidden behind two \\'", () => {
    assert.ok(readOnlyProblems(SMUGGLED).length > 0);
  });

  it('a clock.sql holding them is refused at load and never sent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'a1-sql-'));
    cpSync(join(import.meta.dirname, '..', '..', 'sql'), dir, { recursive: true });
    writeFileSync(join(dir, 'clock.sql'), SMUGGLED);
    let files;
    try {
      files = loadSqlFiles(dir);
    } catch {
      return; // refused at load: held
    }
    const sent: string[] = [];
    const connection = {
      request: () => {
        const handlers: Record<string, (value?: unknown) => void> = {};
        return {
          stream: false,
          input() {},
          on(event: string, listener: (value?: unknown) => void) {
            handlers[event] = listener;
          },
          query(sql: string) {
            sent.push(sql);
            queueMicrotask(() => {
              handlers.row?.({ DbNow: new Date(), DbRowVersion: Buffer.alloc(8) });
              handlers.done?.();
            });
          },
          pause() {},
          resume() {},
          cancel() {},
        };
      },
    };
    const source = new SqlPatientSource(connection as never, files, asWritten(files), {
      host: 'h',
      port: 1,
      database: 'd',
    } as never);
    await source.now().catch(() => undefined);
    assert.deepEqual(sent, [], `sent to IDENT:\n${sent.join('\n---\n')}`);
  });
});
