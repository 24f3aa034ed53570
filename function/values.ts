import { FieldError, fieldPath, isObject, read, type JsonObject } from './field-error.js';
import { limits } from './limits.js';

/**
 * Chart values from a claim or catalogue: an object nested at most `limits.valuesDepth` levels.
 * Walked depth first with one frame per level of the current path, so neither the stack nor the
 * heap grows with the size of the values (a 4 MiB request holds a million of them), and every
 * later walk over values (merging, the allow-list) stays within the bound.
 */
export function readValues(value: unknown, field: string): JsonObject {
  const values = read.optionalObject(value, field);
  interface Frame {
    container: JsonObject | unknown[];
    /** An object's keys; lists are walked by index. */
    keys?: string[];
    next: number;
    /** The key of this container in its parent. */
    key?: string | number;
  }
  const path: Frame[] = [{ container: values, keys: Object.keys(values), next: 0 }];
  while (path.length > 0) {
    const frame = path[path.length - 1]!;
    const size = frame.keys ? frame.keys.length : (frame.container as unknown[]).length;
    if (frame.next === size) {
      path.pop();
      continue;
    }
    const key = frame.keys ? frame.keys[frame.next]! : frame.next;
    frame.next++;
    const child = (frame.container as Record<string | number, unknown>)[key];
    const isList = Array.isArray(child);
    if (!isList && !isObject(child)) continue;
    if (path.length > limits.valuesDepth) {
      const keys = path.slice(1).map((f) => f.key!);
      throw new FieldError(
        [...keys, key].reduce<string>((at, k) => fieldPath(at, k), field),
        `nested deeper than ${limits.valuesDepth} levels`,
      );
    }
    path.push(
      isList
        ? { container: child, next: 0, key }
        : { container: child as JsonObject, keys: Object.keys(child), next: 0, key },
    );
  }
  return values;
}

/**
 * Helm-style merge of chart values: objects merge key by key, anything else (lists included)
 * is replaced by the overlay, as `helm install -f base -f overlay` does. Keys are copied as own
 * data properties, so a key such as `__proto__` stays plain data.
 */
export function mergeValues(...layers: (JsonObject | undefined)[]): JsonObject {
  const result: JsonObject = {};
  for (const layer of layers) {
    if (!layer) continue;
    for (const key of Object.keys(layer)) {
      const value = layer[key];
      const current = Object.hasOwn(result, key) ? result[key] : undefined;
      Object.defineProperty(result, key, {
        value: isObject(current) && isObject(value) ? mergeValues(current, value) : value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  return result;
}
