import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DEFAULT_MAPPING_FILE } from '../../src/config/config.ts';
import { checkFields, FieldsNotReadyError, resolveFields } from '../../src/mapping/catalogue.ts';
import { loadMapFile, MapFileError, parseMap } from '../../src/mapping/load-map.ts';
import { catalogueFor } from '../helpers/catalogue.ts';
import { shippedMap } from '../helpers/map.ts';

const shippedText = readFileSync(DEFAULT_MAPPING_FILE, 'utf8');

function problemsOf(text: string): string[] {
  try {
    parseMap(text, 'map.yaml');
  } catch (error) {
    assert.ok(error instanceof MapFileError, String(error));
    return [...error.problems];
  }
  assert.fail('the map was accepted');
}

describe('the shipped map', () => {
  const map = shippedMap();
  const designTable: [string, string][] = [
    ['ID пациента IDENT', 'text'],
    ['Возраст', 'numeric'],
    ['Пол', 'select'],
    ['Дата рождения', 'date'],
    ['Номер карты', 'text'],
    ['Комментарий IDENT', 'textarea'],
    ['Номер пациента', 'text'],
    ['Статус пациента', 'select'],
    ['Причина архивирования', 'text'],
    ['Филиал', 'text'],
    ['Город', 'text'],
    ['ИНН', 'text'],
    ['СНИЛС', 'text'],
    ['Паспорт', 'text'],
    ['Дата первого визита', 'date'],
    ['Количество визитов', 'numeric'],
    ['Сумма всех визитов', 'numeric'],
    ['Скидка', 'numeric'],
    ['Аванс', 'numeric'],
    ['Долг', 'numeric'],
    ['SMS отказ', 'checkbox'],
    ['Дата изменения', 'date_time'],
    ['Отчество', 'text'],
    ['Дополнительный телефон', 'text'],
    ['Адрес', 'text'],
    ['Источник', 'text'],
  ];

  it('names all 26 fields of the design table with their types, in order', () => {
    assert.deepEqual(
      map.fields.map((field) => [field.name, field.type]),
      designTable,
    );
  });

  it('has the enum choices of the design', () => {
    assert.deepEqual(map.fields.find((f) => f.key === 'sex')?.choices, ['Мужской', 'Женский', 'Не указан']);
    assert.deepEqual(map.fields.find((f) => f.key === 'status')?.choices, ['Активный', 'Архивный', 'Удален']);
    assert.equal(map.fields.find((f) => f.key === 'ident_id')?.apiOnly, true);
  });
});

describe('broken map files are refused with the entry and the problem', () => {
  it('YAML syntax errors', () => {
    const [problem] = problemsOf('version: 1\nfields: [\n');
    assert.match(problem!, /^YAML syntax: /);
  });

  it('a duplicated key in the YAML', () => {
    assert.match(problemsOf(`${shippedText}\nversion: 1\n`)[0]!, /YAML syntax: .*unique/i);
  });

  it('an unknown type names the field', () => {
    const problems = problemsOf(shippedText.replace('type: checkbox', 'type: tickbox'));
    assert.deepEqual(problems, [
      'fields[20] (SMS отказ).type: must be one of text, textarea, numeric, checkbox, select, date, date_time, birthday',
    ]);
  });

  it('a transform that does not fit the type', () => {
    const problems = problemsOf(shippedText.replace('transform: age', 'transform: phone'));
    assert.deepEqual(problems, [
      'fields[1] (Возраст).transform: phone does not fit a numeric field; use number or money or percent or integer or age',
    ]);
  });

  it('a default that is not a choice', () => {
    const problems = problemsOf(shippedText.replace('default: Не указан', 'default: Неизвестно'));
    assert.deepEqual(problems, ['fields[2] (Пол).default: "Неизвестно" is not one of the choices']);
  });

  it('a repeated field name', () => {
    const problems = problemsOf(shippedText.replace('name: Город', 'name: Филиал'));
    assert.deepEqual(problems, ['fields[10] (Филиал).name: repeats the name of fields[9]']);
  });

  it('an unknown property (a typo)', () => {
    const problems = problemsOf(shippedText.replace('apiOnly: true', 'apiOnly: true\n    requird: true'));
    assert.match(problems[0]!, /^fields\[0\] \(ID пациента IDENT\): Unrecognized key: "requird"/);
  });

  it('a map without the ident_id field', () => {
    const problems = problemsOf(shippedText.replace('key: ident_id', 'key: patient_key'));
    assert.deepEqual(problems, [
      'fields: must hold a required text field with key ident_id: it links a contact to its patient',
    ]);
  });

  it('a missing file points at MAPPING_FILE', () => {
    assert.throws(() => loadMapFile('/nonexistent/map.yaml'), /file not found; set MAPPING_FILE/);
  });
});

describe('the map against the amoCRM catalogue', () => {
  const map = shippedMap();

  it('resolves every field when the account has them', () => {
    const resolved = resolveFields(map, catalogueFor(map));
    assert.equal(resolved.fields.length, 26);
  });

  it('reports missing, mistyped and incomplete fields', () => {
    const catalogue = catalogueFor(map)
      .filter((field) => field.name !== 'Город')
      .map((field) =>
        field.name === 'Возраст'
          ? { ...field, type: 'text' }
          : field.name === 'Пол'
            ? { ...field, enums: field.enums!.slice(0, 2) }
            : field,
      );
    const wrong = checkFields(map, catalogue).filter((check) => check.status !== 'ok');
    assert.deepEqual(
      wrong.map((check) => [check.spec.name, check.status, check.missingChoices]),
      [
        ['Возраст', 'wrong type', []],
        ['Пол', 'missing enum values', ['Не указан']],
        ['Город', 'missing', []],
      ],
    );
    assert.throws(() => resolveFields(map, catalogue), FieldsNotReadyError);
  });

  it('matches names regardless of case and ё, and an explicit id wins', () => {
    const catalogue = catalogueFor(map).map((field) =>
      field.name === 'Причина архивирования' ? { ...field, name: 'причина АРХИВИРОВАНИЯ' } : field,
    );
    assert.ok(checkFields(map, catalogue).every((check) => check.status === 'ok'));
    const withId = parseMap(shippedText.replace('name: Филиал', 'name: Филиал\n    id: 999999'));
    const check = checkFields(withId, catalogueFor(map)).find((c) => c.spec.key === 'branch');
    assert.equal(check?.status, 'unknown id');
  });

  it('two fields with one name are ambiguous', () => {
    const catalogue = [...catalogueFor(map), { id: 42, name: 'Город', type: 'text' }];
    const check = checkFields(map, catalogue).find((c) => c.spec.key === 'city');
    assert.equal(check?.status, 'ambiguous');
  });
});
