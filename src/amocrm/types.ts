/** Shapes of amoCRM API v4 contact bodies, as sent and as read. */

export type FieldScalar = string | number | boolean;

export interface FieldValueOut {
  value?: FieldScalar;
  enum_id?: number;
  enum_code?: string;
}

export interface CustomFieldValueOut {
  field_id?: number;
  field_code?: string;
  /** null clears the field. */
  values: FieldValueOut[] | null;
}

export interface ContactCreate {
  name: string;
  first_name?: string;
  last_name?: string;
  custom_fields_values?: CustomFieldValueOut[];
  request_id?: string;
}

export interface ContactUpdate extends Partial<ContactCreate> {
  id: number;
}

export interface CustomFieldValueIn {
  field_id: number;
  field_name?: string;
  field_code?: string | null;
  field_type?: string;
  values: { value?: FieldScalar; enum_id?: number; enum_code?: string }[];
}

export interface Contact {
  id: number;
  name: string;
  first_name?: string;
  last_name?: string;
  created_at?: number;
  updated_at?: number;
  custom_fields_values: CustomFieldValueIn[] | null;
}

/** A deal (lead) as sent. `_embedded.contacts` links contacts, and only on create (LeadModel::toApi). */
export interface LeadCreate {
  name: string;
  price?: number;
  pipeline_id?: number;
  status_id?: number;
  custom_fields_values?: CustomFieldValueOut[];
  _embedded?: { contacts?: { id: number; is_main?: boolean }[] };
  request_id?: string;
}

export interface LeadUpdate extends Partial<Omit<LeadCreate, '_embedded'>> {
  id: number;
}

/** A deal as read with `with=contacts`. */
export interface Lead {
  id: number;
  name: string;
  price?: number | null;
  pipeline_id: number;
  status_id: number;
  created_at?: number;
  updated_at?: number;
  closed_at?: number | null;
  is_deleted?: boolean;
  custom_fields_values: CustomFieldValueIn[] | null;
  _embedded?: { contacts?: { id: number; is_main?: boolean }[] };
}

/** A stage of a pipeline. 142 (won) and 143 (lost) close a deal in every pipeline (LeadModel::WON_STATUS_ID). */
export interface PipelineStatus {
  id: number;
  name: string;
  sort: number;
  /** 1: the "unsorted" stage; 0: an ordinary one. */
  type?: number;
  is_editable?: boolean;
  pipeline_id?: number;
}

export interface Pipeline {
  id: number;
  name: string;
  sort?: number;
  is_main?: boolean;
  is_archive?: boolean;
  _embedded?: { statuses?: PipelineStatus[] };
}

export const WON_STATUS_ID = 142;
export const LOST_STATUS_ID = 143;
