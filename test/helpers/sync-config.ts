import type { SyncConfig } from '../../src/config/config.ts';

/** The sync settings as the defaults give them (every 2 minutes, deep at 08:00 and 20:00 Moscow). */
export const syncConfig = (overrides: Partial<SyncConfig> = {}): SyncConfig => ({
  intervalMinutes: 2,
  deepSyncHours: [8, 20],
  timeZone: 'Europe/Moscow',
  overlapSeconds: 300,
  matchByPhone: true,
  confirmSources: false,
  receptions: false,
  receptionsDaysBack: 90,
  ...overrides,
});
