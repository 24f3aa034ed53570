import type { Logger } from 'pino';
import type { JsonObject } from '../common/objects.js';
import type { CDEvent } from './cdevents.js';
import { eventFor } from './events.js';
import { FINALIZER, observe, readRecord, sinkOf } from './observe.js';
import { emptyRecord, nextTransition, type Recorded } from './transitions.js';

export type FinalizerChange = 'add' | 'remove';

/** Kubernetes as the reconciler needs it; the informer-backed implementation is in kube.ts. */
export interface Store {
  composite(key: string): JsonObject | undefined;
  composed(xr: JsonObject): JsonObject[];
  /** Writes the record onto the XR of `key` and returns the XR as written. */
  record(
    key: string,
    xr: JsonObject,
    record: Recorded,
    finalizer: FinalizerChange,
  ): Promise<JsonObject>;
}

export interface Emit {
  (event: CDEvent, sink: string | undefined): Promise<void>;
}

function hasFinalizer(xr: JsonObject): boolean {
  const finalizers = (xr.metadata as { finalizers?: string[] }).finalizers ?? [];
  return finalizers.includes(FINALIZER);
}

/**
 * Informer → compare with what was recorded → emit → record, one transition at a time, for one XR.
 * Throws when an event cannot be delivered: the transition stays unrecorded and is retried.
 */
export class Reconciler {
  /** The newest record written per XR uid, because the informer cache may not have it yet. */
  private readonly written = new Map<string, Recorded>();

  constructor(
    private readonly store: Store,
    private readonly emit: Emit,
    private readonly source: string,
    private readonly logger: Logger,
  ) {}

  private recordOf(xr: JsonObject): Recorded {
    const uid = String((xr.metadata as { uid?: string }).uid);
    let stored: Recorded;
    try {
      stored = readRecord(xr);
    } catch (error) {
      // Starting over re-sends the same ids (they derive from uid and sequence): consumers
      // deduplicate them, where retrying a record that never parses would stall the environment.
      this.logger.warn({ uid, err: (error as Error).message }, 'unreadable record; starting over');
      stored = emptyRecord();
    }
    const written = this.written.get(uid);
    return written && written.seq > stored.seq ? written : stored;
  }

  async reconcile(key: string): Promise<void> {
    let xr = this.store.composite(key);
    while (xr) {
      const recorded = this.recordOf(xr);
      const observation = observe(xr, this.store.composed(xr));
      const step = nextTransition(observation, recorded);
      this.logger.debug(
        { key, observation, seq: recorded.seq, next: step?.transition },
        'reconcile',
      );
      if (!step) {
        if (!observation.gone && !recorded.deleted && !hasFinalizer(xr)) {
          await this.store.record(key, xr, recorded, 'add');
        }
        return;
      }
      const event = eventFor(observation, recorded, step.transition, this.source);
      await this.emit(event, sinkOf(xr));
      const next: Recorded = { ...step.record, seq: recorded.seq + 1, last: event.context.id };
      this.written.set(observation.uid, next);
      this.logger.info(
        { environment: observation.id, type: event.context.type, id: event.context.id },
        'emitted',
      );
      xr = await this.store.record(key, xr, next, observation.gone ? 'remove' : 'add');
      if (observation.gone) {
        this.written.delete(observation.uid);
        return;
      }
    }
  }
}
