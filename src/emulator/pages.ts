import { zonedText } from '../support/zoned-time.ts';
import type { StoredField } from './common.ts';
import type { StoredLead } from './leads.ts';
import type { StoredPipeline } from './pipelines.ts';

/**
 * The emulated account's contacts and deals as pages for a person's browser (the demo points
 * there): the newest 500, every value escaped, dates on the clinic's clock. The JSON stays at
 * `/__emulator/contacts` and `/__emulator/leads?format=json`.
 */

const SHOWN = 500;

interface Dated {
  id: number;
  updated_at: number;
  custom_fields_values: StoredField[] | null;
}
interface PageContact extends Dated {
  name: string;
}

const escape = (text: unknown) =>
  String(text ?? '').replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

/** Newest first: the latest change on top; of those changed in one second, the latest made. */
const newestFirst = <T extends Dated>(items: Iterable<T>): T[] =>
  [...items].sort((a, b) => b.updated_at - a.updated_at || b.id - a.id).slice(0, SHOWN);

/** A field's values as a person reads them: dates (stored as Unix seconds) on the clinic's clock. */
function shown(entity: Dated, nameOrCode: string, timeZone: string): string {
  return (entity.custom_fields_values ?? [])
    .filter((field) => field.field_code === nameOrCode || field.field_name === nameOrCode)
    .flatMap((field) =>
      field.values.map((value) => {
        if (typeof value.value !== 'number' || !['date', 'birthday', 'date_time'].includes(field.field_type))
          return value.value;
        const text = zonedText(new Date(value.value * 1000), timeZone);
        return field.field_type === 'date_time' ? text.slice(0, 16) : text.slice(0, 10);
      }),
    )
    .join(', ');
}

function page(title: string, intro: string, head: string[], rows: string[][]): string {
  const cells = (row: string[], tag: string) => row.map((cell) => `<${tag}>${cell}</${tag}>`).join('');
  return `<!doctype html><html lang="ru"><meta charset="utf-8"><title>amoCRM emulator — ${escape(title)}</title>
<body style="font-family:sans-serif;margin:2em"><h1>amoCRM emulator — ${escape(title)}</h1>
<p>${intro}</p>
<table border="1" cellpadding="4" cellspacing="0"><tr>${cells(head, 'th')}</tr>
${rows.map((row) => `<tr>${cells(row, 'td')}</tr>`).join('\n')}</table></body></html>`;
}

const updated = (entity: Dated, timeZone: string) =>
  escape(zonedText(new Date(entity.updated_at * 1000), timeZone));

export function contactsPage(contacts: Iterable<PageContact>, total: number, timeZone: string): string {
  return page(
    `${total} contact(s)`,
    `An emulated account on this machine, for tests and the demo (synthetic data). Newest first, at most ${SHOWN}; times in ${escape(timeZone)}. The deals: <a href="/__emulator/leads">/__emulator/leads</a>; JSON at <a href="/__emulator/contacts">/__emulator/contacts</a>.`,
    ['id', 'IDENT id', 'name', 'phones', 'e-mails', 'birth date', 'updated'],
    newestFirst(contacts).map((contact) => [
      String(contact.id),
      escape(shown(contact, 'ID пациента IDENT', timeZone)),
      escape(contact.name),
      escape(shown(contact, 'PHONE', timeZone)),
      escape(shown(contact, 'EMAIL', timeZone)),
      escape(shown(contact, 'Дата рождения', timeZone)),
      updated(contact, timeZone),
    ]),
  );
}

export function leadsPage(
  leads: Iterable<StoredLead>,
  total: number,
  pipelines: ReadonlyMap<number, StoredPipeline>,
  timeZone: string,
): string {
  const stage = (lead: StoredLead) => {
    const pipeline = pipelines.get(lead.pipeline_id);
    const status = pipeline?.statuses.find((candidate) => candidate.id === lead.status_id);
    return `${pipeline?.name ?? lead.pipeline_id} → ${status?.name ?? lead.status_id}`;
  };
  return page(
    `${total} deal(s)`,
    `The deals of the emulated account (synthetic data). Newest first, at most ${SHOWN}; times in ${escape(timeZone)}. The contacts: <a href="/">/</a>; JSON at <a href="/__emulator/leads?format=json">/__emulator/leads?format=json</a>.`,
    ['id', 'name', 'pipeline → stage', 'price', 'reception (IDENT)', 'visit', 'doctor', 'contact', 'updated'],
    newestFirst([...leads].filter((lead) => !lead.is_deleted)).map((lead) => [
      String(lead.id),
      escape(lead.name),
      escape(stage(lead)),
      String(lead.price),
      escape(shown(lead, 'ID приёма IDENT', timeZone)),
      escape(shown(lead, 'Дата и время приёма', timeZone)),
      escape(shown(lead, 'Врач', timeZone)),
      lead.contacts.map((contact) => String(contact.id)).join(', '),
      updated(lead, timeZone),
    ]),
  );
}
