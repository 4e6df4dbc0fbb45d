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
