import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { contactsStream } from '../../src/streams/contacts/stream.ts';
import { dealsStream } from '../../src/streams/deals/stream.ts';
import { mayRun } from '../../src/streams/runner/stream.ts';

describe('streams declare what they depend on', () => {
  it('deals run after the contacts, only when the contacts succeeded', () => {
    assert.deepEqual(dealsStream.dependsOn, [contactsStream.name]);
    assert.equal(mayRun(dealsStream, { contacts: 'ok' }), true);
    for (const outcome of ['failed', 'stopped', undefined])
      assert.equal(mayRun(dealsStream, { contacts: outcome }), false, `contacts ${outcome}`);
    assert.equal(mayRun(contactsStream, {}), true);
  });

  it("each stream's map is read with the SQL file it declares, and a missing one is named", () => {
    const sqlDir = mkdtempSync(join(tmpdir(), 'streams-sql-'));
    try {
      const config = {
        mappingFile: resolve('mapping/contact-map.yaml'),
        dealMappingFile: resolve('mapping/deal-map.yaml'),
        sqlDir,
      };
      cpSync(resolve('sql'), sqlDir, { recursive: true });
      assert.equal(contactsStream.load(config).map.fields.length > 0, true);
      assert.equal(dealsStream.load(config).map.fields.length > 0, true);
      for (const stream of [contactsStream, dealsStream]) {
        rmSync(join(sqlDir, stream.sql));
        assert.throws(() => stream.load(config), new RegExp(stream.sql.replace('.', '\\.')));
        cpSync(resolve('sql', stream.sql), join(sqlDir, stream.sql));
      }
    } finally {
      rmSync(sqlDir, { recursive: true, force: true });
    }
  });
});
