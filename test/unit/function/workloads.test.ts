import { describe, expect, it } from 'vitest';
import type { WorkloadKind } from '../../../function/input/model.js';
import { workloadState, type WorkloadState } from '../../../function/compose/workloads.js';

type Obj = Record<string, unknown>;

const condition = (type: string, status: string, extra: Obj = {}) => ({ type, status, ...extra });

/** A Deployment of 2 replicas, all updated and available, as its controller last wrote it. */
function deployment({ spec = {}, status = {}, metadata = {} }: Obj = {}): Obj {
  return {
    metadata: { generation: 3, ...(metadata as Obj) },
    spec: { replicas: 2, ...(spec as Obj) },
    status: {
      observedGeneration: 3,
      replicas: 2,
      updatedReplicas: 2,
      availableReplicas: 2,
      conditions: [condition('Available', 'True'), condition('Progressing', 'True')],
      ...(status as Obj),
    },
  };
}
const statefulSet = (replicas: number, readyReplicas: number) => ({
  metadata: { generation: 1 },
  spec: { replicas },
  status: { observedGeneration: 1, readyReplicas },
});
const daemonSet = (desiredNumberScheduled: number, numberReady: number) => ({
  metadata: { generation: 2 },
  status: { observedGeneration: 2, desiredNumberScheduled, numberReady },
});
const starting = (message: string): WorkloadState => ({ state: 'starting', message });
const READY: WorkloadState = { state: 'ready' };

describe('workload readiness', () => {
  const table: { name: string; input: { kind: WorkloadKind; object: Obj }; want: WorkloadState }[] =
    [
      {
        name: 'a Deployment with every replica updated and available',
        input: { kind: 'Deployment', object: deployment() },
        want: READY,
      },
      {
        name: 'a Deployment whose spec changed since its controller looked',
        input: { kind: 'Deployment', object: deployment({ metadata: { generation: 4 } }) },
        want: starting('not yet seen by its controller'),
      },
      {
        name: 'a Deployment no controller has looked at (no status)',
        input: { kind: 'Deployment', object: { metadata: { generation: 1 }, spec: {} } },
        want: starting('not yet seen by its controller'),
      },
      {
        name: 'a Deployment rolling out: not every replica updated',
        input: { kind: 'Deployment', object: deployment({ status: { updatedReplicas: 1 } }) },
        want: starting('1 of 2 replicas updated'),
      },
      {
        name: 'a Deployment whose pods are not ready (no kubelet has run them)',
        input: { kind: 'Deployment', object: deployment({ status: { availableReplicas: 0 } }) },
        want: starting('0 of 2 replicas available'),
      },
      {
        name: 'a Deployment whose counts are missing counts none',
        input: {
          kind: 'Deployment',
          object: deployment({ status: { updatedReplicas: undefined, availableReplicas: '2' } }),
        },
        want: starting('0 of 2 replicas updated'),
      },
      {
        name: 'a Deployment past its progress deadline is still starting, and says so',
        input: {
          kind: 'Deployment',
          object: deployment({
            status: {
              availableReplicas: 1,
              conditions: [
                condition('Available', 'False'),
                condition('Progressing', 'False', { reason: 'ProgressDeadlineExceeded' }),
              ],
            },
          }),
        },
        want: starting('1 of 2 replicas available (progress deadline exceeded)'),
      },
      {
        name: 'a Deployment with old replicas still running beside the new ones',
        input: { kind: 'Deployment', object: deployment({ status: { replicas: 3 } }) },
        want: starting('1 old replicas still running'),
      },
      {
        name: 'a Deployment whose counts are met but that is not Available',
        input: {
          kind: 'Deployment',
          object: deployment({ status: { conditions: [condition('Available', 'False')] } }),
        },
        want: starting('not Available'),
      },
      {
        name: 'a Deployment without replicas in its spec wants one (the API server default)',
        input: {
          kind: 'Deployment',
          object: deployment({
            spec: { replicas: undefined },
            status: { replicas: 1, updatedReplicas: 1, availableReplicas: 0 },
          }),
        },
        want: starting('0 of 1 replicas available'),
      },
      {
        name: 'a Deployment scaled to zero',
        input: {
          kind: 'Deployment',
          object: deployment({
            spec: { replicas: 0 },
            status: { replicas: 0, updatedReplicas: 0, availableReplicas: 0 },
          }),
        },
        want: READY,
      },
      {
        name: 'a StatefulSet with every replica ready',
        input: { kind: 'StatefulSet', object: statefulSet(3, 3) },
        want: READY,
      },
      {
        name: 'a StatefulSet with a replica not ready',
        input: { kind: 'StatefulSet', object: statefulSet(3, 2) },
        want: starting('2 of 3 replicas ready'),
      },
      {
        name: 'a StatefulSet no controller has looked at',
        input: { kind: 'StatefulSet', object: { spec: { replicas: 0 }, status: {} } },
        want: starting('not yet seen by its controller'),
      },
      {
        name: 'a DaemonSet ready on every node it is scheduled to',
        input: { kind: 'DaemonSet', object: daemonSet(4, 4) },
        want: READY,
      },
      {
        name: 'a DaemonSet not ready on every node',
        input: { kind: 'DaemonSet', object: daemonSet(4, 1) },
        want: starting('1 of 4 pods ready'),
      },
      {
        name: 'a complete Job',
        input: { kind: 'Job', object: { status: { conditions: [condition('Complete', 'True')] } } },
        want: READY,
      },
      {
        name: 'a Job still running',
        input: { kind: 'Job', object: { status: { active: 1 } } },
        want: starting('not complete'),
      },
      {
        name: 'a failed Job fails',
        input: {
          kind: 'Job',
          object: {
            status: {
              conditions: [
                condition('Failed', 'True', {
                  reason: 'BackoffLimitExceeded',
                  message: 'Job has reached the specified backoff limit',
                }),
              ],
            },
          },
        },
        want: { state: 'failed', message: 'failed: Job has reached the specified backoff limit' },
      },
      {
        name: 'a status that is not an object says nothing',
        input: { kind: 'Deployment', object: { status: 'Available' } },
        want: starting('not yet seen by its controller'),
      },
    ];
  it.each(table)('$name', ({ input, want }) => {
    expect(workloadState(input.kind, input.object)).toEqual(want);
  });
});
