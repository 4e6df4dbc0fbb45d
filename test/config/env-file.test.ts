import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseEnvFile, readEnvironment } from '../../src/config/env-source.ts';
import type { ConfigError } from '../../src/config/errors.ts';
import { runCli } from '../helpers/cli.ts';

const refusal = (pattern: RegExp) => (error: ConfigError) =>
  error.problems.length === 1 && pattern.test(error.problems[0]!);

describe('.env text a person saved wrongly is refused, naming the line (issue 22, item 16)', () => {
  it('Windows-1251 bytes (a Cyrillic password saved as "ANSI") are refused, not turned into U+FFFD', () => {
    const cp1251Password = Buffer.from([0xcf, 0xe0, 0xf0, 0xee, 0xeb, 0xfc]); // «Пароль»
    const raw = Buffer.concat([Buffer.from('DB_HOST=ident\n# пароль:\nDB_PASSWORD='), cp1251Password]);
    assert.throws(
      () => parseEnvFile(raw),
      refusal(
        /^\.env line 3 is not UTF-8 .*; save \.env as UTF-8 \(Notepad: File → Save as → Encoding: UTF-8\)$/,
      ),
    );
    // The same password saved as UTF-8 reads as written.
    assert.equal(parseEnvFile(Buffer.from('DB_PASSWORD=Пароль\n')).values.DB_PASSWORD, 'Пароль');
  });

  it('a quote that is never closed is refused instead of swallowing the rest', () => {
    assert.throws(
      () => parseEnvFile(Buffer.from("DB_HOST=ident\nDB_PASSWORD='abc\nDB_USER=reader\n")),
      refusal(
        /^\.env line 2: the value of DB_PASSWORD opens a ' quote that is never closed; add the closing ' on the same line$/,
      ),
    );
    assert.throws(
      () => parseEnvFile(Buffer.from('DB_PASSWORD="abc\nDB_USER=reader\n')),
      refusal(/^\.env line 1: the value of DB_PASSWORD opens a " quote that is never closed/),
    );
    assert.equal(parseEnvFile(Buffer.from('A="x\ny"\n')).values.A, 'x\ny');
  });

  it("text after a closing quote is refused, naming the line, not dropped (DB_PASSWORD='abc'def)", () => {
    for (const line of ["DB_PASSWORD='abc'def", 'DB_PASSWORD="abc"def', "DB_PASSWORD='abc' def"])
      assert.throws(
        () => parseEnvFile(Buffer.from(`DB_HOST=ident\n${line}\n`)),
        refusal(
          /^\.env line 2: the value of DB_PASSWORD goes on after its closing quote; put the whole value inside the quotes$/,
        ),
        line,
      );
    // Spaces and a comment after the quote are what docker compose reads too.
    const file = parseEnvFile(Buffer.from("DB_PASSWORD='a#b' # the clinic's\nDB_USER=\"r\"  \n"));
    assert.deepEqual(file.values, { DB_PASSWORD: 'a#b', DB_USER: 'r' });
  });

  it('carriage returns alone as line endings (old Mac) are refused, naming the line', () => {
    assert.throws(
      () => parseEnvFile(Buffer.from('DB_HOST=ident\r\nDB_USER=reader\rDB_PASSWORD=x\r')),
      refusal(
        /^\.env line 2 ends with a carriage return alone \(old Mac line endings\).*; save \.env with LF or CRLF line endings$/,
      ),
    );
    assert.equal(parseEnvFile(Buffer.from('DB_HOST=ident\r\nDB_USER=reader\r\n')).values.DB_USER, 'reader');
  });
});

describe('values that kept their quotes through `docker run --env-file` (issue 22, item 9)', () => {
  const noFile = join(mkdtempSync(join(tmpdir(), 'env-')), 'missing.env');

  it('a secret, token or URL wrapped whole in quotes is refused, saying where the quotes came from', () => {
    for (const [key, value] of [
      ['AMOCRM_CLIENT_SECRET', "'abc'"],
      ['AMOCRM_LONG_LIVED_TOKEN', '"eyJ0eXAiOiJKV1Qi"'],
      ['AMOCRM_REDIRECT_URI', "'https://example.org/callback'"],
      // `KEY='abc' # note` in an --env-file arrives with its comment too.
      ['AMOCRM_CLIENT_SECRET', "'abc' # from the integration page"],
    ] as const)
      assert.throws(
        () => readEnvironment({ [key]: value }, noFile),
        refusal(
          new RegExp(
            `^${key} arrives wrapped in (single|double) quotes, which \`docker run --env-file\` keeps .*; remove the quotes`,
          ),
        ),
      );
  });

  it('a database password is only warned about (a person may have chosen the quotes); others are left alone', () => {
    const env = readEnvironment(
      { DB_PASSWORD: "'secret'", SOME_OTHER: "'x'", AMOCRM_CLIENT_SECRET: "a'b'" },
      noFile,
    );
    assert.equal(env.source.DB_PASSWORD, "'secret'");
    assert.equal(env.warnings.length, 1);
    assert.match(env.warnings[0]!, /^DB_PASSWORD arrives wrapped in single quotes; .*--env-file/);
    assert.doesNotMatch(env.warnings[0]!, /secret/);
  });

  it('the CLI refuses in one line, exit code 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'env-'));
    const run = await runCli(['fields'], {
      STATE_DIR: dir,
      AMOCRM_BASE_URL: 'http://127.0.0.1:1',
      AMOCRM_LONG_LIVED_TOKEN: "'t0ken'",
    });
    assert.equal(run.code, 2, run.stderr);
    assert.equal(
      run.stderr.trim(),
      'config error: AMOCRM_LONG_LIVED_TOKEN arrives wrapped in single quotes, which `docker run --env-file` keeps (unlike docker compose and .env); remove the quotes from that line of the --env-file',
    );
  });
});
