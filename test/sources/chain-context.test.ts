import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AmoCrmEmulator } from '../../src/emulator/server.ts';
import type { DatabaseConfig } from '../../src/config/config.ts';
import { loadConfig } from '../../src/config/config.ts';
import { IdentDbError } from '../../src/ident/errors.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { openSyncContext } from '../../src/streams/runner/context.ts';
import { StateStore } from '../../src/state/store.ts';
import { startEmulator } from '../helpers/amocrm.ts';
import { fakeConnection } from '../helpers/fake-sql.ts';
import { MemorySource, syntheticPatient, T0 } from '../helpers/memory-source.ts';
import { syncStack } from '../helpers/sync-stack.ts';

const IDENT_FIELD = 'ID пациента IDENT';

/** Two clinics' databases on one server, told apart by name; ids 1–3 in both, different people. */
const env = (stateDir: string, baseUrl: string) => ({
  SOURCES: 'center,north',
  SOURCE_BARE_IDS: 'center',
  DB_HOST: 'ident-server',
  DB_USER: 'reader',
  DB_PASSWORD: 'pw',
  DB_NAME: 'PZ',
  SOURCE_NORTH_DB_NAME: 'PZ_NORTH',
  SOURCE_NORTH_DB_PORT: '1500',
  AMOCRM_BASE_URL: baseUrl,
  AMOCRM_LONG_LIVED_TOKEN: 'chain-context-token',
  STATE_DIR: stateDir,
});

const clinic = (offset: number) =>
  [1, 2, 3].map((id) => ({ ...syntheticPatient(id + offset, T0), PatientId: id }));

describe('a chain of sources from the configuration', () => {
  let emulator: AmoCrmEmulator;
  before(async () => {
    emulator = await startEmulator();
    emulator.addLongLivedToken('chain-context-token');
  });
  after(() => emulator.stop());

  it("opens each source's database with its own settings and syncs them as one chain, ids scoped", async () => {
    const stack = await syncStack(emulator, new MemorySource());
    const databases: Record<string, ReturnType<typeof fakeConnection>> = {
      PZ: fakeConnection(clinic(0)),
      PZ_NORTH: fakeConnection(clinic(100)),
    };
    const opened: DatabaseConfig[] = [];
    const closed: string[] = [];
    const config = loadConfig(env(stack.stateDir, emulator.baseUrl), ['database', 'amocrm']);
    const context = await openSyncContext(config, silentLogger(), {
      client: stack.client,
      store: stack.store,
      connect: async (db) => {
        opened.push(db);
        const connection = databases[db.database]!;
        return { ...connection, close: async () => void closed.push(db.database) };
      },
    });
    assert.deepEqual(
      opened.map((db) => [db.host, db.port, db.database]),
      [
        ['ident-server', 1433, 'PZ'],
        ['ident-server', 1500, 'PZ_NORTH'],
      ],
    );
    try {
      assert.equal((await context.source.one('north:2'))?.PatientId, 'north:2');
      assert.equal((await context.source.one('2'))?.PatientId, 2, 'the bare source keeps its ids');
      const result = await context.syncAll('deep');
      assert.equal(result.outcome, 'ok');
      const fieldId = (await stack.client.fields.list()).find((field) => field.name === IDENT_FIELD)!.id;
      const ids = [...emulator.contacts.values()]
        .map((contact) => contact.custom_fields_values?.find((field) => field.field_id === fieldId))
        .map((field) => String(field?.values[0]?.value))
        .sort();
      assert.deepEqual(ids, ['1', '2', '3', 'north:1', 'north:2', 'north:3']);
    } finally {
      await context.close();
    }
    assert.deepEqual(closed.sort(), ['PZ', 'PZ_NORTH']);
  });

  it('a source that cannot connect: the sentence names its key and variables; the one opened is closed', async () => {
    const stack = await syncStack(emulator, new MemorySource());
    const closed: string[] = [];
    const config = loadConfig(env(stack.stateDir, emulator.baseUrl), ['database', 'amocrm']);
    await assert.rejects(
      openSyncContext(config, silentLogger(), {
        client: stack.client,
        store: stack.store,
        connect: async (db) => {
          if (db.database === 'PZ_NORTH')
            throw Object.assign(new Error('Login failed for user'), { number: 18456, code: 'ELOGIN' });
          return { ...fakeConnection(clinic(0)), close: async () => void closed.push(db.database) };
        },
      }),
      (error: unknown) => {
        assert.ok(error instanceof IdentDbError);
        assert.equal(error.kind, 'login');
        assert.equal(
          error.message,
          'source north: SQL Server at ident-server:1500 refused the login; check SOURCE_NORTH_DB_USER and SOURCE_NORTH_DB_PASSWORD',
        );
        return true;
      },
    );
    assert.deepEqual(closed, ['PZ']);
    stack.store.close();
  });

  it('without SOURCES: one connection, the DB_* settings, ids as they were', async () => {
    const stack = await syncStack(emulator, new MemorySource());
    const {
      SOURCES: _s,
      SOURCE_BARE_IDS: _b,
      SOURCE_NORTH_DB_NAME: _n,
      SOURCE_NORTH_DB_PORT: _p,
      ...single
    } = env(stack.stateDir, emulator.baseUrl);
    const opened: string[] = [];
    const context = await openSyncContext(loadConfig(single, ['database', 'amocrm']), silentLogger(), {
      client: stack.client,
      store: stack.store,
      connect: async (db) => {
        opened.push(db.database);
        return fakeConnection(clinic(0));
      },
    });
    try {
      assert.deepEqual(opened, ['PZ']);
      assert.equal((await context.source.one('2'))?.PatientId, 2);
      assert.equal(await context.source.one('north:2'), undefined);
    } finally {
      await context.close();
    }
  });

  it('a single clinic that joins a chain as SOURCE_BARE_IDS: a deep sync rewrites none of its contacts', async () => {
    const stack = await syncStack(emulator, new MemorySource());
    const before = emulator.contacts.size;
    const {
      SOURCES: _s,
      SOURCE_BARE_IDS: _b,
      SOURCE_NORTH_DB_NAME: _n,
      SOURCE_NORTH_DB_PORT: _p,
      ...single
    } = env(stack.stateDir, emulator.baseUrl);
    const databases: Record<string, ReturnType<typeof fakeConnection>> = {
      // Ids of their own: the emulator's account already holds the first test's contacts.
      PZ: fakeConnection(clinic(200).map((row) => ({ ...row, PatientId: row.PatientId + 20 }))),
      PZ_NORTH: fakeConnection(clinic(300).map((row) => ({ ...row, PatientId: row.PatientId + 20 }))),
    };
    const connect = async (db: DatabaseConfig) => ({
      ...databases[db.database]!,
      close: async () => undefined,
    });
    const alone = await openSyncContext(loadConfig(single, ['database', 'amocrm']), silentLogger(), {
      client: stack.client,
      store: stack.store,
      connect,
    });
    assert.equal((await alone.syncAll('incremental')).outcome, 'ok');
    assert.equal(emulator.contacts.size, before + 3);
    await alone.close();
    const { StateStore } = await import('../../src/state/store.ts');
    const chained = await openSyncContext(
      loadConfig(env(stack.stateDir, emulator.baseUrl), ['database', 'amocrm']),
      silentLogger(),
      { client: stack.client, store: new StateStore(stack.stateDir), connect },
    );
    try {
      emulator.requests.length = 0;
      assert.equal((await chained.syncAll('deep')).outcome, 'ok');
      // North's three patients are created; center's contacts, bare ids and all, are left as they are.
      assert.deepEqual(
        emulator.writeRequests().map((request) => [request.method, request.path, request.items]),
        [['POST', '/api/v4/contacts', 3]],
      );
      assert.equal(emulator.contacts.size, before + 6);
    } finally {
      await chained.close();
    }
  });

  it('a read that fails in a run names the source it failed in', async () => {
    const stack = await syncStack(emulator, new MemorySource());
    const north = fakeConnection(clinic(400), {
      // Every patient query of north's loses its connection after the first row.
      failOnQuery: (request) =>
        /SYSDATETIME|INFORMATION_SCHEMA|NewestChange/.test(request.sql)
          ? undefined
          : {
              failAfter: 1,
              error: Object.assign(new Error('Connection lost - read ECONNRESET'), { code: 'ECONNRESET' }),
            },
    });
    const databases: Record<string, ReturnType<typeof fakeConnection>> = {
      PZ: fakeConnection(clinic(500).map((row) => ({ ...row, PatientId: row.PatientId + 40 }))),
      PZ_NORTH: north,
    };
    const context = await openSyncContext(
      loadConfig(env(stack.stateDir, emulator.baseUrl), ['database', 'amocrm']),
      silentLogger(),
      { client: stack.client, store: stack.store, connect: async (db) => databases[db.database]! },
    );
    try {
      const result = await context.syncAll('deep');
      assert.equal(result.outcome, 'failed');
      assert.ok(result.error instanceof IdentDbError);
      assert.equal(result.error.kind, 'dropped', 'a passing outage stays passing');
      assert.match(result.error.message, /^source north: /);
    } finally {
      await context.close();
    }
  });

  it('refuses, before any connection, a state whose patients the configured sources do not own', async () => {
    const stack = await syncStack(emulator, new MemorySource([syntheticPatient(1, T0)]));
    await stack.run({ kind: 'incremental' });
    stack.store.close();
    const connected: string[] = [];
    const open = (overrides: Record<string, string | undefined>) =>
      openSyncContext(
        loadConfig({ ...env(stack.stateDir, emulator.baseUrl), ...overrides }, ['database', 'amocrm']),
        silentLogger(),
        {
          client: stack.client,
          connect: async (db) => {
            connected.push(db.database);
            return fakeConnection(db.database === 'PZ' ? [syntheticPatient(1, T0)] : []);
          },
        },
      );
    // A single clinic's state (bare ids) configured as a chain without SOURCE_BARE_IDS.
    await assert.rejects(
      open({ SOURCE_BARE_IDS: undefined }),
      /set SOURCE_BARE_IDS to the key of that clinic/,
    );
    // The chain's first start records which clinic keeps bare ids; another one later is refused.
    const context = await open({});
    await context.close();
    await assert.rejects(
      open({ SOURCE_BARE_IDS: 'north' }),
      /the state's bare ids are the patients of "center": set SOURCE_BARE_IDS=center/,
    );
    const store = new StateStore(stack.stateDir);
    store.saveLinks([
      {
        patientId: 'east:5',
        contactId: 99,
        hash: '',
        phones: [],
        emails: [],
        ownedPhones: [],
        ownedEmails: [],
      },
    ]);
    store.close();
    await assert.rejects(open({}), /the source "east", which SOURCES does not name/);
    assert.deepEqual(connected, ['PZ', 'PZ_NORTH'], 'only the accepted start connected');
  });
});
