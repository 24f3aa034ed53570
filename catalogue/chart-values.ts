/**
 * Whether a chart has a values key: in its default values (values.yaml), or, where it has one, as
 * its values.schema.json admits it. Pure: the chart is read elsewhere.
 */
import { isObject, type JsonObject } from '../common/objects.js';

/**
 * The keys of `path` as far as the chart's defaults lack them (`['server', 'replica']`), or
 * nothing if they have it. Below a key whose default is null, an empty object or a list, anything
 * goes (the chart takes what it is given there); a `*` matches any key, so the path is taken as
 * had from there on. A path that goes on below a scalar is missing at that scalar's child.
 */
export function missingFrom(defaults: JsonObject, path: readonly string[]): string[] | undefined {
  let at: unknown = defaults;
  for (const [i, key] of path.entries()) {
    if (key === '*') return undefined;
    if (at === null || Array.isArray(at) || (isObject(at) && Object.keys(at).length === 0)) {
      return undefined;
    }
    if (!isObject(at) || !Object.hasOwn(at, key)) return path.slice(0, i + 1);
    at = at[key];
  }
  return undefined;
}

/** The key paths of `values` down to each value that is not a non-empty object, in order. */
export function leafPaths(values: JsonObject): string[][] {
  const paths: string[][] = [];
  const entries = (value: JsonObject, path: string[]) =>
    Object.entries(value)
      .map(([key, child]) => ({ value: child, path: [...path, key] }))
      .reverse();
  const pending = entries(values, []);
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (isObject(next.value) && Object.keys(next.value).length > 0) {
      pending.push(...entries(next.value, next.path));
    } else paths.push(next.path);
  }
  return paths;
}

/** Deep enough for any schema a chart ships; a `$ref` loop ends here instead of running on. */
const MAX_SCHEMA_STEPS = 64;

/**
 * Where `schema` refuses an object at `path`, as a JSON pointer and why (`/sync/toHost: no
 * property "bogus"`), or nothing if it admits one there. Only what decides whether a key may be
 * present is read: `$ref` (within the schema), `properties`, `patternProperties`,
 * `additionalProperties`, `allOf`, `anyOf`, `oneOf` and a `type` that is not an object.
 */
export function schemaRefusal(schema: JsonObject, path: readonly string[]): string | undefined {
  const refusal = (node: unknown, depth: number, steps: number): string | undefined => {
    if (steps > MAX_SCHEMA_STEPS) return undefined;
    const resolved = resolve(schema, node);
    if (resolved === false) return `${pointer(path, depth)}: nothing is allowed`;
    if (!isObject(resolved)) return undefined;
    if (resolved.$ref !== undefined) {
      const rest = { ...resolved };
      delete rest.$ref;
      return refusal(rest, depth, steps + 1) ?? refusal({ $ref: resolved.$ref }, depth, steps + 1);
    }
    const all = (resolved.allOf as unknown[] | undefined) ?? [];
    for (const branch of all) {
      const refused = refusal(branch, depth, steps + 1);
      if (refused) return refused;
    }
    for (const keyword of ['anyOf', 'oneOf']) {
      const branches = resolved[keyword] as unknown[] | undefined;
      if (!branches?.length) continue;
      const refused = branches.map((branch) => refusal(branch, depth, steps + 1));
      if (refused.every((r) => r !== undefined)) return refused[0];
    }
    if (depth === path.length) return undefined;
    const key = path[depth]!;
    const type = resolved.type;
    if (type !== undefined && !(Array.isArray(type) ? type : [type]).includes('object')) {
      const types = Array.isArray(type) ? type.join(' or ') : String(type);
      return `${pointer(path, depth)}: of type ${types}, not an object with "${key}"`;
    }
    const properties = isObject(resolved.properties) ? resolved.properties : {};
    if (Object.hasOwn(properties, key)) return refusal(properties[key], depth + 1, steps + 1);
    const patterns = isObject(resolved.patternProperties) ? resolved.patternProperties : {};
    const matching = Object.keys(patterns).filter((pattern) => new RegExp(pattern, 'u').test(key));
    if (matching.length > 0) {
      return matching.map((p) => refusal(patterns[p], depth + 1, steps + 1)).find(Boolean);
    }
    if (resolved.additionalProperties === false) {
      return `${pointer(path, depth)}: no property "${key}"`;
    }
    return refusal(resolved.additionalProperties, depth + 1, steps + 1);
  };
  return refusal(schema, 0, 0);
}

function pointer(path: readonly string[], depth: number): string {
  const keys = path.slice(0, depth).map((key) => key.replaceAll('~', '~0').replaceAll('/', '~1'));
  return `/${keys.join('/')}`;
}

/** A `{ $ref: "#/…" }` node as the part of `root` it points at; any other node as it is. */
function resolve(root: JsonObject, node: unknown): unknown {
  if (!isObject(node) || typeof node.$ref !== 'string' || Object.keys(node).length > 1) return node;
  if (!node.$ref.startsWith('#')) return undefined; // another document: not read, so not refused
  let at: unknown = root;
  for (const raw of node.$ref.slice(1).split('/').slice(1)) {
    const key = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
    at = isObject(at) ? at[key] : undefined;
  }
  return at;
}
