import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import {
  CLUSTER_KEY,
  COMPOSITION_RESOURCE_NAME_ANNOTATION,
  toolKey,
} from '../../../common/contract.js';
import type { JsonObject } from '../../../common/objects.js';
import { ApiError } from '../../../bridge/kube/api.js';
import type { CDEvent } from '../../../bridge/delivery/cdevents.js';
import {
  FINALIZER,
  RECORD_ANNOTATION,
  recordJournal,
  recordProblems,
  type Change,
} from '../../../bridge/announce/record.js';
import type { ClaimRef, Claims } from '../../../bridge/lifecycle/claims.js';
import { conditionPatch, type OwnCondition } from '../../../bridge/lifecycle/conditions.js';
import { Reconciler, type Store } from '../../../bridge/reconciler.js';
import type { Recorded } from '../../../bridge/announce/transitions.js';
import { shardNames, shardOf } from '../../../bridge/announce/journal.js';
import { Journal } from '../../../bridge/announce/journal-shards.js';
import { MemoryObjects } from '../../support/journal-objects.js';
import { checkEventLog, label, openIncidents } from '../../support/event-log.js';
import { CLUSTER_ENDPOINT, ENVIRONMENT_UID } from '../../support/observations.js';
import { Random } from '../../support/random.js';
import { xEnvironment } from '../../support/requests.js';

const KEY = '0//dev';
const HOUR = 3_600_000;
const ARGO_CD = toolKey('argo-cd');
type Metadata = {
  resourceVersion: string;
  annotations?: Record<string, string>;
  finalizers?: string[];
  deletionTimestamp?: string;
};

/**
 * An in-memory API server for one XR: resourceVersions, guarded writes (409 on a stale one),
 * deletion held by finalizers. Its Releases are Ready unless `failing` names them.
 */
class MemoryStore implements Store {
  xr: JsonObject | undefined;
  private version = 1;
  failing = new Set<string>();
  /** Keys of Releases gone: Helm uninstalled them. */
  uninstalled = new Set<string>();
  /** Throws instead of writing while > 0: a bridge that dies before its write lands. */
  failWrites = 0;
  /** The bridge's journal, in its namespace. */
  readonly journal = new MemoryObjects();

  constructor(xr: JsonObject) {
    this.xr = structuredClone(xr);
    this.meta.resourceVersion = '1';
  }

  get meta(): Metadata {
    return this.xr!.metadata as Metadata;
  }

  get record(): Recorded | undefined {
    const raw = this.xr && this.meta.annotations?.[RECORD_ANNOTATION];
    return raw ? (JSON.parse(raw) as Recorded) : undefined;
  }

  /** A change by someone else (Crossplane, a user): a new resourceVersion. */
  edit(change: (xr: JsonObject) => void): void {
    change(this.xr!);
    this.meta.resourceVersion = String(++this.version);
  }

  delete(): void {
    this.edit((xr) => ((xr.metadata as Metadata).deletionTimestamp = '2026-11-25T10:00:00Z'));
  }

  composite(): JsonObject | undefined {
    return this.xr && structuredClone(this.xr);
  }

  reads = 0;

  async read(): Promise<JsonObject | undefined> {
    this.reads++;
    return this.composite();
  }

  async list() {
    if (!this.xr) return [];
    const journal = recordJournal(this.xr);
    return [
      {
        key: KEY,
        uid: this.uid,
        resourceVersion: this.meta.resourceVersion,
        ...(journal ? { journal } : {}),
      },
    ];
  }

  get uid(): string {
    return String((this.xr!.metadata as { uid: string }).uid);
  }

  composed(): JsonObject[] {
    const release = (key: string, version: string) => ({
      metadata: { annotations: { [COMPOSITION_RESOURCE_NAME_ANNOTATION]: key } },
      spec: { forProvider: { chart: { name: key, version } } },
      status: {
        conditions: this.failing.has(key)
          ? [{ type: 'Synced', status: 'False', reason: 'ReconcileError', message: 'boom' }]
          : [{ type: 'Ready', status: 'True', reason: 'Available' }],
      },
    });
    return [release(CLUSTER_KEY, '0.30.0'), release(ARGO_CD, '9.1.0')].filter(
      (resource) =>
        !this.uninstalled.has(resource.metadata.annotations[COMPOSITION_RESOURCE_NAME_ANNOTATION]),
    );
  }

  /** As the API server guards a write: 404 when gone, 409 on a stale resourceVersion. */
  private guard(xr: JsonObject): void {
    if (this.failWrites > 0) {
      this.failWrites--;
      throw new Error('killed before the write');
    }
    if (!this.xr) throw new ApiError(404, 'not found');
    const given = xr.metadata as Metadata;
    if (given.resourceVersion !== this.meta.resourceVersion) throw new ApiError(409, 'conflict');
  }

  async writeCondition(
    _key: string,
    xr: JsonObject,
    condition: OwnCondition,
    now: Date,
  ): Promise<JsonObject | undefined> {
    this.guard(xr);
    const { status } = conditionPatch(xr, condition, now) as { status: JsonObject };
    this.edit((current) => (current.status = { ...(current.status as JsonObject), ...status }));
    this.conditionWrites++;
    return this.composite();
  }

  conditionWrites = 0;

  async deleteComposite(_key: string, xr: JsonObject): Promise<void> {
    if ((xr.metadata as { uid?: string }).uid !== (this.meta as { uid?: string }).uid) return;
    this.delete();
  }

  writes = 0;

  async write(_key: string, xr: JsonObject, change: Change): Promise<JsonObject | undefined> {
    this.guard(xr);
    this.writes++;
    this.edit((current) => {
      const metadata = current.metadata as Metadata;
      if (change.record) {
        metadata.annotations = {
          ...metadata.annotations,
          [RECORD_ANNOTATION]: JSON.stringify(change.record),
        };
      }
      const finalizers = metadata.finalizers ?? [];
      if (change.finalizer === 'add') metadata.finalizers = [...finalizers, FINALIZER];
      if (change.finalizer === 'remove') {
        metadata.finalizers = finalizers.filter((f) => f !== FINALIZER);
      }
    });
    if (this.meta.deletionTimestamp && this.meta.finalizers?.length === 0) this.xr = undefined;
    return this.composite();
  }
}

const xr = {
  ...xEnvironment({ tools: [{ name: 'argo-cd' }] }, { name: 'dev', uid: ENVIRONMENT_UID }),
  status: {
    cluster: { endpoint: CLUSTER_ENDPOINT },
    tools: [{ name: 'argo-cd', version: '9.1.0', ready: true }],
  },
};

/** The claim of a legacy XR, as the API server holds it; deleting it sets deletionTimestamp. */
class MemoryClaims implements Claims {
  claim: JsonObject = {
    metadata: { name: 'dev', namespace: 'team-a', uid: 'claim-uid', resourceVersion: '1' },
    spec: { resourceRef: { name: 'dev' } },
    status: {},
  };
  deleted = 0;

  async setCondition(_ref: ClaimRef, condition: OwnCondition, now: Date): Promise<void> {
    const { status } = conditionPatch(this.claim, condition, now) as { status: JsonObject };
    this.claim.status = { ...(this.claim.status as JsonObject), ...status };
  }

  async delete(_ref: ClaimRef, xrName: string): Promise<void> {
    expect(xrName).toBe('dev');
    this.deleted++;
  }
}

/** `store`, some of its methods replaced. */
function replacing(
  store: MemoryStore,
  methods: Partial<Store>,
): Store & { journal: MemoryObjects } {
  return {
    journal: store.journal,
    composite: () => store.composite(),
    composed: () => store.composed(),
    read: () => store.read(),
    list: () => store.list(),
    write: (k, x, c) => store.write(k, x, c),
    writeCondition: (k, x, c, n) => store.writeCondition(k, x, c, n),
    deleteComposite: (k, x) => store.deleteComposite(k, x),
    ...methods,
  };
}

interface Sent {
  event: CDEvent;
  sink: string | undefined;
}

/** A sink that records what it accepts; `accept` decides per event (false: it fails). */
function sink(accept: (event: CDEvent) => boolean = () => true) {
  const sent: Sent[] = [];
  const emit = async (event: CDEvent, to: string | undefined) => {
    if (!accept(event)) throw new Error('sink down');
    sent.push({ event, sink: to });
  };
  return { sent, emit };
}

/**
 * A bridge process over `store`: its journal is read before its first reconcile, as main.ts does
 * once it leads. Lazy journal writes happen only when a case calls flush(), or never (a kill).
 */
function reconciler(
  store: Store & { journal: MemoryObjects },
  emit: (e: CDEvent, s: string | undefined) => Promise<void>,
  options: { claims?: Claims; now?: () => Date; settleMs?: number } = {},
) {
  let invalid = 0;
  const journal = new Journal(store.journal, {
    windowMs: 0,
    lazyMs: HOUR,
    logger: pino({ level: 'silent' }),
  });
  const r = new Reconciler(store, options.claims ?? new MemoryClaims(), emit, journal, {
    source: '/test',
    sinkAllow: ['*.svc.cluster.local'],
    expiryWarningMs: HOUR,
    logger: pino({ level: 'silent' }),
    onInvalidRecord: () => invalid++,
    // Checkpointed at once unless a case is about settling: each reconcile then ends as it began.
    settleMs: options.settleMs ?? 0,
    ...(options.now ? { now: options.now } : {}),
  });
  let loaded: Promise<string[]> | undefined;
  const reconcile = r.reconcile.bind(r);
  return Object.assign(r, {
    invalid: () => invalid,
    /** Keys the journal's load found gone: their ends owed. */
    orphans: () => (loaded ??= r.loadJournal()),
    reconcile: async (key: string) => {
      await (loaded ??= r.loadJournal());
      return reconcile(key);
    },
    flush: () => journal.flushAll(),
  });
}

function toggle(set: Set<string>, item: string): void {
  if (!set.delete(item)) set.add(item);
}

const labels = (sent: Sent[]) => sent.map((s) => label(s.event));

/** A process that announces what is observed, and lets the journal drop what the XR holds. */
async function announced(
  store: MemoryStore,
  emit: (e: CDEvent, s: string | undefined) => Promise<void>,
) {
  const r = reconciler(store, emit);
  await r.reconcile(KEY);
  await r.flush();
  return r;
}

describe('bridge reconciler', () => {
  it('writes each batch into the journal before sending it, and onto the XR after', async () => {
    const store = new MemoryStore(xr);
    const journaled: boolean[] = [];
    const { sent, emit } = sink((event) => {
      journaled.push(
        store.journal
          .entry(store.uid)!
          .record.outbox.some((e) => e.event.context.id === event.context.id) &&
          store.record === undefined,
      );
      return true;
    });
    const r = reconciler(store, emit);
    await r.orphans();
    store.journal.writes = 0;
    await r.reconcile(KEY);
    expect(labels(sent)).toEqual([
      'environment.requested dev',
      'environment.created dev',
      'service.deployed dev/argo-cd',
      'environment.modified dev',
    ]);
    // In the journal when sent, and not yet on the XR: one journal write, then one XR write.
    expect(journaled).toEqual([true, true, true, true]);
    expect([store.journal.writes, store.writes]).toEqual([1, 1]);
    const incarnation = store.journal.shard(store.uid).incarnation;
    expect(store.record).toMatchObject({ epoch: '0', seq: 4, outbox: [], ready: true });
    expect(store.record!.journal).toBe(incarnation);
    expect(recordProblems(store.record)).toEqual([]);
    expect(store.meta.finalizers).toEqual([FINALIZER]);

    // The XR holds it: the journal drops the entry with its next write.
    await r.flush();
    expect(store.journal.shard(store.uid).entries).toEqual({});
    await reconciler(store, emit).reconcile(KEY);
    expect(sent).toHaveLength(4);
    expect([store.journal.writes, store.writes]).toEqual([2, 1]);
  });

  it.each([
    ['parked on the XR', 0],
    // Killed between the journal write and delivery, before parking: only the journal has it.
    ['in the journal only', 1],
  ])(
    'after a failed delivery, sends the batch first (%s), with its ids, whatever changed',
    async (_, failWrites) => {
      const store = new MemoryStore(xr);
      let up = false;
      const { sent, emit } = sink(() => up);
      store.failWrites = failWrites;
      await expect(reconciler(store, emit).reconcile(KEY)).rejects.toThrow('sink down');
      const journaled = store.journal.entry(store.uid)!.record.outbox;
      const recorded = (failWrites ? journaled : store.record!.outbox).map(
        (e) => e.event.context.id,
      );
      expect(recorded).toHaveLength(4);
      expect(store.record?.outbox.length).toBe(failWrites ? undefined : 4);

      // Meanwhile argo-cd fails: a different next transition, which must not take their places.
      store.failing.add(ARGO_CD);
      up = true;
      await reconciler(store, emit).reconcile(KEY);
      expect(sent.slice(0, 4).map((s) => s.event.context.id)).toEqual(recorded);
      expect(labels(sent.slice(4))).toEqual([
        'incident.detected dev/incidents/0-4',
        'environment.modified dev',
      ]);
      expect(checkEventLog(sent.map((s) => s.event)).problems).toEqual([]);
    },
  );

  it('sends nothing when its journal write conflicts, and plans again on the journal read again', async () => {
    const store = new MemoryStore(xr);
    const { sent, emit } = sink();
    const r = reconciler(store, emit);
    await r.orphans();
    // Another leader wrote the shard since this one read it.
    store.journal.touch(store.uid);
    await expect(r.reconcile(KEY)).rejects.toMatchObject({ code: 409 });
    expect(sent).toEqual([]);
    expect(store.record).toBeUndefined();
    await r.reconcile(KEY);
    expect(sent).toHaveLength(4);
    expect(checkEventLog(sent.map((s) => s.event)).problems).toEqual([]);
  });

  it('sends nothing and records nothing when a write to the XR conflicts', async () => {
    const store = new MemoryStore(xr);
    const { sent, emit } = sink();
    const stale = store.composite()!;
    const r = reconciler(replacing(store, { composite: () => stale }), emit);
    await r.orphans();
    // Crossplane writes the XR after the journal was read; the cache has not seen it yet.
    store.edit((x) => ((x.status as JsonObject).phase = 'Ready'));
    await r.reconcile(KEY).catch(() => undefined);
    // Sent from the journal; the checkpoint on the stale XR failed, and nothing else was written.
    expect(sent).toHaveLength(4);
    expect(store.record).toBeUndefined();
    await reconciler(store, emit).reconcile(KEY);
    expect(store.record).toMatchObject({ seq: 4, outbox: [] });
    expect(checkEventLog(sent.map((s) => s.event)).problems).toEqual([]);
  });

  it('gives every transition one id however often it is killed between steps', async () => {
    // A deterministic "random" schedule of kills: before a write lands, or after a delivery.
    const seeded = new Random(42);
    const random = () => seeded.next();
    const store = new MemoryStore(xr);
    const received: CDEvent[] = [];
    let kills = 0;
    const emit = async (event: CDEvent) => {
      if (random() < 0.1) throw new Error('sink down');
      received.push(event); // the sink accepts it ...
      if (random() < 0.3) {
        kills++;
        throw new Error('killed after delivery'); // ... and the bridge dies before recording so
      }
    };
    for (let round = 0; round < 60; round++) {
      if (round % 3 === 0) toggle(store.failing, ARGO_CD);
      if (round % 7 === 0) toggle(store.failing, CLUSTER_KEY);
      if (random() < 0.2) store.failWrites = 1;
      if (random() < 0.2) store.journal.failWrites = 1;
      const r = reconciler(store, emit, { settleMs: random() < 0.5 ? 0 : 1_000 });
      await r.reconcile(KEY).catch(() => undefined);
      // Killed before the journal dropped what was delivered or checkpointed, or after.
      if (random() < 0.5) await r.flush().catch(() => undefined);
    }
    store.failing.clear();
    // Then until a pass goes through: a kill left over from the rounds may stop the first ones.
    let settled = false;
    for (let i = 0; i < 20 && !settled; i++) {
      settled = await reconciler(store, emit)
        .reconcile(KEY)
        .then(
          () => true,
          () => false,
        );
    }
    expect(settled).toBe(true);
    const log = checkEventLog(received);
    expect(kills).toBeGreaterThan(10);
    expect(log.redeliveries).toBeGreaterThan(0);
    expect(log.problems).toEqual([]);
    expect(openIncidents(log.distinct)).toEqual([]);
    expect(label(log.distinct.at(-1)!)).toBe('environment.modified dev');
    expect(store.record).toMatchObject({ ready: true, incidents: {}, outbox: [] });
  });

  it.each([
    ['{"deleted":true}'],
    ['{"incidents":"abc"}'],
    ['{"seq":"x"}'],
    ['{"seq":-3}'],
    ['{not json'],
    ['[]'],
  ])('rebuilds a record like %s from what it observes, announcing nothing again', async (bad) => {
    const store = new MemoryStore(xr);
    const { sent, emit } = sink();
    await announced(store, emit);
    const before = sent.map((s) => s.event.context.id);
    store.edit((x) => ((x.metadata as Metadata).annotations![RECORD_ANNOTATION] = bad));

    const r = reconciler(store, emit);
    await r.reconcile(KEY);
    expect(sent).toHaveLength(before.length);
    expect(r.invalid()).toBe(1);
    expect(recordProblems(store.record)).toEqual([]);
    expect(store.record!.epoch).not.toBe('0');

    // The environment is not silenced, and its next ids are new ones.
    store.failing.add(ARGO_CD);
    await r.reconcile(KEY);
    const after = sent.slice(before.length).map((s) => s.event.context.id);
    expect(labels(sent.slice(before.length))).toEqual([
      expect.stringMatching(/^incident\.detected dev\/incidents\/[0-9a-f]{8}-0$/),
      'environment.modified dev',
    ]);
    expect(after.filter((id) => before.includes(id))).toEqual([]);
  });

  it('keeps the open incidents of a damaged record, so their resolution names them', async () => {
    const store = new MemoryStore(xr);
    store.failing.add(ARGO_CD);
    const { sent, emit } = sink();
    await announced(store, emit);
    const detected = sent.find((s) => s.event.context.type.includes('incident.detected'))!;
    store.edit((x) => {
      const annotations = (x.metadata as Metadata).annotations!;
      annotations[RECORD_ANNOTATION] = JSON.stringify({
        ...JSON.parse(annotations[RECORD_ANNOTATION]!),
        seq: 'x',
      });
    });
    const before = sent.length;
    await reconciler(store, emit).reconcile(KEY);
    expect(sent).toHaveLength(before);
    store.failing.clear();
    await reconciler(store, emit).reconcile(KEY);
    expect(labels(sent.slice(before))).toEqual([
      `incident.resolved ${detected.event.subject.id}`,
      'service.deployed dev/argo-cd',
      'environment.modified dev',
    ]);
  });

  it.each([
    ['a valid record', undefined],
    ['a record claiming deletion', '{"deleted":true}'],
    ['a damaged record', '{"seq":"x"}'],
    ['no record', ''],
  ])(
    'removes the tools of a gone XR with %s, announces its deletion and lets it go',
    async (_, bad) => {
      const store = new MemoryStore(xr);
      const { sent, emit } = sink();
      await announced(store, emit);
      const before = sent.length;
      if (bad !== undefined) {
        store.edit((x) => {
          const annotations = (x.metadata as Metadata).annotations!;
          if (bad) annotations[RECORD_ANNOTATION] = bad;
          else delete annotations[RECORD_ANNOTATION];
        });
      }
      // Deleted in the background, or while no bridge ran: gone, its Release still there.
      store.delete();
      await reconciler(store, emit).reconcile(KEY);
      expect(labels(sent.slice(before))).toEqual([
        'service.removed dev/argo-cd',
        'environment.deleted dev',
      ]);
      expect(store.xr).toBeUndefined();
    },
  );

  it('announces each tool Helm uninstalls while the XR is deleted, then its deletion', async () => {
    const store = new MemoryStore(xr);
    const { sent, emit } = sink();
    await reconciler(store, emit).reconcile(KEY);
    const before = sent.length;
    // In the foreground: the garbage collector holds the XR until its Releases are gone.
    store.edit((x) => ((x.metadata as Metadata).finalizers = ['foregroundDeletion', FINALIZER]));
    store.delete();
    await reconciler(store, emit).reconcile(KEY);
    expect(sent).toHaveLength(before);
    store.uninstalled.add(ARGO_CD);
    store.uninstalled.add(CLUSTER_KEY);
    await reconciler(store, emit).reconcile(KEY);
    expect(labels(sent.slice(before))).toEqual(['service.removed dev/argo-cd']);
    expect(store.record).toMatchObject({ deployed: {}, outbox: [] });
    store.edit((x) => ((x.metadata as Metadata).finalizers = [FINALIZER]));
    await reconciler(store, emit).reconcile(KEY);
    expect(labels(sent.slice(before))).toEqual([
      'service.removed dev/argo-cd',
      'environment.deleted dev',
    ]);
    expect(store.xr).toBeUndefined();
    expect(checkEventLog(sent.map((s) => s.event)).problems).toEqual([]);
  });

  it('re-sends a delivered deletion with its id when the bridge died before letting go', async () => {
    const store = new MemoryStore(xr);
    const { sent, emit } = sink();
    await reconciler(store, emit).reconcile(KEY);
    store.delete();
    store.failWrites = 0;
    const dying = reconciler(
      replacing(store, {
        write: (k, x, c) =>
          c.finalizer === 'remove' ? Promise.reject(new Error('killed')) : store.write(k, x, c),
      }),
      emit,
    );
    await expect(dying.reconcile(KEY)).rejects.toThrow('killed');
    await reconciler(store, emit).reconcile(KEY);
    const deletions = sent.filter((s) => s.event.context.type.includes('environment.deleted'));
    expect(deletions).toHaveLength(2);
    expect(deletions[1]!.event.context.id).toBe(deletions[0]!.event.context.id);
    expect(store.xr).toBeUndefined();
  });

  it.each([
    ['http://', /is not an absolute URL/],
    ['http://x:99999/', /is not an absolute URL/],
    ['http://evil.example.org/', /host evil\.example\.org is not allowed/],
    ['http://169.254.169.254/latest', /host 169\.254\.169\.254 is link-local/],
  ])('announces an unusable sink %s as an incident to the default sink', async (bad, problem) => {
    const store = new MemoryStore({ ...xr, spec: { ...xr.spec, events: { sink: bad } } });
    const { sent, emit } = sink();
    await reconciler(store, emit).reconcile(KEY);
    expect(sent.every((s) => s.sink === undefined)).toBe(true);
    const incident = sent.find((s) => s.event.context.type.includes('incident.detected'))!;
    expect((incident.event.subject.content as { description: string }).description).toMatch(
      problem,
    );
    expect(store.meta.finalizers).toEqual([FINALIZER]);

    const good = 'http://broker.team-a.svc.cluster.local/';
    store.edit((x) => ((x.spec as JsonObject).events = { sink: good }));
    store.failing.add(ARGO_CD);
    await reconciler(store, emit).reconcile(KEY);
    expect(sent.slice(-3).map((s) => [label(s.event), s.sink])).toEqual([
      [`incident.resolved ${incident.event.subject.id}`, undefined],
      ['incident.detected dev/incidents/0-6', good],
      ['environment.modified dev', good],
    ]);
  });
  it('does not send a batch again when its checkpoint conflicted', async () => {
    const store = new MemoryStore(xr);
    const { sent, emit } = sink();
    // Crossplane patches the XR's status between the delivery and the checkpoint.
    let writes = 0;
    const conflicting = replacing(store, {
      write: (k, x, c) => {
        if (++writes === 1)
          store.edit((current) => ((current.status as JsonObject).phase = 'Ready'));
        return store.write(k, x, c);
      },
    });
    const r = reconciler(conflicting, emit);
    await expect(r.reconcile(KEY)).rejects.toMatchObject({ code: 409 });
    expect(store.record).toBeUndefined();
    await r.reconcile(KEY);
    expect(labels(sent)).toEqual([
      'environment.requested dev',
      'environment.created dev',
      'service.deployed dev/argo-cd',
      'environment.modified dev',
    ]);
    expect(store.record).toMatchObject({ seq: 4, outbox: [] });

    // Only an optimisation: another process (a restart) has no memory, and sends them again.
    const again = new MemoryStore(xr);
    const second = sink();
    let count = 0;
    await expect(
      reconciler(
        replacing(again, {
          write: (k, x, c) => {
            if (++count === 1) again.edit(() => undefined);
            return again.write(k, x, c);
          },
        }),
        second.emit,
      ).reconcile(KEY),
    ).rejects.toMatchObject({ code: 409 });
    await reconciler(again, second.emit).reconcile(KEY);
    expect(second.sent).toHaveLength(8);
    expect(checkEventLog(second.sent.map((s) => s.event)).problems).toEqual([]);
  });
});

describe('bridge reconciler: the journal', () => {
  const clock = (start: string) => {
    let now = Date.parse(start);
    return { now: () => new Date(now), advance: (ms: number) => (now += ms) };
  };

  it('writes the XR once, after its batches are delivered and it has settled', async () => {
    const store = new MemoryStore(xr);
    const { sent, emit } = sink();
    const time = clock('2026-11-25T09:00:00Z');
    const r = reconciler(store, emit, { now: time.now, settleMs: 1_000 });
    await r.orphans();
    store.journal.writes = 0;

    expect(await r.reconcile(KEY)).toEqual({ requeueAfterMs: 1_000, lowPriority: true });
    expect([sent.length, store.journal.writes, store.writes]).toEqual([4, 1, 0]);

    // A change within the second: a journal write of its own, the XR still untouched.
    time.advance(300);
    store.failing.add(ARGO_CD);
    expect(await r.reconcile(KEY)).toEqual({ requeueAfterMs: 1_000, lowPriority: true });
    expect(labels(sent.slice(4))).toEqual([
      'incident.detected dev/incidents/0-4',
      'environment.modified dev',
    ]);
    expect([store.journal.writes, store.writes]).toEqual([2, 0]);

    // Looked at again early (a status update): nothing is written, the time left is asked for.
    time.advance(400);
    expect(await r.reconcile(KEY)).toEqual({ requeueAfterMs: 600, lowPriority: true });
    expect([store.journal.writes, store.writes]).toEqual([2, 0]);

    time.advance(600);
    expect(await r.reconcile(KEY)).toEqual({});
    expect([sent.length, store.writes, store.record!.seq, store.record!.outbox]).toEqual([
      6,
      1,
      6,
      [],
    ]);
    expect(checkEventLog(sent.map((s) => s.event)).redeliveries).toBe(0);
  });

  it('parks a batch its sink refuses on the XR, so that the journal holds it no longer', async () => {
    const store = new MemoryStore(xr);
    let up = false;
    const { sent, emit } = sink(() => up);
    const r = reconciler(store, emit);
    await expect(r.reconcile(KEY)).rejects.toThrow('sink down');
    expect(store.record!.outbox).toHaveLength(4);
    await r.flush();
    expect(store.journal.entry(store.uid)).toBeUndefined();
    up = true;
    await reconciler(store, emit).reconcile(KEY);
    expect(sent).toHaveLength(4);
    expect(store.record).toMatchObject({ seq: 4, outbox: [] });
  });

  it('killed between delivery and checkpoint, sends the batch again with the same ids and payloads', async () => {
    const store = new MemoryStore(xr);
    const { sent, emit } = sink();
    const time = clock('2026-11-25T09:00:00Z');
    await reconciler(store, emit, { now: time.now, settleMs: 1_000 }).reconcile(KEY);
    expect(store.record).toBeUndefined();
    const restarted = reconciler(store, emit, { now: time.now, settleMs: 1_000 });
    expect(await restarted.reconcile(KEY)).toEqual({ requeueAfterMs: 1_000, lowPriority: true });
    expect(sent.slice(4).map((s) => s.event)).toEqual(sent.slice(0, 4).map((s) => s.event));
    const log = checkEventLog(sent.map((s) => s.event));
    expect([log.redeliveries, log.problems]).toEqual([4, []]);
  });

  it('killed between checkpoint and the journal dropping the entry, sends nothing again', async () => {
    const store = new MemoryStore(xr);
    const { sent, emit } = sink();
    await reconciler(store, emit).reconcile(KEY);
    expect(store.record).toMatchObject({ seq: 4, outbox: [] });
    expect(store.journal.entry(store.uid)!.record.outbox).toHaveLength(4);
    await reconciler(store, emit).reconcile(KEY);
    expect(sent).toHaveLength(4);
    expect(store.writes).toBe(1);
  });

  it('reads an XR the cache shows at another version than listed after the journal again', async () => {
    const store = new MemoryStore(xr);
    const { sent, emit } = sink();
    const before = store.composite()!;
    await announced(store, emit);
    // A cache that has not seen the checkpoint yet (a new leader's): read again, not rebuilt.
    const r = reconciler(replacing(store, { composite: () => before }), emit);
    await r.reconcile(KEY);
    expect([sent.length, r.invalid(), store.reads]).toEqual([4, 0, 1]);
  });

  it.each([
    ['deleted', (objects: MemoryObjects, name: string) => objects.objects.delete(name)],
    [
      'damaged',
      (objects: MemoryObjects, name: string) => (objects.objects.get(name)!.text = '{"format":1'),
    ],
  ])(
    'a journal shard %s: its XRs are rebuilt, and nothing is sent again under new ids',
    async (_, damage) => {
      const store = new MemoryStore(xr);
      const { sent, emit } = sink();
      const time = clock('2026-11-25T09:00:00Z');
      await announced(store, emit);
      // Then argo-cd fails: announced, not checkpointed, when the shard is lost.
      store.failing.add(ARGO_CD);
      await reconciler(store, emit, { now: time.now, settleMs: 1_000 }).reconcile(KEY);
      expect(labels(sent.slice(4))).toEqual([
        'incident.detected dev/incidents/0-4',
        'environment.modified dev',
      ]);
      damage(store.journal, shardNames()[shardOf(store.uid)]!);
      const r = reconciler(store, emit);
      await r.reconcile(KEY);
      expect([sent.length, r.invalid()]).toEqual([6, 1]);
      // A new life of the shard, the XR no longer a suspect once rebuilt.
      expect(store.journal.shard(store.uid).suspects).toEqual([]);
      expect(store.record!.journal).toBe(store.journal.shard(store.uid).incarnation);
      // What follows is announced, in the new epoch; the incident detected before stays open.
      store.failing.clear();
      await r.reconcile(KEY);
      expect(labels(sent.slice(6))).toEqual([
        expect.stringMatching(/^incident\.resolved dev\/incidents\/[0-9a-f]{8}-tool\/argo-cd$/),
        'environment.modified dev',
      ]);
      const log = checkEventLog(sent.map((s) => s.event));
      expect([log.problems, openIncidents(log.distinct)]).toEqual([[], ['dev/incidents/0-4']]);
    },
  );

  it('announces the end of an XR gone before its record was checkpointed, from the journal', async () => {
    const store = new MemoryStore(xr);
    const { sent, emit } = sink();
    const time = clock('2026-11-25T09:00:00Z');
    store.failing.add(ARGO_CD);
    const r = reconciler(store, emit, { now: time.now, settleMs: 1_000 });
    await r.reconcile(KEY);
    // Nothing held it: it is gone at once.
    expect(store.meta.finalizers).toBeUndefined();
    const uid = store.uid;
    store.xr = undefined;
    await r.reconcile(KEY);
    // argo-cd never became ready, so was never deployed: only its incident is owed an end.
    expect(labels(sent.slice(-2))).toEqual([
      'incident.resolved dev/incidents/0-1',
      'environment.deleted dev',
    ]);
    await r.flush();
    expect(store.journal.shard(uid).entries).toEqual({});
    expect(checkEventLog(sent.map((s) => s.event)).problems).toEqual([]);
  });

  it('after a restart, announces the end of an XR that went while it was down, from the journal', async () => {
    const store = new MemoryStore(xr);
    const { sent, emit } = sink();
    const time = clock('2026-11-25T09:00:00Z');
    await reconciler(store, emit, { now: time.now, settleMs: 1_000 }).reconcile(KEY);
    store.xr = undefined;
    const r = reconciler(store, emit);
    expect(await r.orphans()).toEqual([KEY]);
    await r.reconcile(KEY);
    // What it owed (not known to be delivered: the same ids), then its end.
    expect(labels(sent.slice(4))).toEqual([
      'environment.requested dev',
      'environment.created dev',
      'service.deployed dev/argo-cd',
      'environment.modified dev',
      'service.removed dev/argo-cd',
      'environment.deleted dev',
    ]);
    expect(checkEventLog(sent.map((s) => s.event)).problems).toEqual([]);
  });

  it('before a graceful stop, checkpoints every XR at once, and the journal drops them', async () => {
    const store = new MemoryStore(xr);
    const { sent, emit } = sink();
    const r = reconciler(store, emit, { settleMs: 1_000 });
    await r.reconcile(KEY);
    expect(store.record).toBeUndefined();
    expect(r.settleNow()).toEqual([KEY]);
    expect(await r.reconcile(KEY)).toEqual({});
    await r.flushJournal();
    expect(store.record).toMatchObject({ seq: 4, outbox: [] });
    expect(store.journal.entry(store.uid)).toBeUndefined();
    await reconciler(store, emit).reconcile(KEY);
    expect(sent).toHaveLength(4);
  });

  it('asks for the expiry warning when it is due before the record settles', async () => {
    const expiresAt = '2026-11-25T10:00:00.500Z';
    const store = new MemoryStore({ ...xr, status: { ...xr.status, expiresAt } });
    const { emit } = sink();
    const now = () => new Date('2026-11-25T09:00:00Z');
    // The warning (an hour ahead) is due in 500 ms, before the second the record waits.
    expect(await reconciler(store, emit, { now, settleMs: 1_000 }).reconcile(KEY)).toEqual({
      requeueAfterMs: 500,
    });
    expect(store.journal.entry(store.uid)!.record.outbox).toHaveLength(4);
    expect(store.record).toBeUndefined();
  });
});

describe('bridge reconciler: expiry', () => {
  const claimed = (expiresAt?: string, spec: JsonObject = {}) => ({
    ...xr,
    metadata: {
      ...xr.metadata,
      labels: { 'crossplane.io/claim-name': 'dev', 'crossplane.io/claim-namespace': 'team-a' },
    },
    spec: {
      ...xr.spec,
      claimRef: {
        apiVersion: 'platform.xenvironment.io/v1alpha1',
        kind: 'Environment',
        namespace: 'team-a',
        name: 'dev',
      },
      ...spec,
    },
    status: { ...xr.status, ...(expiresAt ? { expiresAt } : {}) },
  });
  const EXPIRES = '2026-11-25T17:00:00Z';
  const at = (iso: string) => () => new Date(iso);
  const expiringLabels = (sent: Sent[]) =>
    labels(sent).filter((l) => l.startsWith('environment.expiring'));
  const condition = (object: JsonObject) =>
    ((object.status as JsonObject).conditions as JsonObject[] | undefined)?.find(
      (c) => c.type === 'Expiring',
    );

  it('far from expiry writes nothing and comes back when the warning is due', async () => {
    const store = new MemoryStore(claimed(EXPIRES));
    const claims = new MemoryClaims();
    const { sent, emit } = sink();
    const outcome = await reconciler(store, emit, {
      claims,
      now: at('2026-11-25T15:00:00Z'),
    }).reconcile(KEY);
    expect(outcome).toEqual({ requeueAfterMs: HOUR });
    expect(expiringLabels(sent)).toEqual([]);
    expect([store.conditionWrites, condition(claims.claim), claims.deleted]).toEqual([
      0,
      undefined,
      0,
    ]);
  });

  it('warns once in the window, on the XR, the claim and by event, then deletes the claim', async () => {
    const store = new MemoryStore(claimed(EXPIRES));
    const claims = new MemoryClaims();
    const { sent, emit } = sink();
    const inWindow = reconciler(store, emit, { claims, now: at('2026-11-25T16:30:00Z') });
    expect(await inWindow.reconcile(KEY)).toEqual({ requeueAfterMs: HOUR / 2 });
    expect(await inWindow.reconcile(KEY)).toEqual({ requeueAfterMs: HOUR / 2 });
    expect(expiringLabels(sent)).toEqual(['environment.expiring team-a/dev']);
    const event = sent.find((s) => s.event.context.type.includes('expiring'))!.event;
    expect(event.subject.content).toEqual({ name: 'team-a/dev', expiresAt: EXPIRES });
    const wanted = {
      type: 'Expiring',
      status: 'True',
      reason: 'TTLExpiring',
      message: `expires at ${EXPIRES}, when it will be deleted`,
      lastTransitionTime: '2026-11-25T16:30:00Z',
    };
    expect([condition(store.xr!), condition(claims.claim)]).toEqual([wanted, wanted]);
    expect([store.conditionWrites, claims.deleted]).toEqual([1, 0]);
    expect(store.record!.expiring).toBe(EXPIRES);

    const expired = reconciler(store, emit, { claims, now: at(EXPIRES) });
    expect(await expired.reconcile(KEY)).toEqual({});
    expect([expiringLabels(sent).length, claims.deleted, store.meta.deletionTimestamp]).toEqual([
      1,
      1,
      undefined,
    ]);
    expect(checkEventLog(sent.map((s) => s.event)).problems).toEqual([]);
  });

  it('warns before deleting even when the window passed unseen; an XR without a claim deletes itself', async () => {
    const store = new MemoryStore({ ...xr, status: { ...xr.status, expiresAt: EXPIRES } });
    const { sent, emit } = sink();
    await reconciler(store, emit, { now: at('2026-11-26T09:00:00Z') }).reconcile(KEY);
    // Announced before anything else that is still owed: it may never have come up at all.
    expect(labels(sent)).toEqual([
      'environment.requested dev',
      'environment.expiring dev',
      'environment.created dev',
      'service.deployed dev/argo-cd',
      'environment.modified dev',
    ]);
    expect(store.meta.deletionTimestamp).toBeDefined();
    // What follows is the usual deletion, announced once only the bridge's finalizer holds it.
    await reconciler(store, emit, { now: at('2026-11-26T09:00:01Z') }).reconcile(KEY);
    expect(labels(sent).at(-1)).toBe('environment.deleted dev');
    expect(store.xr).toBeUndefined();
  });

  it('withdraws the warning when the ttl is extended, and warns again before the new time', async () => {
    const store = new MemoryStore(claimed(EXPIRES));
    const claims = new MemoryClaims();
    const { sent, emit } = sink();
    await reconciler(store, emit, { claims, now: at('2026-11-25T16:30:00Z') }).reconcile(KEY);
    const later = '2026-11-25T21:00:00Z';
    store.edit((x) => ((x.status as JsonObject).expiresAt = later));
    const extended = reconciler(store, emit, { claims, now: at('2026-11-25T16:31:00Z') });
    expect(await extended.reconcile(KEY)).toEqual({ requeueAfterMs: 3.5 * HOUR - 60_000 });
    const withdrawn = { status: 'False', reason: 'TTLExtended', message: `expires at ${later}` };
    expect(condition(store.xr!)).toMatchObject(withdrawn);
    expect(condition(claims.claim)).toMatchObject(withdrawn);
    expect(expiringLabels(sent)).toHaveLength(1);

    await reconciler(store, emit, { claims, now: at('2026-11-25T20:15:00Z') }).reconcile(KEY);
    expect(
      sent
        .filter((s) => s.event.context.type.includes('expiring'))
        .map((s) => s.event.subject.content),
    ).toEqual([
      { name: 'team-a/dev', expiresAt: EXPIRES },
      { name: 'team-a/dev', expiresAt: later },
    ]);
    expect(condition(store.xr!)).toMatchObject({ status: 'True', reason: 'TTLExpiring' });
    expect(claims.deleted).toBe(0);
  });

  it('does nothing for an XR being deleted, and never expires one without a ttl', async () => {
    const store = new MemoryStore(claimed(EXPIRES));
    const claims = new MemoryClaims();
    const { sent, emit } = sink();
    await reconciler(store, emit, { claims, now: at('2026-11-25T09:00:00Z') }).reconcile(KEY);
    store.edit((x) => {
      (x.metadata as Metadata).deletionTimestamp = '2026-11-26T09:00:00Z';
      (x.metadata as Metadata).finalizers = ['composite.apiextensions.crossplane.io', FINALIZER];
    });
    expect(
      await reconciler(store, emit, { claims, now: at('2026-11-26T09:00:00Z') }).reconcile(KEY),
    ).toEqual({});
    const none = new MemoryStore(claimed());
    expect(
      await reconciler(none, emit, { claims, now: at('2099-01-01T00:00:00Z') }).reconcile(KEY),
    ).toEqual({});
    expect([
      expiringLabels(sent),
      claims.deleted,
      store.conditionWrites,
      none.conditionWrites,
    ]).toEqual([[], 0, 0, 0]);
  });
});
