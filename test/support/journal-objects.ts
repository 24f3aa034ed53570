/** The bridge's journal objects in memory, for tests of the bridge that have no API server. */
import {
  shardNames,
  shardOf,
  readShard,
  type Entry,
  type Shard,
} from '../../bridge/announce/journal.js';
import type { JournalObjects } from '../../bridge/announce/journal-shards.js';
import { ApiError } from '../../bridge/kube/api.js';

/**
 * The journal's ConfigMaps as the API server keeps them: resourceVersions, a create that finds
 * one and a replace based on a stale one both fail with 409.
 */
export class MemoryObjects implements JournalObjects {
  readonly objects = new Map<string, { text: string; resourceVersion: string }>();
  private version = 0;
  writes = 0;
  /** Throws instead of writing while > 0: a bridge that dies before its journal write lands. */
  failWrites = 0;

  async read(name: string) {
    const object = this.objects.get(name);
    return object && { ...object };
  }

  async write(name: string, text: string, resourceVersion: string | undefined): Promise<string> {
    if (this.failWrites > 0) {
      this.failWrites--;
      throw new Error('killed before the journal write');
    }
    const object = this.objects.get(name);
    if (resourceVersion === undefined ? object : object?.resourceVersion !== resourceVersion) {
      throw new ApiError(409, 'conflict');
    }
    this.writes++;
    const written = String(++this.version);
    this.objects.set(name, { text, resourceVersion: written });
    return written;
  }

  /** Someone else writes the shard of `uid` (another leader): a write based on before fails. */
  touch(uid: string): void {
    const object = this.objects.get(shardNames()[shardOf(uid)]!)!;
    object.resourceVersion = String(++this.version);
  }

  shard(uid: string): Shard {
    const read = readShard(this.objects.get(shardNames()[shardOf(uid)]!)?.text);
    if (read.kind !== 'valid') throw new Error(read.problems.join('; '));
    return read.shard;
  }

  entry(uid: string): Entry | undefined {
    return this.shard(uid).entries[uid];
  }
}
