import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { afterEach, describe, it } from 'node:test';
import { createLogger } from '../../src/logging/logger.ts';
import { forgetSecretsForTests, registerSecret } from '../../src/logging/redact.ts';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: createLogger({ level: 'debug', format: 'json', destination }), lines };
}

describe('logging', () => {
  afterEach(forgetSecretsForTests);

  it('writes JSON lines with the level as a word', () => {
    const { logger, lines } = capture();
    logger.info({ patientId: '1042', created: 3 }, 'batch stored');
    const line = JSON.parse(lines[0]!);
    assert.equal(line.level, 'info');
    assert.equal(line.msg, 'batch stored');
    assert.equal(line.patientId, '1042');
    assert.equal(line.created, 3);
  });

  it('redacts personal data and secrets by key at any depth', () => {
    const { logger, lines } = capture();
    logger.debug(
      {
        patient: {
          PatientId: 7,
          Surname: 'Иванова',
          Name: 'Мария',
          MobilePhone: '+79161234567',
          Email: 'm@example.ru',
          Passport: '6500 123456',
          SNILS: '123-456-789 01',
          INN: '667101234567',
          Address: 'ул. Ленина',
          nested: [{ phones: ['+79161234567'], access_token: 'abc', refresh_token: 'def' }],
        },
        headers: { Authorization: 'Bearer abc' },
        client_secret: 'shh',
        custom_fields_values: [{ values: [{ value: 'Иванова' }] }],
      },
      'debug dump',
    );
    const text = lines.join('\n');
    for (const secret of [
      'Иванова',
      'Мария',
      '79161234567',
      'm@example.ru',
      '6500',
      '789',
      '667101234567',
      'Ленина',
      'abc',
      'def',
      'shh',
    ]) {
      assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    }
    assert.equal(JSON.parse(lines[0]!).patient.PatientId, 7, 'the IDENT id stays');
  });

  it('masks registered secrets inside any string, messages and errors included', () => {
    registerSecret('tok_0123456789');
    const { logger, lines } = capture();
    logger.warn({ err: new Error('refresh failed for tok_0123456789') }, 'token tok_0123456789 rejected');
    const text = lines.join('\n');
    assert.ok(!text.includes('tok_0123456789'));
    assert.match(text, /\[redacted\]/);
  });

  it('logs an HTTP error without its request', () => {
    const { logger, lines } = capture();
    const error = Object.assign(new Error('Request failed with status code 400'), {
      config: { headers: { Authorization: 'Bearer live-token' }, data: '{"name":"Иванова"}' },
      status: 400,
    });
    logger.error({ err: error }, 'batch failed');
    const line = JSON.parse(lines[0]!);
    assert.deepEqual(line.err, {
      type: 'Error',
      message: 'Request failed with status code 400',
      status: 400,
    });
  });
});
