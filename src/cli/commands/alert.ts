import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { accountHost } from '../../alerts/account-host.ts';
import { buildChannels } from '../../alerts/channels.ts';
import { testMessage } from '../../alerts/monitor.ts';
import { ActionableError } from '../../errors.ts';
import { maskSecrets } from '../../logging/redact.ts';
import type { Incident } from '../../state/incidents.ts';
import { StateStore } from '../../state/store.ts';
import { commandContext } from '../context.ts';

const NO_CHANNEL =
  'no alert channel is set; set ALERT_TELEGRAM_BOT_TOKEN and ALERT_TELEGRAM_CHAT_ID, ALERT_SMTP_HOST with ALERT_EMAIL_FROM and ALERT_EMAIL_TO, or ALERT_WEBHOOK_URL (docs/alerts.md)';

export function registerAlert(program: Command): void {
  program
    .command('alert')
    .description(
      'list the alert incidents in the state; --test sends a test message to each configured channel',
    )
    .option('--test', 'send a test message to each channel set in .env and say per channel whether it went')
    .action(async (options: { test?: boolean }) => {
      const { config } = commandContext([]);
      if (options.test) {
        const channels = buildChannels(config.alerts.channels);
        if (channels.length === 0) throw new ActionableError(NO_CHANNEL, { exitCode: 2 });
        const source = accountHost(config.amocrm.baseUrl, config.stateDir);
        let failed = 0;
        for (const channel of channels) {
          try {
            await channel.send(testMessage(source));
            process.stdout.write(`${channel.name}: sent\n`);
          } catch (error) {
            failed += 1;
            process.stdout.write(
              `${channel.name}: not sent: ${maskSecrets(error instanceof Error ? error.message : String(error))}\n`,
            );
          }
        }
        process.exitCode = failed > 0 ? 1 : 0;
        return;
      }
      if (!existsSync(join(config.stateDir, 'state.sqlite'))) {
        process.stdout.write('no incidents: the state holds none yet\n');
        return;
      }
      const store = new StateStore(config.stateDir, { readOnly: true });
      try {
        let incidents: Incident[];
        try {
          incidents = store.incidents.recent(20);
        } catch {
          // A state folder of an older release, not yet opened by this one: no table, no incidents.
          incidents = [];
        }
        if (incidents.length === 0) process.stdout.write('no incidents\n');
        for (const incident of incidents) {
          const state = incident.clearedAt ? `cleared ${incident.clearedAt}` : 'OPEN';
          const owed = [...incident.openOwed, ...incident.clearOwed];
          process.stdout.write(
            `${incident.rule}  opened ${incident.openedAt}  ${state}${owed.length ? `  (not yet delivered to ${[...new Set(owed)].join(', ')})` : ''}\n  ${incident.reason}\n`,
          );
        }
      } finally {
        store.close();
      }
    });
}
