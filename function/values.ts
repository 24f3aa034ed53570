import { isObject, type JsonObject } from '../common/objects.js';
import { FieldError, fieldPath, read } from './untrusted-input.js';
import { limits } from './limits.js';

/**
 * Chart values from a claim or catalogue: an object nested at most `limits.valuesDepth` levels.
 * Checked without recursion, so no input can exhaust the stack here, and every later walk over
 * values (merging, the allow-list) stays within the bound.
 */
export function readValues(value: unknown, field: string): JsonObject {
  const values = read.optionalObject(value, field);
  interface Node {
    value: JsonObject | unknown[];
    depth: number;
    parent?: Node;
    key?: string | number;
  }
  const pending: Node[] = [{ value: values, depth: 0 }];
  for (let node = pending.pop(); node; node = pending.pop()) {
    const keys: (string | number)[] = Array.isArray(node.value)
      ? [...node.value.keys()]
      : Object.keys(node.value);
    for (const key of keys) {
      const child = (node.value as Record<string | number, unknown>)[key];
      if (node.depth === limits.valuesDepth) {
        throw new FieldError(
          fieldPath(pathOf(node), key),
          `nested deeper than ${limits.valuesDepth} levels`,
        );
      }
      if (isObject(child) || Array.isArray(child)) {
        pending.push({ value: child, depth: node.depth + 1, parent: node, key });
      }
    }
  }
  return values;

  function pathOf(node: Node): string {
    const keys: (string | number)[] = [];
    for (let at: Node | undefined = node; at?.key !== undefined; at = at.parent) keys.push(at.key);
    return keys.reduceRight<string>((path, key) => fieldPath(path, key), field);
  }
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
