/**
 * A tool's status from what is observed of it: its Release, and the Observe-only Objects that read
 * the workloads its catalogue entry lists. Helm's "deployed" is not "serving" (provider-helm#214,
 * #329), so a tool is Ready only once its Release is and every listed workload is available.
 */
import type { ToolStatus } from '../../common/contract.js';
import { conditionOf, healthOf, type Health, type ObservedResource } from '../../common/health.js';
import { isObject } from '../../common/objects.js';
import type { ReadinessCheck } from '../input/model.js';
import { workloadState, type WorkloadState } from './workloads.js';

export type ToolState = Pick<ToolStatus, 'ready' | 'phase' | 'message'>;

/** `Deployment cert-manager/cert-manager-webhook`, as messages name a check. */
export const describeCheck = (check: ReadinessCheck) =>
  `${check.kind} ${check.namespace}/${check.name}`;

/**
 * A tool Release's health. Helm marks a release `failed` when its install or upgrade fails, such
 * as when the workloads are not ready within `waitTimeout`; provider-helm then reports it merely
 * unavailable (Ready=False, Synced=True) on every later observe, which would read as installing
 * forever.
 */
export function releaseHealth(observed: ObservedResource | undefined): Health {
  const health = healthOf(observed);
  if (health.state !== 'progressing') return health;
  const status = isObject(observed!.resource.status) ? observed!.resource.status : {};
  const atProvider = isObject(status.atProvider) ? status.atProvider : {};
  if (atProvider.state !== 'failed') return health;
  const description = atProvider.releaseDescription;
  return {
    state: 'failed',
    message: `Helm release failed${typeof description === 'string' && description !== '' ? `: ${description}` : ''}`,
  };
}

/**
 * provider-kubernetes' error for an Observe-only Object whose object does not exist (yet): a
 * workload an operator creates after the chart is installed, for one.
 */
const OBJECT_MISSING = 'external resource does not exist';

/** What the Observe-only Object composed for `check` says of its workload. */
export function checkState(
  check: ReadinessCheck,
  observed: ObservedResource | undefined,
): WorkloadState {
  if (!observed) return { state: 'starting', message: 'not read yet' };
  const synced = conditionOf(observed.resource, 'Synced');
  if (synced?.status === 'False') {
    if (synced.message?.includes(OBJECT_MISSING)) {
      return { state: 'starting', message: 'does not exist yet' };
    }
    return { state: 'failed', message: synced.message || synced.reason || 'cannot be read' };
  }
  const status = isObject(observed.resource.status) ? observed.resource.status : {};
  const atProvider = isObject(status.atProvider) ? status.atProvider : {};
  const manifest = atProvider.manifest;
  // Read before the catalogue named another object: not this one's state.
  if (!isObject(manifest) || !isCheckedObject(manifest, check)) {
    return { state: 'starting', message: 'not read yet' };
  }
  return workloadState(check.kind, manifest);
}

function isCheckedObject(manifest: Record<string, unknown>, check: ReadinessCheck): boolean {
  const metadata = isObject(manifest.metadata) ? manifest.metadata : {};
  return (
    manifest.kind === check.kind &&
    metadata.name === check.name &&
    metadata.namespace === check.namespace
  );
}

/**
 * The tool's state from its Release's health and, once that is ready, its checks' states (in the
 * catalogue's order): the first failed check fails the tool, the first not yet available one is
 * named while it starts.
 */
export function toolState(
  release: Health,
  checks: readonly { check: ReadinessCheck; state: WorkloadState }[],
): ToolState {
  switch (release.state) {
    case 'failed':
      return { ready: false, phase: 'Failed', message: release.message };
    case 'absent':
      return { ready: false, phase: 'Installing', message: 'installing' };
    case 'progressing':
      return { ready: false, phase: 'Installing', message: release.message ?? 'installing' };
    case 'ready':
      break;
  }
  const failed = checks.find(({ state }) => state.state === 'failed');
  if (failed?.state.state === 'failed') {
    return {
      ready: false,
      phase: 'Failed',
      message: `${describeCheck(failed.check)}: ${failed.state.message}`,
    };
  }
  const waiting = checks.filter(({ state }) => state.state === 'starting');
  const [first] = waiting;
  if (first?.state.state === 'starting') {
    const more = waiting.length > 1 ? ` (and ${waiting.length - 1} more)` : '';
    return {
      ready: false,
      phase: 'Starting',
      message: `waiting for ${describeCheck(first.check)}: ${first.state.message}${more}`,
    };
  }
  return { ready: true, phase: 'Ready' };
}
