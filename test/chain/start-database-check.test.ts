import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { describe, it } from 'node:test';
import { emulatorOn, MemorySource, person } from './helpers.ts';
import { chainOf, harness } from './start-harness.ts';

const own = (id: number) => `+7 912 ${String(100 + (id % 900)).padStart(3, '0')} ${String(1000 + id)}`;
const patient = (id: number, phone: string, surname = 'Иванов') =>
  person(id, { Surname: `${surname}${'а'.repeat(id % 7)}`, Name: `Имя${id}`, MobilePhone: phone });

describe('a clinic chain: the start database check on realistic histories', () => {
  it('single clinic: new patients entered with a placeholder number, put right before a restart: not refused', async () => {
    const emulator = await emulatorOn(0);
    const clinic = new MemorySource();
    for (let id = 1; id <= 30; id += 1) clinic.put(patient(id, own(id)));
    const h = await harness(emulator);
    try {
      assert.equal(await h.start(clinic, {}, 'incremental'), undefined);
      // The day's new patients: the registrar typed the clinic's own number ("we'll ask later").
      clinic.tick(60_000);
      for (let id = 31; id <= 42; id += 1) clinic.put(patient(id, '+7 495 000 00 00', 'Новый'));
      for (let id = 31; id <= 42; id += 1) clinic.touch(id, {});
      assert.equal(await h.start(clinic, {}, 'incremental'), undefined);
      // Next morning they are called and their own mobiles typed in; the daemon is updated (restarted) first.
      clinic.tick(60_000);
      for (let id = 31; id <= 42; id += 1) clinic.touch(id, { MobilePhone: own(id + 500) });
      const refused = await h.start(clinic, {}, 'incremental');
      assert.equal(refused, undefined, 'a healthy single clinic is refused at start (and stays refused)');
    } finally {
      await emulator.stop();
      rmSync(h.stateDir, { recursive: true, force: true });
    }
  });

  it('single clinic: the patients entered since the last backup are gone after a restore: the message', async () => {
    const emulator = await emulatorOn(0);
    const clinic = new MemorySource();
    for (let id = 1; id <= 30; id += 1) clinic.put(patient(id, own(id)));
    const h = await harness(emulator);
    try {
      assert.equal(await h.start(clinic, {}, 'incremental'), undefined);
      clinic.tick(60_000);
      for (let id = 31; id <= 42; id += 1)
        clinic.put({ ...patient(id, own(id)), ChangedAt: clinic.tick(10) });
      assert.equal(await h.start(clinic, {}, 'incremental'), undefined);
      // The server's disk failed; IDENT is restored from last night's backup (before 31..42 were entered).
      for (let id = 31; id <= 42; id += 1) clinic.remove(id);
      const refused = await h.start(clinic, {}, 'incremental');
      assert.equal(
        refused,
        undefined,
        'the database is the right one (restored): refused, naming settings that are right',
      );
    } finally {
      await emulator.stop();
      rmSync(h.stateDir, { recursive: true, force: true });
    }
  });

  it('chain: a small clinic (3 patients with phones) whose DB_NAME now names another database is refused', async () => {
    const emulator = await emulatorOn(0);
    const center = new MemorySource();
    const north = new MemorySource();
    const other = new MemorySource();
    for (let id = 1; id <= 20; id += 1) center.put(patient(id, own(id), 'Центров'));
    for (let id = 1; id <= 3; id += 1) north.put(patient(id, `+7 913 200 ${1000 + id}`, 'Севернов'));
    // Another database on the same server (a copy for training, a clinic outside the chain).
    for (let id = 1; id <= 10; id += 1) other.put(patient(id, `+7 914 300 ${1000 + id}`, 'Чужой'));
    const h = await harness(emulator);
    try {
      // The sources' settings as the clinic's .env has them (the databases are read from memory here).
      const settings = {
        SOURCES: 'center,north',
        DB_HOST: 'ident-server',
        DB_USER: 'reader',
        DB_PASSWORD: 'secret',
        SOURCE_CENTER_DB_NAME: 'PZ',
        SOURCE_NORTH_DB_NAME: 'PZ_NORTH',
      };
      assert.equal(
        await h.start(
          chainOf([
            { key: 'center', source: center },
            { key: 'north', source: north },
          ]),
          settings,
          'incremental',
        ),
        undefined,
      );
      // SOURCE_NORTH_DB_NAME typed wrong at a reinstall.
      const refused = await h.start(
        chainOf([
          { key: 'center', source: center },
          { key: 'north', source: other },
        ]),
        { ...settings, SOURCE_NORTH_DB_NAME: 'PZ_TRAINING' },
        'deep',
      );
      assert.ok(refused, 'a wrong database was not refused; the north contacts now carry other people');
    } finally {
      await emulator.stop();
      rmSync(h.stateDir, { recursive: true, force: true });
    }
  });

  it('chain: a shared patient put right to another person (left the contact), then a restart', async () => {
    const emulator = await emulatorOn(0);
    const anna = (id: number, extra: Record<string, unknown> = {}) =>
      person(id, {
        Surname: 'Петрова',
        Name: 'Анна',
        MobilePhone: '+7 912 345 67 89',
        BirthDate: new Date(Date.UTC(1980, 1, 2)),
        ...extra,
      });
    const center = new MemorySource();
    const north = new MemorySource();
    for (let id = 1; id <= 6; id += 1) center.put(patient(id, own(id), 'Центров'));
    for (let id = 1; id <= 6; id += 1) north.put(patient(id, `+7 913 200 ${1000 + id}`, 'Севернов'));
    center.put(anna(100));
    north.put(anna(100));
    const h = await harness(emulator);
    const chain = () =>
      chainOf([
        { key: 'center', source: center },
        { key: 'north', source: north },
      ]);
    try {
      const settings = { SOURCES: 'center,north' };
      assert.equal(await h.start(chain(), settings, 'incremental'), undefined);
      // North's Анна was another Анна: another birth date and her own mobile; two more north patients change numbers.
      north.tick(60_000);
      north.touch(100, { BirthDate: new Date(Date.UTC(1991, 6, 7)), MobilePhone: '+7 913 999 00 01' });
      assert.equal(await h.start(chain(), settings, 'incremental'), undefined);
      assert.equal(await h.start(chain(), settings, 'deep'), undefined);
      const refused = await h.start(chain(), settings, 'incremental');
      assert.equal(refused, undefined, 'a healthy chain refused after a patient left a shared contact');
    } finally {
      await emulator.stop();
      rmSync(h.stateDir, { recursive: true, force: true });
    }
  });
});
