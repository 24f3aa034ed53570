/**
 * One pass over one XR, as the work queue runs it: what is observed is announced (announce/), then
 * the environment's end is carried out (lifecycle/). The one place both rooms meet.
 */
import type { Logger } from 'pino';
import { EXPIRING_CONDITION, readStatus } from '../common/contract.js';
import { conditionOf } from '../common/health.js';
import type { JsonObject } from '../common/objects.js';
import { Announcer, type RecordStore } from './announce/announcer.js';
import type { Journal, Listed } from './announce/journal-shards.js';
import { observe, sinkOf } from './announce/observe.js';
import { recordJournal, recordPatch } from './announce/record.js';
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
  /** Every XR as the API server has it now, under its key (for the journal's load). */
  list(): Promise<(Listed & { key: string; resourceVersion: string })[]>;
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
    private readonly journal: Journal,
    private readonly options: ReconcilerOptions,
  ) {
    this.now = options.now ?? (() => new Date());
    this.announcer = new Announcer(store, journal, emit, {
      source: options.source,
      logger: options.logger,
      now: this.now,
      ...(options.onInvalidRecord ? { onInvalidRecord: options.onInvalidRecord } : {}),
      ...(options.settleMs !== undefined ? { settleMs: options.settleMs } : {}),
    });
    this.expirer = new Expirer(store, claims, options.logger);
  }

  /**
   * Reads the journal (once leading, before anything is reconciled); returns the keys whose XR
   * went while it still had an entry: its end is announced from there.
   */
  async loadJournal(): Promise<string[]> {
    return this.journal.load(() => this.fence());
  }

  /**
   * Lists every XR from the API server, after the journal was read: an XR the cache shows at
   * another version (older, or newer: versions cannot be compared) is read again before its next
   * reconcile, so that none is judged on a cache older than the journal as read.
   */
  private async fence(): Promise<Listed[]> {
    const listed = await this.store.list();
    for (const { key, resourceVersion } of listed) {
      const cached = this.store.composite(key)?.metadata as JsonObject | undefined;
      if (cached?.resourceVersion !== resourceVersion) this.announcer.doubt(key);
    }
    return listed;
  }

  async reconcile(key: string): Promise<Outcome> {
    const xr = this.store.composite(key);
    const uid = xr ? String((xr.metadata as JsonObject).uid) : undefined;
    for (const orphan of this.journal.entriesOf(key, uid)) {
      // Gone for sure only if the API server says so: the cache may lag behind a new XR.
      const fresh = await this.store.read(key);
      if (fresh && (fresh.metadata as JsonObject).uid === orphan.uid) continue;
      const route = routeSink(orphan.entry.sink, this.options.sinkAllow);
      await this.announcer.announceGone(key, orphan.uid, orphan.entry, route);
    }
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
   * From now on, checkpoints at once; returns the keys of XRs that do not hold their record yet.
   * Before a graceful stop: the XRs are the truth again, and the next leader has nothing to send.
   */
  settleNow(): string[] {
    return this.announcer.settleNow();
  }

  /** Writes what the journal still has to (its entries dropped): before a graceful stop. */
  async flushJournal(): Promise<void> {
    if (this.journal.loaded) await this.journal.flushAll();
  }
}

/** The Store over the informers: the record and the bridge's conditions as guarded patches. */
export function kubeStore(informers: CompositeInformers): Store {
  return {
    composite: (key) => informers.composite(key),
    composed: (xr) => informers.composed(xr),
    read: (key) => informers.read(key),
    list: async () =>
      (await informers.list()).map(({ key, xr }) => {
        const metadata = xr.metadata as JsonObject;
        const journal = recordJournal(xr);
        return {
          key,
          uid: String(metadata.uid),
          resourceVersion: String(metadata.resourceVersion),
          ...(journal ? { journal } : {}),
        };
      }),
    write: (key, xr, change) =>
      informers.patch(key, xr, '', recordPatch(xr, change), change.finalizer === 'remove'),
    writeCondition: (key, xr, condition, now) =>
      informers.patch(key, xr, '/status', conditionPatch(xr, condition, now), false),
    deleteComposite: (key, xr) => informers.deleteComposite(key, xr),
  };
}
