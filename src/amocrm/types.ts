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
