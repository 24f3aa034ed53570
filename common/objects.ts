export type JsonObject = Record<string, unknown>;

/** Sets a key as an own data property, even `__proto__`, which assignment would not. */
export function setOwn(object: object, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(object, key, {
      value,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  } else {
    (object as JsonObject)[key] = value;
  }
}

/**
 * Freezes `root` and everything it holds (a tree, as decoded values and composed resources are),
 * without recursion, as values nest at any depth. Frozen, an object can be shared between requests
 * and kept with what was made of it.
 */
export function deepFreeze<T extends object>(root: T): T {
  const pending: object[] = [root];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    Object.freeze(next);
    for (const value of Object.values(next)) {
      if (typeof value === 'object' && value !== null) pending.push(value);
    }
  }
  return root;
}

/**
 * Equal JSON values, with a stack of its own, as values nest at any depth: numbers the same by
 * Object.is, keys in any order, or with `inOrder` in the same order too (as what is written from
 * them has them). In any order, keys are counted with for…in rather than listed with Object.keys:
 * this runs on every request, and the lists would be a large share of what it allocates. Plain
 * JSON objects inherit no enumerable keys, so for…in sees exactly their own.
 */
export function equalJson(a: unknown, b: unknown, inOrder = false): boolean {
  const pending: unknown[] = [a, b];
  while (pending.length > 0) {
    const y = pending.pop();
    const x = pending.pop();
    if (Object.is(x, y)) continue;
    if (typeof x !== 'object' || typeof y !== 'object' || x === null || y === null) return false;
    if (Array.isArray(x) !== Array.isArray(y)) return false;
    if (inOrder) {
      const xKeys = Object.keys(x);
      const yKeys = Object.keys(y);
      if (xKeys.length !== yKeys.length) return false;
      for (let i = 0; i < xKeys.length; i++) {
        const key = xKeys[i]!;
        if (key !== yKeys[i]) return false;
        pending.push((x as JsonObject)[key], (y as JsonObject)[key]);
      }
      continue;
    }
    let keys = 0;
    for (const key in x) {
      if (!Object.hasOwn(x, key) || !Object.hasOwn(y, key)) return false;
      pending.push((x as JsonObject)[key], (y as JsonObject)[key]);
      keys++;
    }
    for (const key in y) {
      if (!Object.hasOwn(y, key)) return false;
      keys--;
    }
    if (keys !== 0) return false;
  }
  return true;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * An object as logs name it, `kind namespace/name` (`kind name` when cluster-scoped); whatever
 * it is, this does not throw.
 */
export function kindAndName(object: unknown): string {
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
  const metadata = isObject(object) && isObject(object.metadata) ? object.metadata : {};
  const kind = (isObject(object) && text(object.kind)) || '?';
  const namespace = text(metadata.namespace);
  const name = text(metadata.name) ?? '?';
  return `${kind} ${namespace ? `${namespace}/` : ''}${name}`;
}
