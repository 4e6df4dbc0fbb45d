import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import {
  BARE_WITHOUT_SOURCE,
  type DealSummary,
  type SourceSummary,
  stateSummary,
  tokenStatus,
  type TokenStatus,
} from '../../console/summary.ts';
import { StateStore } from '../../state/store.ts';
import type { Config } from '../../config/config.ts';
import { checkStateDir } from '../../support/state-dir.ts';
import { commandContext } from '../context.ts';
import { formatTable } from '../table.ts';
import { wallClockText, zonedText } from '../../support/zoned-time.ts';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('checkpoint, recent runs, open failures, refused fields, token expiry, linked contacts')
    .option('--json', 'print as JSON')
    .option('--runs <n>', 'how many recent runs to show', '10')
    .action((options: { json?: boolean; runs: string }) => {
      const { config } = commandContext([]);
      const report = statusReport(config, Math.max(1, Number(options.runs) || 10));
      process.stdout.write(options.json ? `${JSON.stringify(report.json, null, 2)}\n` : `${report.text}\n`);
    });
}

/** What `ident-sync status` prints, as text and as JSON (the demo prints it too). */
export function statusReport(config: Config, runCount = 10): { json: unknown; text: string } {
  const lines: string[] = [];
  const out = (line = '') => lines.push(line);
  // Read only from a folder that is ours alone, as every command that writes there checks.
  checkStateDir(config.stateDir);
  // Every time in the text on the clinic's clock with its offset; the JSON keeps UTC (RFC 3339).
  const zone = config.sync.timeZone;
  const shortTime = (iso: string) => zonedText(new Date(iso), zone);
  const identTime = (iso: string) => `${wallClockText(new Date(iso), zone)} (IDENT server clock)`;
  const now = Date.now();
  const token = tokenStatus(config, now);
  if (!existsSync(join(config.stateDir, 'state.sqlite'))) {
    out(`No sync has run with ${config.stateDir} yet.`);
    out(`amoCRM token:     ${describeToken(token, now, shortTime)}`);
    return {
      json: {
        stateDir: config.stateDir,
        checkpoint: null,
        runs: [],
        linkedContacts: 0,
        openFailures: 0,
        token,
      },
      text: lines.join('\n'),
    };
  }
  const store = new StateStore(config.stateDir, { readOnly: true });
  try {
    const status = stateSummary(store, config, { runs: runCount, token });
    out(`state:            ${status.stateDir}`);
    out(`checkpoint:       ${status.checkpoint ? identTime(status.checkpoint) : 'none yet'}`);
    out(`linked contacts:  ${status.linkedContacts}`);
    out(
      `open failures:    ${status.openFailures}${status.pendingCreates ? `, creates to confirm: ${status.pendingCreates}` : ''}`,
    );
    if (status.vanishedContacts > 0)
      out(
        `contacts gone:    ${status.vanishedContacts} (deleted or merged in amoCRM; re-made by the first deep sync 15 minutes on unless one carries the patient)`,
      );
    out(
      `refused values:   ${status.refusedFields} (fields amoCRM would not take; the rest of each contact is synced)`,
    );
    if (status.sources) for (const line of describeSources(status.sources)) out(line);
    out(
      `reconciliation:   ${status.duplicates} patient(s) with duplicate contacts, ${status.orphans} contact(s) of patients no longer in IDENT`,
    );
    out(
      `amoCRM mirror:    ${status.mirror.contacts} contact(s)${status.mirror.lastFullListing ? `, read in full ${shortTime(status.mirror.lastFullListing)}` : ', not read in full yet'}`,
    );
    out(`amoCRM token:     ${describeToken(token, now, shortTime)}`);
    if (status.deals) for (const line of describeDeals(status.deals, shortTime, identTime)) out(line);
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
          'repaired',
          'failed',
          'requests',
        ],
        status.runs.map((run) => [
          String(run.id),
          `${run.kind}${run.dryRun ? ' (dry)' : ''}`,
          shortTime(run.startedAt),
          run.outcome,
          ...[
            run.read,
            run.unchanged,
            run.created,
            run.updated,
            run.linked,
            run.repaired,
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
    if (status.refusals.length > 0) {
      out('\nvalues amoCRM refused (sent again when the patient changes in IDENT):');
      for (const refusal of status.refusals)
        out(`  patient ${refusal.patientId}, field ${refusal.field}: ${refusal.detail}`);
    }
    if (status.deals?.failures.length) {
      out('\nreceptions without their deal (retried automatically):');
      for (const failure of status.deals.failures)
        out(`  reception ${failure.receptionId}: ${failure.reason} (${failure.attempts} attempt(s))`);
    }
    if (status.deals?.deleted.length) {
      out('\nreceptions deleted in IDENT (their deals closed as lost, never deleted):');
      for (const entry of status.deals.deleted)
        out(
          `  reception ${entry.receptionId}: deal ${entry.leadId}, ${entry.closed ? 'closed' : 'not closed yet (the next deep sync tries again)'} since ${shortTime(entry.at)}`,
        );
    }
    if (status.deals?.refusals.length) {
      out('\ndeal values amoCRM refused (sent again when the reception changes in IDENT):');
      for (const refusal of status.deals.refusals)
        out(`  reception ${refusal.receptionId}, field ${refusal.field}: ${refusal.detail}`);
    }
    return { json: status, text: lines.join('\n') };
  } finally {
    store.close();
  }
}

/** The clinics of a chain, one line each. */
function describeSources(sources: SourceSummary): string[] {
  return [
    'sources:',
    ...formatTable(
      ['source', 'patients linked', 'open failures', 'refused values'],
      sources.map((source) => [
        `${source.key}${source.bare ? ' (bare ids)' : ''}${source.configured ? '' : ` (${source.key === BARE_WITHOUT_SOURCE ? 'SOURCE_BARE_IDS names no source' : 'not in SOURCES'})`}`,
        String(source.linked),
        String(source.failures),
        String(source.refusals),
      ]),
    )
      .split('\n')
      .map((line) => `  ${line}`),
  ];
}

function describeDeals(
  deals: DealSummary,
  shortTime: (iso: string) => string,
  identTime: (iso: string) => string,
): string[] {
  const run = deals.lastRun;
  return [
    `deals:            ${deals.linkedDeals} linked${deals.enabled ? '' : ' (SYNC_RECEPTIONS is off now)'}; ${deals.openFailures} open failure(s)${deals.pendingCreates ? `, creates to confirm: ${deals.pendingCreates}` : ''}; ${deals.refusedFields} refused value(s)`,
    `deal checkpoint:  ${deals.checkpoint ? identTime(deals.checkpoint) : 'none yet'}; mirror ${deals.mirror.deals} deal(s)${deals.mirror.lastFullListing ? `, read in full ${shortTime(deals.mirror.lastFullListing)}` : ''}`,
    run
      ? `last deal run:    ${run.kind} ${shortTime(run.at)} ${run.outcome}: read ${run.read}, created ${run.created}, updated ${run.updated}, moved ${run.moved}, linked ${run.linked}, unchanged ${run.unchanged}, failed ${run.failed}${run.error ? ` — ${run.error}` : ''}`
      : 'last deal run:    none yet',
  ];
}

function describeToken(token: TokenStatus, now: number, shortTime: (iso: string) => string): string {
  if (token.kind === 'long-lived') return 'long-lived (AMOCRM_LONG_LIVED_TOKEN)';
  if (token.kind === 'none') return 'none — run `ident-sync auth`';
  const expires = Date.parse(token.accessTokenExpiresAt);
  const left =
    expires > now
      ? `expires ${shortTime(token.accessTokenExpiresAt)}`
      : `expired ${shortTime(token.accessTokenExpiresAt)}`;
  return `OAuth for ${token.account}; access token ${left}; refresh token ${token.refreshTokenAgeDays} day(s) old (single use, lives about 3 months; renewed automatically at least weekly)`;
}
