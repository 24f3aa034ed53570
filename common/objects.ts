export type JsonObject = Record<string, unknown>;

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
