import assert from 'node:assert/strict';
import { it } from 'node:test';
import { scrub } from '../../src/alerts/message.ts';

// The clinic's IDENT server is almost always a LAN address (DB_HOST=192.168.1.10); the alert is the
// integrator's only clue which server (and errors.ts puts it in every connection error on purpose).
it('scrub keeps the SQL Server address of a connection error', () => {
  const reason =
    'IDENT has not answered for 20 minutes: cannot connect to SQL Server at 192.168.100.200:1433; check DB_HOST and DB_PORT (or DB_INSTANCE) and that the server accepts TCP connections';
  assert.match(scrub(reason), /192\.168\.100\.200/);
});

it('scrub keeps counts of refused values (a large clinic) and the brackets around them', () => {
  assert.equal(
    scrub('amoCRM refused 1234567 more values than before (1234570 now stand unsent)'),
    'amoCRM refused 1234567 more values than before (1234570 now stand unsent)',
  );
});

it('scrub keeps an amoCRM refusal in Russian that names a field (not a person)', () => {
  assert.match(scrub('amoCRM refused: Поле Телефон Пациента недопустимо'), /Поле/);
});

it('scrub keeps host:port addresses, date ranges and GUIDs', () => {
  for (const kept of [
    'cannot connect to SQL Server at ident-server:1433',
    'cannot connect to SQL Server at 127.0.0.1:1433',
    'DB_HOST=192.168.1.10 does not answer',
    'no run between 2026-11-28 10:00 and 2026-11-29 11:00 UTC',
    'deal 3f2504e0-4f89-11d3-9a0c-0305e82c3301 and 12345678-1234-1234-1234-123456789012',
  ])
    assert.equal(scrub(kept), kept);
});

it('scrub still blanks phone shapes and full Russian names, also right after a colon', () => {
  const cases: [string, string][] = [
    ['phone:234-56-78 refused', '56-78'],
    ['tel 89123456789 refused', '9123456789'],
    ['8-912-345-67-89 refused', '345-67'],
    ['9123456789 refused', '9123456789'],
    ['Мария Петровна Иванова refused', 'Иванова'],
    ['Петров Иван Ильич refused', 'Петров'],
  ];
  for (const [text, gone] of cases) assert.ok(!scrub(text).includes(gone), scrub(text));
});
