import type { Logger } from 'pino';
import { EXPIRING_CONDITION, readStatus } from '../common/contract.js';
import { conditionOf } from '../common/health.js';
import { kindAndName, type JsonObject } from '../common/objects.js';
import type { CDEvent } from './cdevents.js';
import { planBatch } from './batch.js';
import { claimRefOf, type Claims } from './claims.js';
import type { OwnCondition } from './conditions.js';
import { planExpiry } from './expiry.js';
import { hasFinalizer, observe, sinkOf } from './observe.js';
import type { Outcome } from './queue.js';
import { adoptObserved, finalizerChange, newEpoch, readRecord } from './record.js';
import { routeSink, type Route } from './sinks.js';
import type { Observation, OutboxEntry, Recorded } from './transitions.js';

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
  /** Sets a condition on the XR's status, guarded the same way. */
  writeCondition(
    key: string,
    xr: JsonObject,
    condition: OwnCondition,
    now: Date,
  ): Promise<JsonObject | undefined>;
  /** Deletes the XR, if it is still `xr` (its uid). */
  deleteComposite(key: string, xr: JsonObject): Promise<void>;
}

export interface Emit {
  (event: CDEvent, sink: string | undefined): Promise<void>;
}

export interface ReconcilerOptions {
  source: string;
  /** Hosts a claim's sink may name. */
  sinkAllow: readonly string[];
  /** How long before status.expiresAt to warn (BRIDGE_EXPIRY_WARNING). */
  expiryWarningMs: number;
  logger: Logger;
  /** Called for each record found invalid and rebuilt. */
  onInvalidRecord?: () => void;
  /** The clock expiry is judged by. */
  now?: () => Date;
  /**
   * How long a delivered outbox waits for the next batch's write to clear it before it gets a
   * write of its own (at low priority). A restart within it sends those events again, same ids.
   */
  settleMs?: number;
}

export const DEFAULT_SETTLE_MS = 1_000;

/**
 * Informer → compare with what was recorded → record → emit, for one XR. The events of a batch
 * of transitions are written into the record's outbox together with the state they announce, in
 * one resourceVersion-guarded patch, and only then delivered; the next write clears the outbox:
 * the next batch's, or, once settled, one of its own. A restart finds events in the outbox and
 * sends them again, with the same ids. Throws when an event cannot be delivered: the outbox
 * stays, and is retried.
 *
 * Then the environment's lifecycle: once status.expiresAt is near, the Expiring condition on the
 * XR and its claim (the warning event went with the announcements); once it has passed, the
 * claim (or the XR without one) is deleted. The answer says when to look again.
 */
export class Reconciler {
  /**
   * Outbox events this process has delivered, by XR key (for one uid), and when it last did: a
   * reconcile before the outbox is cleared (a retry after a conflict, a change while it settles)
   * does not send them again. Only an optimisation: the outbox is the truth, and after a restart
   * its events are sent again with their ids.
   */
  private readonly delivered = new Map<string, { uid: string; ids: Set<string>; at?: number }>();
  private readonly now: () => Date;
  private settleMs: number;

  constructor(
    private readonly store: Store,
    private readonly claims: Claims,
    private readonly emit: Emit,
    private readonly options: ReconcilerOptions,
  ) {
    this.now = options.now ?? (() => new Date());
    this.settleMs = options.settleMs ?? DEFAULT_SETTLE_MS;
  }

  async reconcile(key: string): Promise<Outcome> {
    const xr = this.store.composite(key);
    if (!xr) {
      this.delivered.delete(key);
      return {};
    }
    const route = routeSink(sinkOf(xr), this.options.sinkAllow);
    const observed = observe(xr, this.store.composed(xr));
    const now = this.now();
    const expiry = planExpiry({
      expiresAt: readStatus(xr.status).expiresAt,
      deleting: observed.deleting,
      fatal: observed.fatal !== undefined,
      condition: conditionOf(xr, EXPIRING_CONDITION),
      now,
      leadMs: this.options.expiryWarningMs,
    });
    const observation: Observation = {
      ...observed,
      ...(route.problem ? { sinkProblem: route.problem } : {}),
      ...(expiry.warn ? { expiring: expiry.warn } : {}),
    };

    const announced = await this.announce(key, xr, observation, route);
    let current = announced.current;
    if (!current) return {};
    const claim = claimRefOf(current);
    if (expiry.condition) {
      const condition = { type: EXPIRING_CONDITION, ...expiry.condition };
      // The claim first: the XR's condition is what says that both are written.
      if (claim) await this.claims.setCondition(claim, condition, now);
      current = await this.store.writeCondition(key, current, condition, now);
      if (!current) return {};
    }
    if (expiry.expire) {
      this.options.logger.info(
        { xr: kindAndName(current), environment: observation.id, expiresAt: expiry.warn },
        claim ? 'expired: deleting its claim' : 'expired: deleting it',
      );
      if (claim) await this.claims.delete(claim, String((current.metadata as JsonObject).name));
      else await this.store.deleteComposite(key, current);
    }
    const { settleInMs } = announced;
    const expiryInMs = expiry.requeueAfterMs ?? Infinity;
    if (settleInMs !== undefined && settleInMs < expiryInMs) {
      return { requeueAfterMs: settleInMs, lowPriority: true };
    }
    return expiryInMs === Infinity ? {} : { requeueAfterMs: expiryInMs };
  }

  /**
   * Announces what changed; the XR as last written (undefined once it is gone) and, while its
   * delivered outbox is not cleared yet, when that is due.
   */
  private async announce(
    key: string,
    xr: JsonObject,
    observation: Observation,
    route: Route,
  ): Promise<{ current?: JsonObject; settleInMs?: number }> {
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

    let current: JsonObject = xr;
    for (;;) {
      await this.deliver(key, current, record.outbox, route);
      const finalizer = finalizerChange(observation, hasFinalizer(current), record.outbox);
      if (finalizer === 'remove') {
        await this.store.write(key, current, { finalizer });
        this.delivered.delete(key);
        return {};
      }
      const next = planBatch(observation, record, this.options.source, this.now());
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
    return Math.max(0, at + this.settleMs - this.now().getTime());
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
      entry.at = this.now().getTime();
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
