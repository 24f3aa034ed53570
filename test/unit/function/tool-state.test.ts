import { describe, expect, it } from 'vitest';
import type { Health, ObservedResource } from '../../../common/health.js';
import type { ReadinessCheck } from '../../../function/input/model.js';
import {
  checkState,
  releaseHealth,
  toolState,
  type ToolState,
} from '../../../function/compose/tool-state.js';
import type { WorkloadState } from '../../../function/compose/workloads.js';

type Obj = Record<string, unknown>;

const webhook: ReadinessCheck = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  namespace: 'cert-manager',
  name: 'cert-manager-webhook',
};
const controller: ReadinessCheck = { ...webhook, name: 'cert-manager' };
const available = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'cert-manager-webhook', namespace: 'cert-manager', generation: 1 },
  spec: { replicas: 1 },
  status: {
    observedGeneration: 1,
    replicas: 1,
    updatedReplicas: 1,
    availableReplicas: 1,
    conditions: [{ type: 'Available', status: 'True' }],
  },
};
const observed = (status: Obj): ObservedResource => ({
  resource: { apiVersion: 'kubernetes.crossplane.io/v1alpha2', kind: 'Object', status },
  connectionDetails: {},
});
const synced = (status: string, message: string) => ({
  conditions: [{ type: 'Synced', status, reason: 'ReconcileError', message }],
});

describe("what a readiness check's Observe-only Object says", () => {
  const table: { name: string; input: ObservedResource | undefined; want: WorkloadState }[] = [
    {
      name: 'not observed yet: the Object was just composed',
      input: undefined,
      want: { state: 'starting', message: 'not read yet' },
    },
    {
      name: 'provider-kubernetes finds no such object: not yet, not a failure',
      input: observed(synced('False', 'observe failed: external resource does not exist')),
      want: { state: 'starting', message: 'does not exist yet' },
    },
    {
      name: 'any other observe error: a failure',
      input: observed(synced('False', 'cannot resolve resource reference: forbidden')),
      want: { state: 'failed', message: 'cannot resolve resource reference: forbidden' },
    },
    {
      name: 'an object read: its own readiness',
      input: observed({ atProvider: { manifest: available } }),
      want: { state: 'ready' },
    },
    {
      name: 'an object read before the catalogue named another: not this one',
      input: observed({
        atProvider: {
          manifest: { ...available, metadata: { ...available.metadata, name: 'old' } },
        },
      }),
      want: { state: 'starting', message: 'not read yet' },
    },
    {
      name: 'no manifest read yet',
      input: observed({ conditions: [{ type: 'Synced', status: 'True' }] }),
      want: { state: 'starting', message: 'not read yet' },
    },
  ];
  it.each(table)('$name', ({ input, want }) => {
    expect(checkState(webhook, input)).toEqual(want);
  });
});

describe("a tool Release's health", () => {
  const release = (status: Obj): ObservedResource => ({
    resource: { apiVersion: 'helm.crossplane.io/v1beta1', kind: 'Release', status },
    connectionDetails: {},
  });
  const unavailable = { type: 'Ready', status: 'False', reason: 'Unavailable' };
  const table: { name: string; input: ObservedResource | undefined; want: Health }[] = [
    { name: 'not observed', input: undefined, want: { state: 'absent' } },
    {
      name: 'deployed and Ready',
      input: release({ conditions: [{ type: 'Ready', status: 'True' }] }),
      want: { state: 'ready' },
    },
    {
      name: 'pending install: progressing',
      input: release({ conditions: [unavailable], atProvider: { state: 'pending-install' } }),
      want: { state: 'progressing' },
    },
    {
      name: 'Helm marked it failed (a wait that timed out): failed, as Helm describes it',
      input: release({
        conditions: [unavailable, { type: 'Synced', status: 'True' }],
        atProvider: { state: 'failed', releaseDescription: 'Release "x" failed: timed out' },
      }),
      want: { state: 'failed', message: 'Helm release failed: Release "x" failed: timed out' },
    },
    {
      name: 'Helm marked it failed without a description',
      input: release({ conditions: [unavailable], atProvider: { state: 'failed' } }),
      want: { state: 'failed', message: 'Helm release failed' },
    },
  ];
  it.each(table)('$name', ({ input, want }) => {
    expect(releaseHealth(input)).toEqual(want);
  });
});

describe("a tool's state", () => {
  const ready: WorkloadState = { state: 'ready' };
  const table: {
    name: string;
    input: { release: Health; checks: { check: ReadinessCheck; state: WorkloadState }[] };
    want: ToolState;
  }[] = [
    {
      name: 'no Release yet',
      input: { release: { state: 'absent' }, checks: [] },
      want: { ready: false, phase: 'Installing', message: 'installing' },
    },
    {
      name: 'a Release installing says what provider-helm says',
      input: { release: { state: 'progressing', message: 'Creating' }, checks: [] },
      want: { ready: false, phase: 'Installing', message: 'Creating' },
    },
    {
      name: 'a Release installing, whatever its checks say',
      input: { release: { state: 'progressing' }, checks: [{ check: webhook, state: ready }] },
      want: { ready: false, phase: 'Installing', message: 'installing' },
    },
    {
      name: 'a failed Release',
      input: { release: { state: 'failed', message: 'boom' }, checks: [] },
      want: { ready: false, phase: 'Failed', message: 'boom' },
    },
    {
      name: 'a Ready Release and no checks: Ready',
      input: { release: { state: 'ready' }, checks: [] },
      want: { ready: true, phase: 'Ready' },
    },
    {
      name: 'a Ready Release and every check ready: Ready',
      input: {
        release: { state: 'ready' },
        checks: [
          { check: controller, state: ready },
          { check: webhook, state: ready },
        ],
      },
      want: { ready: true, phase: 'Ready' },
    },
    {
      name: 'a Ready Release and a workload not available: Starting, naming it',
      input: {
        release: { state: 'ready' },
        checks: [
          { check: controller, state: ready },
          { check: webhook, state: { state: 'starting', message: '0 of 1 replicas available' } },
        ],
      },
      want: {
        ready: false,
        phase: 'Starting',
        message:
          'waiting for Deployment cert-manager/cert-manager-webhook: 0 of 1 replicas available',
      },
    },
    {
      name: 'several not available: the first named, the rest counted',
      input: {
        release: { state: 'ready' },
        checks: [
          { check: controller, state: { state: 'starting', message: 'does not exist yet' } },
          { check: webhook, state: { state: 'starting', message: 'not read yet' } },
        ],
      },
      want: {
        ready: false,
        phase: 'Starting',
        message:
          'waiting for Deployment cert-manager/cert-manager: does not exist yet (and 1 more)',
      },
    },
    {
      name: 'a failed check fails the tool, before any that is starting',
      input: {
        release: { state: 'ready' },
        checks: [
          { check: controller, state: { state: 'starting', message: 'not read yet' } },
          { check: webhook, state: { state: 'failed', message: 'forbidden' } },
        ],
      },
      want: {
        ready: false,
        phase: 'Failed',
        message: 'Deployment cert-manager/cert-manager-webhook: forbidden',
      },
    },
  ];
  it.each(table)('$name', ({ input, want }) => {
    expect(toolState(input.release, input.checks)).toEqual(want);
  });
});
