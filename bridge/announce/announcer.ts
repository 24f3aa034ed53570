import type { Logger } from 'pino';
import { kindAndName, type JsonObject } from '../../common/objects.js';
import type { Emit } from '../delivery/emitter.js';
import type { Route } from '../delivery/sink-route.js';
import { announcesDeletion, planBatch } from './batch.js';
import { baseOf, markOf, type Entry } from './journal.js';
import type { Journal } from './journal-shards.js';
import {
  adoptObserved,
  finalizerChange,
  hasFinalizer,
  newEpoch,
  readRecord,
  type Change,
} from './record.js';
import type { Observation, OutboxEntry, Recorded } from './transitions.js';

/** Where the announcer checkpoints its records: on the XR itself. */
export interface RecordStore {
  /**
   * Writes the record and/or the finalizer onto the XR of `key`, guarded by `xr`'s
   * resourceVersion: throws on a conflict. Returns the XR as written, undefined once it is gone.
   */
  write(key: string, xr: JsonObject, change: Change): Promise<JsonObject | undefined>;
  /** The XR of `key` as the API server has it now, not as cached; undefined once it is gone. */
  read(key: string): Promise<JsonObject | undefined>;
}

export interface AnnouncerOptions {
  source: string;
  logger: Logger;
  /** Called for each record found invalid and rebuilt. */
  onInvalidRecord?: () => void;
  now: () => Date;
  /**
   * How long after its last delivery an environment's record waits before it is checkpointed
   * onto its XR (at low priority): changes within it share that write.
   */
  settleMs?: number;
}

export const DEFAULT_SETTLE_MS = 1_000;

/** What announcing left: the XR as last written (undefined once it is gone), and when to settle. */
export interface Announced {
  current?: JsonObject;
  /** While the XR does not hold the record yet: when its checkpoint is due. */
  settleInMs?: number;
}

const uidOf = (xr: JsonObject) => String((xr.metadata as JsonObject).uid);

/** Where announcing one XR starts from. */
interface Start {
  xr: JsonObject;
  record: Recorded;
  /** Rebuilt from what is observed: to be written even if it announces nothing. */
  rebuilt: boolean;
  /** The journal holds it (not only the XR). */
  inJournal: boolean;
  generation: number;
}

/**
 * Compare with what was recorded → journal → deliver → checkpoint, for one XR. The events of a
 * batch of transitions are written into the XR's journal entry together with the state they
 * announce (journal.ts), a write many XRs share, and only then delivered. The XR's own record is
 * written once its events are delivered and it has settled (a checkpoint): then the journal can
 * drop the entry. A restart finds the entry, or the XR's outbox, and sends its events again, with
 * the same ids. Throws when an event cannot be delivered: the batch stays where it is, and is
 * retried; one the journal holds is checkpointed onto its XR first, outbox and all, so that a sink
 * down for long fills no journal.
 */
export class Announcer {
  /**
   * Events this process has delivered, by XR key (for one uid), and when it last did: a reconcile
   * before the XR holds the record (a retry after a conflict, a change while it settles) does not
   * send them again, and the checkpoint leaves them out. Only an optimisation: the journal and the
   * XR are the truth, and after a restart their events are sent again with their ids.
   */
  private readonly delivered = new Map<string, { uid: string; ids: Set<string>; at?: number }>();
  /** Keys whose cached XR may be older than the journal as read: read again before deciding. */
  private readonly uncertain = new Set<string>();
  private settleMs: number;

  constructor(
    private readonly store: RecordStore,
    private readonly journal: Journal,
    private readonly emit: Emit,
    private readonly options: AnnouncerOptions,
  ) {
    this.settleMs = options.settleMs ?? DEFAULT_SETTLE_MS;
  }

  /** The XR of `key` is gone: nothing of it is remembered. */
  forget(key: string): void {
    this.delivered.delete(key);
    this.uncertain.delete(key);
  }

  /**
   * The cached XR of `key` may be older than the journal as read: its next reconcile reads it from
   * the API server first.
   */
  doubt(key: string): void {
    this.uncertain.add(key);
  }

  /** Announces what changed since the record of `xr`. */
  async announce(
    key: string,
    xr: JsonObject,
    observation: Observation,
    route: Route,
  ): Promise<Announced> {
    const start = await this.start(key, xr, observation);
    if (!start) return {};
    const { uid } = observation;
    let { record, rebuilt, inJournal } = start;
    const current = start.xr;
    for (;;) {
      await this.deliverOrPark(key, current, record, inJournal, route);
      const finalizer = finalizerChange(observation, hasFinalizer(current), record.outbox);
      if (finalizer === 'remove') {
        await this.store.write(key, current, { finalizer });
        this.journal.gone(uid);
        this.delivered.delete(key);
        return {};
      }
      const next = planBatch(observation, record, this.options.source, this.options.now());
      if (next.outbox.length === 0 && !rebuilt) {
        return this.settle(key, current, observation, record, finalizer);
      }
      const entry: Entry = {
        key,
        env: observation.id,
        ...(route.url ? { sink: route.url } : {}),
        record: next,
      };
      await this.journal.stage(uid, entry, start.generation);
      // The outbox delivered before is replaced: its ids will not be seen again.
      this.delivered.delete(key);
      record = next;
      rebuilt = false;
      inJournal = true;
    }
  }

  /**
   * Announces the end of an XR that went before its record was checkpointed (nothing held it),
   * from its journal entry: what it still owed, its open incidents resolved, its tools removed, its
   * deletion, to the sink it had.
   */
  async announceGone(key: string, uid: string, entry: Entry, route: Route): Promise<void> {
    const observation: Observation = {
      uid,
      id: entry.env,
      deleting: true,
      gone: true,
      cluster: { ready: false },
      tools: [],
    };
    const generation = this.journal.held(uid).generation;
    const label = { environment: entry.env, uid };
    let record = entry.record;
    for (;;) {
      await this.deliver(`${key}#${uid}`, uid, label, record.outbox, route);
      if (announcesDeletion(record.outbox)) break;
      const next = planBatch(observation, record, this.options.source, this.options.now());
      await this.journal.stage(uid, { ...entry, record: next }, generation);
      record = next;
    }
    this.journal.gone(uid);
    this.delivered.delete(`${key}#${uid}`);
  }

  /**
   * The record to announce from: the journal's entry, else the XR's (read again first when the
   * cache may be older than the journal as read), else one rebuilt from what is observed.
   */
  private async start(
    key: string,
    xr: JsonObject,
    observation: Observation,
  ): Promise<Start | undefined> {
    const { uid } = observation;
    let current = xr;
    if (this.uncertain.has(key)) {
      const fresh = await this.store.read(key);
      this.uncertain.delete(key);
      if (!fresh || uidOf(fresh) !== uid) return undefined; // gone: its deletion is on its way
      current = fresh;
    }
    const held = this.journal.held(uid);
    const base = baseOf(readRecord(current, observation), held, observation.gone);
    const { generation } = held;
    if (base.kind !== 'lost') {
      return {
        xr: current,
        record: base.record,
        rebuilt: false,
        inJournal: base.kind === 'journal',
        generation,
      };
    }
    // Adopting what is observed announces nothing twice; the new epoch keeps future ids apart
    // from any sent before, which the unreadable record can no longer tell.
    const record = adoptObserved(observation, newEpoch(), base.salvage);
    this.options.onInvalidRecord?.();
    this.options.logger.warn(
      {
        xr: kindAndName(current),
        environment: observation.id,
        problems: base.problems,
        epoch: record.epoch,
      },
      'invalid record: rebuilt from what is observed',
    );
    return { xr: current, record, rebuilt: true, inJournal: false, generation };
  }

  /**
   * Nothing more to announce: once settled, the record is checkpointed onto the XR (with the
   * finalizer it needs), without the events this process delivered, and the journal drops the
   * entry. Nothing is written when the XR holds it already.
   */
  private async settle(
    key: string,
    xr: JsonObject,
    observation: Observation,
    record: Recorded,
    finalizer: Change['finalizer'],
  ): Promise<Announced> {
    const { uid } = observation;
    const held = this.journal.held(uid);
    const delivered = this.delivered.get(key);
    const sent = record.outbox.every(({ event }) => delivered?.ids.has(event.context.id));
    const onXr = readRecord(xr, observation);
    const holds =
      onXr.kind === 'valid' &&
      onXr.record.epoch === record.epoch &&
      onXr.record.seq === record.seq &&
      (onXr.record.outbox.length === 0 || !sent);
    if (holds && !finalizer) {
      if (held.entry) this.journal.checkpointed(uid, markOf(record));
      return { current: xr };
    }
    const settleInMs = this.settleInMs(key, uid);
    if (settleInMs > 0) return { current: xr, settleInMs };
    const written = await this.checkpoint(key, xr, record, sent ? [] : record.outbox, finalizer);
    // What was delivered stays remembered: until the journal drops the entry, it still has them.
    return written ? { current: written } : {};
  }

  /** Writes `record` onto the XR, naming the life of the journal shard it came through. */
  private async checkpoint(
    key: string,
    xr: JsonObject,
    record: Recorded,
    outbox: OutboxEntry[],
    finalizer: Change['finalizer'],
  ): Promise<JsonObject | undefined> {
    const uid = uidOf(xr);
    const held = this.journal.held(uid);
    const rest: Recorded = { ...record };
    delete rest.journal;
    const written = await this.store.write(key, xr, {
      record: { ...rest, outbox, journal: held.incarnation },
      ...(finalizer ? { finalizer } : {}),
    });
    if (written && held.entry) this.journal.checkpointed(uid, markOf(record));
    return written;
  }

  /**
   * Delivers the outbox; when the sink fails, a batch only the journal holds is checkpointed onto
   * the XR as it is (its outbox with it), so that the journal holds no batch for as long as a sink
   * is down.
   */
  private async deliverOrPark(
    key: string,
    xr: JsonObject,
    record: Recorded,
    inJournal: boolean,
    route: Route,
  ): Promise<void> {
    if (record.outbox.length === 0) return;
    const uid = uidOf(xr);
    try {
      await this.deliver(key, uid, { xr: kindAndName(xr) }, record.outbox, route);
    } catch (error) {
      if (inJournal) {
        await this.checkpoint(key, xr, record, record.outbox, undefined).catch(() => undefined);
      }
      throw error;
    }
    if (inJournal) this.journal.delivered(uid, markOf(record));
  }

  /**
   * From now on, checkpoints at once; returns the keys of XRs that do not hold their record yet.
   * Before a graceful stop: the XRs are the truth again, and the next leader has nothing to send.
   */
  settleNow(): string[] {
    this.settleMs = 0;
    return [...new Set([...this.journal.keysToCheckpoint(), ...this.delivered.keys()])];
  }

  /** How long until the record of `key` is settled (from its last delivery here); 0 once it is. */
  private settleInMs(key: string, uid: string): number {
    if (this.settleMs === 0) return 0;
    const now = this.options.now().getTime();
    let entry = this.delivered.get(key);
    if (entry?.uid !== uid) {
      entry = { uid, ids: new Set() };
      this.delivered.set(key, entry);
    }
    // Nothing delivered here (found so after a restart, or rebuilt): it settles from now.
    entry.at ??= now;
    return Math.max(0, entry.at + this.settleMs - now);
  }

  private async deliver(
    key: string,
    uid: string,
    label: Record<string, string>,
    outbox: OutboxEntry[],
    route: Route,
  ): Promise<void> {
    if (outbox.length === 0) return;
    let entry = this.delivered.get(key);
    if (entry?.uid !== uid) {
      entry = { uid, ids: new Set() };
      this.delivered.set(key, entry);
    }
    for (const { event, toDefault } of outbox) {
      if (entry.ids.has(event.context.id)) continue;
      await this.emit(event, toDefault ? undefined : route.url);
      entry.ids.add(event.context.id);
      entry.at = this.options.now().getTime();
      this.options.logger.info(
        { ...label, subject: event.subject.id, type: event.context.type, id: event.context.id },
        'emitted',
      );
    }
  }
}
