import assert from 'node:assert/strict';
import { readdirSync, readlinkSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { ContactsApi } from '../../src/amocrm/contacts.ts';
import type { Contact } from '../../src/amocrm/types.ts';
import { identFieldId as identFieldOf, resolveFields } from '../../src/mapping/catalogue.ts';
import { ContactIndex } from '../../src/sync/contact-index.ts';
import { RunScratch } from '../../src/sync/scratch.ts';
import { tempDir } from '../helpers/amocrm.ts';
import { catalogueFor } from '../helpers/catalogue.ts';
import { shippedMap } from '../helpers/map.ts';

// Where SQLite puts the scratch file (the CLI sets it to STATE_DIR); read when a file is created.
process.env.SQLITE_TMPDIR = tempDir();
const map = shippedMap();
const resolved = resolveFields(map, catalogueFor(map));
const identFieldId = identFieldOf(resolved);

function contact(id: number, options: { ident?: string; phone?: string; name?: string } = {}): Contact {
  const values: Contact['custom_fields_values'] = [];
  if (options.ident !== undefined)
    values.push({ field_id: identFieldId, values: [{ value: options.ident }] });
  if (options.phone !== undefined)
    values.push({ field_id: 1, field_code: 'PHONE', values: [{ value: options.phone }] });
  return { id, name: options.name ?? `Contact ${id}`, custom_fields_values: values };
}

const pagesOf = (...pages: Contact[][]) =>
  ({
    async *pages() {
      yield* pages;
    },
  }) as unknown as ContactsApi;

describe('the contact index in the run scratch database', () => {
  it('finds contacts by IDENT id (oldest first) and by phone, and reports duplicates and unseen ids', async () => {
    const scratch = new RunScratch();
    const index = await ContactIndex.build(
      scratch,
      pagesOf(
        [contact(30, { ident: '7' }), contact(10, { ident: ' 7 ' }), contact(11, { ident: '8' })],
        [contact(12, { phone: '8 (916) 123-45-67', name: 'Иванова Мария' }), contact(13, { ident: '9' })],
      ),
      resolved,
      identFieldId,
      (ids) => new Set(ids.filter((id) => id === '8')),
    );
    assert.equal(index.contacts, 5);
    assert.equal(index.withIdentId, 4);
    assert.deepEqual(
      index.byIdent('7').map((hit) => hit.id),
      [10, 30],
    );
    assert.equal(index.byIdent('8')[0]!.hash, '', 'a linked contact is not hashed');
    assert.match(index.byIdent('9')[0]!.hash, /^[0-9a-f]{64}$/);
    assert.deepEqual(index.byPhone('+79161234567'), [{ id: 12, nameWords: ['иванова', 'мария'] }]);
    assert.deepEqual(index.duplicates(), [{ identId: '7', contactIds: [10, 30] }]);

    scratch.markSeen('7');
    assert.deepEqual(
      index
        .unseen()
        .map((finding) => finding.identId)
        .sort(),
      ['8', '9'],
    );

    // Linked to a patient, the phone contact no longer matches by phone; a new contact is known.
    index.claim('20', { id: 12, hash: 'h' });
    index.claim('21', { id: 99, hash: 'h2' });
    assert.deepEqual(index.byPhone('+79161234567'), []);
    assert.deepEqual(index.byIdent('20'), [{ id: 12, hash: 'h' }]);
    assert.deepEqual(index.byIdent('21'), [{ id: 99, hash: 'h2' }]);
    scratch.close();
  });

  it('remembers which patients a run has read, in a file unlinked at once (nothing left after a kill)', () => {
    const scratch = new RunScratch();
    const folder = process.env.SQLITE_TMPDIR!;
    assert.equal(scratch.markSeen('1'), true);
    assert.equal(scratch.markSeen('1'), false);
    assert.equal(scratch.wasSeen('1'), true);
    assert.equal(scratch.wasSeen('2'), false);
    // More than the 2 MB page cache: the pages go to the file.
    for (let id = 0; id < 200_000; id += 1) scratch.markSeen(String(id).padStart(12, '0'));
    assert.equal(scratch.wasSeen('000000199999'), true);
    assert.deepEqual(readdirSync(folder), []);
    const openFiles = readdirSync('/proc/self/fd').map((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return '';
      }
    });
    assert.ok(
      openFiles.some((target) => target.startsWith(folder) && target.endsWith('(deleted)')),
      'the scratch file lives in SQLITE_TMPDIR, already unlinked',
    );
    scratch.close();
    assert.deepEqual(readdirSync(folder), []);
  });
});
