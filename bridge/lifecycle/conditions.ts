import { conditionOf, type Condition } from '../../common/health.js';
import { isObject, type JsonObject } from '../../common/objects.js';
import { kubernetesTime } from '../../common/time.js';

/** A status condition the bridge sets (on an XR or a claim), as Crossplane's conditions look. */
export interface OwnCondition {
  type: string;
  status: 'True' | 'False';
  reason: string;
  message: string;
}

/** Whether `current` says what `wanted` says (the time it was written aside). */
export function sameCondition(
  current: Condition | undefined,
  wanted: Omit<OwnCondition, 'type'>,
): boolean {
  return (
    current?.status === wanted.status &&
    current.reason === wanted.reason &&
    current.message === wanted.message
  );
}

/** Whether `object` shows `wanted` already, so that nothing needs writing. */
export function shows(object: JsonObject, wanted: OwnCondition): boolean {
  return sameCondition(conditionOf(object, wanted.type), wanted);
}

/**
 * A merge patch for the status subresource that sets `wanted` and keeps every other condition,
 * guarded by the resourceVersion read: a merge patch replaces the whole list, so without the
 * guard it could undo a condition written meanwhile.
 */
export function conditionPatch(object: JsonObject, wanted: OwnCondition, now: Date): JsonObject {
  const metadata = isObject(object.metadata) ? object.metadata : {};
  const status = isObject(object.status) ? object.status : {};
  const all = Array.isArray(status.conditions) ? status.conditions : [];
  const mine = (condition: unknown): condition is JsonObject =>
    isObject(condition) && condition.type === wanted.type;
  const previous = all.find(mine);
  // As Kubernetes conditions mean it: when the status last changed.
  const lastTransitionTime =
    previous?.status === wanted.status && typeof previous.lastTransitionTime === 'string'
      ? previous.lastTransitionTime
      : kubernetesTime(now);
  return {
    metadata: { resourceVersion: metadata.resourceVersion },
    status: {
      conditions: [...all.filter((c) => !mine(c)), { ...wanted, lastTransitionTime }],
    },
  };
}
