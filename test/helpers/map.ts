import { DEFAULT_MAPPING_FILE } from '../../src/config/config.ts';
import { resolveFields } from '../../src/mapping/catalogue.ts';
import { loadMapFile } from '../../src/mapping/load-map.ts';
import { createMapper, type Mapper } from '../../src/mapping/mapper.ts';
import { catalogueFor } from './catalogue.ts';

export const shippedMap = () => loadMapFile(DEFAULT_MAPPING_FILE);

/** The shipped map resolved against a catalogue that has every field; clock fixed at `now`. */
export function shippedMapper(now = new Date('2026-11-22T09:00:00Z')): {
  mapper: Mapper;
  fieldId: (key: string) => number;
  enumId: (key: string, choice: string) => number;
} {
  const map = shippedMap();
  const resolved = resolveFields(map, catalogueFor(map));
  const byKey = new Map(resolved.fields.map((field) => [field.spec.key, field]));
  return {
    mapper: createMapper(resolved, { timeZone: 'Europe/Moscow', now: () => now }),
    fieldId: (key) => byKey.get(key)!.fieldId,
    enumId: (key, choice) => byKey.get(key)!.enumIds.get(choice)!,
  };
}
