/**
 * Structs whose encoding is kept with them. A response repeats most of what the last one for the
 * same XR held (see compose/kept.ts): an object registered here is written once and its bytes are
 * copied after. Only a deep-frozen object can be registered, so the bytes kept are always what
 * writing it again would give; they go when the object does.
 */
import { deepFreeze } from '../../common/objects.js';

/** null: registered, not written yet. */
const kept = new WeakMap<object, Buffer | null>();

/**
 * Deep-freezes `value`, an object (not a list), and keeps its encoding as a Struct once it is first
 * written: as a message's Struct field, or as a Struct within one.
 */
export function keepEncoding<T extends object>(value: T): T {
  if (Array.isArray(value)) throw new TypeError('only an object is written as a Struct');
  kept.set(deepFreeze(value), null);
  return value;
}

/** Its kept bytes; null if it is registered but not written yet; undefined if not registered. */
export function keptEncoding(value: object): Buffer | null | undefined {
  return kept.get(value);
}

export function setKeptEncoding(value: object, bytes: Buffer): void {
  kept.set(value, bytes);
}
