/**
 * Reading untrusted input (the claim, the catalogue): typed values out of unknown objects, and
 * errors that name the field at fault and echo no more of the input than a message can carry.
 */
import { isObject, type JsonObject } from '../../common/objects.js';

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

/** Input echoed in a message is cut to this many characters: a message lands in the XR's status. */
const ECHO_LENGTH = 64;

/** A string as a message shows it: quoted, and cut short when long. */
export function quote(text: string): string {
  return JSON.stringify(text.length > ECHO_LENGTH ? `${text.slice(0, ECHO_LENGTH)}…` : text);
}

/** Names as a message lists them: the first few, and how many there are in all. */
export function listed(names: readonly string[], shown = 20): string {
  if (names.length === 0) return 'none';
  return names.length <= shown
    ? names.join(', ')
    : `${names.slice(0, shown).join(', ')}, … (${names.length} in all)`;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `base.key`, `base[3]`, or `base["app.kubernetes.io/name"]` for keys that are not identifiers. */
export function fieldPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  return IDENTIFIER.test(key) && key.length <= ECHO_LENGTH
    ? `${base}.${key}`
    : `${base}[${quote(key)}]`;
}

/** Reads typed values out of untrusted objects, naming the field in every error. */
export const read = {
  object(value: unknown, field: string): JsonObject {
    if (!isObject(value)) throw new FieldError(field, `must be an object, got ${describe(value)}`);
    return value;
  },
  optionalObject(value: unknown, field: string): JsonObject {
    return value === undefined || value === null ? {} : read.object(value, field);
  },
  string(value: unknown, field: string, maxLength?: number): string {
    if (typeof value !== 'string' || value === '') {
      throw new FieldError(field, `must be a non-empty string, got ${describe(value)}`);
    }
    if (maxLength !== undefined && value.length > maxLength) {
      throw new FieldError(field, `${value.length} characters; at most ${maxLength}`);
    }
    return value;
  },
  optionalString(value: unknown, field: string, maxLength?: number): string | undefined {
    return value === undefined || value === null ? undefined : read.string(value, field, maxLength);
  },
  /** A list of at most `limit.max` items, `limit.what` naming them in the error. */
  array(value: unknown, field: string, limit?: { max: number; what: string }): unknown[] {
    if (!Array.isArray(value))
      throw new FieldError(field, `must be a list, got ${describe(value)}`);
    if (limit && value.length > limit.max) {
      throw new FieldError(field, `${value.length} ${limit.what}; at most ${limit.max}`);
    }
    return value;
  },
  optionalArray(value: unknown, field: string, limit?: { max: number; what: string }): unknown[] {
    return value === undefined || value === null ? [] : read.array(value, field, limit);
  },
  matching(value: unknown, field: string, pattern: RegExp, what: string, maxLength?: number) {
    const text = read.string(value, field, maxLength);
    if (!pattern.test(text)) throw new FieldError(field, `${quote(text)} is not ${what}`);
    return text;
  },
};

/** What a value is, in a few words: never the whole of it, which may be huge or deep. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `the string ${quote(value)}`;
  if (isObject(value)) {
    const keys = Object.keys(value);
    const shown = keys.slice(0, 3).map(quote).join(', ');
    return keys.length === 0
      ? 'an empty object'
      : `an object with keys ${shown}${keys.length > 3 ? ', …' : ''}`;
  }
  return `${typeof value} ${String(value)}`;
}

/** A Kubernetes minor version, as claims name them and catalogues offer them. */
export const KUBERNETES_VERSION = /^[0-9]+\.[0-9]+$/;
