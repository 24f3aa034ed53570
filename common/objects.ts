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
