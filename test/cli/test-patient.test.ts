import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { documentRows, shownValue } from '../../src/cli/commands/test-patient.ts';
import { formatTable } from '../../src/cli/table.ts';
import { fullRow } from '../fixtures/patient-rows.ts';
import { shippedMapper } from '../helpers/map.ts';

/** The fixture with a patient number of its own, so the id (which is shown) does not hide it. */
const row = { ...fullRow, PatientNumber: 'П-77-001', CardNumber: 'К-55-123' };
const SHOWN_COLUMNS = new Set([
  'PatientId',
  'StatusCode',
  'ChangedAt',
  'VisitCount',
  'VisitSum',
  'Advance',
  'Debt',
  'DiscountPercent',
  'SmsRejection',
  'BranchName',
]);

function report(show: boolean): string {
  const { mapper } = shippedMapper();
  const outcome = mapper(row);
  assert.ok(outcome.ok);
  const shown = shownValue(show);
  const names = new Map(outcome.contact.document.fields.map((field) => [field.key, field.key]));
  return [
    formatTable(
      ['column', 'value'],
      Object.entries(row).map(([key, value]) => [key, shown(key, value)]),
    ),
    formatTable(['field', 'value'], documentRows(outcome.contact.document, names, shown)),
  ].join('\n');
}

describe('ident-sync test --patient-id shows no personal data unless asked', () => {
  it('masks every identifying column of the row and every field of the payload', () => {
    const text = report(false);
    const personal = Object.entries(row).filter(([key, value]) => !SHOWN_COLUMNS.has(key) && value !== null);
    assert.ok(personal.length >= 18, `${personal.length} personal columns in the fixture`);
    const line = (key: string) => text.split('\n').find((candidate) => candidate.startsWith(`${key} `))!;
    for (const [key, value] of personal) {
      assert.match(line(key), /^\S+ +•••$/, `${key} is masked`);
      const forms = [String(value), ...(value instanceof Date ? [value.toISOString().slice(0, 10)] : [])];
      for (const form of forms.filter((candidate) => candidate.length >= 4))
        assert.ok(!text.includes(form), `${key} shown elsewhere: ${form}`);
    }
    // The payload as sent: normalised phones, the lower-cased e-mail, the RFC 3339 birth date, the age.
    for (const form of [
      '+79161234567',
      '+74957654321',
      'maria.ivanova@example.ru',
      '1985-03-15',
      'Иванова Мария Петровна',
    ])
      assert.ok(!text.includes(form), `shown: ${form}`);
    for (const key of ['age', 'card_number', 'patient_number', 'sex', 'birth_date', 'first_visit'])
      assert.match(line(key), /•••/, key);
    assert.match(line('visit_count'), /17/, 'counts and sums say nothing about who it is');
  });

  it('--show-personal-data shows them', () => {
    const text = report(true);
    for (const form of ['Иванова', '8 (916) 123-45-67', 'К-55-123', 'П-77-001', '6500 123456'])
      assert.ok(text.includes(form), form);
  });
});
