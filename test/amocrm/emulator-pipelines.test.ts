import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { AmoCrmEmulator } from '../../src/emulator/server.ts';
import { LOST, WON } from '../../src/emulator/leads.ts';
import { startEmulator } from '../helpers/amocrm.ts';

/**
 * The emulator's pipelines as amoCRM's docs (leads_pipelines) describe them, not as the client
 * happens to send them: a client that only agrees with itself fails here.
 */
// Answers are read loosely: each test names the fields it expects.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any answer body
type Answer = Record<string, any>;

describe('emulated pipelines follow amoCRM, not the client', () => {
  let emulator: AmoCrmEmulator;
  const token = 'pipelines-token';
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${emulator.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Answer };
  };
  const start = async (systemStages: 'russian' | 'english') => {
    emulator = await startEmulator({ systemStages });
    emulator.addLongLivedToken(token);
  };
  const pathsRefused = (body: Answer) =>
    (body['validation-errors'] as { errors: { path: string }[] }[]).flatMap((failure) =>
      failure.errors.map((error) => error.path),
    );
  afterEach(async () => {
    await emulator.stop();
  });

  it('refuses a pipeline created without sort, is_main or is_unsorted_on, or with a colour off the palette', async () => {
    await start('russian');
    const bare = await call('POST', '/api/v4/leads/pipelines', [
      { name: 'Без полей', _embedded: { statuses: [{ name: 'Этап', sort: 10 }] } },
    ]);
    assert.equal(bare.status, 400);
    assert.deepEqual(pathsRefused(bare.body).sort(), ['is_main', 'is_unsorted_on', 'sort']);
    const colour = await call('POST', '/api/v4/leads/pipelines', [
      {
        name: 'Цвет',
        sort: 10,
        is_main: false,
        is_unsorted_on: false,
        _embedded: { statuses: [{ name: 'Этап', sort: 10, color: '#99ccff' }] },
      },
    ]);
    assert.equal(colour.status, 400);
    assert.deepEqual(pathsRefused(colour.body), ['_embedded.statuses.0.color']);
    const [pipeline] = emulator.deals.pipelines.values();
    const added = await call('POST', `/api/v4/leads/pipelines/${pipeline!.id}/statuses`, [
      { name: 'Новый', sort: 60, color: '#99ccff' },
    ]);
    assert.equal(added.status, 400, 'a stage added later takes a palette colour too');
    for (const status of pipeline!.statuses.filter((status) => status.is_editable))
      assert.notEqual(status.color, '#99ccff', 'amoCRM’s own default is not in its palette');
  });

  for (const systemStages of ['russian', 'english'] as const)
    it(`gives every pipeline an incoming-leads stage and 142/143 under the account's names (${systemStages})`, async () => {
      await start(systemStages);
      const created = await call('POST', '/api/v4/leads/pipelines', [
        {
          name: 'Клиника',
          sort: 20,
          is_main: false,
          is_unsorted_on: false,
          _embedded: { statuses: [{ name: 'Записан', sort: 10, color: '#fffeb2' }] },
        },
        {
          name: 'Названная',
          sort: 30,
          is_main: false,
          is_unsorted_on: true,
          _embedded: {
            statuses: [
              { id: WON, name: 'Лечение завершено' },
              { name: 'Записан', sort: 10 },
            ],
          },
        },
      ]);
      assert.equal(created.status, 200, JSON.stringify(created.body));
      const [plain, named] = created.body._embedded.pipelines as {
        _embedded: { statuses: { id: number; name: string; type: number }[] };
      }[];
      const names = (pipeline: typeof plain) =>
        pipeline!._embedded.statuses.map((status) => [
          status.type,
          status.id === WON || status.id === LOST ? status.id : 0,
          status.name,
        ]);
      const system =
        systemStages === 'english'
          ? ['Incoming leads', 'Closed - won', 'Closed - lost']
          : ['Неразобранное', 'Успешно реализовано', 'Закрыто и не реализовано'];
      assert.deepEqual(names(plain), [
        [1, 0, system[0]],
        [0, 0, 'Записан'],
        [0, WON, system[1]],
        [0, LOST, system[2]],
      ]);
      assert.deepEqual(names(named)[2], [0, WON, 'Лечение завершено'], 'a create may name 142');
    });

  it('takes `enum_id: null` in a select value, finding the option by its value', async () => {
    await start('russian');
    const field = await call('POST', '/api/v4/leads/custom_fields', [
      { name: 'Филиал', type: 'select', enums: [{ value: 'Центр', sort: 1 }] },
    ]);
    assert.equal(field.status, 200, JSON.stringify(field.body));
    const fieldId = field.body._embedded.custom_fields[0].id as number;
    const lead = await call('POST', '/api/v4/leads', [
      {
        name: 'Сделка',
        custom_fields_values: [{ field_id: fieldId, values: [{ value: 'Центр', enum_id: null }] }],
      },
    ]);
    assert.equal(lead.status, 200, JSON.stringify(lead.body));
    const stored = emulator.deals.leads.get(lead.body._embedded.leads[0].id as number)!;
    assert.equal(stored.custom_fields_values?.[0]?.values[0]?.value, 'Центр');
  });
});
