/**
 * The journal's shards as the leader holds them (journal.ts says what they hold): read once it
 * leads, written in windows of a few milliseconds, each write guarded by the shard's
 * resourceVersion, so that many environments' batches share one write and two leaders cannot
 * overwrite each other.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import {
  applyLazy,
  copyShard,
  emptyShard,
  entryText,
  JOURNAL_SHARDS,
  nextShard,
  readShard,
  SHARD_BUDGET,
  shardNames,
  shardOf,
  shardText,
  type Entry,
  type Held,
  type Lazy,
  type Mark,
  type Shard,
} from './journal.js';

/** The journal's objects (ConfigMaps in the bridge's namespace), by name. */
export interface JournalObjects {
  /** Its text and resourceVersion; undefined when it does not exist. */
  read(name: string): Promise<{ text: string | undefined; resourceVersion: string } | undefined>;
  /**
   * Creates it (without `resourceVersion`) or replaces it, guarded by `resourceVersion`: throws
   * on a conflict. Returns the new resourceVersion.
   */
  write(name: string, text: string, resourceVersion: string | undefined): Promise<string>;
}

/** An XR as listed from the API server when the journal is read. */
export interface Listed {
  uid: string;
  /** The journal incarnation its record names, if any (Recorded.journal). */
  journal?: string;
}

export interface JournalOptions {
  /** How long a staged entry waits for others to share its write. */
  windowMs: number;
  /** How long a lazy change (a checkpoint, a delivery, an XR gone) waits for a write to share. */
  lazyMs: number;
  logger: Logger;
}

/** A shard has no room for another entry until checkpoints make some: retried later. */
export class JournalFull extends Error {
  constructor(name: string) {
    super(`journal ${name} is full: waiting for checkpoints`);
    this.name = 'JournalFull';
  }
}

/** An entry planned on a shard as it was before the shard was read again: planned again. */
export class JournalMoved extends Error {
  constructor(name: string) {
    super(`journal ${name} was read again: planning again`);
    this.name = 'JournalMoved';
  }
}

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

interface ShardState {
  name: string;
  resourceVersion: string | undefined;
  /** As last written. */
  shard: Shard;
  /**
   * As last written, with the lazy changes still to write: what decisions are taken on (an
   * entry whose events were delivered, or that its XR holds, is not acted on again).
   */
  view: Shard;
  /** The uids of the view's entries by their key. */
  keys: Map<string, Set<string>>;
  /** Its text's length as last written. */
  size: number;
  /** Bumped each time the shard is read again: entries planned before are refused. */
  generation: number;
  /** False while it is read again: nothing of its XRs can be decided. */
  available: boolean;
  staged: Map<string, Entry>;
  stagedSize: number;
  lazy: Map<string, Lazy[]>;
  waiters: Waiter[];
  timer: NodeJS.Timeout | undefined;
  timerUrgent: boolean;
  writing: Promise<void> | undefined;
}

const newIncarnation = () => randomBytes(4).toString('hex');

function keysOf(shard: Shard): Map<string, Set<string>> {
  const keys = new Map<string, Set<string>>();
  for (const [uid, entry] of Object.entries(shard.entries)) {
    const uids = keys.get(entry.key) ?? new Set<string>();
    uids.add(uid);
    keys.set(entry.key, uids);
  }
  return keys;
}

/** What the journal holds of an XR, and the shard generation that was read at. */
export type HeldAt = Held & { generation: number };

export class Journal {
  private shards: ShardState[] = [];
  private list: () => Promise<Listed[]> = async () => [];

  constructor(
    private readonly objects: JournalObjects,
    private readonly options: JournalOptions,
  ) {}

  get loaded(): boolean {
    return this.shards.length === JOURNAL_SHARDS;
  }

  /**
   * Reads every shard. One that is missing or invalid is lost, unless the journal is new (no
   * shard exists, and no XR's record was checkpointed from one): it is made again under a new
   * incarnation, every XR `list` finds in it a suspect, before anything else is done. `list`
   * reads every XR from the API server after the journal was read: the caller makes sure that
   * nothing is decided on a cache older than that (the journal drops an entry once its XR holds
   * it; a cache from before would not show that). It is called again whenever a shard is read
   * again, which only another writer makes necessary. Returns the keys of entries whose XR is
   * gone (its end is still to be announced).
   */
  async load(list: () => Promise<Listed[]>): Promise<string[]> {
    this.list = list;
    const names = shardNames();
    const found = await Promise.all(names.map((name) => this.objects.read(name)));
    const listed = await list();
    const fresh =
      found.every((object) => object === undefined) &&
      !listed.some((xr) => xr.journal !== undefined);
    const shards: ShardState[] = [];
    for (const [i, name] of names.entries()) {
      const object = found[i];
      const read = object ? readShard(object.text) : undefined;
      if (object && read?.kind === 'valid') {
        shards.push(this.state(name, object.resourceVersion, read.shard, object.text!.length));
        continue;
      }
      const problems = read?.kind === 'invalid' ? read.problems : ['missing'];
      const suspects = fresh ? [] : listed.filter((xr) => shardOf(xr.uid) === i).map((x) => x.uid);
      const shard = emptyShard(newIncarnation(), suspects);
      if (!fresh) {
        this.options.logger.warn(
          { journal: name, problems, suspects: suspects.length, incarnation: shard.incarnation },
          'journal shard lost: the records of its XRs are rebuilt',
        );
      }
      const text = shardText(shard);
      const resourceVersion = await this.objects.write(name, text, object?.resourceVersion);
      shards.push(this.state(name, resourceVersion, shard, text.length));
    }
    this.shards = shards;
    // Entries of XRs that are gone still owe their ends.
    const existing = new Set(listed.map((xr) => xr.uid));
    return shards.flatMap((state) =>
      Object.entries(state.shard.entries)
        .filter(([uid]) => !existing.has(uid))
        .map(([, entry]) => entry.key),
    );
  }

  private state(name: string, resourceVersion: string, shard: Shard, size: number): ShardState {
    return {
      name,
      resourceVersion,
      shard,
      view: copyShard(shard),
      keys: keysOf(shard),
      size,
      generation: 0,
      available: true,
      staged: new Map(),
      stagedSize: 0,
      lazy: new Map(),
      waiters: [],
      timer: undefined,
      timerUrgent: false,
      writing: undefined,
    };
  }

  private shardFor(uid: string): ShardState {
    const state = this.shards[shardOf(uid)];
    if (!state) throw new Error('the journal is not loaded');
    return state;
  }

  /** The shard of `uid`, if what it holds is known: not while it is read again. */
  private available(uid: string): ShardState {
    const state = this.shardFor(uid);
    if (!state.available) throw new JournalMoved(state.name);
    return state;
  }

  /** What the journal holds of the XR of `uid`, as last written. */
  held(uid: string): HeldAt {
    const state = this.available(uid);
    const shard = state.view;
    const entry = shard.entries[uid];
    return {
      incarnation: shard.incarnation,
      suspect: shard.suspects.includes(uid),
      ...(entry ? { entry } : {}),
      generation: state.generation,
    };
  }

  /** The incarnation of the shard of `uid`: what a checkpoint of its record names. */
  incarnationOf(uid: string): string {
    return this.shardFor(uid).shard.incarnation;
  }

  /** Entries of `key` whose XR is not `uid`: of an XR that is gone. */
  entriesOf(key: string, uid: string | undefined): { uid: string; entry: Entry }[] {
    const found: { uid: string; entry: Entry }[] = [];
    for (const state of this.shards) {
      for (const other of state.keys.get(key) ?? []) {
        const entry = state.view.entries[other];
        if (entry && other !== uid) found.push({ uid: other, entry });
      }
    }
    return found;
  }

  /** Keys of every XR whose entry the XR does not hold yet. */
  keysToCheckpoint(): string[] {
    return this.shards.flatMap((state) =>
      Object.values(state.view.entries).map((entry) => entry.key),
    );
  }

  /**
   * Writes `entry` for the XR of `uid` with the next write of its shard; resolves once that
   * landed. `generation`: the shard's when what the entry follows was read from it.
   */
  stage(uid: string, entry: Entry, generation: number): Promise<void> {
    const state = this.shardFor(uid);
    if (generation !== state.generation || !state.available) {
      return Promise.reject(new JournalMoved(state.name));
    }
    const size = entryText(entry).length + 50;
    if (state.size + state.stagedSize + size > SHARD_BUDGET) {
      return Promise.reject(new JournalFull(state.name));
    }
    state.staged.set(uid, entry);
    state.stagedSize += size;
    return new Promise<void>((resolve, reject) => {
      state.waiters.push({ resolve, reject });
      this.schedule(state, true);
    });
  }

  /** The XR of `uid` holds the record of `mark` now. */
  checkpointed(uid: string, mark: Mark): void {
    this.lazily(uid, { kind: 'checkpointed', mark });
  }

  /** The events of the entry of `mark` were delivered. */
  delivered(uid: string, mark: Mark): void {
    this.lazily(uid, { kind: 'delivered', mark });
  }

  /** The XR of `uid` is gone, and its end announced. */
  gone(uid: string): void {
    this.lazily(uid, { kind: 'gone' });
  }

  private lazily(uid: string, change: Lazy): void {
    const state = this.shardFor(uid);
    const changes = state.lazy.get(uid) ?? [];
    changes.push(change);
    state.lazy.set(uid, changes);
    const before = state.view.entries[uid];
    applyLazy(state.view, uid, change);
    if (before && !state.view.entries[uid]) state.keys.get(before.key)?.delete(uid);
    this.schedule(state, false);
  }

  private schedule(state: ShardState, urgent: boolean): void {
    // Written again once the write in flight is done, or once it is read again.
    if (state.writing || !state.available) return;
    if (urgent && !state.timerUrgent) {
      clearTimeout(state.timer);
      state.timerUrgent = true;
      state.timer = setTimeout(() => void this.flush(state), this.options.windowMs);
    } else if (!state.timer) {
      // Nothing waits for it: it does not keep a stopping process alive.
      state.timer = setTimeout(() => void this.flush(state), this.options.lazyMs).unref();
    }
  }

  private flush(state: ShardState): Promise<void> {
    clearTimeout(state.timer);
    state.timer = undefined;
    state.timerUrgent = false;
    const { staged, lazy } = state;
    const waiters = state.waiters.splice(0);
    state.staged = new Map();
    state.stagedSize = 0;
    state.lazy = new Map();
    const next = nextShard(state.shard, staged, lazy);
    const text = shardText(next);
    const generation = state.generation;
    const started = Date.now();
    state.writing = (async () => {
      try {
        state.resourceVersion = await this.objects.write(state.name, text, state.resourceVersion);
        this.options.logger.debug(
          {
            journal: state.name,
            staged: staged.size,
            bytes: text.length,
            ms: Date.now() - started,
          },
          'journal written',
        );
        this.written(state, next, text.length);
        for (const waiter of waiters) waiter.resolve();
      } catch (error) {
        for (const waiter of waiters) waiter.reject(error);
        // Kept for the next write: each applies only to the entry it names.
        for (const [uid, changes] of lazy) {
          state.lazy.set(uid, [...changes, ...(state.lazy.get(uid) ?? [])]);
        }
        // Someone else wrote it (a conflict), or the write landed unanswered: read it again.
        if (state.generation === generation) await this.reload(state);
      } finally {
        state.writing = undefined;
      }
      if (!state.available) return;
      if (state.staged.size > 0) void this.flush(state);
      else if (state.lazy.size > 0) this.schedule(state, false);
    })();
    return state.writing;
  }

  /**
   * Reads a shard again after a write that failed, refusing what was planned on it before, and
   * lists the XRs again after it (another writer may have dropped entries whose XRs the cache
   * does not show holding them yet). Lost meanwhile (deleted, damaged), it is made again as on
   * load.
   */
  private async reload(state: ShardState): Promise<void> {
    state.generation++;
    state.available = false;
    for (const waiter of state.waiters.splice(0)) waiter.reject(new JournalMoved(state.name));
    state.staged = new Map();
    state.stagedSize = 0;
    try {
      const object = await this.objects.read(state.name);
      const read = object ? readShard(object.text) : undefined;
      const listed = await this.list();
      if (object && read?.kind === 'valid') {
        state.resourceVersion = object.resourceVersion;
        this.written(state, read.shard, object.text!.length);
        state.available = true;
        if (state.lazy.size > 0) this.schedule(state, false);
        return;
      }
      const index = shardNames().indexOf(state.name);
      const suspects = listed.filter((xr) => shardOf(xr.uid) === index).map((xr) => xr.uid);
      const shard = emptyShard(newIncarnation(), suspects);
      this.options.logger.warn(
        {
          journal: state.name,
          problems: read?.kind === 'invalid' ? read.problems : ['missing'],
          suspects: suspects.length,
        },
        'journal shard lost: the records of its XRs are rebuilt',
      );
      const text = shardText(shard);
      state.resourceVersion = await this.objects.write(state.name, text, object?.resourceVersion);
      this.written(state, shard, text.length);
      state.available = true;
      if (state.lazy.size > 0) this.schedule(state, false);
    } catch (error) {
      // Unknown until read: nothing of its XRs is decided or written meanwhile.
      this.options.logger.warn(
        { journal: state.name, err: (error as Error).message },
        'journal shard not read again; retrying',
      );
      setTimeout(() => void this.reload(state), 1_000).unref();
    }
  }

  /** The shard as written is `shard`; the lazy changes still to write apply to it. */
  private written(state: ShardState, shard: Shard, size: number): void {
    state.shard = shard;
    state.size = size;
    state.view = copyShard(shard);
    for (const [uid, changes] of state.lazy) {
      for (const change of changes) applyLazy(state.view, uid, change);
    }
    state.keys = keysOf(state.view);
  }

  /** Writes every lazy change now: before a graceful stop. */
  async flushAll(): Promise<void> {
    for (const state of this.shards) {
      await state.writing;
      if (state.available && (state.staged.size > 0 || state.lazy.size > 0)) {
        await this.flush(state);
      }
    }
  }
}
