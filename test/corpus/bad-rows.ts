/**
 * Malformed patient rows, each with its defined outcome: synced with these normalised values (by
 * field key; null = left empty) or recorded as a failure with a reason. Dates in the expectations
 * are RFC 3339 text of midnight (or the wall clock, to the minute) in Europe/Moscow, as amoCRM is sent them.
 */
export interface BadRow {
  name: string;
  changes: Record<string, unknown>;
  expect: { values: Record<string, unknown> } | { fails: RegExp };
}

const two = (n: number) => String(n).padStart(2, '0');
const msk = (y: number, m: number, d: number, h = 0, mi = 0) =>
  `${y}-${two(m)}-${two(d)}T${two(h)}:${two(mi)}:00+03:00`;

export const BAD_ROWS: BadRow[] = [
  // ── the patient id ──
  { name: 'id missing', changes: { PatientId: null }, expect: { fails: /no PatientId/ } },
  { name: 'id zero', changes: { PatientId: 0 }, expect: { fails: /no PatientId/ } },
  { name: 'id negative', changes: { PatientId: -5 }, expect: { fails: /no PatientId/ } },
  { name: 'id as text', changes: { PatientId: 'abc' }, expect: { fails: /no PatientId/ } },
  { name: 'id fractional', changes: { PatientId: 12.5 }, expect: { fails: /no PatientId/ } },
  {
    name: 'id as bigint string with zeros',
    changes: { PatientId: '000777001' },
    expect: { values: { ident_id: '777001' } },
  },
  // ── names ──
  {
    name: 'all names null',
    changes: { Surname: null, Name: null, Patronymic: null },
    expect: { values: { name: 'Пациент IDENT {id}' } },
  },
  {
    name: 'names of spaces and zero-width characters',
    changes: { Surname: ' \u200B ', Name: '\uFEFF', Patronymic: '\t' },
    expect: { values: { name: 'Пациент IDENT {id}' } },
  },
  {
    name: 'name with control characters',
    changes: { Surname: 'Ива\u0000нова\u0007', Name: 'Мария', Patronymic: null },
    expect: { values: { name: 'Иванова Мария' } },
  },
  {
    name: 'name as a number',
    changes: { Surname: 12345, Name: 'Мария', Patronymic: null },
    expect: { values: { name: '12345 Мария' } },
  },
  {
    name: 'name 400 characters long',
    changes: { Surname: 'Щ'.repeat(400), Name: null, Patronymic: null },
    expect: { values: { name: `${'Щ'.repeat(254)}…` } },
  },
  {
    name: 'name in Latin with extra spaces',
    changes: { Surname: '  Smith   ', Name: ' John ', Patronymic: null },
    expect: { values: { name: 'Smith John' } },
  },
  {
    name: 'patronymic as a Buffer (wrong driver type)',
    changes: { Patronymic: Buffer.from('x') },
    expect: { values: { patronymic: null } },
  },
  // ── phones ──
  {
    name: 'phone 8 (900) 123-45-67',
    changes: { MobilePhone: '8 (900) 123-45-67', Phone: null },
    expect: { values: { PHONE: ['+79001234567'] } },
  },
  {
    name: 'phone +7 900 1234567',
    changes: { MobilePhone: '+7 900 1234567', Phone: null },
    expect: { values: { PHONE: ['+79001234567'] } },
  },
  {
    name: 'phone 9001234567',
    changes: { MobilePhone: '9001234567', Phone: null },
    expect: { values: { PHONE: ['+79001234567'] } },
  },
  {
    name: 'phone with an extension',
    changes: { MobilePhone: null, Phone: '(343) 222-33-44 доб. 105' },
    expect: { values: { PHONE: ['+73432223344'], extra_phone: '+73432223344' } },
  },
  {
    name: 'phone too short',
    changes: { MobilePhone: '22-33-44', Phone: null },
    expect: { values: { PHONE: [] } },
  },
  {
    name: 'phone too long',
    changes: { MobilePhone: '+7 900 123 45 67 89 01 23', Phone: null },
    expect: { values: { PHONE: [] } },
  },
  {
    name: 'two numbers in one cell',
    changes: { MobilePhone: '89001234567; 89007654321', Phone: null },
    expect: { values: { PHONE: ['+79001234567', '+79007654321'] } },
  },
  {
    name: 'phone of letters only',
    changes: { MobilePhone: 'нет телефона', Phone: null },
    expect: { values: { PHONE: [] } },
  },
  {
    name: 'phone as a number',
    changes: { MobilePhone: 89001234567, Phone: null },
    expect: { values: { PHONE: ['+79001234567'] } },
  },
  {
    name: 'phone as a Date (wrong driver type)',
    changes: { MobilePhone: new Date(), Phone: null },
    expect: { values: { PHONE: [] } },
  },
  {
    name: 'foreign phone',
    changes: { MobilePhone: '+995 555 12 34 56', Phone: null },
    expect: { values: { PHONE: ['+995555123456'] } },
  },
  {
    name: 'phone with non-breaking spaces',
    changes: { MobilePhone: '8\u00A0900\u00A0123\u00A045\u00A067', Phone: null },
    expect: { values: { PHONE: ['+79001234567'] } },
  },
  // ── e-mail ──
  { name: 'e-mail invalid', changes: { Email: 'ivanova@' }, expect: { values: { EMAIL: [] } } },
  {
    name: 'e-mail upper case with spaces',
    changes: { Email: '  IVANOVA@Example.RU ' },
    expect: { values: { EMAIL: ['ivanova@example.ru'] } },
  },
  {
    name: 'two e-mails',
    changes: { Email: 'a@example.ru, b@example.ru' },
    expect: { values: { EMAIL: ['a@example.ru', 'b@example.ru'] } },
  },
  // ── dates ──
  {
    name: 'birth date 1900-01-01 placeholder',
    changes: { BirthDate: new Date('1900-01-01T00:00:00Z') },
    expect: { values: { birth_date: null, age: null } },
  },
  {
    name: "birth date Delphi's zero 1899-12-30",
    changes: { BirthDate: new Date('1899-12-30T00:00:00Z') },
    expect: { values: { birth_date: null } },
  },
  {
    name: 'birth date in the future',
    changes: { BirthDate: new Date('2040-01-01T00:00:00Z') },
    expect: { values: { birth_date: null, age: null } },
  },
  {
    name: 'birth date as dd.mm.yyyy text',
    changes: { BirthDate: '15.03.1985' },
    expect: { values: { birth_date: msk(1985, 3, 15), age: 41 } },
  },
  {
    name: 'birth date unreadable text',
    changes: { BirthDate: 'весна 85' },
    expect: { values: { birth_date: null } },
  },
  {
    name: 'birth date invalid Date',
    changes: { BirthDate: new Date(Number.NaN) },
    expect: { values: { birth_date: null } },
  },
  {
    name: 'birth date 29 February',
    changes: { BirthDate: new Date('2000-02-29T00:00:00Z') },
    expect: { values: { birth_date: msk(2000, 2, 29), age: 26 } },
  },
  {
    name: 'age over 130',
    changes: { BirthDate: new Date('1880-05-05T00:00:00Z') },
    expect: { values: { age: null } },
  },
  {
    name: 'first visit year 9999',
    changes: { FirstVisitDate: new Date('9999-12-31T00:00:00Z') },
    expect: { values: { first_visit: null } },
  },
  {
    name: 'changed-at as ISO text',
    changes: { ChangedAt: '2026-11-20 14:05:33' },
    expect: { values: { changed_at: msk(2026, 11, 20, 14, 5) } },
  },
  {
    name: 'changed-at as a number',
    changes: { ChangedAt: 1700000000 },
    expect: { values: { changed_at: null } },
  },
  // ── numbers ──
  { name: 'debt as words', changes: { Debt: 'нет долга' }, expect: { values: { debt: null } } },
  { name: 'debt written by hand', changes: { Debt: '1 234,56 руб.' }, expect: { values: { debt: 1234.56 } } },
  { name: 'debt extreme', changes: { Debt: 1e300 }, expect: { values: { debt: null } } },
  { name: 'debt infinite', changes: { Debt: Number.POSITIVE_INFINITY }, expect: { values: { debt: null } } },
  { name: 'debt NaN', changes: { Debt: Number.NaN }, expect: { values: { debt: null } } },
  { name: 'advance as bigint', changes: { Advance: 5000n }, expect: { values: { advance: 5000 } } },
  {
    name: 'visit sum with many decimals',
    changes: { VisitSum: 1234.5678 },
    expect: { values: { visit_sum: 1234.57 } },
  },
  { name: 'visit count negative', changes: { VisitCount: -3 }, expect: { values: { visit_count: null } } },
  { name: 'visit count as text', changes: { VisitCount: '17' }, expect: { values: { visit_count: 17 } } },
  { name: 'discount 150 %', changes: { DiscountPercent: 150 }, expect: { values: { discount: null } } },
  { name: 'discount "15%"', changes: { DiscountPercent: '15%' }, expect: { values: { discount: 15 } } },
  { name: 'numeric as boolean', changes: { VisitSum: true }, expect: { values: { visit_sum: null } } },
  // ── selects and checkboxes ──
  { name: 'unknown status code', changes: { StatusCode: 99 }, expect: { values: { status: 'Активный' } } },
  { name: 'status as text code', changes: { StatusCode: ' 3 ' }, expect: { values: { status: 'Активный' } } },
  {
    name: 'archiving reason makes archived',
    changes: { ArchivingReason: 'Переезд' },
    expect: { values: { status: 'Архивный' } },
  },
  { name: 'sex unknown code', changes: { Sex: 7 }, expect: { values: { sex: 'Не указан' } } },
  { name: 'sex as Cyrillic letter', changes: { Sex: 'ж' }, expect: { values: { sex: 'Женский' } } },
  {
    name: 'SMS rejection as text "да"',
    changes: { SmsRejection: 'да' },
    expect: { values: { sms_rejection: true } },
  },
  {
    name: 'SMS rejection garbage',
    changes: { SmsRejection: { weird: true } },
    expect: { values: { sms_rejection: false } },
  },
  // ── texts ──
  {
    name: 'comment of 10 000 characters',
    changes: { Comment: 'к'.repeat(10_000) },
    expect: { values: { comment: `${'к'.repeat(3999)}…` } },
  },
  {
    name: 'comment with HTML',
    changes: { Comment: '<script>alert(1)</script><b>жирный</b>' },
    expect: { values: { comment: '<script>alert(1)</script><b>жирный</b>' } },
  },
  {
    name: 'comment with emoji and RTL marks',
    changes: { Comment: 'Боится 😱\u200F уколов' },
    expect: { values: { comment: 'Боится 😱 уколов' } },
  },
  {
    name: 'card number as an object',
    changes: { CardNumber: { id: 1 } },
    expect: { values: { card_number: null } },
  },
  {
    name: 'address 300 characters',
    changes: { Address: 'ул. '.repeat(100) },
    expect: { values: { address: `${'ул. '.repeat(100).trim().slice(0, 255)}…` } },
  },
  {
    name: 'INN longer than 12',
    changes: { INN: '6671012345678901' },
    expect: { values: { inn: '66710123456…' } },
  },
  {
    name: 'patient number with a line break',
    changes: { PatientNumber: '10\n42' },
    expect: { values: { patient_number: '10 42' } },
  },
  { name: 'branch name blank', changes: { BranchName: '   ' }, expect: { values: { branch: null } } },
  { name: 'city with a trailing tab', changes: { City: 'Пермь\t' }, expect: { values: { city: 'Пермь' } } },
  {
    name: 'SNILS as a number',
    changes: { SNILS: 12345678901 },
    expect: { values: { snils: '12345678901' } },
  },
  {
    name: 'passport with soft hyphens',
    changes: { Passport: '65\u00AD00 123\u00AD456' },
    expect: { values: { passport: '6500 123456' } },
  },
  { name: 'source as an array', changes: { InfoSource: ['a', 'b'] }, expect: { values: { source: null } } },
];
