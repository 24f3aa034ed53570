/** An error in user or platform input, pinned to the field that caused it. */
export class FieldError extends Error {
  constructor(
    readonly field: string,
    detail: string,
  ) {
    super(`${field}: ${detail}`);
    this.name = 'FieldError';
  }
}

import { isObject, type JsonObject } from '../common/objects.js';

export { isObject, type JsonObject };

/** Reads typed values out of untrusted objects, naming the field in every error. */
export const read = {
  object(value: unknown, field: string): JsonObject {
    if (!isObject(value)) throw new FieldError(field, `must be an object, got ${describe(value)}`);
    return value;
  },
  optionalObject(value: unknown, field: string): JsonObject {
    return value === undefined || value === null ? {} : read.object(value, field);
  },
  string(value: unknown, field: string): string {
    if (typeof value !== 'string' || value === '') {
      throw new FieldError(field, `must be a non-empty string, got ${describe(value)}`);
    }
    return value;
  },
  optionalString(value: unknown, field: string): string | undefined {
    return value === undefined || value === null ? undefined : read.string(value, field);
  },
  array(value: unknown, field: string): unknown[] {
    if (!Array.isArray(value))
      throw new FieldError(field, `must be a list, got ${describe(value)}`);
    return value;
  },
  optionalArray(value: unknown, field: string): unknown[] {
    return value === undefined || value === null ? [] : read.array(value, field);
  },
  matching(value: unknown, field: string, pattern: RegExp, what: string): string {
    const text = read.string(value, field);
    if (!pattern.test(text)) throw new FieldError(field, `${JSON.stringify(text)} is not ${what}`);
    return text;
  },
};

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** RFC 1123 label, as Kubernetes requires for namespaces and most names. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
