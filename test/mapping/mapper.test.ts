import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type MappedContact, toCreatePayload, toUpdatePayload } from '../../src/mapping/mapper.ts';
import { fullRow, type Row, rowWith } from '../fixtures/patient-rows.ts';
import { shippedMapper } from '../helpers/map.ts';

const { mapper, fieldId, enumId } = shippedMapper();

function mapped(row: Row): MappedContact {
  const outcome = mapper(row);
  assert.ok(outcome.ok, `expected the row to map, got ${outcome.ok ? '' : outcome.reason}`);
  return outcome.contact;
}
const fieldValue = (contact: MappedContact, key: string) =>
  contact.document.fields.find((field) => field.key === key)?.value;
const noteOf = (contact: MappedContact, key: string) =>
  contact.notes.find((note) => note.field === key)?.note;

describe('mapping one realistic row', () => {
  const contact = mapped(fullRow);

  it('fills the standard fields', () => {
    assert.equal(contact.patientId, '1042');
    assert.equal(contact.document.name, 'Иванова Мария Петровна');
    assert.equal(contact.document.first_name, 'Мария');
    assert.equal(contact.document.last_name, 'Иванова');
    assert.deepEqual(contact.document.phones, [
      { value: '+79161234567', enum_code: 'MOB' },
      { value: '+74957654321', enum_code: 'WORK' },
    ]);
    assert.deepEqual(contact.document.emails, [{ value: 'maria.ivanova@example.ru', enum_code: 'PRIV' }]);
  });

  it('fills all 26 custom fields with values of their types', () => {
    const expected: Record<string, unknown> = {
      ident_id: '1042',
      age: 41,
      sex: { enum_id: enumId('sex', 'Женский') },
      birth_date: '1985-03-15T00:00:00+03:00',
      card_number: 'К-1042',
      comment: 'Аллергия на лидокаин.\nПредпочитает утренние приёмы.',
      patient_number: '1042',
      status: { enum_id: enumId('status', 'Активный') },
      archive_reason: null,
      branch: 'Клиника на Ленина',
      city: 'Екатеринбург',
      inn: '667101234567',
      snils: '123-456-789 01',
      passport: '6500 123456',
      first_visit: '2019-06-01T00:00:00+03:00',
      visit_count: 17,
      visit_sum: 125400.5,
      discount: 5,
      advance: 1500,
      debt: 0,
      sms_rejection: false,
      // IDENT's wall clock 14:05:33 in Moscow, to the minute.
      changed_at: '2026-11-20T14:05:00+03:00',
      patronymic: 'Петровна',
      extra_phone: '+74957654321',
      address: 'г. Екатеринбург, ул. Ленина, д. 1, кв. 2',
      source: 'Рекомендация знакомых',
    };
    assert.equal(contact.document.fields.length, 26);
    for (const [key, value] of Object.entries(expected))
      assert.deepEqual(fieldValue(contact, key), value, key);
    assert.deepEqual(contact.notes, []);
  });

  it('builds a create payload without empty fields and an update payload that clears them', () => {
    const create = toCreatePayload(contact.document);
    assert.equal(create.name, 'Иванова Мария Петровна');
    const ids = create.custom_fields_values!.map((field) => field.field_id ?? field.field_code);
    assert.ok(!ids.includes(fieldId('archive_reason')), 'empty field left out of a create');
    assert.deepEqual(
      create.custom_fields_values!.find((field) => field.field_id === fieldId('sex'))!.values,
      [{ enum_id: enumId('sex', 'Женский') }],
    );
    assert.deepEqual(
      create.custom_fields_values!.find((field) => field.field_id === fieldId('sms_rejection'))!.values,
      [{ value: false }],
    );

    const update = toUpdatePayload(contact.document, 77);
    assert.equal(update.id, 77);
    assert.deepEqual(
      update.custom_fields_values!.find((field) => field.field_id === fieldId('archive_reason')),
      { field_id: fieldId('archive_reason'), values: null },
    );
    assert.equal(
      update.custom_fields_values!.length,
      26,
      'every custom field; PHONE and EMAIL only when merged',
    );
    const merged = toUpdatePayload(contact.document, 77, {
      phones: [{ value: '+79161234567', enum_code: 'MOB' }],
      emails: [],
    });
    assert.deepEqual(
      merged.custom_fields_values!.filter((field) => field.field_code).map((field) => field.field_code),
      ['PHONE'],
      'an empty list is never sent: it would erase what a manager typed',
    );
    for (const field of update.custom_fields_values!) {
      for (const item of field.values ?? []) assert.notEqual(item.value, '', 'never an empty string');
    }
  });

  it('sends dates as RFC 3339 in the clinic zone, so birth dates before 1970 are never negative timestamps', () => {
    const old = mapped(rowWith({ BirthDate: new Date(Date.UTC(1965, 2, 10)) }));
    assert.equal(fieldValue(old, 'birth_date'), '1965-03-10T00:00:00+03:00');
    const create = JSON.stringify(toCreatePayload(old.document));
    assert.ok(!/"value":-\d/.test(create), 'no negative number anywhere');
  });

  it('hashes content, not key order', () => {
    const reversed = Object.fromEntries(Object.entries(fullRow).reverse());
    assert.equal(mapped(reversed).hash, contact.hash);
    assert.notEqual(mapped(rowWith({ City: 'Пермь' })).hash, contact.hash);
    assert.match(contact.hash, /^[0-9a-f]{64}$/);
  });
});

describe('bad input has a defined outcome and never throws', () => {
  it('null or blank names fall back to the patient id', () => {
    const contact = mapped(rowWith({ Surname: null, Name: '   ', Patronymic: '\u200B' }));
    assert.equal(contact.document.name, 'Пациент IDENT 1042');
    assert.equal(contact.document.first_name, '');
    assert.equal(noteOf(contact, 'name'), 'no name in IDENT; fallback used');
    assert.equal(toCreatePayload(contact.document).first_name, undefined);
  });

  it('a missing patronymic leaves no double space', () => {
    assert.equal(mapped(rowWith({ Patronymic: null })).document.name, 'Иванова Мария');
  });

  it('a 1900-01-01 placeholder birth date empties birth date and age', () => {
    const contact = mapped(rowWith({ BirthDate: new Date('1900-01-01T00:00:00Z') }));
    assert.equal(fieldValue(contact, 'birth_date'), null);
    assert.equal(fieldValue(contact, 'age'), null);
    assert.equal(noteOf(contact, 'birth_date'), 'placeholder date');
  });

  it('a birth date in the future is dropped', () => {
    const contact = mapped(rowWith({ BirthDate: new Date('2031-01-01T00:00:00Z') }));
    assert.equal(fieldValue(contact, 'birth_date'), null);
    assert.equal(noteOf(contact, 'age'), 'date in the future');
  });

  it('the age turns on the birthday in the clinic time zone', () => {
    // 2026-03-14 21:30 UTC is already 2026-03-15 00:30 in Moscow.
    const { mapper: atMidnight } = shippedMapper(new Date('2026-03-14T21:30:00Z'));
    const before = shippedMapper(new Date('2026-03-14T20:30:00Z')).mapper;
    const age = (outcome: ReturnType<typeof atMidnight>) =>
      outcome.ok ? outcome.contact.document.fields.find((f) => f.key === 'age')?.value : undefined;
    assert.equal(age(atMidnight(fullRow)), 41);
    assert.equal(age(before(fullRow)), 40);
  });

  for (const [written, expected] of [
    ['8 (900) 123-45-67', '+79001234567'],
    ['+7 900 1234567', '+79001234567'],
    ['9001234567', '+79001234567'],
    ['8-900-123-45-67 доб. 123', '+79001234567'],
    ['+49 30 1234567', '+49301234567'],
  ] as const) {
    it(`the phone "${written}" becomes ${expected}`, () => {
      const contact = mapped(rowWith({ MobilePhone: written, Phone: null }));
      assert.deepEqual(contact.document.phones, [{ value: expected, enum_code: 'MOB' }]);
    });
  }

  it('a phone too short is left out with a note', () => {
    const contact = mapped(rowWith({ MobilePhone: '12-34-56', Phone: null }));
    assert.deepEqual(contact.document.phones, []);
    assert.equal(noteOf(contact, 'PHONE.MobilePhone'), 'phone too short (6 digits)');
  });

  it('two numbers in one cell both go to PHONE and to the text field', () => {
    const contact = mapped(rowWith({ MobilePhone: null, Phone: '8 495 111-22-33, 8 916 444-55-66' }));
    assert.deepEqual(
      contact.document.phones.map((phone) => phone.value),
      ['+74951112233', '+79164445566'],
    );
    assert.equal(fieldValue(contact, 'extra_phone'), '+74951112233, +79164445566');
  });

  it('the second phone equal to the mobile is sent once', () => {
    const contact = mapped(rowWith({ MobilePhone: '89161234567', Phone: '+7 916 123 45 67' }));
    assert.equal(contact.document.phones.length, 1);
  });

  it('debt as a non-numeric string is cleared with a note', () => {
    const contact = mapped(rowWith({ Debt: 'нет долга' }));
    assert.equal(fieldValue(contact, 'debt'), null);
    assert.equal(noteOf(contact, 'debt'), 'not a number');
  });

  it('money written by hand is read', () => {
    assert.equal(fieldValue(mapped(rowWith({ Debt: '1 234,50 руб.' })), 'debt'), 1234.5);
  });

  it('a 10 000-character comment is cut to the textarea limit', () => {
    const contact = mapped(rowWith({ Comment: 'я'.repeat(10_000) }));
    const comment = fieldValue(contact, 'comment') as string;
    assert.equal(Array.from(comment).length, 4000);
    assert.ok(comment.endsWith('…'));
    assert.equal(noteOf(contact, 'comment'), 'cut from 10000 to 4000 characters');
  });

  it('an unknown status code gets the default with a note', () => {
    const contact = mapped(rowWith({ StatusCode: 42 }));
    assert.deepEqual(fieldValue(contact, 'status'), { enum_id: enumId('status', 'Активный') });
    assert.equal(noteOf(contact, 'status'), 'unknown code');
  });

  it('an archiving reason makes the patient archived', () => {
    const contact = mapped(rowWith({ ArchivingReason: 'Переезд' }));
    assert.deepEqual(fieldValue(contact, 'status'), { enum_id: enumId('status', 'Архивный') });
    assert.equal(fieldValue(contact, 'archive_reason'), 'Переезд');
  });

  it('a percent out of range is cleared', () => {
    assert.equal(fieldValue(mapped(rowWith({ DiscountPercent: 150 })), 'discount'), null);
  });

  it('a missing patient id fails the row with a reason', () => {
    const outcome = mapper(rowWith({ PatientId: null }));
    assert.equal(outcome.ok, false);
    assert.equal(outcome.ok ? '' : outcome.reason, 'the row has no PatientId');
  });

  it('a bigint id given as a string is read', () => {
    assert.equal(mapped(rowWith({ PatientId: '9007199254740993' })).patientId, '9007199254740993');
  });

  it('garbage of every type never throws', () => {
    const garbage: unknown[] = [
      {},
      [],
      Symbol('x'),
      () => 1,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      -0,
      new Date(Number.NaN),
      Buffer.from('abc'),
      10n ** 30n,
      '\u0000\u0007',
      '<script>alert(1)</script>',
    ];
    for (const item of garbage) {
      const row = Object.fromEntries(
        Object.keys(fullRow).map((key) => [key, key === 'PatientId' ? 5 : item]),
      );
      const outcome = mapper(row);
      assert.equal(outcome.ok, true, `row of ${String(typeof item)} values`);
    }
  });
});
