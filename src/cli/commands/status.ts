import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { TokenStore } from '../../amocrm/token-store.ts';
import { StateStore } from '../../state/store.ts';
import { commandContext } from '../context.ts';
import { formatTable } from '../table.ts';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('checkpoint, recent runs, open failures, token expiry, linked contacts')
    .option('--json', 'print as JSON')
    .option('--runs <n>', 'how many recent runs to show', '10')
    .action((options: { json?: boolean; runs: string }) => {
      const { config } = commandContext([]);
      const out = (line = '') => process.stdout.write(`${line}\n`);
      const tokens = config.amocrm.longLivedToken ? undefined : new TokenStore(config.stateDir).read();
      if (!existsSync(join(config.stateDir, 'state.sqlite'))) {
        const empty = {
          stateDir: config.stateDir,
          checkpoint: null,
          runs: [],
          linkedContacts: 0,
          openFailures: 0,
        };
        out(options.json ? JSON.stringify(empty, null, 2) : `No sync has run with ${config.stateDir} yet.`);
        return;
      }
      const store = new StateStore(config.stateDir, { readOnly: true });
      try {
        const status = {
          stateDir: config.stateDir,
          checkpoint: store.checkpoint()?.toISOString() ?? null,
          linkedContacts: store.linkCount(),
          openFailures: store.failureCount(),
          failures: store.failures(10),
          pendingCreates: store.pending(1000).length,
          duplicates: store.findingCount('duplicate'),
          orphans: store.findingCount('orphan'),
          lastSuccess: store.lastSuccess() ?? null,
          runs: store.lastRuns(Math.max(1, Number(options.runs) || 10)),
          token: config.amocrm.longLivedToken
            ? { kind: 'long-lived' }
            : tokens
              ? {
                  kind: 'oauth',
                  account: tokens.baseUrl,
                  accessTokenExpiresAt: new Date(tokens.expiresAt).toISOString(),
                  obtainedAt: new Date(tokens.obtainedAt).toISOString(),
                }
              : { kind: 'none' },
        };
        if (options.json) {
          out(JSON.stringify(status, null, 2));
          return;
        }
        out(`state:            ${status.stateDir}`);
        out(
          `checkpoint:       ${status.checkpoint ? `${status.checkpoint.replace('T', ' ').replace(/\.\d+Z$/, '')} (IDENT server clock)` : 'none yet'}`,
        );
        out(`linked contacts:  ${status.linkedContacts}`);
        out(
          `open failures:    ${status.openFailures}${status.pendingCreates ? `, creates to confirm: ${status.pendingCreates}` : ''}`,
        );
        out(
          `reconciliation:   ${status.duplicates} patient(s) with duplicate contacts, ${status.orphans} contact(s) of patients no longer in IDENT`,
        );
        const token = status.token;
        out(
          `amoCRM token:     ${token.kind === 'oauth' ? `OAuth for ${token.account}, access token until ${token.accessTokenExpiresAt} (refreshed automatically)` : token.kind === 'long-lived' ? 'long-lived (AMOCRM_LONG_LIVED_TOKEN)' : 'none — run `ident-sync auth`'}`,
        );
        out();
        out(
          formatTable(
            [
              'run',
              'kind',
              'started',
              'outcome',
              'read',
              'unchanged',
              'created',
              'updated',
              'linked',
              'failed',
              'requests',
            ],
            status.runs.map((run) => [
              String(run.id),
              `${run.kind}${run.dryRun ? ' (dry)' : ''}`,
              run.startedAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
              run.outcome,
              ...[
                run.read,
                run.unchanged,
                run.created,
                run.updated,
                run.linked,
                run.failed,
                run.requests,
              ].map(String),
            ]),
          ),
        );
        const failed = status.runs.find((run) => run.error);
        if (failed) out(`\nlast error (run ${failed.id}): ${failed.error}`);
        if (status.failures.length > 0) {
          out('\nopen failures (retried automatically):');
          for (const failure of status.failures)
            out(`  patient ${failure.patientId}: ${failure.reason} (${failure.attempts} attempt(s))`);
        }
      } finally {
        store.close();
      }
    });
}
