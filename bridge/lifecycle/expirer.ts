import type { Logger } from 'pino';
import { EXPIRING_CONDITION } from '../../common/contract.js';
import { kindAndName, type JsonObject } from '../../common/objects.js';
import { claimRefOf, type Claims } from './claims.js';
import type { OwnCondition } from './conditions.js';
import type { ExpiryPlan } from './expiry.js';

/** What the expirer writes onto an XR, and deletes. */
export interface LifecycleStore {
  /** Sets a condition on the XR's status, guarded by `xr`'s resourceVersion: throws on a conflict. */
  writeCondition(
    key: string,
    xr: JsonObject,
    condition: OwnCondition,
    now: Date,
  ): Promise<JsonObject | undefined>;
  /** Deletes the XR, if it is still `xr` (its uid). */
  deleteComposite(key: string, xr: JsonObject): Promise<void>;
}

/**
 * The environment's end, as planExpiry decided it: once status.expiresAt is near, the Expiring
 * condition on the XR and its claim (the warning event goes with the announcements); once it has
 * passed, the claim (or the XR without one) is deleted.
 */
export class Expirer {
  constructor(
    private readonly store: LifecycleStore,
    private readonly claims: Claims,
    private readonly logger: Logger,
  ) {}

  /**
   * Carries out `plan` for the XR of `key` (`environment` names it in logs); returns the XR as last
   * written, undefined once it is gone.
   */
  async carryOut(
    key: string,
    xr: JsonObject,
    plan: ExpiryPlan,
    environment: string,
    now: Date,
  ): Promise<JsonObject | undefined> {
    let current: JsonObject | undefined = xr;
    const claim = claimRefOf(xr);
    if (plan.condition) {
      const condition = { type: EXPIRING_CONDITION, ...plan.condition };
      // The claim first: the XR's condition is what says that both are written.
      if (claim) await this.claims.setCondition(claim, condition, now);
      current = await this.store.writeCondition(key, xr, condition, now);
      if (!current) return undefined;
    }
    if (plan.expire) {
      this.logger.info(
        { xr: kindAndName(current), environment, expiresAt: plan.warn },
        claim ? 'expired: deleting its claim' : 'expired: deleting it',
      );
      if (claim) await this.claims.delete(claim, String((current.metadata as JsonObject).name));
      else await this.store.deleteComposite(key, current);
    }
    return current;
  }
}
