import { DEFAULT_DEAL_MAPPING_FILE } from '../../src/config/config.ts';
import { offlineCatalogue, resolveFieldList } from '../../src/mapping/catalogue.ts';
import { loadDealMapFile } from '../../src/mapping/deal-map.ts';
import { createDealMapper, type DealMapper, type ResolvedDealMap } from '../../src/mapping/deal-mapper.ts';
import { offlinePipelines, resolvePipelines } from '../../src/mapping/pipelines.ts';

export const shippedDealMap = () => loadDealMapFile(DEFAULT_DEAL_MAPPING_FILE);

/** The shipped deal map resolved against an account that has every field, pipeline and stage. */
export function shippedDealMapper(now = new Date('2026-11-22T09:00:00Z')): {
  mapper: DealMapper;
  resolved: ResolvedDealMap;
} {
  const map = shippedDealMap();
  const resolved: ResolvedDealMap = {
    map,
    fields: resolveFieldList(map.fields, offlineCatalogue(map), 'deal'),
    pipelines: resolvePipelines(map, offlinePipelines(map)),
  };
  return { mapper: createDealMapper(resolved, { timeZone: 'Europe/Moscow', now: () => now }), resolved };
}
