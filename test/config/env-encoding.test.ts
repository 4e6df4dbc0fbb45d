// Text a .env reader could take for another without a word: cp1251 that is valid UTF-8, U+2028.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEnvFile } from '../../src/config/env-source.ts';

describe('.env text read otherwise', () => {
  it('warns when a value looks like Windows-1251 read as UTF-8, without showing it', () => {
    const raw = Buffer.concat([
      Buffer.from('DB_PASSWORD='),
      Buffer.from([0xc2, 0xa8]),
      Buffer.from('2024!\n'),
    ]);
    const { warnings } = parseEnvFile(raw);
    assert.equal(warnings.length, 1, JSON.stringify(warnings));
    assert.match(warnings[0]!, /^DB_PASSWORD holds characters .* save \.env as UTF-8/);
    assert.doesNotMatch(warnings[0]!, /2024/);
  });

  it('does not warn for UTF-8 Russian text with « »', () => {
    assert.deepEqual(parseEnvFile(Buffer.from('CLINIC_NAME=«Улыбка» 5°\n')).warnings, []);
  });

  it('reads a value holding U+2028 instead of keeping an older line of the same key', () => {
    const { values, warnings } = parseEnvFile(Buffer.from('DB_PASSWORD=old\nDB_PASSWORD=new\u2028pass\n'));
    assert.equal(values.DB_PASSWORD, 'new\u2028pass');
    assert.deepEqual(warnings, []);
  });
});
