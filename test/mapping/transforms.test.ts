import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  clinicToday,
  readWallClock,
  toDate,
  toDateTime,
  normaliseDateRead,
  wallClockToUnix,
} from '../../src/mapping/transforms/dates.ts';
import { NUMBER_KINDS, toBoolean, toNumber } from '../../src/mapping/transforms/numbers.ts';
import { parsePhones } from '../../src/mapping/transforms/phone.ts';
import { toText } from '../../src/mapping/transforms/text.ts';

describe('phones', () => {
  const cases: [unknown, string[], string[]?][] = [
    ['8 (900) 123-45-67', ['+79001234567']],
    ['+7 900 1234567', ['+79001234567']],
    ['9001234567', ['+79001234567']],
    ['7(900)123-45-67', ['+79001234567']],
    [89001234567, ['+79001234567']],
    ['8 (343) 222-33-44 доб. 15', ['+73432223344']],
    ['+7 900 123-45-67 ext 9', ['+79001234567']],
    ['8-900-123-45-67 (мама)', ['+79001234567']],
    ['\u200B8\u00A0900\u00A0123\u00A045\u00A067', ['+79001234567']],
    ['+375 29 123-45-67', ['+375291234567']],
    ['00 49 30 1234567', ['+49301234567']],
    ['8 10 49 30 1234567', ['+49301234567']],
    ['89001234567; 8 495 111 22 33', ['+79001234567', '+74951112233']],
    ['89001234567 или 89001234567', ['+79001234567']],
    ['123-45', [], ['phone too short (5 digits)']],
    ['+7 900 123', [], ['+7 phone with 6 digits']],
    ['1234567890', [], ['ten-digit phone that is not a Russian number']],
    ['+1234567890123456789', [], ['phone too long (19 digits)']],
    [null, []],
    ['   ', []],
    [new Date(), [], ['unexpected date value where a phone was expected']],
  ];
  for (const [written, phones, notes = []] of cases) {
    it(`${JSON.stringify(written)} → ${phones.join(', ') || 'nothing'}`, () => {
      assert.deepEqual(parsePhones(written), { phones, notes });
    });
  }
});

describe('text', () => {
  it('cleans invisible characters, control codes and spaces', () => {
    assert.deepEqual(toText('  Ива\u200Bнова\u0007\u00A0 Мария ', { multiline: false, maxLength: 256 }), {
      kind: 'value',
      value: 'Иванова Мария',
    });
  });
  it('keeps line breaks in multi-line fields but collapses runs of blank lines', () => {
    const made = toText('a\r\n\r\n\r\n\r\nb  c', { multiline: true, maxLength: 100 });
    assert.deepEqual(made, { kind: 'value', value: 'a\n\nb c' });
  });
  it('keeps HTML as literal text', () => {
    assert.deepEqual(toText('<b>важно</b>', { multiline: true, maxLength: 100 }), {
      kind: 'value',
      value: '<b>важно</b>',
    });
  });
  it('counts characters, not UTF-16 units, when cutting', () => {
    const made = toText('😀'.repeat(10), { multiline: false, maxLength: 5 });
    assert.deepEqual(made, { kind: 'value', value: '😀😀😀😀…', note: 'cut from 10 to 5 characters' });
  });
});

describe('numbers and checkboxes', () => {
  const money = NUMBER_KINDS.money;
  it('reads numbers in every common form', () => {
    for (const [raw, expected] of [
      [1500, 1500],
      ['1500.456', 1500.46],
      ['1 500,5', 1500.5],
      ["1'500", 1500],
      ['-200', -200],
      [12n, 12],
      ['123456789012', 123456789012],
    ] as const) {
      const made = toNumber(raw, raw === '123456789012' ? { ...money, max: 1e16 } : money);
      assert.deepEqual(made, { kind: 'value', value: expected }, String(raw));
    }
  });
  it('leaves out what is not a number or out of range', () => {
    assert.deepEqual(toNumber('abc', money), { kind: 'empty', note: 'not a number' });
    assert.deepEqual(toNumber(1e20, money), {
      kind: 'empty',
      note: 'number outside -1000000000000…1000000000000',
    });
    assert.deepEqual(toNumber(Number.NaN, money), { kind: 'empty', note: 'not a finite number' });
    assert.deepEqual(toNumber(-1, NUMBER_KINDS.integer), {
      kind: 'empty',
      note: 'number outside 0…1000000000',
    });
    assert.deepEqual(toNumber(true, money), {
      kind: 'empty',
      note: 'yes/no value where a number was expected',
    });
  });
  it('reads checkboxes', () => {
    assert.deepEqual(toBoolean(true), { kind: 'value', value: true });
    assert.deepEqual(toBoolean(1), { kind: 'value', value: true });
    assert.deepEqual(toBoolean('Да'), { kind: 'value', value: true });
    assert.deepEqual(toBoolean(null), { kind: 'value', value: false });
    assert.deepEqual(toBoolean('maybe'), {
      kind: 'value',
      value: false,
      note: 'not a yes/no value; sent as unticked',
    });
  });
});

describe('dates', () => {
  const rules = {
    timeZone: 'Europe/Moscow',
    now: new Date('2026-11-22T09:00:00Z'),
    placeholderUntil: '1900-01-01',
    allowFuture: false,
  };
  it('reads Date objects, ISO and Russian strings as the same wall clock', () => {
    const expected = { year: 2024, month: 2, day: 29, hour: 13, minute: 5, second: 0 };
    assert.deepEqual(readWallClock(new Date('2024-02-29T13:05:00Z')), expected);
    assert.deepEqual(readWallClock('2024-02-29 13:05'), expected);
    assert.deepEqual(readWallClock('29.02.2024 13:05'), expected);
    assert.equal(readWallClock('2023-02-29'), undefined);
    assert.equal(readWallClock('31.13.2024'), undefined);
    assert.equal(readWallClock(20240229), undefined);
  });
  it('turns wall clocks into instants in the clinic zone, across daylight saving changes', () => {
    assert.equal(
      wallClockToUnix({ year: 2026, month: 1, day: 1, hour: 0, minute: 0, second: 0 }, 'Europe/Moscow'),
      Date.UTC(2025, 11, 31, 21) / 1000,
    );
    assert.equal(
      wallClockToUnix({ year: 2026, month: 7, day: 1, hour: 12, minute: 0, second: 0 }, 'Europe/Berlin'),
      Date.UTC(2026, 6, 1, 10) / 1000,
    );
    assert.equal(
      wallClockToUnix({ year: 2026, month: 1, day: 1, hour: 12, minute: 0, second: 0 }, 'Europe/Berlin'),
      Date.UTC(2026, 0, 1, 11) / 1000,
    );
    assert.equal(
      wallClockToUnix({ year: 2026, month: 1, day: 1, hour: 0, minute: 0, second: 0 }, 'Asia/Vladivostok'),
      Date.UTC(2025, 11, 31, 14) / 1000,
    );
  });
  it("knows the clinic's today", () => {
    assert.equal(clinicToday(new Date('2026-11-21T21:30:00Z'), 'Europe/Moscow').day, 22);
    assert.equal(clinicToday(new Date('2026-11-21T20:30:00Z'), 'Europe/Moscow').day, 21);
  });
  it('drops placeholders, unreadable and future dates; date-times may lie ahead', () => {
    assert.deepEqual(toDate(new Date('1899-12-30T00:00:00Z'), rules), {
      kind: 'empty',
      note: 'placeholder date',
    });
    assert.deepEqual(toDate('вчера', rules), { kind: 'empty', note: 'not a readable date' });
    assert.deepEqual(toDate('2027-01-01', rules), { kind: 'empty', note: 'date in the future' });
    assert.deepEqual(toDate(new Date(8.64e15), rules), { kind: 'empty', note: 'date in the future' });
    assert.equal(toDateTime('2027-01-01 10:00', { ...rules, allowFuture: true }).kind, 'value');
  });
  it('writes dates as RFC 3339 with the offset the clinic had that day (before 1970 too)', () => {
    assert.deepEqual(toDate('1965-03-10', rules), { kind: 'value', value: '1965-03-10T00:00:00+03:00' });
    // Moscow kept summer time in 1985.
    assert.deepEqual(toDate('1985-07-01', rules), { kind: 'value', value: '1985-07-01T00:00:00+04:00' });
    assert.deepEqual(toDateTime('2026-11-20 14:05:33', { ...rules, allowFuture: true }), {
      kind: 'value',
      value: '2026-11-20T14:05:00+03:00',
    });
  });
  it('reads a date back in the same form, whichever zone amoCRM kept its midnight in', () => {
    const sent = '1965-03-10T00:00:00+03:00';
    const midnightMoscow = Date.parse(sent) / 1000;
    for (const read of [
      midnightMoscow,
      String(midnightMoscow),
      Date.UTC(1965, 2, 10) / 1000,
      Date.UTC(1965, 2, 9, 14) / 1000, // midnight in Vladivostok
      Date.UTC(1965, 2, 10, 11) / 1000, // midnight at UTC−11
      sent,
    ])
      assert.equal(normaliseDateRead(read, 'date', 'Europe/Moscow'), sent, String(read));
    assert.equal(normaliseDateRead('', 'date', 'Europe/Moscow'), null);
    assert.equal(normaliseDateRead('soon', 'date', 'Europe/Moscow'), null);
    const instant = Date.UTC(2026, 10, 20, 11, 5, 33) / 1000;
    assert.equal(normaliseDateRead(instant, 'datetime', 'Europe/Moscow'), '2026-11-20T14:05:00+03:00');
    assert.equal(normaliseDateRead(instant - 33, 'datetime', 'Europe/Moscow'), '2026-11-20T14:05:00+03:00');
  });
});
