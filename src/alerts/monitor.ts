import type { Config } from '../config/config.ts';
import type { DaemonMetrics } from '../daemon/metrics.ts';
import type { Logger } from '../logging/logger.ts';
import { maskSecrets } from '../logging/redact.ts';
import type { Incident } from '../state/incidents.ts';
import type { StateStore } from '../state/store.ts';
import { type Clock, systemClock } from '../support/clock.ts';
import { systemBootId } from '../streams/runner/pending-age.ts';
import { accountHost } from './account-host.ts';
import type { AlertChannel } from './channel.ts';
import { errorKindOf } from './error-kind.ts';
import { Durations } from './durations.ts';
import { type AlertFacts, gatherFacts } from './facts.ts';
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
  /** This boot's id (a test passes its own): durations use the monotonic clock within one boot. */
  boot?: string;
  /** How long stop() lets owed sends finish before cutting them short (default STOP_GRACE_MS). */
  stopGraceMs?: number;
}

/** The system clock, whose sleeps do not keep the process alive: the timer must not delay an exit. */
const backgroundClock: Clock = {
  ...systemClock,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)).unref()),
};

/** Retries of a channel that failed wait 1, 2, 4 … minutes, at most an hour. */
const FIRST_RETRY_MS = 60_000;
const LAST_RETRY_MS = 60 * 60_000;
/**
 * On the way out, sends under way get this long before they are cut short: a daemon that fails
 * its start-up and leaves at once (a restart loop) still delivers its alert. Well inside the
 * shutdown limit (12 s) and Docker's grace (20 s).
 */
export const STOP_GRACE_MS = 10_000;

/**
 * Evaluates the alert rules over the state and sends each incident's opening message, and its
 * recovery message, to every channel. Incidents and what each channel is still owed live in the
 * state, so a restart neither forgets nor (short of a kill between a receiver taking a message
 * and its answer) repeats them. Each channel sends on its own, one send at a time, each within a
 * deadline: a stuck or failing channel holds up neither the others nor the next evaluation, and
 * is tried again after a wait that doubles with each failure. Evaluations run one at a time.
 */
export class AlertMonitor {
  private readonly options: AlertMonitorOptions;
  private readonly rules: Rule[];
  private readonly clock: Clock;
  private readonly durations: Durations;
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly stopping = new AbortController();
  private wake: (() => void) | undefined;
  private timer: Promise<void> | undefined;
  private readonly sending = new Map<string, Promise<void>>();
  private readonly retry = new Map<string, { failures: number; notBefore: number }>();
  /** Evaluations finished (tests wait on it). */
  evaluations = 0;

  constructor(options: AlertMonitorOptions) {
    this.options = options;
    this.rules = buildRules(options.config.alerts.rules);
    this.clock = options.clock ?? backgroundClock;
    this.durations = new Durations(options.store, this.clock, options.boot ?? systemBootId());
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

  /**
   * Weighs the rules, then sends what is owed; resolves when the sends it started are done (a
   * channel still busy with an earlier send is not waited for).
   */
  evaluate(): Promise<void> {
    // An evaluation asked for before stop() (a failed start-up's) still runs and sends.
    const asked = !this.stopped;
    const weighed = this.chain.then(() => (asked && !this.stopping.signal.aborted ? this.evaluateNow() : []));
    this.chain = weighed.then(
      () => undefined,
      () => undefined,
    );
    return weighed
      .then((sends) => Promise.all(sends))
      .then(
        () => undefined,
        (error: unknown) => this.options.logger.error({ err: error }, 'alert evaluation failed'),
      )
      .finally(() => {
        this.evaluations += 1;
      });
  }

  /**
   * Stops the timer, lets the evaluation and sends under way finish for up to the grace, then cuts
   * what is left short (still owed, sent by the next process): it returns within the grace,
   * whatever a receiver does.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.timer;
    let expired!: () => void;
    const grace = setTimeout(() => expired(), this.options.stopGraceMs ?? STOP_GRACE_MS);
    await Promise.race([
      this.chain.then(() => Promise.allSettled([...this.sending.values()])),
      new Promise<void>((resolve) => {
        expired = resolve;
      }),
    ]);
    clearTimeout(grace);
    this.stopping.abort();
    await this.chain;
    await Promise.allSettled([...this.sending.values()]);
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

  private evaluateNow(): Promise<void>[] {
    const { store, config, logger, channels, metrics } = this.options;
    const now = new Date(this.clock.now());
    const facts = gatherFacts(
      store,
      { stateDir: config.stateDir, longLivedToken: config.amocrm.longLivedToken },
      now,
      this.durations,
    );
    const open = new Map(store.incidents.open().map((incident) => [incident.rule, incident]));
    const names = channels.map((channel) => channel.name as string);
    const lastRun = store.lastRuns(1)[0]?.id ?? 0;
    for (const rule of this.rules) {
      const incident = open.get(rule.id);
      const opening = (reason: string) => {
        store.incidents.start(rule.id, scrub(reason), names, now, lastRun);
        logger.warn({ rule: rule.id, channels: names }, `alert: ${rule.title}`);
      };
      const reason = this.weigh(rule, facts, incident);
      if (reason === null) continue;
      if (reason !== undefined && !incident) opening(reason);
      else if (reason === undefined && incident) {
        if (this.quietly(rule, facts, incident)) {
          this.closeSilently(incident, now);
          logger.info({ rule: rule.id }, `alert closed without a recovery message: ${rule.title}`);
          const again = this.weigh(rule, facts, undefined);
          if (typeof again === 'string') opening(again);
          continue;
        }
        // Only a channel that got (or is still owed) the opening is owed its recovery.
        const owed = names.filter(
          (name) => incident.openedTo.includes(name) || incident.openOwed.includes(name),
        );
        store.incidents.clear(incident.id, owed, now);
        logger.info({ rule: rule.id, channels: owed }, `alert recovered: ${rule.title}`);
      }
    }
    for (const [rule, incident] of open) {
      if (this.rules.some((active) => active.id === rule)) continue;
      // Its rule was turned off: nothing will clear it, and nobody asked to hear about it any more.
      this.closeSilently(incident, now);
      logger.info({ rule }, 'alert rule turned off: its open incident is closed without a message');
    }
    if (metrics)
      exportGauges(metrics, facts, new Set(store.incidents.open().map((incident) => incident.rule)));
    return this.deliver();
  }

  /** The rule's reason to fire, or null when it cannot be weighed (logged). */
  private weigh(rule: Rule, facts: AlertFacts, incident: Incident | undefined): string | undefined | null {
    try {
      return rule.check(facts, incident);
    } catch (error) {
      // One rule that cannot be weighed must not silence the others.
      this.options.logger.error(
        { err: error, rule: rule.id },
        'an alert rule could not be weighed; it is skipped this time',
      );
      return null;
    }
  }

  private quietly(rule: Rule, facts: AlertFacts, incident: Incident): boolean {
    try {
      return rule.quietClear?.(facts, incident) ?? false;
    } catch {
      return false;
    }
  }

  private closeSilently(incident: Incident, now: Date): void {
    this.options.store.incidents.clear(incident.id, [], now);
    this.options.store.incidents.settle(incident.id, 'open', incident.openOwed);
  }

  /** Starts, per channel that is idle and not waiting to retry, the sends it is owed. */
  private deliver(): Promise<void>[] {
    const { store, channels } = this.options;
    const configured = new Set<string>(channels.map((channel) => channel.name));
    for (const incident of store.incidents.owed()) {
      store.incidents.settle(
        incident.id,
        'open',
        incident.openOwed.filter((name) => !configured.has(name)),
      );
      store.incidents.settle(
        incident.id,
        'clear',
        incident.clearOwed.filter((name) => !configured.has(name)),
      );
    }
    const started: Promise<void>[] = [];
    for (const channel of channels) {
      if (this.sending.has(channel.name)) continue;
      const retry = this.retry.get(channel.name);
      if (retry && this.clock.monotonic() < retry.notBefore) continue;
      const sends = this.sendOwed(channel).finally(() => this.sending.delete(channel.name));
      this.sending.set(channel.name, sends);
      started.push(sends);
    }
    return started;
  }

  /** Sends one channel what it is owed, oldest first; at the first failure it waits to retry. */
  private async sendOwed(channel: AlertChannel): Promise<void> {
    const { store, logger } = this.options;
    const name = channel.name;
    for (const incident of store.incidents.owed()) {
      for (const which of ['open', 'clear'] as const) {
        const owed = which === 'open' ? incident.openOwed : incident.clearOwed;
        // A recovery goes after its opening message, never before it.
        if (!owed.includes(name) || (which === 'clear' && incident.openOwed.includes(name))) continue;
        if (this.stopping.signal.aborted) return;
        if (this.waitsToRetry(incident, name)) break;
        try {
          await channel.send(this.messageOf(incident, which), this.stopping.signal);
        } catch (error) {
          if (this.stopping.signal.aborted) return;
          const failures =
            Math.max(this.retry.get(name)?.failures ?? 0, incident.retries[name]?.failures ?? 0) + 1;
          const waitMs = Math.min(LAST_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(failures - 1, 10));
          this.retry.set(name, { failures, notBefore: this.clock.monotonic() + waitMs });
          store.incidents.failed(incident.id, name, failures, new Date(this.clock.now() + waitMs));
          logger.warn(
            {
              channel: name,
              rule: incident.rule,
              incident: incident.id,
              problem: maskSecrets(error instanceof Error ? error.message : String(error)),
            },
            `an alert was not delivered; it is sent again in ${waitMs / 60_000} min`,
          );
          return;
        }
        this.retry.delete(name);
        store.incidents.delivered(incident.id, which, name);
        if (which === 'open') incident.openOwed = incident.openOwed.filter((owedTo) => owedTo !== name);
      }
    }
  }

  /**
   * Whether an earlier process's failed send of this incident to this channel set a next try still
   * ahead (the in-memory wait does not survive a restart). Wall time, so a next try more than the
   * longest wait ahead (a clock stepped back) is brought back to that.
   */
  private waitsToRetry(incident: Incident, channel: string): boolean {
    const retry = incident.retries[channel];
    if (!retry) return false;
    const now = this.clock.now();
    const at = Date.parse(retry.at);
    if (!(at > now)) return false;
    if (at > now + LAST_RETRY_MS)
      this.options.store.incidents.failed(
        incident.id,
        channel,
        retry.failures,
        new Date(now + LAST_RETRY_MS),
      );
    return true;
  }

  private messageOf(incident: Incident, which: 'open' | 'clear'): AlertMessage {
    const rule = this.rules.find((candidate) => candidate.id === incident.rule);
    const title = rule?.title ?? incident.rule;
    const openedAt = shownTime(new Date(incident.openedAt));
    if (which === 'open')
      return {
        event: 'opened',
        incident: incident.id,
        rule: incident.rule,
        title,
        reason: incident.reason,
        source: this.source(),
        openedAt,
      };
    const recoveredAt = shownTime(new Date(incident.clearedAt!));
    return {
      event: 'recovered',
      incident: incident.id,
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
