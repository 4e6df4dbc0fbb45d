import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { StateDatabase } from '../../src/state/state-database.ts';
import type { StateAccess } from '../../src/state/stream/sql.ts';
import { StreamTables } from '../../src/state/stream/stream-tables.ts';
import { tempDir } from '../helpers/amocrm.ts';

/** A third stream (tasks for managers), declared in a few lines over the runner's storage. */
const SCHEMA = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE task_pending (task_id TEXT PRIMARY KEY, manager_id INTEGER NOT NULL, request_id TEXT NOT NULL,
  hash TEXT NOT NULL, known_max_id INTEGER NOT NULL, created_at TEXT NOT NULL, sent_monotonic INTEGER,
  sent_boot TEXT NOT NULL DEFAULT '', refused TEXT NOT NULL DEFAULT '[]');
CREATE TABLE task_failures (task_id TEXT PRIMARY KEY, reason TEXT NOT NULL, attempts INTEGER NOT NULL,
  first_at TEXT NOT NULL, last_at TEXT NOT NULL, due_at TEXT NOT NULL);
CREATE TABLE task_refusals (task_id TEXT NOT NULL, field_key TEXT NOT NULL, detail TEXT NOT NULL, hash TEXT NOT NULL,
  at TEXT NOT NULL, tried_at TEXT, PRIMARY KEY (task_id, field_key));
`;

interface NewTask {
  taskId: string;
  managerId: number;
  requestId: string;
  hash: string;
  knownMaxId: number;
}

function taskTables(access?: (base: StateAccess) => StateAccess) {
  const database = new StateDatabase(join(tempDir(), 'state.sqlite'), false);
  database.db.exec(SCHEMA);
  const base: StateAccess = {
    sql: (query) => database.sql(query),
    transaction: (work) => database.transaction(work),
    readOnly: false,
  };
  const tables = new StreamTables(access ? access(base) : base, {
    checkpoint: { at: 'task_checkpoint', rowVersion: 'task_checkpoint_rowversion' },
    pending: {
      table: 'task_pending',
      key: { name: 'task_id', value: (entry: NewTask) => entry.taskId },
      columns: [{ name: 'manager_id', value: (entry) => entry.managerId }],
      read: (row, { key, ...common }) => ({ taskId: key, managerId: Number(row.manager_id), ...common }),
    },
    failures: 'task_failures',
    refusals: 'task_refusals',
  });
  return { database, tables };
}

const sent = { sentAt: Date.parse('2026-12-01T10:00:00.000Z'), monotonic: 10, boot: 'b' };
const at = new Date('2026-12-01T10:05:00.000Z');

describe('the storage every stream shares', () => {
  it('keeps a new stream’s creates in flight, failures and refusals under its own key', () => {
    const { database, tables } = taskTables();
    tables.addPending(
      [
        { taskId: 't1', managerId: 7, requestId: 'r1', hash: 'h1', knownMaxId: 90 },
        { taskId: 't2', managerId: 8, requestId: 'r2', hash: 'h2', knownMaxId: 90 },
      ],
      sent,
    );
    tables.restampPending([{ key: 't1', sent, refused: [{ field: 'Срок', detail: 'in the past' }] }]);
    assert.deepEqual(tables.pending.list({ key: 't1' }), [
      {
        taskId: 't1',
        managerId: 7,
        requestId: 'r1',
        hash: 'h1',
        knownMaxId: 90,
        createdAt: '2026-12-01T10:00:00.000Z',
        sent,
        refused: [{ field: 'Срок', detail: 'in the past' }],
      },
    ]);
    // The refusal is listed at once, at the pending create's hash.
    assert.deepEqual(
      tables.refusals.list(10).map((row) => [row.key, row.field, row.hash]),
      [['t1', 'Срок', 'h1']],
    );

    // A failure ends the item's pending create in the same transaction.
    tables.recordFailures([{ key: 't2', reason: 'no such manager' }], at);
    assert.deepEqual(
      tables.pending.list().map((row) => row.taskId),
      ['t1'],
    );
    assert.deepEqual(tables.failures.due(new Date('2026-12-01T10:07:00.000Z'), 10), ['t2']);

    // A write that landed everything but the refused field: the pending create ends, the refusal
    // stands at the new hash.
    database.transaction(() => tables.settle([{ key: 't1', hash: 'h1b', landed: [] }], at));
    assert.equal(tables.pending.count(), 0);
    assert.deepEqual(
      [...tables.refusals.standing(['t1'])].map(([key, standing]) => [key, standing.hash]),
      [['t1', 'h1b']],
    );
    database.transaction(() =>
      tables.settle(
        [
          { key: 't1', hash: 'h1c' },
          { key: 't2', hash: 'h2' },
        ],
        at,
      ),
    );
    assert.equal(tables.refusals.count(), 0);
    assert.equal(tables.failures.count(), 0);
  });

  it('moves a checkpoint’s time and mark together or not at all', () => {
    let failMark = false;
    const { tables } = taskTables((base) => ({
      ...base,
      sql: (query) => {
        const statement = base.sql(query);
        if (!failMark || !query.startsWith('INSERT INTO meta')) return statement;
        return {
          run: (key: string, value: string) => {
            if (key === 'task_checkpoint_rowversion') throw new Error('disk I/O error');
            return statement.run(key, value);
          },
        } as unknown as typeof statement;
      },
    }));
    tables.checkpoint.write({ at: new Date('2026-12-01T09:00:00.000Z'), rowVersion: '0x01' });
    failMark = true;
    assert.throws(
      () => tables.checkpoint.write({ at: new Date('2026-12-01T10:00:00.000Z'), rowVersion: '0x02' }),
      /disk I\/O/,
    );
    assert.deepEqual(tables.checkpoint.read(), {
      at: new Date('2026-12-01T09:00:00.000Z'),
      rowVersion: '0x01',
    });
    failMark = false;
    tables.checkpoint.write({ at: new Date('2026-12-01T11:00:00.000Z') });
    assert.deepEqual(tables.checkpoint.read(), { at: new Date('2026-12-01T11:00:00.000Z') });
  });
});
