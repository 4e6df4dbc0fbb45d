import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import { ChainPatientSource, ChainReceptionSource } from '../../src/sources/scoped-sources.ts';
import { startEmulator } from '../helpers/amocrm.ts';
import { dealStack } from '../helpers/deal-stack.ts';
import { MemoryReceptions } from '../helpers/memory-receptions.ts';
import { MemorySource, syntheticPatient, T0 } from '../helpers/memory-source.ts';

const DAY = 86_400_000;
const server = { DB_USER: 'reader', DB_PASSWORD: 'secret-pw', DB_NAME: 'PZ' };

const accepted = (env: Record<string, string>) => {
  try {
    loadConfig(env, ['database']);
    return true;
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return false;
  }
};

/**
 * Attack (a11): the "same database twice" check compares the host text. One SQL Server reached by
 * two spellings (localhost / 127.0.0.1, a trailing dot, server\INSTANCE vs server,port) passes, and
 * the chain then reads one database under two keys: every reception becomes two deals.
 */
describe('attack a11: one database under two keys, spelled two ways', () => {
  for (const [label, env] of [
    [
      'localhost vs 127.0.0.1',
      { ...server, DB_HOST: 'localhost', SOURCES: 'center,north', SOURCE_NORTH_DB_HOST: '127.0.0.1' },
    ],
    [
      'trailing dot',
      { ...server, DB_HOST: 'ident-server', SOURCES: 'center,north', SOURCE_NORTH_DB_HOST: 'ident-server.' },
    ],
    [
      'srv\\IDENT vs srv + port',
      {
        ...server,
        DB_HOST: 'srv\\IDENT',
        SOURCES: 'center,north',
        SOURCE_NORTH_DB_HOST: 'srv',
        SOURCE_NORTH_DB_PORT: '1433',
      },
    ],
  ] as const)
    it(`is refused: ${label}`, () =>
      assert.equal(accepted(env), false, 'accepted: both keys read one database'));

  it('(consequence) read twice, each reception of the one database becomes two deals', async () => {
    const emulator = await startEmulator();
    try {
      const db = new MemorySource([syntheticPatient(3, T0), syntheticPatient(4, T0)]);
      const visits = new MemoryReceptions(db, [
        { ReceptionId: 10, PatientId: 3, PlanStart: new Date(T0.getTime() + DAY) },
        { ReceptionId: 11, PatientId: 4, PlanStart: new Date(T0.getTime() + 2 * DAY) },
      ]);
      const chain = [
        { scope: { key: 'center', bare: false }, patients: db, receptions: visits },
        { scope: { key: 'north', bare: false }, patients: db, receptions: visits },
      ];
      const stack = await dealStack(
        emulator,
        new ChainPatientSource(chain) as unknown as MemorySource,
        new ChainReceptionSource(chain),
      );
      assert.equal((await stack.both('incremental')).outcome, 'ok');
      assert.equal(
        emulator.deals.leads.size,
        2,
        `${emulator.deals.leads.size} deals for 2 receptions; ${emulator.contacts.size} contacts for 2 patients`,
      );
    } finally {
      await emulator.stop();
    }
  });
});
