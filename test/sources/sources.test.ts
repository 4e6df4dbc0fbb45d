import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { combineMembers } from '../../src/sources/combine.ts';
import { ChainPatientSource } from '../../src/sources/scoped-sources.ts';
import { fieldOfIds, idsInField, parseTypedId, scopeId } from '../../src/sources/source-key.ts';
import { sourcesProblem } from '../../src/sources/state-check.ts';
import type { MappedContact } from '../../src/mapping/mapper.ts';
import type { ResolvedField } from '../../src/mapping/catalogue.ts';
import { MemorySource, syntheticPatient, T0 } from '../helpers/memory-source.ts';

const center = { key: 'center', bare: true };
const north = { key: 'north', bare: false };

describe('source keys', () => {
  it('keeps ids scoped, bare for the clinic that synced alone', () => {
    assert.equal(scopeId(center, '1042'), '1042');
    assert.equal(scopeId(north, '1042'), 'north:1042');
    assert.deepEqual(parseTypedId([center, north], 'north:7'), { kept: 'north:7', source: north });
    assert.deepEqual(parseTypedId([center, north], '7'), { kept: '7', source: center });
    assert.match(
      (parseTypedId([north, { key: 'south', bare: false }], '7') as { error: string }).error,
      /north:7 or south:7/,
    );
    assert.match((parseTypedId([center, north], 'east:7') as { error: string }).error, /no source "east"/);
  });

  it('lists the ids of a shared contact in one order, and reads them back', () => {
    const field = fieldOfIds(['north:77', '1042', 'east:3', 'north:8']);
    assert.equal(field, '1042, east:3, north:8, north:77');
    assert.deepEqual(idsInField(field), ['1042', 'east:3', 'north:8', 'north:77']);
    assert.deepEqual(idsInField(null), []);
  });

  it('refuses a state whose patients no configured source owns', () => {
    assert.match(sourcesProblem([north], new Map([['', 10]]))!, /SOURCE_BARE_IDS/);
    assert.match(sourcesProblem([center, north], new Map([['south', 3]]))!, /"south"/);
    assert.equal(
      sourcesProblem(
        [center, north],
        new Map([
          ['', 10],
          ['north', 2],
        ]),
      ),
      undefined,
    );
  });
});

describe('a chain read as one source', () => {
  it('scopes ids, keeps each database its own mark, and reads a new source whole', async () => {
    const a = new MemorySource([syntheticPatient(1, T0), syntheticPatient(2, T0)], T0);
    const b = new MemorySource([syntheticPatient(1, T0)], new Date(T0.getTime() + 3_600_000));
    const chain = new ChainPatientSource([
      { scope: center, patients: a },
      { scope: north, patients: b },
    ]);
    const ids = async (rows: AsyncIterable<{ PatientId?: unknown }>) => {
      const out: unknown[] = [];
      for await (const row of rows) out.push(row.PatientId);
      return out;
    };
    assert.deepEqual(await ids(chain.all()), [1, 2, 'north:1']);
    const mark = await chain.now();
    assert.equal(mark.at.getTime(), a.clock.getTime());
    assert.equal(mark.sources?.north?.at.getTime(), b.clock.getTime());
    // A mark from before the chain (no per-source marks): the lead's change selection, north whole.
    assert.deepEqual(await ids(chain.changedSince({ at: new Date(a.clock.getTime() + 1) })), ['north:1']);
    assert.equal(((await chain.one('north:1')) as { PatientId: unknown }).PatientId, 'north:1');
    assert.equal(await chain.one('south:1'), undefined);
    assert.equal(chain.rankOf('north:1'), 1);
    assert.equal(chain.rankOf('1'), 0);
  });
});

describe('a contact shared by clinics', () => {
  const fields = [
    { fieldId: 1, spec: { key: 'ident_id', type: 'text' } },
    { fieldId: 2, spec: { key: 'visit_count', type: 'numeric', combine: 'sum' } },
    { fieldId: 3, spec: { key: 'first_visit', type: 'date', combine: 'min' } },
    { fieldId: 4, spec: { key: 'card_number', type: 'text', combine: 'list' } },
    { fieldId: 5, spec: { key: 'comment', type: 'text' } },
  ] as unknown as ResolvedField[];
  const mapped = (patientId: string, values: unknown[], first: string, phone: string): MappedContact => ({
    patientId,
    hash: '',
    notes: [],
    document: {
      name: `${first} Иванова`,
      first_name: first,
      last_name: 'Иванова',
      phones: [{ value: phone, enum_code: 'MOB' }],
      emails: [],
      fields: fields.map((field, index) => ({
        field_id: field.fieldId,
        key: field.spec.key,
        value: (index === 0 ? patientId : values[index - 1]) as never,
      })),
    },
  });

  it('combines each field by its rule, the same whichever clinic runs', () => {
    const a = {
      mapped: mapped('1042', [3, 1000, 'К-1', 'старый'], 'Мария', '+79990000001'),
      changedAt: 1,
      rank: 0,
    };
    const b = {
      mapped: mapped('north:7', [2, 500, 'N-7', null], 'Маша', '+79990000002'),
      changedAt: 2,
      rank: 1,
    };
    const fromA = combineMembers(a, [b], fields);
    const fromB = combineMembers(b, [a], fields);
    assert.equal(fromA.hash, fromB.hash);
    assert.deepEqual(
      fromA.document.fields.map((field) => field.value),
      ['1042, north:7', 5, 500, 'К-1, N-7', 'старый'],
    );
    // Person fields from the clinic whose patient changed last.
    assert.equal(fromA.document.first_name, 'Маша');
    assert.deepEqual(
      fromA.document.phones.map((phone) => phone.value),
      ['+79990000002'],
    );
    assert.equal(fromA.identField, '1042, north:7');
    assert.deepEqual(fromA.sharedWith, ['north:7']);
  });
});
