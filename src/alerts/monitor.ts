import type { Config } from '../config/config.ts';
import type { DaemonMetrics } from '../daemon/metrics.ts';
import type { Logger } from '../logging/logger.ts';
import type { Incident } from '../state/incidents.ts';
import type { StateStore } from '../state/store.ts';
import { type Clock, systemClock } from '../support/clock.ts';
import { accountHost } from './account-host.ts';
import type { AlertChannel } from './channel.ts';
import { errorKindOf } from './error-kind.ts';
import { gatherFacts, resetRefusedFloor } from './facts.ts';
import { exportGauges } from './gauges.ts';
import { type AlertMessage, scrub } from './message.ts';
import { buildRules, type Rule, shownTime } from './rules.ts';

export interface AlertMonitorOptions {
  config: Pick<Config, 'alerts' | 'stateDir' | 'amocrm'>;
  logger: Logger;
  store: StateStore;
  channels: readonly AlertChannel[];
  metrics?: DaemonMetrics;
  /** Time for the rules and the timer (a test passes virtual time). */
  clock?: Clock;
  /** Close the store when stopped (the daemon's monitor opens its own). */
  ownsStore?: boolean;
}

/** The system clock, whose sleeps do not keep the process alive: the timer must not delay an exit. */
const backgroundClock: Clock = {
  ...systemClock,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)).unref()),
};

/**
 * Evaluates the alert rules over the state and sends each incident's opening message once, and
 * its recovery message once, to every channel. Incidents and what each channel is still owed live
 * in the state, so a restart neither repeats nor forgets them; a channel that fails is tried
 * again at the next evaluation. Evaluations run one at a time.
 */
export class AlertMonitor {
  private readonly options: AlertMonitorOptions;
  private readonly rules: Rule[];
  private readonly clock: Clock;
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;
  private wake: (() => void) | undefined;
  private timer: Promise<void> | undefined;
  /** Evaluations finished (tests wait on it). */
  evaluations = 0;

  constructor(options: AlertMonitorOptions) {
    this.options = options;
    this.rules = buildRules(options.config.alerts.rules);
    this.clock = options.clock ?? backgroundClock;
  }

  /** Evaluates every ALERT_CHECK_MINUTES until stopped. */
  start(): void {
    this.timer ??= this.loop();
  }

  /** The daemon's start-up failed: recorded as a failed `startup` run, then the rules are weighed. */
  startupFailed(error: unknown): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    try {
      this.options.store.recordStartupFailure(message, errorKindOf(error), new Date(this.clock.now()));
    } catch (failure) {
      this.options.logger.error({ err: failure }, 'the failed start-up could not be recorded in the state');
    }
    return this.evaluate();
  }

  evaluate(): Promise<void> {
    this.chain = this.chain
      .then(() => (this.stopped ? undefined : this.evaluateNow()))
      .catch((error: unknown) => this.options.logger.error({ err: error }, 'alert evaluation failed'))
      .finally(() => {
        this.evaluations += 1;
      });
    return this.chain;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.timer;
    await this.chain;
    if (this.options.ownsStore) this.options.store.close();
  }

  private async loop(): Promise<void> {
    const everyMs = this.options.config.alerts.rules.checkMinutes * 60_000;
    while (!this.stopped) {
      await Promise.race([
        this.clock.sleep(everyMs),
        new Promise<void>((resolve) => {
          this.wake = resolve;
        }),
      ]);
      if (this.stopped) return;
      await this.evaluate();
    }
  }

  private async evaluateNow(): Promise<void> {
    const { store, config, logger, channels, metrics } = this.options;
    const now = new Date(this.clock.now());
    const facts = gatherFacts(
      store,
      { stateDir: config.stateDir, longLivedToken: config.amocrm.longLivedToken },
      now,
    );
    const open = new Map(store.incidents.open().map((incident) => [incident.rule, incident]));
    const names = channels.map((channel) => channel.name);
    for (const rule of this.rules) {
      const reason = rule.check(facts);
      const incident = open.get(rule.id);
      if (reason !== undefined && !incident) {
        store.incidents.start(rule.id, scrub(reason), names, now);
        logger.warn({ rule: rule.id, channels: names }, `alert: ${rule.title}`);
      } else if (reason === undefined && incident) {
        store.incidents.clear(incident.id, names, now);
        if (rule.id === 'refused-growing') resetRefusedFloor(store, facts.refused);
        logger.info({ rule: rule.id, channels: names }, `alert recovered: ${rule.title}`);
      }
    }
    for (const [rule, incident] of open) {
      if (this.rules.some((active) => active.id === rule)) continue;
      // Its rule was turned off: nothing will clear it, and nobody asked to hear about it any more.
      store.incidents.clear(incident.id, [], now);
      store.incidents.settle(incident.id, 'open', incident.openOwed);
      logger.info({ rule }, 'alert rule turned off: its open incident is closed without a message');
    }
    if (metrics)
      exportGauges(metrics, facts, new Set(store.incidents.open().map((incident) => incident.rule)));
    await this.deliver();
  }

  /** Sends what each channel is owed, oldest first; a channel that fails gets nothing more this time. */
  private async deliver(): Promise<void> {
    const { store, channels, logger } = this.options;
    const byName = new Map(channels.map((channel) => [channel.name as string, channel]));
    const failed = new Set<string>();
    for (const incident of store.incidents.owed()) {
      for (const which of ['open', 'clear'] as const) {
        const owed = which === 'open' ? incident.openOwed : incident.clearOwed;
        const gone = owed.filter((name) => !byName.has(name));
        store.incidents.settle(incident.id, which, gone);
        for (const name of owed) {
          const channel = byName.get(name);
          // A recovery goes after its opening message, never before it.
          if (!channel || failed.has(name) || (which === 'clear' && incident.openOwed.includes(name)))
            continue;
          try {
            await channel.send(this.messageOf(incident, which));
            store.incidents.settle(incident.id, which, [name]);
          } catch (error) {
            failed.add(name);
            logger.warn(
              {
                channel: name,
                rule: incident.rule,
                problem: error instanceof Error ? error.message : String(error),
              },
              'an alert was not delivered; the next evaluation sends it again',
            );
          }
        }
      }
    }
  }

  private messageOf(incident: Incident, which: 'open' | 'clear'): AlertMessage {
    const rule = this.rules.find((candidate) => candidate.id === incident.rule);
    const title = rule?.title ?? incident.rule;
    const openedAt = shownTime(new Date(incident.openedAt));
    if (which === 'open')
      return {
        event: 'opened',
        rule: incident.rule,
        title,
        reason: incident.reason,
        source: this.source(),
        openedAt,
      };
    const recoveredAt = shownTime(new Date(incident.clearedAt!));
    return {
      event: 'recovered',
      rule: incident.rule,
      title,
      reason: `cleared; it was: ${incident.reason}`,
      source: this.source(),
      openedAt,
      recoveredAt,
    };
  }

  private source(): string {
    return accountHost(this.options.config.amocrm.baseUrl, this.options.config.stateDir);
  }
}

/** The message `ident-sync alert --test` sends. */
export function testMessage(source: string): AlertMessage {
  return {
    event: 'test',
    rule: 'test',
    title: 'test message',
    reason: 'this channel works: ident-sync will send its alerts and recoveries here',
    source,
  };
}
