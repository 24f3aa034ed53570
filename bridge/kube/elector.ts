import type { Logger } from 'pino';
import type { JsonObject } from '../../common/objects.js';
import { ApiError, type ApiClient } from './api.js';
import {
  claimedSpec,
  leaseDecision,
  releasedSpec,
  sight,
  stillLeading,
  type LeaseSpec,
  type LeaseTiming,
  type Sighting,
} from './lease.js';

export interface ElectorOptions extends LeaseTiming {
  namespace: string;
  name: string;
  identity: string;
}

interface Lease extends JsonObject {
  metadata: { resourceVersion?: string };
  spec?: LeaseSpec;
}

/**
 * Tries for the Lease every retry period and, once leading, renews it as often. Every write is
 * guarded by the lease's resourceVersion, so of two candidates only one wins. `onLost` is called
 * once leadership is lost: the caller must stop acting as leader (the bridge exits).
 */
export class LeaderElector {
  private sighting: Sighting | undefined;
  private renewedAt = 0;
  private leading = false;
  private timer: NodeJS.Timeout | undefined;
  private inflight: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly path: string;

  constructor(
    private readonly api: ApiClient,
    private readonly options: ElectorOptions,
    private readonly onLeading: () => void,
    private readonly onLost: () => void,
    private readonly logger: Logger,
  ) {
    this.path = `/apis/coordination.k8s.io/v1/namespaces/${options.namespace}/leases/${options.name}`;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.inflight = this.tick();
  }

  private async read(): Promise<Lease | undefined> {
    try {
      return (await this.api.send(
        'GET',
        this.path,
        undefined,
        this.options.retryPeriodMs,
      )) as Lease;
    } catch (error) {
      if (error instanceof ApiError && error.code === 404) return undefined;
      throw error;
    }
  }

  private async tick(): Promise<void> {
    const started = Date.now();
    try {
      const lease = await this.read();
      this.sighting = sight(this.sighting, lease?.spec, started);
      const decision = leaseDecision(
        this.options.identity,
        lease?.spec,
        this.sighting,
        started,
        this.options,
      );
      if (decision === 'follow') {
        if (this.leading) this.lose('another candidate holds the lease');
      } else {
        const spec = claimedSpec(
          decision,
          this.options.identity,
          lease?.spec,
          this.options,
          new Date(),
        );
        await this.write(lease, spec);
        this.renewedAt = started;
        if (!this.leading && !this.stopped) {
          this.leading = true;
          this.logger.info({ identity: this.options.identity, lease: this.path }, 'leading');
          this.onLeading();
        }
      }
    } catch (error) {
      // A conflict is another candidate's write, which the next tick sees; anything else (no
      // RBAC for Leases, no such namespace) an operator must hear of.
      const conflict = error instanceof ApiError && error.code === 409;
      this.logger[conflict ? 'debug' : 'warn'](
        { err: (error as Error).message },
        'lease not acquired or renewed',
      );
    }
    if (this.leading && !stillLeading(this.renewedAt, Date.now(), this.options)) {
      this.lose(`not renewed for ${this.options.renewDeadlineMs} ms`);
    }
    if (!this.stopped) {
      this.timer = setTimeout(() => (this.inflight = this.tick()), this.options.retryPeriodMs);
    }
  }

  private async write(lease: Lease | undefined, spec: LeaseSpec): Promise<void> {
    const timeout = this.options.retryPeriodMs;
    if (!lease) {
      const body = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.options.name, namespace: this.options.namespace },
        spec,
      };
      await this.api.send('POST', this.path.replace(/\/[^/]+$/, ''), body, timeout);
      return;
    }
    // PUT carries the resourceVersion read: a write by anyone since fails with 409.
    await this.api.send('PUT', this.path, { ...lease, spec }, timeout);
  }

  private lose(why: string): void {
    this.leading = false;
    this.stopped = true;
    clearTimeout(this.timer);
    this.logger.error({ identity: this.options.identity, why }, 'lost the lease');
    this.onLost();
  }

  /** Stops trying; a leader gives the lease up so that the next candidate need not wait. */
  async release(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    // A renewal in flight would otherwise land after the release.
    await this.inflight;
    this.leading = false;
    try {
      const lease = await this.read();
      if (lease?.spec?.holderIdentity === this.options.identity) {
        await this.write(lease, releasedSpec(lease.spec, new Date()));
      }
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'could not release the lease');
    }
  }
}
