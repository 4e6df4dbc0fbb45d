import type { Command } from 'commander';
import { Daemon } from '../../daemon/daemon.ts';
import { takeOwnerLock } from '../../state/locks.ts';
import { ensureStateDir } from '../../support/state-dir.ts';
import { requireStateMount } from '../../support/state-mount.ts';
import { commandContext } from '../context.ts';
import { leaveAfterGrace } from '../shutdown.ts';

export function registerDaemon(program: Command): void {
  program
    .command('daemon')
    .description(
      'run continuously: incremental sync every SYNC_INTERVAL_MINUTES, deep sync twice a day (the container runs this)',
    )
    .action(async () => {
      const { config, logger } = commandContext(['database', 'amocrm'], {
        logTo: 'stdout',
      });
      // Before the folder checks: in a read-only container without a volume they would only say
      // "not writable", not what is missing.
      requireStateMount(config.stateDir);
      ensureStateDir(config.stateDir);
      const owner = takeOwnerLock(config.stateDir);
      const daemon = new Daemon({ config, logger });
      let stopped: Promise<void> | undefined;
      let finished!: () => void;
      const done = new Promise<void>((resolve) => {
        finished = resolve;
      });
      const stop = (signal: string) => {
        if (stopped) return;
        logger.info({ signal }, 'stopping: finishing the batches in flight');
        leaveAfterGrace(logger, 0, () => owner.release());
        stopped = daemon.stop().finally(finished);
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
      let startUpPending = true;
      const started = daemon.start().finally(() => {
        startUpPending = false;
      });
      // A signal during start-up ends the wait for it (a start-up check only reads).
      started.catch(() => undefined);
      try {
        await Promise.race([started, done]);
      } catch (error) {
        await daemon.stop();
        owner.release();
        throw error;
      }
      // Runs until a signal has stopped everything.
      await done;
      owner.release();
      logger.info('stopped');
      process.exitCode = daemon.exitCode;
      // A start-up check still waiting for amoCRM or SQL Server has nothing to save: leave now
      // rather than when its retries run out.
      if (startUpPending) process.exit(daemon.exitCode);
    });
}
