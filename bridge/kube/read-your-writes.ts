import type { JsonObject } from '../../common/objects.js';

function versionOf(object: JsonObject): string | undefined {
  return (object.metadata as { resourceVersion?: string } | undefined)?.resourceVersion;
}

/**
 * Read-your-writes over an informer cache, without comparing resourceVersions (they are opaque):
 * after a write, every version the write was based on is known to be older than its result, so a
 * cache still showing one of them is stale and the result is used instead. Any other version in
 * the cache is the write's own or newer, and the cache is used again.
 */
export class ReadYourWrites {
  private readonly entries = new Map<
    string,
    { object: JsonObject | undefined; superseded: Set<string> }
  >();

  /**
   * Notes that `object` (undefined: deleted) replaced version `basedOn` of `key`, or is what a
   * read found after a write based on `basedOn` failed.
   */
  wrote(key: string, basedOn: string | undefined, object: JsonObject | undefined): void {
    const superseded = this.entries.get(key)?.superseded ?? new Set<string>();
    if (basedOn !== undefined) superseded.add(basedOn);
    this.entries.set(key, { object, superseded });
  }

  /** The freshest known state of `key`, given what the cache holds now. */
  pick(key: string, cached: JsonObject | undefined): JsonObject | undefined {
    const entry = this.entries.get(key);
    if (!entry) return cached;
    const version = cached && versionOf(cached);
    if (version !== undefined && entry.superseded.has(version)) return entry.object;
    this.entries.delete(key);
    return cached;
  }

  forget(key: string): void {
    this.entries.delete(key);
  }
}
