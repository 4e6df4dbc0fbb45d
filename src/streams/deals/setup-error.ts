import { ActionableError } from '../../errors.ts';
import type { FieldsNotReadyError } from '../../mapping/catalogue.ts';
import type { PipelinesNotReadyError } from '../../mapping/pipelines.ts';

/** The account lacks a deal field, pipeline or stage the deal map needs: one sentence with the fix. */
export class DealSetupError extends ActionableError {
  constructor(cause: FieldsNotReadyError | PipelinesNotReadyError) {
    super(
      `${cause.message}, and \`ident-sync fields --create --pipelines\` creates what is missing (or set SYNC_RECEPTIONS=false)`,
      { exitCode: 2, cause },
    );
    this.name = 'DealSetupError';
  }
}
