import type { Logger } from 'pino';
import { kindAndName, type JsonObject } from '../common/objects.js';
import type { CDEvent } from './cdevents.js';
import { planBatch } from './batch.js';
import { hasFinalizer, observe, sinkOf } from './observe.js';
import { adoptObserved, finalizerChange, newEpoch, readRecord } from './record.js';
import { routeSink, type Route } from './sinks.js';
import type { OutboxEntry, Recorded } from './transitions.js';

export interface Change {
  record?: Recorded;
  finalizer?: 'add' | 'remove';
}

/** Kubernetes as the reconciler needs it; the informer-backed implementation is in kube.ts. */
export interface Store {
  composite(key: string): JsonObject | undefined;
  composed(xr: JsonObject): JsonObject[];
  /**
   * Writes the record and/or the finalizer onto the XR of `key`, guarded by `xr`'s
   * resourceVersion: throws on a conflict. Returns the XR as written, undefined once it is gone.
   */
  write(key: string, xr: JsonObject, change: Change): Promise<JsonObject | undefined>;
}

export interface Emit {
  (event: CDEvent, sink: string | undefined): Promise<void>;
}

export interface ReconcilerOptions {
  source: string;
  /** Hosts a claim's sink may name. */
  sinkAllow: readonly string[];
  logger: Logger;
  /** Called for each record found invalid and rebuilt. */
  onInvalidRecord?: () => void;
}

/**
 * Informer → compare with what was recorded → record → emit, for one XR. The events of a batch
 * of transitions are written into the record's outbox together with the state they announce, in
 * one resourceVersion-guarded patch, and only then delivered; the next write clears the outbox. A
 * restart finds undelivered events in the outbox and sends them again, with the same ids. Throws
 * when an event cannot be delivered: the outbox stays, and is retried.
 */
export class Reconciler {
  constructor(
    private readonly store: Store,
    private readonly emit: Emit,
    private readonly options: ReconcilerOptions,
  ) {}

  async reconcile(key: string): Promise<void> {
    let xr = this.store.composite(key);
    if (!xr) return;
    const route = routeSink(sinkOf(xr), this.options.sinkAllow);
    const observation = {
      ...observe(xr, this.store.composed(xr)),
      ...(route.problem ? { sinkProblem: route.problem } : {}),
    };
    const read = readRecord(xr, observation);
    let record: Recorded;
    let rebuilt = false;
    if (read.kind === 'invalid') {
      // Adopting what is observed announces nothing twice; the new epoch keeps future ids apart
      // from any sent before, which the unreadable record can no longer tell.
      record = adoptObserved(observation, newEpoch(), read.salvage);
      rebuilt = true;
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
    } else {
      record = read.record;
    }

    for (;;) {
      await this.deliver(xr, record.outbox, route);
      const finalizer = finalizerChange(observation, hasFinalizer(xr), record.outbox);
      if (finalizer === 'remove') {
        await this.store.write(key, xr, { finalizer });
        return;
      }
      const next = planBatch(observation, record, this.options.source, new Date());
      if (next.outbox.length === 0 && record.outbox.length === 0 && !rebuilt && !finalizer) {
        return;
      }
      const written = await this.store.write(key, xr, {
        record: next,
        ...(finalizer ? { finalizer } : {}),
      });
      if (!written || next.outbox.length === 0) return;
      xr = written;
      record = next;
      rebuilt = false;
    }
  }

  private async deliver(xr: JsonObject, outbox: OutboxEntry[], route: Route): Promise<void> {
    for (const { event, toDefault } of outbox) {
      await this.emit(event, toDefault ? undefined : route.url);
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
