import type { EntityKind } from '../../amocrm/entities.ts';

/**
 * What a stream is. The runner owns how a stream runs and writes (`StreamRun`, `StreamWriter`:
 * checkpoints, pending creates, failures, refusals, the mirror, batches and the pace); a stream
 * declares the rest, in a folder of its own beside `runner/`.
 */
export interface Stream<Files = unknown> {
  /** How other streams' `dependsOn` name it. */
  name: string;
  /** The SQL file (in SQL_DIR) its rows come from. */
  sql: string;
  /** Its map and SQL, read and checked against each other before anything connects. */
  load(config: { mappingFile: string; dealMappingFile: string; sqlDir: string }): Files;
  /** The amoCRM entity it writes. */
  entity: EntityKind;
  /** The IDENT id its records are keyed by, in the state and in amoCRM. */
  key: string;
  /** Streams that run before it in a sync; it runs only when every one of them succeeded. */
  dependsOn: readonly string[];
  /** A run of it, with the stream's own deps and options. */
  newRun(deps: never, options: never): { run(request: never): Promise<{ outcome: string }> };
}

/** Whether a stream runs in this sync: every stream it depends on ran, and succeeded. */
export function mayRun(
  stream: Pick<Stream, 'dependsOn'>,
  outcomes: Readonly<Record<string, string | undefined>>,
): boolean {
  return stream.dependsOn.every((name) => outcomes[name] === 'ok');
}
