/**
 * One pass over one XR, as the work queue runs it: what is observed is announced (announce/), then
 * the environment's end is carried out (lifecycle/). The one place both rooms meet.
 */
import type { Logger } from 'pino';
import { EXPIRING_CONDITION, readStatus } from '../common/contract.js';
import { conditionOf } from '../common/health.js';
import type { JsonObject } from '../common/objects.js';
import { Announcer, type RecordStore } from './announce/announcer.js';
import { observe, sinkOf } from './announce/observe.js';
import { recordPatch } from './announce/record.js';
import type { Observation } from './announce/transitions.js';
import type { Emit } from './delivery/emitter.js';
import { routeSink } from './delivery/sink-route.js';
import type { CompositeInformers } from './kube/informers.js';
import type { Outcome } from './kube/queue.js';
import type { Claims } from './lifecycle/claims.js';
import { conditionPatch } from './lifecycle/conditions.js';
import { Expirer, type LifecycleStore } from './lifecycle/expirer.js';
import { planExpiry } from './lifecycle/expiry.js';

/** Kubernetes as the reconciler needs it; kubeStore() makes it of the informers. */
export interface Store extends RecordStore, LifecycleStore {
  composite(key: string): JsonObject | undefined;
  composed(xr: JsonObject): JsonObject[];
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
  /** See AnnouncerOptions.settleMs. */
  settleMs?: number;
}

/**
 * Announces what changed of an XR (announce/announcer.ts), then acts on its expiry
 * (lifecycle/expirer.ts). The answer says when to look again.
 */
export class Reconciler {
  private readonly announcer: Announcer;
  private readonly expirer: Expirer;
  private readonly now: () => Date;

  constructor(
    private readonly store: Store,
    claims: Claims,
    emit: Emit,
    private readonly options: ReconcilerOptions,
  ) {
    this.now = options.now ?? (() => new Date());
    this.announcer = new Announcer(store, emit, {
      source: options.source,
      logger: options.logger,
      now: this.now,
      ...(options.onInvalidRecord ? { onInvalidRecord: options.onInvalidRecord } : {}),
      ...(options.settleMs !== undefined ? { settleMs: options.settleMs } : {}),
    });
    this.expirer = new Expirer(store, claims, options.logger);
  }

  async reconcile(key: string): Promise<Outcome> {
    const xr = this.store.composite(key);
    if (!xr) {
      this.announcer.forget(key);
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

    const announced = await this.announcer.announce(key, xr, observation, route);
    if (!announced.current) return {};
    const current = await this.expirer.carryOut(
      key,
      announced.current,
      expiry,
      observation.id,
      now,
    );
    if (!current) return {};
    const { settleInMs } = announced;
    const expiryInMs = expiry.requeueAfterMs ?? Infinity;
    if (settleInMs !== undefined && settleInMs < expiryInMs) {
      return { requeueAfterMs: settleInMs, lowPriority: true };
    }
    return expiryInMs === Infinity ? {} : { requeueAfterMs: expiryInMs };
  }

  /**
   * From now on, clears each delivered outbox at once; returns the keys that have one waiting.
   * Before a graceful stop: the next leader then has nothing to send again.
   */
  settleNow(): string[] {
    return this.announcer.settleNow();
  }
}

/** The Store over the informers: the record and the bridge's conditions as guarded patches. */
export function kubeStore(informers: CompositeInformers): Store {
  return {
    composite: (key) => informers.composite(key),
    composed: (xr) => informers.composed(xr),
    write: (key, xr, change) =>
      informers.patch(key, xr, '', recordPatch(xr, change), change.finalizer === 'remove'),
    writeCondition: (key, xr, condition, now) =>
      informers.patch(key, xr, '/status', conditionPatch(xr, condition, now), false),
    deleteComposite: (key, xr) => informers.deleteComposite(key, xr),
  };
}
