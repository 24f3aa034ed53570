/**
 * The journal: a write-ahead log of records, in ConfigMaps of the bridge's own namespace, that
 * many environments' batches share. A batch is written into its environment's entry (the record
 * once the batch is announced, its events in the outbox), one guarded write per shard for every
 * entry that changed within a few milliseconds; only then are its events delivered. The record on
 * the XR is written after delivery (a checkpoint), and the entry dropped once the XR holds it: the
 * journal holds only what the XRs do not hold yet. Pure: journal-shards.ts reads and writes the
 * objects.
 */
import { createHash } from 'node:crypto';
import { isObject } from '../../common/objects.js';
import { announcesDeletion } from './batch.js';
import { recordProblems, type RecordRead, type Salvage } from './record.js';
import type { Recorded } from './transitions.js';

/** Shards: fixed, since an XR's shard follows from its uid (changing it would hide entries). */
export const JOURNAL_SHARDS = 4;
export const JOURNAL_PREFIX = 'xenvironment-bridge-journal-';
/** The one key of a shard's ConfigMap data. */
export const JOURNAL_KEY = 'journal';
export const JOURNAL_FORMAT = 1;
/** A shard's text stays below this: a ConfigMap holds at most 1 MiB. */
export const SHARD_BUDGET = 900 * 1024;

/** The names of the journal's ConfigMaps, in shard order: what its RBAC grants. */
export const shardNames = (): string[] =>
  Array.from({ length: JOURNAL_SHARDS }, (_, i) => `${JOURNAL_PREFIX}${i}`);

/** The shard that holds the entry of the XR of `uid`. */
export function shardOf(uid: string): number {
  return createHash('sha256').update(uid).digest().readUInt32BE(0) % JOURNAL_SHARDS;
}

/** An environment's entry: its record as last planned, with the batch it announces. */
export interface Entry {
  /** The work-queue key of its XR. */
  key: string;
  /** The environment's subject id, to announce its end should the XR go first. */
  env: string;
  /** Its claim's sink, for the same. */
  sink?: string;
  record: Recorded;
}

/** The epoch and position of a record: which record of an XR an entry holds. */
export interface Mark {
  epoch: string;
  seq: number;
}

export const markOf = (record: Recorded): Mark => ({ epoch: record.epoch, seq: record.seq });

export interface Shard {
  /** Names this shard's life: a shard made again (lost, damaged) gets a new one. */
  incarnation: string;
  /** XRs that were in a shard when it was lost: their records are rebuilt once. */
  suspects: string[];
  /** By XR uid: entries the XR does not hold yet. */
  entries: Record<string, Entry>;
}

export function emptyShard(incarnation: string, suspects: string[] = []): Shard {
  return { incarnation, suspects, entries: {} };
}

const HEX = /^[0-9a-f]{1,16}$/;

/** Entries as text, once each: a shard is written whole, mostly of entries written before. */
const entryTexts = new WeakMap<Entry, string>();

export function entryText(entry: Entry): string {
  let text = entryTexts.get(entry);
  if (text === undefined) {
    text = JSON.stringify(entry);
    entryTexts.set(entry, text);
  }
  return text;
}

/** A shard as stored (JSON; entries are never changed in place, so their texts are kept). */
export function shardText(shard: Shard): string {
  const entries = Object.entries(shard.entries).map(
    ([uid, entry]) => `${JSON.stringify(uid)}:${entryText(entry)}`,
  );
  return `{"format":${JOURNAL_FORMAT},"incarnation":${JSON.stringify(shard.incarnation)},"suspects":${JSON.stringify(shard.suspects)},"entries":{${entries.join(',')}}}`;
}

export type ShardRead = { kind: 'valid'; shard: Shard } | { kind: 'invalid'; problems: string[] };

/**
 * Reads a shard's text, checked as a record on an XR is: field by field, every entry's record
 * included. Whatever fails makes the whole shard invalid (its entries cannot be told apart from
 * damage), and so lost.
 */
export function readShard(text: string | undefined): ShardRead {
  let value: unknown;
  try {
    value = JSON.parse(text ?? '');
  } catch {
    return { kind: 'invalid', problems: ['not JSON'] };
  }
  if (!isObject(value)) return { kind: 'invalid', problems: ['must be an object'] };
  const problems: string[] = [];
  for (const key of Object.keys(value)) {
    if (!['format', 'incarnation', 'suspects', 'entries'].includes(key)) {
      problems.push(`${key} is not a field of the journal`);
    }
  }
  if (value.format !== JOURNAL_FORMAT) problems.push(`format must be ${JOURNAL_FORMAT}`);
  if (typeof value.incarnation !== 'string' || !HEX.test(value.incarnation)) {
    problems.push('incarnation must be 1 to 16 hex digits');
  }
  const suspects = value.suspects;
  if (!Array.isArray(suspects) || suspects.some((uid) => typeof uid !== 'string' || uid === '')) {
    problems.push('suspects must be a list of uids');
  }
  const entries: Record<string, Entry> = {};
  if (!isObject(value.entries)) problems.push('entries must be an object');
  else {
    for (const [uid, entry] of Object.entries(value.entries)) {
      const at = `entries[${JSON.stringify(uid)}]`;
      if (!isObject(entry)) {
        problems.push(`${at} must be an object`);
        continue;
      }
      for (const key of Object.keys(entry)) {
        if (!['key', 'env', 'sink', 'record'].includes(key)) {
          problems.push(`${at}.${key} is not a field of an entry`);
        }
      }
      for (const field of ['key', 'env']) {
        if (typeof entry[field] !== 'string' || entry[field] === '') {
          problems.push(`${at}.${field} must be a non-empty string`);
        }
      }
      if (entry.sink !== undefined && (typeof entry.sink !== 'string' || entry.sink === '')) {
        problems.push(`${at}.sink must be a non-empty string`);
      }
      const recordAt = recordProblems(entry.record).map((problem) => `${at}.record: ${problem}`);
      problems.push(...recordAt);
      if (recordAt.length === 0) entries[uid] = entry as unknown as Entry;
    }
  }
  if (problems.length > 0) return { kind: 'invalid', problems };
  return {
    kind: 'valid',
    shard: {
      incarnation: value.incarnation as string,
      suspects: suspects as string[],
      entries,
    },
  };
}

/** What the journal holds of one XR. */
export interface Held {
  incarnation: string;
  suspect: boolean;
  entry?: Entry;
}

/** The record to announce from, and where it is. */
export type Base =
  /** The journal's entry: newer than the XR's record. */
  | { kind: 'journal'; record: Recorded }
  /** The record on the XR (or none yet): the journal holds nothing newer. */
  | { kind: 'xr'; record: Recorded }
  /** Unusable: rebuilt from what is observed, in a new epoch (record.ts's adoptObserved). */
  | { kind: 'lost'; problems: string[]; salvage: Salvage };

const sameMark = (record: Recorded, mark: Mark) =>
  record.epoch === mark.epoch && record.seq === mark.seq;

/**
 * Where an XR's record is, from what its XR says (`read`: record.ts's readRecord, of an XR at
 * least as new as the journal as read) and what the journal holds of it.
 *
 * - An entry is the truth, unless the XR holds its record already (checkpointed, the entry not yet
 *   dropped): then the XR's says whether its events are still to be delivered.
 * - Without one, the XR's record is: the journal drops an entry only once the XR holds it. A
 *   damaged one is rebuilt as record.ts rebuilds it.
 * - A suspect (its shard was lost), or a record checkpointed in another life of its shard: the
 *   journal that knew what followed is gone. Rebuilt, salvaging nothing: the record may be behind
 *   what was sent, so its incidents may be resolved already and its last event followed by another.
 */
export function baseOf(read: RecordRead, held: Held, gone: boolean): Base {
  const { entry } = held;
  if (entry) {
    if (announcesDeletion(entry.record.outbox) && !gone) {
      return {
        kind: 'lost',
        problems: ['the journal announces the deletion of an XR that is not gone'],
        salvage: {},
      };
    }
    if (read.kind === 'valid' && sameMark(read.record, entry.record)) {
      return { kind: 'xr', record: read.record };
    }
    return { kind: 'journal', record: entry.record };
  }
  if (held.suspect) {
    return { kind: 'lost', problems: ['its journal shard was lost'], salvage: {} };
  }
  if (read.kind === 'invalid')
    return { kind: 'lost', problems: read.problems, salvage: read.salvage };
  const journal = read.record.journal;
  if (journal !== undefined && journal !== held.incarnation) {
    return {
      kind: 'lost',
      problems: [`checkpointed from a journal shard since lost (${journal})`],
      salvage: {},
    };
  }
  return { kind: 'xr', record: read.record };
}

/** A lazy change to a shard, made with its next write. */
export type Lazy =
  /** The XR holds the record of this mark now: the entry can go. */
  | { kind: 'checkpointed'; mark: Mark }
  /** The entry's events of this mark were delivered: its outbox can go, but one announcing the
   * deletion (which says the XR may be let go). */
  | { kind: 'delivered'; mark: Mark }
  /** The XR is gone: everything of it can go. */
  | { kind: 'gone' };

/** Makes `change` to what `shard` holds of `uid`, in place. */
export function applyLazy(shard: Shard, uid: string, change: Lazy): void {
  const entry = shard.entries[uid];
  const matches = (mark: Mark) => entry !== undefined && sameMark(entry.record, mark);
  switch (change.kind) {
    case 'checkpointed':
      if (matches(change.mark)) delete shard.entries[uid];
      break;
    case 'delivered':
      if (matches(change.mark) && !announcesDeletion(entry!.record.outbox)) {
        shard.entries[uid] = { ...entry!, record: { ...entry!.record, outbox: [] } };
      }
      break;
    case 'gone':
      delete shard.entries[uid];
      shard.suspects = shard.suspects.filter((s) => s !== uid);
      break;
  }
}

/** A copy of `shard` that can be changed without changing it. */
export function copyShard(shard: Shard): Shard {
  return {
    incarnation: shard.incarnation,
    suspects: [...shard.suspects],
    entries: { ...shard.entries },
  };
}

/** The shard once `staged` entries are written and the lazy changes made. */
export function nextShard(
  shard: Shard,
  staged: ReadonlyMap<string, Entry>,
  lazy: ReadonlyMap<string, Lazy[]>,
): Shard {
  const next = copyShard(shard);
  for (const [uid, changes] of lazy) for (const change of changes) applyLazy(next, uid, change);
  for (const [uid, entry] of staged) {
    next.entries[uid] = entry;
    next.suspects = next.suspects.filter((s) => s !== uid);
  }
  return next;
}
