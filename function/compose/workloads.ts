/**
 * Whether a workload serves, from the object as its API server returns it: the checks Helm's
 * kstatus wait makes, made again for as long as the environment exists. Pure: the objects come
 * from provider-kubernetes Objects (`status.atProvider.manifest`).
 */
import { conditionOf } from '../../common/health.js';
import { isObject, type JsonObject } from '../../common/objects.js';
import type { WorkloadKind } from '../input/model.js';

export type WorkloadState =
  | { state: 'ready' }
  | { state: 'starting'; message: string }
  | { state: 'failed'; message: string };

const READY: WorkloadState = { state: 'ready' };
const starting = (message: string): WorkloadState => ({ state: 'starting', message });

export function workloadState(kind: WorkloadKind, object: JsonObject): WorkloadState {
  const status = isObject(object.status) ? object.status : {};
  if (kind === 'Job') return jobState(object);
  // A status written for an older generation says nothing about the current spec.
  const metadata = isObject(object.metadata) ? object.metadata : {};
  const observedGeneration = count(status.observedGeneration);
  const generation = count(metadata.generation);
  if (observedGeneration === undefined || (generation ?? 0) > observedGeneration) {
    return starting('not yet seen by its controller');
  }
  const spec = isObject(object.spec) ? object.spec : {};
  // The API server defaults replicas to 1.
  const desired = count(spec.replicas) ?? 1;
  switch (kind) {
    case 'Deployment':
      return deploymentState(object, status, desired);
    case 'StatefulSet': {
      const ready = count(status.readyReplicas) ?? 0;
      return ready >= desired ? READY : starting(`${ready} of ${desired} replicas ready`);
    }
    case 'DaemonSet': {
      const scheduled = count(status.desiredNumberScheduled) ?? 0;
      const ready = count(status.numberReady) ?? 0;
      return ready >= scheduled ? READY : starting(`${ready} of ${scheduled} pods ready`);
    }
  }
}

function deploymentState(object: JsonObject, status: JsonObject, desired: number): WorkloadState {
  const updated = count(status.updatedReplicas) ?? 0;
  const available = count(status.availableReplicas) ?? 0;
  const total = count(status.replicas) ?? updated;
  const progressing = conditionOf(object, 'Progressing');
  // Still "starting": the deadline only says Kubernetes stopped expecting progress; pods that
  // pull their image late still become available.
  const stuck =
    progressing?.reason === 'ProgressDeadlineExceeded' ? ' (progress deadline exceeded)' : '';
  if (updated < desired) return starting(`${updated} of ${desired} replicas updated${stuck}`);
  if (available < desired) return starting(`${available} of ${desired} replicas available${stuck}`);
  if (total > updated) return starting(`${total - updated} old replicas still running${stuck}`);
  if (conditionOf(object, 'Available')?.status !== 'True') return starting('not Available');
  return READY;
}

function jobState(object: JsonObject): WorkloadState {
  if (conditionOf(object, 'Complete')?.status === 'True') return READY;
  const failed = conditionOf(object, 'Failed');
  if (failed?.status === 'True') {
    return {
      state: 'failed',
      message: `failed: ${failed.message || failed.reason || 'no reason given'}`,
    };
  }
  return starting('not complete');
}

/** A non-negative integer field; undefined when missing or of another type. */
function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined;
}
