import type { Config } from '../config/config.ts';
import type { DaemonMetrics } from '../daemon/metrics.ts';
import type { Logger } from '../logging/logger.ts';
import { StateStore } from '../state/store.ts';
import type { Clock } from '../support/clock.ts';
import { buildChannels } from './channels.ts';
import { AlertMonitor } from './monitor.ts';

/**
 * The daemon's alert monitor, on its own connection to the state: it must weigh a start-up that
 * failed before the sync's parts (and their store) exist. Undefined, with the reason logged, when
 * the state cannot be opened (the start-up then fails on the same, with the fix).
 */
export function startAlerts(
  config: Config,
  logger: Logger,
  metrics: DaemonMetrics,
  clock?: Clock,
): AlertMonitor | undefined {
  let store: StateStore;
  try {
    store = new StateStore(config.stateDir);
  } catch (error) {
    logger.error({ err: error }, 'alerts are off: the state could not be opened');
    return undefined;
  }
  const channels = buildChannels(config.alerts.channels);
  if (channels.length === 0)
    logger.info(
      'no alert channel is set (ALERT_TELEGRAM_*, ALERT_SMTP_*, ALERT_WEBHOOK_URL): incidents are only recorded',
    );
  const monitor = new AlertMonitor({ config, logger, store, channels, metrics, clock, ownsStore: true });
  monitor.start();
  return monitor;
}
