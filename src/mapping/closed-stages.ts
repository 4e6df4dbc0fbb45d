import { LOST_STATUS_ID, WON_STATUS_ID } from '../amocrm/types.ts';

/**
 * amoCRM's two closing stages, which every pipeline has under the same ids whatever the account
 * calls them: 142 won, 143 lost (amoCRM's docs, "Воронки и этапы сделок" (leads_pipelines): "В
 * каждой воронке есть 3 системных статуса: Неразобранное, Успешно реализовано (ID = 142), Закрыто
 * и не реализовано (ID = 143)"; amocrm-api-php LeadModel::WON_STATUS_ID / LOST_STATUS_ID). Their
 * names vary: "Closed - won" / "Closed - lost" on kommo.com and amocrm.com accounts, whatever an
 * admin renamed them to, or what a pipeline's create named them. So the deal map names them by
 * keyword and the sync finds them by id.
 */
export const CLOSED_STAGE_IDS = { won: WON_STATUS_ID, lost: LOST_STATUS_ID } as const;
export type ClosedStage = keyof typeof CLOSED_STAGE_IDS;

/**
 * Names that meant the closing stages before the keywords: deal maps written for a Russian
 * account name them so, and keep working.
 */
const FORMER_NAMES: Record<string, ClosedStage> = {
  won: 'won',
  lost: 'lost',
  'успешно реализовано': 'won',
  'закрыто и не реализовано': 'lost',
  'closed - won': 'won',
  'closed - lost': 'lost',
};

export const normaliseStageName = (name: string): string =>
  name.trim().toLowerCase().replace(/ё/g, 'е').replace(/\s+/g, ' ');

/** `won` or `lost` when a deal map's stage means one of the closing stages. */
export const closedStageOf = (name: string): ClosedStage | undefined =>
  FORMER_NAMES[normaliseStageName(name)];

export const isClosedStatus = (statusId: number): boolean =>
  statusId === WON_STATUS_ID || statusId === LOST_STATUS_ID;
