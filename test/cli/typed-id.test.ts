import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { typedId } from '../../src/cli/typed-id.ts';
import { ActionableError } from '../../src/errors.ts';
import { tempDir } from '../helpers/amocrm.ts';
import { runCli } from '../helpers/cli.ts';

const chain = [
  { key: 'center', bare: false },
  { key: 'north', bare: false },
];

const sentence = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ActionableError);
    assert.equal(error.exitCode, 2);
    return error.message;
  }
  assert.fail('the id was accepted');
};

describe('ids typed after test --patient-id / --reception-id', () => {
  it('a single clinic: the bare id, as always', () => {
    assert.equal(typedId([{ key: 'main', bare: true }], '--patient-id', '1042'), '1042');
  });

  it('a chain: source:id is kept scoped; the bare source keeps bare ids', () => {
    assert.equal(typedId(chain, '--patient-id', 'center:1042'), 'center:1042');
    assert.equal(typedId(chain, '--reception-id', 'north:77'), 'north:77');
    const withBare = [{ key: 'center', bare: true }, chain[1]!];
    assert.equal(typedId(withBare, '--patient-id', 'center:1042'), '1042');
    assert.equal(typedId(withBare, '--patient-id', '1042'), '1042');
  });

  it('one sentence for an id that names no clinic, an unknown source, or no number', () => {
    assert.equal(
      sentence(() => typedId(chain, '--patient-id', '1042')),
      '--patient-id: say which clinic "1042" belongs to: center:1042 or north:1042',
    );
    assert.equal(
      sentence(() => typedId(chain, '--reception-id', 'south:77')),
      '--reception-id: there is no source "south": the sources are center, north',
    );
    assert.equal(
      sentence(() => typedId(chain, '--patient-id', 'abc')),
      '--patient-id: "abc" is not an IDENT id: expected a number, or source:number (for example center:1042)',
    );
  });

  it('the command says it before connecting anywhere', async () => {
    const run = await runCli(['test', '--patient-id', '1042'], {
      SOURCES: 'center,north',
      DB_HOST: '127.0.0.1',
      DB_PORT: '1',
      DB_USER: 'reader',
      DB_PASSWORD: 'pw',
      DB_NAME: 'PZ',
      SOURCE_NORTH_DB_NAME: 'PZ_NORTH',
      AMOCRM_BASE_URL: 'http://127.0.0.1:1',
      AMOCRM_LONG_LIVED_TOKEN: 'token',
      STATE_DIR: tempDir(),
    });
    assert.equal(run.code, 2);
    assert.equal(
      run.stderr,
      'error: --patient-id: say which clinic "1042" belongs to: center:1042 or north:1042\n',
    );
  });
});
