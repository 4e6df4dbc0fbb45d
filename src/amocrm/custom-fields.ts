import type { CatalogueField } from '../mapping/catalogue.ts';
import type { EntityKind } from './entities.ts';
import type { AmoHttp } from './http.ts';

interface FieldPage {
  _links?: { next?: { href?: string } };
  _embedded?: { custom_fields?: CatalogueField[] };
}

export interface NewField {
  name: string;
  type: string;
  sort?: number;
  is_api_only?: boolean;
  enums?: { value: string; sort: number }[];
}

/** The account's custom fields of contacts or of deals: the catalogue (paged), creation, and enum lists. */
export class CustomFieldsApi {
  private readonly http: AmoHttp;
  private readonly path: string;

  constructor(http: AmoHttp, entity: EntityKind = 'contacts') {
    this.http = http;
    this.path = `/api/v4/${entity}/custom_fields`;
  }

  async list(): Promise<CatalogueField[]> {
    const fields: CatalogueField[] = [];
    let page = 1;
    for (;;) {
      const response = await this.http.get<FieldPage>(this.path, { page, limit: 50 });
      if (response.status === 204 || !response.data) break;
      const batch = response.data._embedded?.custom_fields ?? [];
      fields.push(...batch);
      if (!response.data._links?.next?.href || batch.length === 0) break;
      page += 1;
    }
    return fields;
  }

  async create(fields: readonly NewField[]): Promise<CatalogueField[]> {
    if (fields.length === 0) return [];
    const response = await this.http.post<FieldPage>(this.path, fields);
    return response.data?._embedded?.custom_fields ?? [];
  }

  /**
   * Sets a select field's values. amoCRM replaces the whole list, so the existing values go in
   * with their ids (or they, and what contacts hold of them, would be deleted). The field's type
   * and name go with them, as the official library sends them on update (amocrm-api-php
   * Models/CustomFields/CustomFieldModel::toApi always writes `type`).
   */
  async setEnums(
    field: Pick<CatalogueField, 'id' | 'name' | 'type'>,
    enums: readonly { id?: number; value: string; sort: number }[],
  ): Promise<CatalogueField> {
    const response = await this.http.patch<FieldPage | CatalogueField>(`${this.path}/${field.id}`, {
      type: field.type,
      name: field.name,
      enums,
    });
    const data = response.data as FieldPage & CatalogueField;
    return data._embedded?.custom_fields?.[0] ?? data;
  }
}
