/** Type checks of custom field values, as amoCRM answers them: code, path and detail per error. */

export interface EmulatedField {
  id: number;
  name: string;
  code: string | null;
  type: string;
  sort: number;
  is_api_only: boolean;
  enums: { id: number; value: string; sort: number }[] | null;
}

export interface ValidationError {
  code: string;
  path: string;
  detail: string;
}

const NUMERIC = /^-?\d+(\.\d+)?$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}([+-]\d{2}:\d{2}|Z)$/;

export const NEGATIVE_DATE = 'This value should be greater than or equal to 0.';

export function validateCustomFieldValues(
  raw: unknown,
  fields: ReadonlyMap<number, EmulatedField>,
  fieldsByCode: ReadonlyMap<string, EmulatedField>,
  options: { refuseNegativeDates: boolean; multitextClear?: 'null' | 'empty-list' } = {
    refuseNegativeDates: true,
  },
): ValidationError[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    return [
      { code: 'InvalidType', path: 'custom_fields_values', detail: 'This value should be of type array.' },
    ];
  }
  const errors: ValidationError[] = [];
  raw.forEach((entry: unknown, index) => {
    const path = `custom_fields_values.${index}`;
    if (!entry || typeof entry !== 'object') {
      errors.push({ code: 'InvalidType', path, detail: 'This value should be of type object.' });
      return;
    }
    const item = entry as { field_id?: unknown; field_code?: unknown; values?: unknown };
    const field =
      typeof item.field_id === 'number'
        ? fields.get(item.field_id)
        : typeof item.field_code === 'string'
          ? fieldsByCode.get(item.field_code)
          : undefined;
    if (item.field_id === undefined && item.field_code === undefined) {
      errors.push({ code: 'FieldMissing', path: `${path}.field_id`, detail: 'Use field_id or field_code.' });
      return;
    }
    if (!field) {
      errors.push({
        code: 'NotSupportedChoice',
        path: `${path}.field_id`,
        detail: 'The value you selected is not a valid choice.',
      });
      return;
    }
    // PHONE and EMAIL are cleared in one of two spellings (which one amoCRM takes is unknown).
    if (field.type === 'multitext' && options.multitextClear !== undefined) {
      if (item.values === null && options.multitextClear !== 'null') {
        errors.push({
          code: 'InvalidType',
          path: `${path}.values`,
          detail: 'This value should be of type array.',
        });
        return;
      }
      if (Array.isArray(item.values) && item.values.length === 0 && options.multitextClear !== 'empty-list') {
        errors.push({ code: 'NotBlank', path: `${path}.values`, detail: 'This value should not be blank.' });
        return;
      }
    }
    if (item.values === null) return;
    if (!Array.isArray(item.values)) {
      errors.push({
        code: 'InvalidType',
        path: `${path}.values`,
        detail: 'This value should be of type array.',
      });
      return;
    }
    item.values.forEach((value: unknown, valueIndex) => {
      const valuePath = `${path}.values.${valueIndex}`;
      const problem = checkValue(field, value, options);
      if (problem) errors.push({ ...problem, path: `${valuePath}${problem.path}` });
    });
  });
  return errors;
}

function checkValue(
  field: EmulatedField,
  raw: unknown,
  options: { refuseNegativeDates: boolean },
): ValidationError | undefined {
  if (!raw || typeof raw !== 'object') {
    return { code: 'InvalidType', path: '', detail: 'This value should be of type object.' };
  }
  const value = raw as { value?: unknown; enum_id?: unknown; enum_code?: unknown };
  const invalid = (detail: string): ValidationError => ({ code: 'InvalidType', path: '.value', detail });
  switch (field.type) {
    case 'text':
    case 'textarea':
    case 'url':
    case 'streetaddress':
      if (typeof value.value !== 'string' && typeof value.value !== 'number') {
        return invalid('This value should be of type string.');
      }
      if (field.type === 'text' && String(value.value).length > 256) {
        return { code: 'TooLong', path: '.value', detail: 'This value is too long.' };
      }
      return undefined;
    case 'numeric':
      if (typeof value.value === 'number' && Number.isFinite(value.value)) return undefined;
      if (typeof value.value === 'string' && NUMERIC.test(value.value)) return undefined;
      return invalid('This value should be of type numeric.');
    case 'checkbox':
      return typeof value.value === 'boolean' ? undefined : invalid('This value should be of type bool.');
    case 'date':
    case 'date_time':
    case 'birthday':
      if (typeof value.value === 'number' && Number.isInteger(value.value)) {
        // amoCRM refuses timestamps before 1970 (amocrm-api-php #85, #219); RFC 3339 text is taken.
        if (value.value < 0 && options.refuseNegativeDates)
          return { code: 'InvalidType', path: '.value', detail: NEGATIVE_DATE };
        return undefined;
      }
      if (typeof value.value === 'string' && RFC3339.test(value.value)) return undefined;
      return invalid('This value should be a timestamp.');
    case 'select':
    case 'radiobutton':
    case 'multiselect':
    case 'multitext': {
      const enums = field.enums ?? [];
      // `enum_id: null` counts as no id: the option is then found by its value.
      if (value.enum_id !== undefined && value.enum_id !== null) {
        return enums.some((item) => item.id === value.enum_id)
          ? undefined
          : {
              code: 'NotSupportedChoice',
              path: '.enum_id',
              detail: 'The value you selected is not a valid choice.',
            };
      }
      if (field.type === 'multitext') {
        if (typeof value.value !== 'string' || value.value === '')
          return invalid('This value should not be blank.');
        if (value.enum_code !== undefined && !enums.some((item) => item.value === value.enum_code)) {
          return {
            code: 'NotSupportedChoice',
            path: '.enum_code',
            detail: 'The value you selected is not a valid choice.',
          };
        }
        return undefined;
      }
      return enums.some((item) => item.value === value.value)
        ? undefined
        : {
            code: 'NotSupportedChoice',
            path: '.value',
            detail: 'The value you selected is not a valid choice.',
          };
    }
    default:
      return undefined;
  }
}
