import { optionText } from '../../mapping/mapper.ts';
import type { Command } from 'commander';
import { ActionableError } from '../../errors.ts';
import { differences, documentFromContact } from '../../mapping/compare.ts';
import type { ContactDocument } from '../../mapping/mapper.ts';
import { withRunLock } from '../../state/locks.ts';
import { openSyncContext } from '../../streams/runner/context.ts';
import { commandContext } from '../context.ts';
import { formatTable } from '../table.ts';
import { MirrorRefresher } from '../../streams/contacts/mirror-refresh.ts';
import { testReception } from './test-reception.ts';
import { typedId } from '../typed-id.ts';

const MASK = '•••';

/**
 * What may be shown without --show-personal-data: values that say nothing about who the patient
 * is (the IDENT id, record status and stamps, counts and sums, the branch). Everything else — names,
 * phones, documents, card and patient numbers, birth date and age, sex, addresses, comments — is
 * masked, in the row, the payload and the comparison alike.
 */
const NOT_IDENTIFYING = new Set([
  'PatientId',
  'ident_id',
  'StatusCode',
  'status',
  'ChangedAt',
  'changed_at',
  'VisitCount',
  'visit_count',
  'VisitSum',
  'visit_sum',
  'Advance',
  'advance',
  'Debt',
  'debt',
  'DiscountPercent',
  'discount',
  'SmsRejection',
  'sms_rejection',
  'BranchName',
  'branch',
]);

export function registerTestPatient(program: Command): void {
  program
    .command('test')
    .description(
      'sync one patient (or, with SYNC_RECEPTIONS, one reception) and show every step: the row, the payload, the difference, the result',
    )
    .option('--patient-id <id>', 'the IDENT patient id (in a clinic chain source:id, e.g. center:1042)')
    .option(
      '--reception-id <id>',
      'the IDENT reception id (SYNC_RECEPTIONS=true): its deal (in a clinic chain source:id, e.g. north:77)',
    )
    .option('--dry-run', 'stop before writing to amoCRM')
    .option('--show-personal-data', 'print names, phones, documents unmasked (mind who sees the screen)')
    .action(async (options: TestOptions) => {
      const [flag, id] =
        options.receptionId !== undefined
          ? ['--reception-id', options.receptionId]
          : ['--patient-id', options.patientId];
      if ((options.patientId === undefined) === (options.receptionId === undefined))
        throw new ActionableError('give one of --patient-id N or --reception-id N', { exitCode: 2 });
      const { config, logger } = commandContext(['database', 'amocrm'], { writesState: true });
      // `center:1042` in a chain; a bare id where one source keeps bare ids (a single clinic).
      const kept = typedId(config.scopes, flag, id!);
      const show = options.showPersonalData ?? false;
      const shown = shownValue(show);
      const out = (line = '') => process.stdout.write(`${line}\n`);
      const context = await openSyncContext(config, logger);
      try {
        if (options.receptionId !== undefined) {
          process.exitCode = await testReception(context, {
            receptionId: kept,
            dryRun: options.dryRun ?? false,
            shown,
            stateDir: config.stateDir,
            timeZone: config.sync.timeZone,
            logger,
          });
          return;
        }
        const patientId = kept;
        const row = await context.source.one(patientId);
        if (!row)
          throw new ActionableError(
            `IDENT has no patient with id ${patientId}; check the id (Patients.ID_Persons)`,
          );
        out(`Row read from IDENT${show ? '' : ' (personal data masked; --show-personal-data shows it)'}:`);
        out(
          formatTable(
            ['column', 'value'],
            Object.entries(row).map(([key, value]) => [key, shown(key, value)]),
          ),
        );
        out();

        const outcome = context.mapper(row);
        if (!outcome.ok) {
          out(`The row cannot be mapped: ${outcome.reason}`);
          process.exitCode = 1;
          return;
        }
        const mapped = outcome.contact;
        const names = new Map(
          context.resolved.fields.map((field) => [field.spec.key, `${field.spec.name} (#${field.fieldId})`]),
        );
        out('Contact payload:');
        out(formatTable(['field', 'value'], documentRows(mapped.document, names, shown)));
        for (const note of mapped.notes) out(`  note: ${note.field}: ${note.note}`);
        out();

        const result = await withRunLock(config.stateDir, async () => {
          // The state's mirror of amoCRM, brought up to date, shows what the contact holds now.
          const refresher = new MirrorRefresher(
            context.client.contacts,
            context.store.mirror,
            { resolved: context.resolved, timeZone: config.sync.timeZone },
            logger,
          );
          await refresher.refresh(false);
          const link = context.store.link(mapped.patientId);
          const contactId = link?.contactId ?? context.store.mirror.byIdent(mapped.patientId)[0]?.contactId;
          const existing = contactId ? await context.client.contacts.getOne(contactId) : undefined;
          if (existing) {
            const diff = differences(
              mapped.document,
              documentFromContact(existing, context.resolved, config.sync.timeZone),
            );
            out(
              `amoCRM contact ${existing.id}: ${diff.length === 0 ? 'holds exactly this data' : `${diff.length} field(s) differ`}`,
            );
            if (diff.length > 0) {
              out(
                formatTable(
                  ['field', 'IDENT (will be sent)', 'amoCRM now'],
                  diff.map((d) => [
                    names.get(d.field) ?? d.field,
                    shown(d.field, d.ours),
                    shown(d.field, d.theirs),
                  ]),
                ),
              );
            }
          } else {
            out('amoCRM has no contact for this patient yet: it will be created (or linked by phone).');
          }
          out();
          return context
            .newRun({ dryRun: options.dryRun ?? false })
            .run({ kind: 'single', patientId: mapped.patientId });
        });
        const patient = result.patient;
        const verb = options.dryRun ? 'would be' : 'was';
        out(
          `Result: the contact ${verb} ${patient?.action ?? result.outcome}${patient?.reason ? ` (${patient.reason})` : ''}.`,
        );
        if (patient?.contactId)
          out(
            `Contact ${patient.contactId}: ${context.client.http.baseUrl}/contacts/detail/${patient.contactId}`,
          );
        process.exitCode = result.outcome === 'ok' && patient?.action !== 'failed' ? 0 : 1;
        if (result.outcome === 'failed' && result.error) throw result.error;
      } finally {
        await context.close();
      }
    });
}

interface TestOptions {
  patientId?: string;
  receptionId?: string;
  dryRun?: boolean;
  showPersonalData?: boolean;
}

/** How a value is printed: as it is for what identifies nobody (or with --show-personal-data), else masked. */
export function shownValue(
  show: boolean,
): (key: string, value: unknown, visible?: ReadonlySet<string>) => string {
  return (key, value, visible = NOT_IDENTIFYING) =>
    value === null || value === undefined || value === ''
      ? '—'
      : show || visible.has(key)
        ? value instanceof Date
          ? value
              .toISOString()
              .replace('T', ' ')
              .replace(/\.000Z$/, '')
          : String(value)
        : MASK;
}

export function documentRows(
  document: ContactDocument,
  names: Map<string, string>,
  shown: (key: string, value: unknown) => string,
): string[][] {
  return [
    ['name', shown('name', document.name)],
    ['first_name', shown('first_name', document.first_name)],
    ['last_name', shown('last_name', document.last_name)],
    [
      'PHONE',
      document.phones.map((phone) => `${shown('phone', phone.value)} (${phone.enum_code})`).join(', ') || '—',
    ],
    ['EMAIL', document.emails.map((email) => shown('email', email.value)).join(', ') || '—'],
    ...document.fields.map((field) => [
      names.get(field.key) ?? field.key,
      typeof field.value === 'object' && field.value !== null
        ? shown(field.key, optionText(field.value))
        : shown(field.key, field.value),
    ]),
  ];
}
