import { isObject, type JsonObject } from './objects.js';

export interface ObservedResource {
  resource: JsonObject;
  connectionDetails: Record<string, Buffer>;
}

export type Health =
  | { state: 'absent' }
  | { state: 'progressing'; message?: string }
  | { state: 'ready' }
  | { state: 'failed'; message: string };

export interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
}

/** The condition of `type`, its fields kept only where they have the type Kubernetes gives them. */
export function conditionOf(resource: JsonObject, type: string): Condition | undefined {
  const status = isObject(resource.status) ? resource.status : {};
  const conditions = Array.isArray(status.conditions) ? status.conditions : [];
  const found = conditions.find((c): c is JsonObject => isObject(c) && c.type === type);
  if (!found) return undefined;
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  return {
    type,
    status: text(found.status),
    reason: text(found.reason),
    message: text(found.message),
    observedGeneration:
      typeof found.observedGeneration === 'number' ? found.observedGeneration : undefined,
  };
}

/**
 * Health of a managed resource from its Crossplane conditions: Ready=True is ready; a failed
 * reconcile (Synced=False) or Ready=False for a reason other than still creating or deleting is a
 * failure; anything else is still in progress.
 */
export function healthOf(observed: ObservedResource | undefined): Health {
  if (!observed) return { state: 'absent' };
  const ready = conditionOf(observed.resource, 'Ready');
  if (ready?.status === 'True' && !stale(observed.resource, ready)) return { state: 'ready' };
  const synced = conditionOf(observed.resource, 'Synced');
  if (synced?.status === 'False') {
    const secret = missingConnectionSecret(observed.resource, synced);
    if (secret) return { state: 'progressing', message: `waiting for ${secret} to be written` };
    return { state: 'failed', message: synced.message || synced.reason || 'reconcile failed' };
  }
  if (ready?.status === 'False' && ready.reason && !PROGRESSING_REASONS.has(ready.reason)) {
    return { state: 'failed', message: ready.message || ready.reason };
  }
  return ready?.message
    ? { state: 'progressing', message: ready.message }
    : { state: 'progressing' };
}

/**
 * provider-helm reads a Release's connection details once the release is deployed, and until the
 * chart's workload has written the Secret they come from (vcluster's kubeconfig, written once its
 * control plane is up) every observe fails: `…: cannot get connection details: cannot get object:
 * secrets "vc-vcluster" not found`. That is the resource coming up, not failing, if the Secret is
 * one the resource itself names in `spec.connectionDetails`. Returns that Secret, as a message
 * names it.
 */
function missingConnectionSecret(resource: JsonObject, synced: Condition): string | undefined {
  const missing = CONNECTION_SECRET_MISSING.exec(synced.message ?? '')?.[1];
  if (synced.reason !== 'ReconcileError' || missing === undefined) return undefined;
  const spec = isObject(resource.spec) ? resource.spec : {};
  const details = Array.isArray(spec.connectionDetails) ? spec.connectionDetails : [];
  const named = details.find(
    (detail): detail is JsonObject =>
      isObject(detail) && detail.kind === 'Secret' && detail.name === missing,
  );
  if (!named) return undefined;
  return typeof named.namespace === 'string'
    ? `Secret ${named.namespace}/${missing}`
    : `Secret ${missing}`;
}

const CONNECTION_SECRET_MISSING =
  /cannot get connection details: cannot get object: secrets "([^"]+)" not found/;

/** A condition written for an older generation says nothing about the current spec. */
function stale(resource: JsonObject, observed: Condition): boolean {
  const metadata = isObject(resource.metadata) ? resource.metadata : {};
  return (
    typeof observed.observedGeneration === 'number' &&
    typeof metadata.generation === 'number' &&
    observed.observedGeneration < metadata.generation
  );
}

const PROGRESSING_REASONS = new Set(['Creating', 'Deleting', 'Unavailable']);
