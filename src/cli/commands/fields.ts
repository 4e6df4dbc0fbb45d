import type { Command } from 'commander';
import { zoneMismatch } from '../../amocrm/account-zone.ts';
import { createAmoClient } from '../../amocrm/client.ts';
import { createMissingFields, type FieldSetupReport, inspectFields } from '../../fields/ensure-fields.ts';
import {
  createMissingPipelines,
  inspectPipelines,
  type PipelineSetupReport,
} from '../../fields/ensure-pipelines.ts';
import { loadDealMapAndSql, loadMapAndSql } from '../../ident/map-check.ts';
import { commandContext } from '../context.ts';
import { formatTable } from '../table.ts';

interface FieldsOptions {
  create?: boolean;
  pipelines?: boolean;
  json?: boolean;
}

export function registerFields(program: Command): void {
  program
    .command('fields')
    .description(
      'check the amoCRM contact fields (and, with SYNC_RECEPTIONS, the deal fields, pipelines and stages) against the maps; --create adds what is missing',
    )
    .option('--create', 'create missing fields and missing select values (existing ones are kept)')
    .option('--pipelines', 'with --create: also create the deal pipelines and stages the deal map names')
    .option('--json', 'print the result as JSON')
    .action(async (options: FieldsOptions) => {
      const { config, logger } = commandContext(['amocrm'], { writesState: true });
      const { map } = loadMapAndSql(config);
      // Deals are checked when they are synced, or when their pipelines are asked for.
      const dealMap = config.sync.receptions || options.pipelines ? loadDealMapAndSql(config).map : undefined;
      const client = createAmoClient(config.amocrm, config.stateDir, logger);
      const contacts = options.create
        ? await createMissingFields(map, client.fields)
        : await inspectFields(map, client.fields);
      const deals = dealMap
        ? {
            fields: options.create
              ? await createMissingFields(dealMap, client.leadFields, 'deal')
              : await inspectFields(dealMap, client.leadFields, 'deal'),
            pipelines:
              options.create && options.pipelines
                ? await createMissingPipelines(dealMap, client.pipelines)
                : await inspectPipelines(dealMap, client.pipelines),
          }
        : undefined;
      const account = await client.account();
      const zoneWarning = zoneMismatch(account.timeZone, config.sync.timeZone);
      process.stdout.write(
        options.json
          ? `${JSON.stringify(
              {
                ...fieldsJson(contacts),
                ...(deals
                  ? { deals: { ...fieldsJson(deals.fields), pipelines: pipelinesJson(deals.pipelines) } }
                  : {}),
                accountTimeZone: account.timeZone ?? null,
                timeZoneWarning: zoneWarning ?? null,
              },
              null,
              2,
            )}\n`
          : `${renderFields(contacts, 'contact')}\n${deals ? `\n${renderFields(deals.fields, 'deal')}\n\n${renderPipelines(deals.pipelines, options)}\n` : ''}${zoneWarning ? `warning: ${zoneWarning}\n` : ''}`,
      );
      const wrong =
        contacts.checks.filter((check) => check.status !== 'ok').length +
        (deals?.fields.checks.filter((check) => check.status !== 'ok').length ?? 0) +
        (deals?.pipelines.checks.filter((check) => check.status !== 'ok').length ?? 0);
      process.exitCode = wrong > 0 ? 1 : 0;
    });
}

function fieldsJson(report: FieldSetupReport) {
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

function pipelinesJson(report: PipelineSetupReport) {
  return {
    ok: report.checks.every((check) => check.status === 'ok'),
    created: report.created,
    stagesAdded: report.stagesAdded,
    list: report.checks.map((check) => ({
      role: check.role,
      name: check.name,
      id: check.found?.id ?? null,
      status: check.status,
      missingStages: check.missingStages,
      stages: (check.found?._embedded?.statuses ?? []).map((status) => ({
        id: status.id,
        name: status.name,
      })),
      detail: check.detail,
    })),
  };
}

function renderFields(report: FieldSetupReport, owner: 'contact' | 'deal'): string {
  const table = formatTable(
    [`${owner} field`, 'expected type', 'id', 'found type', 'status'],
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
    lines.push(`created ${report.created.length} ${owner} field(s): ${report.created.join(', ')}`);
  for (const added of report.enumsAdded) lines.push(`added to "${added.field}": ${added.values.join(', ')}`);
  const wrong = report.checks.filter((check) => check.status !== 'ok');
  if (wrong.length === 0) lines.push(`all ${report.checks.length} ${owner} fields are ready`);
  else {
    lines.push(`${wrong.length} of ${report.checks.length} ${owner} fields need attention:`);
    for (const check of wrong) lines.push(`  - "${check.spec.name}" ${check.detail}`);
  }
  return lines.join('\n');
}

function renderPipelines(report: PipelineSetupReport, options: FieldsOptions): string {
  const table = formatTable(
    ['pipeline', 'for', 'id', 'stages', 'status'],
    report.checks.map((check) => [
      check.name,
      check.role,
      check.found ? String(check.found.id) : '-',
      (check.found?._embedded?.statuses ?? []).map((status) => status.name).join(' → ') || '-',
      check.status === 'missing stages' ? `missing stages: ${check.missingStages.join(', ')}` : check.status,
    ]),
  );
  const lines = [table, ''];
  if (report.created.length > 0) lines.push(`created pipeline(s): ${report.created.join(', ')}`);
  for (const added of report.stagesAdded)
    lines.push(`added to "${added.pipeline}": ${added.stages.join(', ')}`);
  const wrong = report.checks.filter((check) => check.status !== 'ok');
  if (wrong.length === 0) lines.push('both deal pipelines are ready');
  else {
    for (const check of wrong) lines.push(`  - "${check.name}" ${check.detail}`);
    if (options.create && !options.pipelines)
      lines.push('pipelines are created only when asked: `ident-sync fields --create --pipelines`');
  }
  return lines.join('\n');
}
