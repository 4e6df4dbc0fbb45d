import {
  applyFieldValues,
  HttpError,
  idsFilter,
  listPage,
  problem,
  requestIdOf,
  type StoredField,
  validationFailure,
} from './common.ts';
import {
  type EmulatedField,
  NEGATIVE_DATE,
  validateCustomFieldValues,
  type ValidationError,
} from './validation.ts';
import {
  firstStage,
  LOST,
  PipelineBook,
  type StoredPipeline,
  type StoredStatus,
  type SystemStageNames,
  WON,
} from './pipelines.ts';

/**
 * Deals, pipelines and deal fields of the emulated account, as amoCRM API v4 has them:
 * - the pipelines and their stages are src/emulator/pipelines.ts's;
 * - a deal's contacts are linked in its create (`_embedded.contacts`, LeadModel::toApi: "only on
 *   creation") and listed only when asked with `with=contacts` (LeadModel::getAvailableWith);
 * - `price` is a whole number (the v4 field; LeadModel casts it to int);
 * - contacts are linked and unlinked later through `POST /api/v4/leads/{id}/link` and `/unlink`
 *   (or `POST /api/v4/leads/link` with `entity_id` in each item): the body is a batch of
 *   `{to_entity_id, to_entity_type, metadata}`; `metadata.main_contact: true` makes the contact the
 *   deal's main one (Kommo "Linking entities" / "Unlinking entities",
 *   https://developers.kommo.com/reference/linking-entities). A link answers 200 with the links
 *   made, an unlink 204 with no body; linking what is linked, or unlinking what is not, changes nothing.
 */

export { LOST, WON } from './pipelines.ts';

export interface StoredLead {
  id: number;
  name: string;
  price: number;
  responsible_user_id: number;
  status_id: number;
  pipeline_id: number;
  created_at: number;
  updated_at: number;
  closed_at: number | null;
  is_deleted: boolean;
  account_id: number;
  custom_fields_values: StoredField[] | null;
  contacts: { id: number; is_main: boolean }[];
}

/** Keys amoCRM knows in a deal written through the API. */
const LEAD_KEYS = new Set([
  'id',
  'name',
  'price',
  'status_id',
  'pipeline_id',
  'responsible_user_id',
  'created_by',
  'updated_by',
  'created_at',
  'updated_at',
  'closed_at',
  'loss_reason_id',
  'custom_fields_values',
  'tags_to_add',
  'tags_to_delete',
  '_embedded',
  'request_id',
]);

export interface LeadRules {
  refuseUnknownKeys: boolean;
  refuseNegativeDates: boolean;
  uncheckedCheckboxAbsent: boolean;
  maxBatch: number;
  createStoresValidItemsOn400: boolean;
  patchAnswersWithoutRequestId: boolean;
  deletedContactPatch: 'validation' | 'bad-request' | 'not-found';
  honourOrder: boolean;
  honourIdFilter: boolean;
}

export class LeadBook {
  readonly leads = new Map<number, StoredLead>();
  readonly book: PipelineBook;
  readonly pipelines: Map<number, StoredPipeline>;
  readonly fields = new Map<number, EmulatedField>();
  private nextLeadId = 30_000_001;
  private readonly accountId: number;
  private readonly contactExists: (id: number) => boolean;
  private readonly breaches: string[];
  private readonly rules: () => LeadRules;
  /** amoCRM's clock, Unix seconds. */
  private readonly now: () => number;

  constructor(
    accountId: number,
    contactExists: (id: number) => boolean,
    breaches: string[],
    rules: () => LeadRules,
    now: () => number = () => Math.floor(Date.now() / 1000),
    systemStageNames: SystemStageNames = 'russian',
  ) {
    this.now = now;
    this.accountId = accountId;
    this.contactExists = contactExists;
    this.breaches = breaches;
    this.rules = rules;
    this.book = new PipelineBook(accountId, systemStageNames);
    this.pipelines = this.book.pipelines;
  }

  // ── pipelines ──────────────────────────────────────────────────────────────────────────────
  addPipeline(...args: Parameters<PipelineBook['addPipeline']>): StoredPipeline {
    return this.book.addPipeline(...args);
  }

  listPipelines(origin: string): [number, unknown] {
    return this.book.list(origin);
  }

  createPipelines(body: unknown, origin: string): [number, unknown] {
    return this.book.create(body, origin);
  }

  /** Stages added to an existing pipeline, before its won and lost stages. */
  addStatuses(pipelineId: number, body: unknown, origin: string): [number, unknown] {
    return this.book.addStatuses(pipelineId, body, origin);
  }

  /** The stage with this id in this pipeline (won and lost are in every pipeline). */
  status(pipelineId: number, statusId: number): StoredStatus | undefined {
    return this.book.status(pipelineId, statusId);
  }

  private mainPipeline(): StoredPipeline {
    return this.book.main();
  }

  // ── deals ──────────────────────────────────────────────────────────────────────────────────
  list(url: URL, origin: string): [number, unknown] {
    const rules = this.rules();
    const ids = idsFilter(url);
    const withContacts = (url.searchParams.get('with') ?? '').split(',').includes('contacts');
    const matches =
      ids.length > 0 && rules.honourIdFilter
        ? ids.map((id) => this.leads.get(id)).filter((lead): lead is StoredLead => lead !== undefined)
        : [...this.leads.values()];
    return listPage(url, matches, {
      kind: 'leads',
      honourOrder: rules.honourOrder,
      origin,
      present: (lead) => presentLead(lead, withContacts, origin),
    });
  }

  getOne(id: number, url: URL, origin: string): [number, unknown] {
    const lead = this.leads.get(id);
    if (!lead) return [204, undefined];
    return [
      200,
      presentLead(lead, (url.searchParams.get('with') ?? '').split(',').includes('contacts'), origin),
    ];
  }

  write(body: unknown, mode: 'create' | 'update', origin: string): [number, unknown] {
    const rules = this.rules();
    if (!Array.isArray(body)) throw new HttpError(400, problem(400, 'Request body must be an array'));
    if (body.length > rules.maxBatch) {
      this.breaches.push(`${body.length} deals in one request`);
      throw new HttpError(400, problem(400, `Too many entities in one request (max ${rules.maxBatch})`));
    }
    const failures: { request_id: string; errors: ValidationError[] }[] = [];
    let deleted = false;
    body.forEach((item: unknown, index) => {
      const errors = this.validate(item, mode, rules);
      if (errors.some((error) => error.code === 'NotFound' && error.path === 'id')) deleted = true;
      if (errors.length > 0) failures.push({ request_id: requestIdOf(item, index), errors });
    });
    if (deleted && rules.deletedContactPatch === 'not-found')
      throw new HttpError(404, problem(404, 'Entity not found'));
    if (deleted && rules.deletedContactPatch === 'bad-request')
      throw new HttpError(400, problem(400, 'Request validation failed'));
    if (failures.length > 0) {
      if (mode === 'create' && rules.createStoresValidItemsOn400) {
        const refused = new Set(failures.map((failure) => failure.request_id));
        body.forEach((item: Record<string, unknown>, index) => {
          if (!refused.has(requestIdOf(item, index))) this.create(item, rules);
        });
      }
      throw validationFailure(failures);
    }
    const results = body.map((item: Record<string, unknown>, index) => {
      const lead = mode === 'create' ? this.create(item, rules) : this.update(item, rules);
      return {
        id: lead.id,
        ...(mode === 'update' && rules.patchAnswersWithoutRequestId
          ? {}
          : { request_id: requestIdOf(item, index) }),
        updated_at: lead.updated_at,
        _links: { self: { href: `${origin}/api/v4/leads/${lead.id}` } },
      };
    });
    return [200, { _links: { self: { href: `${origin}/api/v4/leads` } }, _embedded: { leads: results } }];
  }

  /**
   * Links or unlinks contacts of deals: `leadId` from the path, else each item's `entity_id`. Only
   * contacts are kept here (companies and catalog elements are refused as not emulated).
   */
  links(
    leadId: number | undefined,
    body: unknown,
    verb: 'link' | 'unlink',
    origin: string,
  ): [number, unknown] {
    if (!Array.isArray(body)) throw new HttpError(400, problem(400, 'Request body must be an array'));
    if (body.length > this.rules().maxBatch) {
      this.breaches.push(`${body.length} links in one request`);
      throw new HttpError(
        400,
        problem(400, `Too many entities in one request (max ${this.rules().maxBatch})`),
      );
    }
    if (leadId !== undefined && !this.leads.has(leadId))
      throw new HttpError(404, problem(404, 'Entity not found'));
    const failures: { request_id: string; errors: ValidationError[] }[] = [];
    body.forEach((raw: unknown, index) => {
      const item = (raw ?? {}) as Record<string, unknown>;
      const errors: ValidationError[] = [];
      const target = leadId ?? item.entity_id;
      if (typeof target !== 'number' || !this.leads.has(target))
        errors.push({ code: 'NotFound', path: 'entity_id', detail: 'Entity not found.' });
      if (item.to_entity_type === undefined)
        errors.push({ code: 'FieldMissing', path: 'to_entity_type', detail: 'This field is missing.' });
      else if (item.to_entity_type !== 'contacts')
        errors.push({
          code: 'NotSupportedChoice',
          path: 'to_entity_type',
          detail: 'The value you selected is not a valid choice.',
        });
      if (typeof item.to_entity_id !== 'number')
        errors.push({ code: 'FieldMissing', path: 'to_entity_id', detail: 'This field is missing.' });
      else if (verb === 'link' && !this.contactExists(item.to_entity_id))
        errors.push({ code: 'NotFound', path: 'to_entity_id', detail: 'Entity not found.' });
      const metadata = item.metadata;
      if (metadata !== undefined && metadata !== null) {
        if (typeof metadata !== 'object' || Array.isArray(metadata))
          errors.push({
            code: 'InvalidType',
            path: 'metadata',
            detail: 'This value should be of type object.',
          });
        else if (
          'main_contact' in metadata &&
          typeof (metadata as { main_contact: unknown }).main_contact !== 'boolean'
        )
          errors.push({
            code: 'InvalidType',
            path: 'metadata.main_contact',
            detail: 'This value should be of type bool.',
          });
      }
      if (errors.length > 0) failures.push({ request_id: requestIdOf(raw, index), errors });
    });
    if (failures.length > 0) throw validationFailure(failures);
    const made = body.map(
      (raw: { entity_id?: number; to_entity_id: number; metadata?: { main_contact?: boolean } | null }) => {
        const lead = this.leads.get(leadId ?? raw.entity_id!)!;
        const main = raw.metadata?.main_contact === true;
        if (verb === 'unlink')
          lead.contacts = lead.contacts.filter((contact) => contact.id !== raw.to_entity_id);
        else {
          const linked = lead.contacts.find((contact) => contact.id === raw.to_entity_id);
          if (main) for (const contact of lead.contacts) contact.is_main = false;
          if (linked) linked.is_main = linked.is_main || main;
          else lead.contacts.push({ id: raw.to_entity_id, is_main: main || lead.contacts.length === 0 });
        }
        return {
          entity_id: lead.id,
          entity_type: 'leads',
          to_entity_id: raw.to_entity_id,
          to_entity_type: 'contacts',
          metadata: {
            main_contact: lead.contacts.find((contact) => contact.id === raw.to_entity_id)?.is_main ?? false,
          },
        };
      },
    );
    if (verb === 'unlink') return [204, undefined];
    const self =
      leadId === undefined ? `${origin}/api/v4/leads/link` : `${origin}/api/v4/leads/${leadId}/link`;
    return [200, { _total_items: made.length, _links: { self: { href: self } }, _embedded: { links: made } }];
  }

  /** A manager's deal, typed into amoCRM: linked to a contact, in a stage of a pipeline. */
  seed(options: {
    name: string;
    contactId?: number;
    pipelineId?: number;
    statusId?: number;
    price?: number;
  }): StoredLead {
    const lead = this.create(
      {
        name: options.name,
        ...(options.price === undefined ? {} : { price: options.price }),
        ...(options.pipelineId === undefined ? {} : { pipeline_id: options.pipelineId }),
        ...(options.statusId === undefined ? {} : { status_id: options.statusId }),
        ...(options.contactId === undefined ? {} : { _embedded: { contacts: [{ id: options.contactId }] } }),
      },
      this.rules(),
    );
    return lead;
  }

  /** A manager moves a deal to another stage (and pipeline) in the interface. */
  move(id: number, statusId: number, pipelineId?: number): StoredLead {
    const lead = this.leads.get(id);
    if (!lead) throw new Error(`no deal ${id}`);
    const pipeline = pipelineId ?? lead.pipeline_id;
    if (!this.status(pipeline, statusId)) throw new Error(`no stage ${statusId} in pipeline ${pipeline}`);
    lead.pipeline_id = pipeline;
    lead.status_id = statusId;
    lead.closed_at = statusId === WON || statusId === LOST ? this.now() : null;
    lead.updated_at = this.now();
    return lead;
  }

  delete(id: number): boolean {
    return this.leads.delete(id);
  }

  private validate(raw: unknown, mode: 'create' | 'update', rules: LeadRules): ValidationError[] {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw))
      return [{ code: 'InvalidType', path: '', detail: 'This value should be of type object.' }];
    const item = raw as Record<string, unknown>;
    const errors: ValidationError[] = [];
    if (rules.refuseUnknownKeys) {
      for (const key of Object.keys(item))
        if (!LEAD_KEYS.has(key))
          errors.push({ code: 'FieldNotExpected', path: key, detail: 'This field was not expected.' });
    }
    let current: StoredLead | undefined;
    if (mode === 'update') {
      if (typeof item.id !== 'number')
        errors.push({ code: 'FieldMissing', path: 'id', detail: 'This field is missing.' });
      else {
        current = this.leads.get(item.id);
        if (!current) errors.push({ code: 'NotFound', path: 'id', detail: 'Entity not found.' });
      }
    }
    if (item.name !== undefined && typeof item.name !== 'string')
      errors.push({ code: 'InvalidType', path: 'name', detail: 'This value should be of type string.' });
    if (item.price !== undefined && !(Number.isInteger(item.price) && (item.price as number) >= 0))
      errors.push({ code: 'InvalidType', path: 'price', detail: 'This value should be of type int.' });
    const pipelineId =
      typeof item.pipeline_id === 'number'
        ? item.pipeline_id
        : (current?.pipeline_id ?? this.mainPipeline().id);
    if (item.pipeline_id !== undefined && !this.pipelines.has(pipelineId))
      errors.push({
        code: 'NotSupportedChoice',
        path: 'pipeline_id',
        detail: 'The value you selected is not a valid choice.',
      });
    else if (
      item.status_id !== undefined &&
      !(typeof item.status_id === 'number' && this.status(pipelineId, item.status_id))
    )
      errors.push({
        code: 'NotSupportedChoice',
        path: 'status_id',
        detail: 'The value you selected is not a valid choice.',
      });
    const embedded = item._embedded as { contacts?: unknown } | undefined;
    if (embedded?.contacts !== undefined) {
      if (mode === 'update')
        this.breaches.push('contacts sent in a deal update (amoCRM links them only on create)');
      else if (!Array.isArray(embedded.contacts))
        errors.push({
          code: 'InvalidType',
          path: '_embedded.contacts',
          detail: 'This value should be of type array.',
        });
      else
        embedded.contacts.forEach((contact: unknown, index) => {
          const id = (contact as { id?: unknown } | null)?.id;
          if (typeof id !== 'number' || !this.contactExists(id))
            errors.push({
              code: 'NotFound',
              path: `_embedded.contacts.${index}.id`,
              detail: 'Entity not found.',
            });
        });
    }
    const byCode = new Map([...this.fields.values()].filter((f) => f.code).map((f) => [f.code!, f]));
    const fieldErrors = validateCustomFieldValues(item.custom_fields_values, this.fields, byCode, {
      refuseNegativeDates: rules.refuseNegativeDates,
    });
    for (const error of fieldErrors)
      if (error.detail === NEGATIVE_DATE) this.breaches.push(`negative date at ${error.path}`);
    errors.push(...fieldErrors);
    return errors;
  }

  private create(item: Record<string, unknown>, rules: LeadRules): StoredLead {
    const pipeline =
      typeof item.pipeline_id === 'number' ? this.pipelines.get(item.pipeline_id)! : this.mainPipeline();
    const statusId = typeof item.status_id === 'number' ? item.status_id : firstStage(pipeline).id;
    const at = this.now();
    const contacts = (
      (item._embedded as { contacts?: { id: number; is_main?: boolean }[] } | undefined)?.contacts ?? []
    ).map((contact, index) => ({ id: contact.id, is_main: contact.is_main ?? index === 0 }));
    const lead: StoredLead = {
      id: this.nextLeadId++,
      name: typeof item.name === 'string' ? item.name : `Сделка #${this.nextLeadId - 1}`,
      price: typeof item.price === 'number' ? item.price : 0,
      responsible_user_id: 1,
      status_id: statusId,
      pipeline_id: pipeline.id,
      created_at: at,
      updated_at: at,
      closed_at: statusId === WON || statusId === LOST ? at : null,
      is_deleted: false,
      account_id: this.accountId,
      custom_fields_values: null,
      contacts,
    };
    applyFieldValues(lead, item.custom_fields_values, this.fields, rules.uncheckedCheckboxAbsent);
    this.leads.set(lead.id, lead);
    return lead;
  }

  private update(item: Record<string, unknown>, rules: LeadRules): StoredLead {
    const lead = this.leads.get(item.id as number)!;
    if (typeof item.name === 'string') lead.name = item.name;
    if (typeof item.price === 'number') lead.price = item.price;
    if (typeof item.pipeline_id === 'number') lead.pipeline_id = item.pipeline_id;
    if (typeof item.status_id === 'number') {
      lead.status_id = item.status_id;
      lead.closed_at = item.status_id === WON || item.status_id === LOST ? this.now() : null;
    }
    applyFieldValues(lead, item.custom_fields_values, this.fields, rules.uncheckedCheckboxAbsent);
    lead.updated_at = this.now();
    return lead;
  }
}

function presentLead(lead: StoredLead, withContacts: boolean, origin: string) {
  const { contacts, ...rest } = lead;
  return {
    ...rest,
    _links: { self: { href: `${origin}/api/v4/leads/${lead.id}` } },
    _embedded: {
      tags: [],
      companies: [],
      ...(withContacts
        ? {
            contacts: contacts.map((contact) => ({
              ...contact,
              _links: { self: { href: `${origin}/api/v4/contacts/${contact.id}` } },
            })),
          }
        : {}),
    },
  };
}
