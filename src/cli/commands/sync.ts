import type { Command } from 'commander';
import { takeOwnerLock, withRunLock } from '../../state/locks.ts';
import { openSyncContext } from '../../streams/runner/context.ts';
import { commandContext } from '../context.ts';
import { leaveAfterGrace } from '../shutdown.ts';

export function registerSync(program: Command): void {
  program
    .command('sync')
    .description('run one sync now and exit (incremental unless --deep); exit code 1 when it failed')
    .option(
      '--deep',
      'read every patient (and, with SYNC_RECEPTIONS, every reception of the window) and reconcile with amoCRM',
    )
    .option('--dry-run', 'map and compare, but send nothing to amoCRM and store nothing')
    .action(async (options: { deep?: boolean; dryRun?: boolean }) => {
      const { config, logger } = commandContext(['database', 'amocrm'], {
        logTo: 'stdout',
        writesState: true,
      });
      const owner = takeOwnerLock(config.stateDir);
      let stop = false;
      const onSignal = () => {
        if (stop) return;
        stop = true;
        logger.warn('stopping after the batches in flight');
        // amoCRM unreachable: its retries would hold the stop for a minute or more.
        leaveAfterGrace(logger, 1, () => owner.release());
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        const context = await openSyncContext(config, logger);
        try {
          const result = await withRunLock(config.stateDir, () =>
            context.syncAll(options.deep ? 'deep' : 'incremental', {
              dryRun: options.dryRun ?? false,
              shouldStop: () => stop,
            }),
          );
          if (result.outcome === 'failed' && result.error) throw result.error;
          if (result.deals?.outcome === 'failed' && result.deals.error) throw result.deals.error;
          process.exitCode = result.outcome === 'ok' && (result.deals?.outcome ?? 'ok') === 'ok' ? 0 : 1;
        } finally {
          await context.close();
        }
      } finally {
        owner.release();
      }
    });
}
