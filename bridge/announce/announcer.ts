import type { Logger } from 'pino';
import { kindAndName, type JsonObject } from '../../common/objects.js';
import type { Emit } from '../delivery/emitter.js';
import type { Route } from '../delivery/sink-route.js';
import { planBatch } from './batch.js';
import {
  adoptObserved,
  finalizerChange,
  hasFinalizer,
  newEpoch,
  readRecord,
  type Change,
} from './record.js';
import type { Observation, OutboxEntry, Recorded } from './transitions.js';

/** Where the announcer keeps its record: on the XR itself. */
export interface RecordStore {
  /**
   * Writes the record and/or the finalizer onto the XR of `key`, guarded by `xr`'s
   * resourceVersion: throws on a conflict. Returns the XR as written, undefined once it is gone.
   */
  write(key: string, xr: JsonObject, change: Change): Promise<JsonObject | undefined>;
}

export interface AnnouncerOptions {
  source: string;
  logger: Logger;
  /** Called for each record found invalid and rebuilt. */
  onInvalidRecord?: () => void;
  now: () => Date;
  /**
   * How long a delivered outbox waits for the next batch's write to clear it before it gets a
   * write of its own (at low priority). A restart within it sends those events again, same ids.
   */
  settleMs?: number;
}

export const DEFAULT_SETTLE_MS = 1_000;

/** What announcing left: the XR as last written (undefined once it is gone), and when to settle. */
export interface Announced {
  current?: JsonObject;
  /** While the delivered outbox is not cleared yet: when that is due. */
  settleInMs?: number;
}

/**
 * Compare with what was recorded → record → emit, for one XR. The events of a batch of transitions
 * are written into the record's outbox together with the state they announce, in one
 * resourceVersion-guarded patch, and only then delivered; the next write clears the outbox: the
 * next batch's, or, once settled, one of its own. A restart finds events in the outbox and sends
 * them again, with the same ids. Throws when an event cannot be delivered: the outbox stays, and
 * is retried.
 */
export class Announcer {
  /**
   * Outbox events this process has delivered, by XR key (for one uid), and when it last did: a
   * reconcile before the outbox is cleared (a retry after a conflict, a change while it settles)
   * does not send them again. Only an optimisation: the outbox is the truth, and after a restart
   * its events are sent again with their ids.
   */
  private readonly delivered = new Map<string, { uid: string; ids: Set<string>; at?: number }>();
  private settleMs: number;

  constructor(
    private readonly store: RecordStore,
    private readonly emit: Emit,
    private readonly options: AnnouncerOptions,
  ) {
    this.settleMs = options.settleMs ?? DEFAULT_SETTLE_MS;
  }

  /** The XR of `key` is gone: nothing of it is remembered. */
  forget(key: string): void {
    this.delivered.delete(key);
  }

  /** Announces what changed since the record of `xr`. */
  async announce(
    key: string,
    xr: JsonObject,
    observation: Observation,
    route: Route,
  ): Promise<Announced> {
    const read = this.recordOf(xr, observation);
    let record = read.record;
    let rebuilt = read.rebuilt;
    let current: JsonObject = xr;
    for (;;) {
      await this.deliver(key, current, record.outbox, route);
      const finalizer = finalizerChange(observation, hasFinalizer(current), record.outbox);
      if (finalizer === 'remove') {
        await this.store.write(key, current, { finalizer });
        this.delivered.delete(key);
        return {};
      }
      const next = planBatch(observation, record, this.options.source, this.options.now());
      if (next.outbox.length === 0 && !rebuilt && !finalizer) {
        if (record.outbox.length === 0) return { current };
        // Delivered, not cleared: the write that records the next batch clears it too, so under
        // load each batch costs one write; a quiet XR gets a write of its own once settled.
        const settleInMs = this.settleInMs(key);
        if (settleInMs > 0) return { current, settleInMs };
      }
      const written = await this.store.write(key, current, {
        record: next,
        ...(finalizer ? { finalizer } : {}),
      });
      // The outbox delivered is replaced: its ids will not be seen again.
      this.delivered.delete(key);
      if (!written || next.outbox.length === 0) return written ? { current: written } : {};
      current = written;
      record = next;
      rebuilt = false;
    }
  }

  /** The record of `xr`; an invalid one rebuilt from what is observed (then `rebuilt`). */
  private recordOf(
    xr: JsonObject,
    observation: Observation,
  ): { record: Recorded; rebuilt: boolean } {
    const read = readRecord(xr, observation);
    if (read.kind !== 'invalid') return { record: read.record, rebuilt: false };
    // Adopting what is observed announces nothing twice; the new epoch keeps future ids apart
    // from any sent before, which the unreadable record can no longer tell.
    const record = adoptObserved(observation, newEpoch(), read.salvage);
    this.options.onInvalidRecord?.();
    this.options.logger.warn(
      {
        xr: kindAndName(xr),
        environment: observation.id,
        problems: read.problems,
        epoch: record.epoch,
      },
      'invalid record: rebuilt from what is observed',
    );
    return { record, rebuilt: true };
  }

  /**
   * From now on, clears each delivered outbox at once; returns the keys that have one waiting.
   * Before a graceful stop: the next leader then has nothing to send again.
   */
  settleNow(): string[] {
    this.settleMs = 0;
    return [...this.delivered.keys()];
  }

  /** How long until the outbox this process delivered for `key` is settled; 0 once it is. */
  private settleInMs(key: string): number {
    const at = this.delivered.get(key)?.at;
    if (at === undefined) return 0;
    return Math.max(0, at + this.settleMs - this.options.now().getTime());
  }

  private async deliver(
    key: string,
    xr: JsonObject,
    outbox: OutboxEntry[],
    route: Route,
  ): Promise<void> {
    if (outbox.length === 0) return;
    const uid = String((xr.metadata as JsonObject).uid);
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
        {
          xr: kindAndName(xr),
          subject: event.subject.id,
          type: event.context.type,
          id: event.context.id,
        },
        'emitted',
      );
    }
  }
}
