/**
 * An error a person can act on: its message is one sentence that names the fix, printed without
 * a stack trace. `exitCode` 2 means "fix the configuration", 1 anything else.
 */
export class ActionableError extends Error {
  readonly exitCode: number;
  constructor(message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ActionableError';
    this.exitCode = options.exitCode ?? 1;
  }
}
