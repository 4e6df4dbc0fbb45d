import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StateStore } from '../../src/state/store.ts';
import { tempDir } from '../helpers/amocrm.ts';

/**
 * A full disk: SQLite rolls the transaction back itself, and a second ROLLBACK used to throw
 * "cannot rollback - no transaction is active", which hid the error a person can act on.
 */
describe('the state store on a full disk', () => {
  it('fails with the disk-full error, not a rollback error', () => {
    const store = new StateStore(tempDir());
    try {
      const db = (store as unknown as { db: import('node:sqlite').DatabaseSync }).db;
      const pages = (db.prepare('PRAGMA page_count').get() as { page_count: number }).page_count;
      // The file may not grow: as if the volume were full.
      db.exec(`PRAGMA max_page_count = ${pages}`);
      const failures = Array.from({ length: 5000 }, (_, index) => ({
        patientId: String(index + 1),
        reason: 'x'.repeat(200),
      }));
      assert.throws(
        () => store.recordFailures(failures),
        (error: Error) => /full/i.test(error.message) && !/cannot rollback/.test(error.message),
      );
    } finally {
      store.close();
    }
  });
});
