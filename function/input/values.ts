import { isObject, setOwn, type JsonObject } from '../../common/objects.js';
import { FieldError, fieldPath, read } from './untrusted-input.js';
import { limits } from './limits.js';

/**
 * Chart values from a claim or catalogue: an object nested at most `limits.valuesDepth` levels.
 * Checked without recursion, so no input can exhaust the stack here, and every later walk over
 * values (merging, the allow-list) stays within the bound. The walk keeps one frame per level of
 * the path it is on, not one per value waiting to be visited: a list of a million empty objects
 * (4 MiB on the wire) would otherwise take more heap than the image gives the function.
 */
export function readValues(value: unknown, field: string): JsonObject {
  const values = read.optionalObject(value, field);
  // Most values hold no object or list, and need no walk (nor its allocations).
  if (isFlat(values)) return values;
  interface Frame {
    container: JsonObject | unknown[];
    /** An object's keys; a list is walked by index. */
    keys?: string[];
    /** The next key (or index) to visit, counting down. */
    next: number;
    /** The container's key in the container of the frame below. */
    key?: string | number;
  }
  const path: Frame[] = [];
  const enter = (container: JsonObject | unknown[], key?: string | number) => {
    const keys = Array.isArray(container) ? undefined : Object.keys(container);
    const size = keys ? keys.length : (container as unknown[]).length;
    // Only the top may be empty: a child is entered only if it holds something.
    if (path.length === limits.valuesDepth) {
      const at = [...path.slice(1).map((frame) => frame.key!), key!, keys ? keys[0]! : 0];
      throw new FieldError(
        at.reduce<string>((base, next) => fieldPath(base, next), field),
        `nested deeper than ${limits.valuesDepth} levels`,
      );
    }
    path.push({ container, ...(keys ? { keys } : {}), next: size - 1, key });
  };
  enter(values);
  while (path.length > 0) {
    const frame = path[path.length - 1]!;
    if (frame.next < 0) {
      path.pop();
      continue;
    }
    const key = frame.keys ? frame.keys[frame.next]! : frame.next;
    frame.next--;
    const child = (frame.container as Record<string | number, unknown>)[key];
    if ((isObject(child) || Array.isArray(child)) && hasEntries(child)) enter(child, key);
  }
  return values;
}

function isFlat(values: JsonObject): boolean {
  for (const key in values) {
    const value = values[key];
    if (typeof value === 'object' && value !== null) return false;
  }
  return true;
}

/** Without listing its keys: an empty value needs no frame, and there may be a million of them. */
function hasEntries(container: JsonObject | unknown[]): boolean {
  if (Array.isArray(container)) return container.length > 0;
  for (const key in container) if (Object.hasOwn(container, key)) return true;
  return false;
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
      setOwn(
        result,
        key,
        isObject(current) && isObject(value) ? mergeValues(current, value) : value,
      );
    }
  }
  return result;
}
