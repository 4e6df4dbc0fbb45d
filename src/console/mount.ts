import type { Config } from '../config/config.ts';
import type { Health } from '../daemon/health-server.ts';
import type { Logger } from '../logging/logger.ts';
import type { SyncContext } from '../streams/runner/context.ts';
import type { ActionTarget } from './actions.ts';
import { consoleToken } from './auth.ts';
import { identNames, identPatientCount } from './names.ts';
import { consoleHandler } from './server.ts';

/** What the daemon lends the console. */
export interface DaemonView {
  context(): SyncContext | undefined;
  health(): Health;
  running(): string | undefined;
  nextRuns(): { incremental: Date | null; deep: Date | null };
  requestRun: ActionTarget['requestRun'];
}

/**
 * The console's routes on the health server, with its token settled first: off loopback (or when
 * `requireToken`) CONSOLE_TOKEN or the state folder's console-token file, made on first start.
 */
export function mountConsole(
  config: Config,
  logger: Logger,
  daemon: DaemonView,
  options: { requireToken?: boolean } = {},
) {
  const token = consoleToken({
    host: config.healthHost,
    setting: config.console.token,
    stateDir: config.stateDir,
    requireToken: options.requireToken,
  });
  if (token?.from === 'file')
    logger.info(
      { tokenFile: token.path },
      'the console asks for a token off this machine: open /console?token=<the token in that file> (or set CONSOLE_TOKEN)',
    );
  const source = () => daemon.context()?.source;
  return consoleHandler({
    host: config.healthHost,
    token: token?.token,
    logger,
    sources: {
      config,
      store: () => daemon.context()?.store,
      health: daemon.health,
      running: daemon.running,
      nextRuns: daemon.nextRuns,
      names: identNames(source, () => daemon.context()?.mapper),
      patients: identPatientCount(source),
    },
    target: {
      store: () => daemon.context()?.store,
      requestRun: daemon.requestRun,
      receptions: () => config.sync.receptions,
    },
  });
}
