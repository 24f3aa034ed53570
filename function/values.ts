import { isObject, type JsonObject } from './field-error.js';

/**
 * Helm-style merge of chart values: objects merge key by key, anything else (lists included)
 * is replaced by the overlay, as `helm install -f base -f overlay` does.
 */
export function mergeValues(...layers: (JsonObject | undefined)[]): JsonObject {
  const result: JsonObject = {};
  for (const layer of layers) {
    if (!layer) continue;
    for (const [key, value] of Object.entries(layer)) {
      const current = result[key];
      result[key] = isObject(current) && isObject(value) ? mergeValues(current, value) : value;
    }
  }
  return result;
}
