import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { planBatch } from '../../../bridge/announce/batch.js';
import {
  baseOf,
  emptyShard,
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
  type Shard,
} from '../../../bridge/announce/journal.js';
import { Journal, JournalFull, JournalMoved } from '../../../bridge/announce/journal-shards.js';
import type { RecordRead } from '../../../bridge/announce/record.js';
import { emptyRecord, type Recorded } from '../../../bridge/announce/transitions.js';
import { MemoryObjects } from '../../support/journal-objects.js';
import { readYamlDocuments } from '../../support/manifests.js';
import { CLUSTER_ENDPOINT, observation as observed } from '../../support/observations.js';

const UID = '5f0c9a4e-2d7b-4c1e-9a63-0b8f1e2d3c4a';
const observation = observed({ cluster: { ready: true, endpoint: CLUSTER_ENDPOINT } });
const at = new Date('2026-11-25T09:00:00Z');
/** requested and created: seq 2, its events in the outbox. */
const planned = planBatch(observation, emptyRecord(), '/test', at);
const settled: Recorded = { ...planned, outbox: [] };
const entry = (record: Recorded = planned): Entry => ({ key: '0//dev', env: 'team-a/dev', record });
const shard = (changes: Partial<Shard> = {}): Shard => ({
  ...emptyShard('a1b2c3d4'),
  entries: { [UID]: entry() },
  ...changes,
});

describe('bridge journal: a shard as stored', () => {
  it('reads back what it writes', () => {
    for (const written of [emptyShard('ff'), shard(), shard({ entries: {}, suspects: [UID] })]) {
      expect(readShard(shardText(written))).toEqual({ kind: 'valid', shard: written });
    }
  });

  const valid = JSON.parse(shardText(shard())) as Record<string, unknown>;
  it.each([
    ['not JSON', '{', ['not JSON']],
    ['a list', '[]', ['must be an object']],
    ['an unknown field', { ...valid, extra: 1 }, ['extra is not a field of the journal']],
    ['another format', { ...valid, format: 2 }, ['format must be 1']],
    ['no incarnation', { ...valid, incarnation: '' }, ['incarnation must be 1 to 16 hex digits']],
    ['suspects not uids', { ...valid, suspects: [1] }, ['suspects must be a list of uids']],
    [
      'an entry without its key',
      { ...valid, entries: { [UID]: { ...entry(), key: '' } } },
      [`entries["${UID}"].key must be a non-empty string`],
    ],
    [
      'an unknown field of an entry',
      { ...valid, entries: { [UID]: { ...entry(), url: 'x' } } },
      [`entries["${UID}"].url is not a field of an entry`],
    ],
    [
      'an invalid record',
      { ...valid, entries: { [UID]: { ...entry(), record: { ...planned, seq: -1 } } } },
      [`entries["${UID}"].record: seq must be a whole number ≥ 0`],
    ],
  ])('refuses %s', (_, text, problems) => {
    const read = readShard(typeof text === 'string' ? text : JSON.stringify(text));
    expect(read).toEqual({ kind: 'invalid', problems });
  });
});

describe('bridge journal: where a record is', () => {
  const valid = (record: Recorded): RecordRead => ({ kind: 'valid', record });
  const none: RecordRead = { kind: 'new', record: emptyRecord() };
  const damaged: RecordRead = { kind: 'invalid', problems: ['not JSON'], salvage: { last: 'x' } };
  const held = (changes: Partial<Held> = {}): Held => ({
    incarnation: 'a1b2c3d4',
    suspect: false,
    ...changes,
  });
  const older = { ...settled, seq: 1 };

  it.each<[string, RecordRead, Held, ReturnType<typeof baseOf>]>([
    [
      'an entry, the XR damaged',
      damaged,
      held({ entry: entry() }),
      { kind: 'journal', record: planned },
    ],
    [
      'an entry, the XR behind it',
      valid(older),
      held({ entry: entry() }),
      { kind: 'journal', record: planned },
    ],
    [
      'the XR, once it holds the entry (its outbox says what is still to deliver)',
      valid(settled),
      held({ entry: entry() }),
      { kind: 'xr', record: settled },
    ],
    [
      'the XR, the journal holding nothing newer',
      valid(settled),
      held(),
      { kind: 'xr', record: settled },
    ],
    [
      'the XR, checkpointed in this life of its shard',
      valid({ ...settled, journal: 'a1b2c3d4' }),
      held(),
      { kind: 'xr', record: { ...settled, journal: 'a1b2c3d4' } },
    ],
    ['a new XR', none, held(), { kind: 'xr', record: emptyRecord() }],
    [
      'a damaged record, rebuilt as record.ts rebuilds it',
      damaged,
      held(),
      { kind: 'lost', problems: ['not JSON'], salvage: { last: 'x' } },
    ],
    [
      'a suspect: its shard was lost',
      valid(settled),
      held({ suspect: true }),
      { kind: 'lost', problems: ['its journal shard was lost'], salvage: {} },
    ],
    [
      'checkpointed in another life of its shard',
      valid({ ...settled, journal: '99' }),
      held(),
      {
        kind: 'lost',
        problems: ['checkpointed from a journal shard since lost (99)'],
        salvage: {},
      },
    ],
  ])('%s', (_, read, what, base) => {
    expect(baseOf(read, what, false)).toEqual(base);
  });

  it('takes an entry that announces the deletion of an XR that is not gone for lost', () => {
    const gone = { ...observation, deleting: true, gone: true };
    const deletion = planBatch(gone, settled, '/test', at);
    const what = held({ entry: entry(deletion) });
    expect(baseOf(valid(settled), what, true)).toEqual({ kind: 'journal', record: deletion });
    expect(baseOf(valid(settled), what, false)).toMatchObject({ kind: 'lost' });
  });
});

describe('bridge journal: the next write of a shard', () => {
  const lazy = (...changes: Lazy[]) => new Map([[UID, changes]]);
  const staged = (record: Recorded) => new Map([[UID, entry(record)]]);
  const next = planBatch(
    {
      ...observation,
      tools: observation.tools.map((t) => ({ ...t, ready: true, artifactId: 'a' })),
    },
    settled,
    '/test',
    at,
  );

  it.each<[string, Shard, Map<string, Entry>, Map<string, Lazy[]>, Shard]>([
    [
      'a staged entry, no longer a suspect',
      emptyShard('a1', [UID]),
      staged(planned),
      new Map(),
      shard({ incarnation: 'a1' }),
    ],
    [
      'a checkpoint drops the entry',
      shard(),
      new Map(),
      lazy({ kind: 'checkpointed', mark: { epoch: '0', seq: 2 } }),
      shard({ entries: {} }),
    ],
    [
      'a checkpoint of an older record drops nothing',
      shard(),
      new Map(),
      lazy({ kind: 'checkpointed', mark: { epoch: '0', seq: 1 } }),
      shard(),
    ],
    [
      'a delivery drops the outbox',
      shard(),
      new Map(),
      lazy({ kind: 'delivered', mark: { epoch: '0', seq: 2 } }),
      shard({ entries: { [UID]: entry(settled) } }),
    ],
    [
      'an XR gone drops everything of it',
      shard({ suspects: [UID] }),
      new Map(),
      lazy({ kind: 'gone' }),
      shard({ entries: {} }),
    ],
    [
      'a checkpoint of the entry before, with a new one staged',
      shard(),
      staged(next),
      lazy({ kind: 'checkpointed', mark: { epoch: '0', seq: 2 } }),
      shard({ entries: { [UID]: entry(next) } }),
    ],
  ])('%s', (_, before, stagedEntries, changes, after) => {
    expect(nextShard(before, stagedEntries, changes)).toEqual(after);
  });

  it('keeps the outbox that announces a deletion: it says the XR may be let go', () => {
    const gone = { ...observation, deleting: true, gone: true };
    const deletion = planBatch(gone, settled, '/test', at);
    const before = shard({
      entries: { [UID]: entry(deletion) },
    });
    expect(
      nextShard(
        before,
        new Map(),
        lazy({ kind: 'delivered', mark: { epoch: '0', seq: deletion.seq } }),
      ),
    ).toEqual(before);
  });
});

describe('bridge journal: shards', () => {
  it('puts an XR in the same shard every time, and spreads XRs over all of them', () => {
    expect(shardOf(UID)).toBe(shardOf(UID));
    const used = new Set(Array.from({ length: 200 }, (_, i) => shardOf(`uid-${i}`)));
    expect(used.size).toBe(JOURNAL_SHARDS);
  });

  it('is what the shipped RBAC lets the bridge read and replace, and nothing more', async () => {
    const documents = (await readYamlDocuments('examples/bridge/rbac.yaml')) as {
      kind: string;
      metadata: { name: string };
      rules?: { resources: string[]; resourceNames?: string[]; verbs: string[] }[];
    }[];
    const role = documents.find(
      (d) => d.kind === 'Role' && d.metadata.name === 'xenvironment-bridge-journal',
    )!;
    expect(role.rules).toEqual([
      { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] },
      {
        apiGroups: [''],
        resources: ['configmaps'],
        resourceNames: shardNames(),
        verbs: ['get', 'update'],
      },
    ]);
  });
});

describe('bridge journal: its shards, read and written', () => {
  const silent = pino({ level: 'silent' });
  const journal = (objects: MemoryObjects) =>
    new Journal(objects, { windowMs: 0, lazyMs: 3_600_000, logger: silent });
  /** `count` uids, in as many shards as they fall in. */
  const uids = (count: number) => Array.from({ length: count }, (_, i) => `uid-${i}`);
  const entryFor = (uid: string): Entry => ({ ...entry(), key: `0//${uid}` });

  it('is made on first load, every shard new, no XR a suspect', async () => {
    const objects = new MemoryObjects();
    const j = journal(objects);
    expect(await j.load(async () => [{ uid: UID }])).toEqual([]);
    expect(objects.writes).toBe(JOURNAL_SHARDS);
    for (const name of shardNames()) {
      expect(readShard(objects.objects.get(name)!.text)).toMatchObject({ shard: { suspects: [] } });
    }
    expect(j.held(UID)).toMatchObject({ suspect: false, generation: 0 });
  });

  it('writes entries staged within its window once per shard', async () => {
    const objects = new MemoryObjects();
    const j = journal(objects);
    await j.load(async () => []);
    objects.writes = 0;
    const many = uids(40);
    await Promise.all(many.map((uid) => j.stage(uid, entryFor(uid), 0)));
    expect(objects.writes).toBe(new Set(many.map(shardOf)).size);
    for (const uid of many) expect(objects.entry(uid)).toEqual(entryFor(uid));
  });

  it('refuses what was planned on a shard before it was read again', async () => {
    const objects = new MemoryObjects();
    const j = journal(objects);
    await j.load(async () => []);
    const { generation } = j.held(UID);
    objects.touch(UID); // another leader wrote it
    await expect(j.stage(UID, entry(), generation)).rejects.toMatchObject({ code: 409 });
    await expect(j.stage(UID, entry(), generation)).rejects.toBeInstanceOf(JournalMoved);
    await j.stage(UID, entry(), j.held(UID).generation);
    expect(objects.entry(UID)).toEqual(entry());
  });

  it('refuses an entry a shard has no room for', async () => {
    const objects = new MemoryObjects();
    const j = journal(objects);
    await j.load(async () => []);
    const huge = { ...entry(), env: 'x'.repeat(SHARD_BUDGET) };
    await expect(j.stage(UID, huge, 0)).rejects.toBeInstanceOf(JournalFull);
  });

  it.each([
    [
      'missing, an XR naming the journal',
      (o: MemoryObjects) => o.objects.delete(shardNames()[shardOf(UID)]!),
      true,
    ],
    [
      'missing, no XR naming it',
      (o: MemoryObjects) => o.objects.delete(shardNames()[shardOf(UID)]!),
      false,
    ],
    [
      'damaged',
      (o: MemoryObjects) => (o.objects.get(shardNames()[shardOf(UID)]!)!.text = '{'),
      false,
    ],
  ])('takes a shard %s for lost: its XRs are suspects', async (_, damage, named) => {
    const objects = new MemoryObjects();
    await journal(objects).load(async () => []);
    damage(objects);
    const j = journal(objects);
    const other = uids(50).find((uid) => shardOf(uid) !== shardOf(UID))!;
    await j.load(async () => [{ uid: UID, ...(named ? { journal: 'a1' } : {}) }, { uid: other }]);
    expect(j.held(UID)).toMatchObject({ suspect: true });
    expect(j.held(other)).toMatchObject({ suspect: false });
    expect(objects.shard(UID).suspects).toEqual([UID]);
  });

  it('takes every shard missing for a new journal, unless an XR names one', async () => {
    const objects = new MemoryObjects();
    const j = journal(objects);
    await j.load(async () => [{ uid: UID, journal: 'a1' }]);
    expect(j.held(UID)).toMatchObject({ suspect: true });
  });

  it('finds the entries of XRs gone: their ends are owed', async () => {
    const objects = new MemoryObjects();
    const first = journal(objects);
    await first.load(async () => []);
    const [gone, checkpointed] = uids(2);
    await first.stage(gone!, entryFor(gone!), 0);
    await first.stage(checkpointed!, entryFor(checkpointed!), 0);
    first.checkpointed(checkpointed!, { epoch: '0', seq: 2 });
    await first.flushAll();
    expect(objects.entry(checkpointed!)).toBeUndefined();
    const j = journal(objects);
    expect(await j.load(async () => [])).toEqual([`0//${gone}`]);
    expect(j.entriesOf(`0//${gone}`, undefined)).toEqual([{ uid: gone, entry: entryFor(gone!) }]);
    expect(j.entriesOf(`0//${gone}`, gone)).toEqual([]);
  });

  it('reads a shard again after a write that conflicted, and lists the XRs again after it', async () => {
    const objects = new MemoryObjects();
    const j = journal(objects);
    let lists = 0;
    await j.load(async () => {
      lists++;
      return [];
    });
    objects.touch(UID);
    await expect(j.stage(UID, entry(), 0)).rejects.toMatchObject({ code: 409 });
    expect(lists).toBe(2);
  });
});
