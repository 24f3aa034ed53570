/**
 * When an environment expires, and what the bridge does about it. Pure, with the clock passed in:
 * the reconciler acts on the answer and asks the work queue to come back at the next time that
 * matters, so thousands of environments cost one timer each and no polling.
 */
import type { Condition } from '../../common/health.js';
import { kubernetesTime } from '../../common/time.js';
import { sameCondition } from './conditions.js';

export const EXPIRING_REASON = 'TTLExpiring';
export const EXTENDED_REASON = 'TTLExtended';
/** Crossplane marks every condition the function did not return Unknown on a Fatal result. */
const FATAL_REASON = 'FatalError';

export interface ExpiryInput {
  /** status.expiresAt; undefined without spec.ttl (never expires). */
  expiresAt?: Date;
  /** Being deleted already: nothing left to do. */
  deleting: boolean;
  /** The function returned a Fatal result (the XR is Synced=False). */
  fatal: boolean;
  /** The Expiring condition on the XR now. */
  condition?: Condition;
  now: Date;
  /** How long before expiresAt to warn (BRIDGE_EXPIRY_WARNING). */
  leadMs: number;
}

/** The Expiring condition as the bridge writes it, on the XR and on its claim. */
export interface ExpiringCondition {
  status: 'True' | 'False';
  reason: string;
  message: string;
}

export interface ExpiryPlan {
  /** Announce that the environment expires at this time: once per value (the record keeps it). */
  warn?: string;
  /** Write this Expiring condition; undefined: leave the condition as it is. */
  condition?: ExpiringCondition;
  /** Delete the environment (its claim, or the XR without one). */
  expire: boolean;
  /** When to look again: the start of the warning window, or the expiry. */
  requeueAfterMs?: number;
}

export function planExpiry(input: ExpiryInput): ExpiryPlan {
  const { expiresAt, condition, now } = input;
  if (input.deleting) return { expire: false };
  // While a Fatal result stands, Crossplane sets the condition Unknown on every reconcile; writing
  // it back would only make the XR reconcile again. It is written once the Fatal is gone.
  const contested =
    input.fatal && condition?.status === 'Unknown' && condition.reason === FATAL_REASON;
  const write = (wanted: ExpiringCondition) =>
    !contested && !sameCondition(condition, wanted) ? { condition: wanted } : {};

  if (!expiresAt) {
    // A ttl removed after the warning: the environment no longer expires.
    return condition?.status === 'True'
      ? {
          expire: false,
          ...write({ status: 'False', reason: EXTENDED_REASON, message: 'no ttl: never expires' }),
        }
      : { expire: false };
  }
  const at = kubernetesTime(expiresAt);
  const untilExpiry = expiresAt.getTime() - now.getTime();
  const untilWarning = untilExpiry - input.leadMs;
  if (untilWarning > 0) {
    // Far from expiry; a warning given for an earlier time (the ttl was extended) is withdrawn.
    return {
      expire: false,
      ...(condition?.status === 'True'
        ? write({ status: 'False', reason: EXTENDED_REASON, message: `expires at ${at}` })
        : {}),
      requeueAfterMs: untilWarning,
    };
  }
  return {
    warn: at,
    ...write({
      status: 'True',
      reason: EXPIRING_REASON,
      message: `expires at ${at}, when it will be deleted`,
    }),
    expire: untilExpiry <= 0,
    ...(untilExpiry > 0 ? { requeueAfterMs: untilExpiry } : {}),
  };
}
