import type { Command } from 'commander';
import { zoneMismatch } from '../../amocrm/account-zone.ts';
import { createAmoClient } from '../../amocrm/client.ts';
import { createMissingFields, type FieldSetupReport, inspectFields } from '../../fields/ensure-fields.ts';
import { loadMapAndSql } from '../../ident/map-check.ts';
import { commandContext } from '../context.ts';
import { formatTable } from '../table.ts';

export function registerFields(program: Command): void {
  program
    .command('fields')
    .description('check the amoCRM contact fields against the map; --create adds what is missing')
    .option('--create', 'create missing fields and missing select values (existing ones are kept)')
    .option('--json', 'print the result as JSON')
    .action(async (options: { create?: boolean; json?: boolean }) => {
      const { config, logger } = commandContext(['amocrm'], { writesState: true });
      const { map } = loadMapAndSql(config);
      const client = createAmoClient(config.amocrm, config.stateDir, logger);
      const report = options.create
        ? await createMissingFields(map, client.fields)
        : await inspectFields(map, client.fields);
      const account = await client.account();
      const zoneWarning = zoneMismatch(account.timeZone, config.sync.timeZone);
      process.stdout.write(
        options.json
          ? `${JSON.stringify({ ...toJson(report), accountTimeZone: account.timeZone ?? null, timeZoneWarning: zoneWarning ?? null }, null, 2)}\n`
          : `${render(report)}\n${zoneWarning ? `warning: ${zoneWarning}\n` : ''}`,
      );
      const wrong = report.checks.filter((check) => check.status !== 'ok').length;
      process.exitCode = wrong > 0 ? 1 : 0;
    });
}

function toJson(report: FieldSetupReport) {
  return {
    ok: report.checks.every((check) => check.status === 'ok'),
    created: report.created,
    enumsAdded: report.enumsAdded,
    fields: report.checks.map((check) => ({
      key: check.spec.key,
      name: check.spec.name,
      expectedType: check.spec.type,
      id: check.found?.id ?? null,
      foundType: check.found?.type ?? null,
      status: check.status,
      missingChoices: check.missingChoices,
      detail: check.detail,
    })),
  };
}

function render(report: FieldSetupReport): string {
  const table = formatTable(
    ['field', 'expected type', 'id', 'found type', 'status'],
    report.checks.map((check) => [
      check.spec.name,
      check.spec.type,
      check.found ? String(check.found.id) : '-',
      check.found?.type ?? '-',
      check.status === 'missing enum values'
        ? `missing enum values: ${check.missingChoices.join(', ')}`
        : check.status,
    ]),
  );
  const lines = [table, ''];
  if (report.created.length > 0)
    lines.push(`created ${report.created.length} field(s): ${report.created.join(', ')}`);
  for (const added of report.enumsAdded) lines.push(`added to "${added.field}": ${added.values.join(', ')}`);
  const wrong = report.checks.filter((check) => check.status !== 'ok');
  if (wrong.length === 0) lines.push(`all ${report.checks.length} fields are ready`);
  else {
    lines.push(`${wrong.length} of ${report.checks.length} fields need attention:`);
    for (const check of wrong) lines.push(`  - "${check.spec.name}" ${check.detail}`);
  }
  return lines.join('\n');
}
