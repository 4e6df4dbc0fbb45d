import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from '../../src/logging/logger.ts';
import { wallClockText, zonedIso, zonedText } from '../../src/support/zoned-time.ts';

describe('times on the clinic clock', () => {
  it('are written with the zone offset, across daylight saving', () => {
    const instant = new Date('2026-12-05T22:19:41.690Z');
    assert.equal(zonedIso(instant, 'Europe/Moscow'), '2026-12-06T01:19:41.690+03:00');
    assert.equal(zonedText(instant, 'Europe/Moscow'), '2026-12-06 01:19:41 +03:00');
    assert.equal(zonedText(instant, 'America/St_Johns'), '2026-12-05 18:49:41 -03:30');
    assert.equal(zonedText(new Date('2026-07-01T12:00:00Z'), 'Europe/Berlin'), '2026-07-01 14:00:00 +02:00');
    // IDENT's wall clock (UTC fields) keeps its digits and gains the offset it had.
    assert.equal(
      wallClockText(new Date('2026-11-20T10:00:00Z'), 'Europe/Moscow'),
      '2026-11-20 10:00:00 +03:00',
    );
    assert.equal(
      wallClockText(new Date('2026-03-29T01:30:00Z'), 'Europe/Berlin'),
      '2026-03-29 01:30:00 +01:00',
    );
    assert.equal(
      wallClockText(new Date('2026-03-29T03:30:00Z'), 'Europe/Berlin'),
      '2026-03-29 03:30:00 +02:00',
    );
  });

  it('log lines carry the time zone of TZ, not UTC', () => {
    let text = '';
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString();
        done();
      },
    });
    createLogger({ level: 'info', format: 'json', destination: stream, timeZone: 'Europe/Moscow' }).info(
      'hello',
    );
    const line = JSON.parse(text) as { time: string };
    assert.match(line.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+03:00$/);
    assert.ok(Math.abs(Date.parse(line.time) - Date.now()) < 3_600_000);
  });
});
