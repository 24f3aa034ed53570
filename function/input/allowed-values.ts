import { isObject, type JsonObject } from '../../common/objects.js';
import { FieldError, fieldPath, quote, read } from './untrusted-input.js';
import { limits } from './limits.js';

/**
 * The chart values a claim may set, as the catalogue lists them: dot-separated key paths, where
 * `*` matches any one key and a listed path allows the whole subtree below it. A key that
 * contains a dot can only be allowed through its parent or `*`.
 */
export interface AllowList {
  paths: string[];
  root: AllowNode;
}

interface AllowNode {
  children: Map<string, AllowNode>;
  /** A listed path ends here: everything below is allowed. */
  whole: boolean;
}

const WILDCARD = '*';

export function parseAllowList(value: unknown, field: string): AllowList {
  const root: AllowNode = { children: new Map(), whole: false };
  const paths = read
    .optionalArray(value, field, { max: limits.allowedValues, what: 'paths' })
    .map((raw, index) => {
      const path = read.string(raw, fieldPath(field, index), limits.allowedValueLength);
      const keys = path.split('.');
      if (keys.includes('')) {
        throw new FieldError(fieldPath(field, index), `${quote(path)} is not a dot-separated path`);
      }
      let node = root;
      for (const key of keys) {
        let child = node.children.get(key);
        if (!child) node.children.set(key, (child = { children: new Map(), whole: false }));
        node = child;
      }
      node.whole = true;
      return path;
    });
  return { paths, root };
}

/**
 * Refuses any claim value the allow-list does not reach, naming its full field. An object on
 * the way to an allowed path is walked into; anything else there (a list, a scalar, null, which
 * Helm reads as "delete") would replace the catalogue's subtree, so it is refused too.
 */
export function checkAllowed(values: JsonObject, allowList: AllowList, field: string): void {
  walk(values, [allowList.root], field, allowList);
}

// Recursion is bounded by the longest allowed path: only allowed prefixes are walked into.
function walk(object: JsonObject, nodes: AllowNode[], at: string, allowList: AllowList): void {
  for (const key of Object.keys(object)) {
    const matches: AllowNode[] = [];
    for (const node of nodes) {
      const exact = node.children.get(key);
      const any = node.children.get(WILDCARD);
      if (exact) matches.push(exact);
      if (any && any !== exact) matches.push(any);
    }
    if (matches.some((node) => node.whole)) continue;
    const value = object[key];
    if (matches.length === 0 || !isObject(value)) {
      const allowed =
        allowList.paths.length === 0
          ? 'the catalogue allows none'
          : `the catalogue allows: ${allowList.paths.join(', ')}`;
      throw new FieldError(fieldPath(at, key), `may not be set by a claim (${allowed})`);
    }
    walk(value, matches, fieldPath(at, key), allowList);
  }
}
