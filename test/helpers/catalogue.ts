import type { CatalogueField } from '../../src/mapping/catalogue.ts';
import type { ContactMap } from '../../src/mapping/schema.ts';

/** A catalogue in which every field of the map exists with its expected type, ids from 1000 up. */
export function catalogueFor(map: ContactMap): CatalogueField[] {
  let enumId = 5000;
  return map.fields.map((spec, index) => ({
    id: spec.id ?? 1000 + index,
    name: spec.name,
    type: spec.type,
    enums: spec.choices?.map((choice) => ({ id: enumId++, value: choice })) ?? null,
  }));
}
