import { describe, expect, it } from 'vitest';
import { healthOf, type Health, type ObservedResource } from '../../../common/health.js';

type Obj = Record<string, unknown>;

const condition = (type: string, status: string, reason?: string, extra: Obj = {}) => ({
  type,
  status,
  ...(reason ? { reason } : {}),
  ...extra,
});

/** A managed resource as observed, with `conditions`, `metadata` and `spec` as given. */
function observed(
  conditions: unknown,
  more: { metadata?: Obj; spec?: Obj } = {},
): ObservedResource {
  return { resource: { ...more, status: { conditions } }, connectionDetails: {} };
}

const secretMissing = (name: string) =>
  `observe failed: cannot get connection details: cannot get object: secrets "${name}" not found`;
const naming = (detail: Obj) => ({
  spec: { connectionDetails: [{ apiVersion: 'v1', kind: 'Secret', ...detail }] },
});
const secretNotWritten = (reason: string, spec: { spec: Obj }) =>
  observed([condition('Synced', 'False', reason, { message: secretMissing('vc-vcluster') })], spec);

const table: { name: string; input: ObservedResource | undefined; want: Health }[] = [
  { name: 'not observed', input: undefined, want: { state: 'absent' } },
  {
    name: 'observed without conditions',
    input: observed(undefined),
    want: { state: 'progressing' },
  },
  {
    name: 'Ready=True',
    input: observed([condition('Ready', 'True', 'Available')]),
    want: { state: 'ready' },
  },
  {
    name: 'Ready=True for an older generation: stale, so still coming up',
    input: observed([condition('Ready', 'True', 'Available', { observedGeneration: 2 })], {
      metadata: { generation: 3 },
    }),
    want: { state: 'progressing' },
  },
  {
    name: 'Ready=True for the current generation',
    input: observed([condition('Ready', 'True', 'Available', { observedGeneration: 3 })], {
      metadata: { generation: 3 },
    }),
    want: { state: 'ready' },
  },
  {
    name: 'Ready=True with an observedGeneration but no generation to compare it with',
    input: observed([condition('Ready', 'True', 'Available', { observedGeneration: 2 })]),
    want: { state: 'ready' },
  },
  {
    name: 'Ready=True wins over Synced=False: what runs is up',
    input: observed([condition('Synced', 'False', 'ReconcileError'), condition('Ready', 'True')]),
    want: { state: 'ready' },
  },
  {
    name: 'Ready=False while creating, with its message',
    input: observed([condition('Ready', 'False', 'Creating', { message: 'installing' })]),
    want: { state: 'progressing', message: 'installing' },
  },
  {
    name: 'Ready=False while deleting',
    input: observed([condition('Ready', 'False', 'Deleting')]),
    want: { state: 'progressing' },
  },
  {
    name: 'Ready=False while unavailable',
    input: observed([condition('Ready', 'False', 'Unavailable')]),
    want: { state: 'progressing' },
  },
  {
    name: 'Ready=False without a reason',
    input: observed([condition('Ready', 'False')]),
    want: { state: 'progressing' },
  },
  {
    name: 'Ready=False for another reason: failed, with its message',
    input: observed([
      condition('Ready', 'False', 'ReconcileError', { message: 'chart not found' }),
    ]),
    want: { state: 'failed', message: 'chart not found' },
  },
  {
    name: 'Ready=False for another reason, without a message: the reason',
    input: observed([condition('Ready', 'False', 'Broken')]),
    want: { state: 'failed', message: 'Broken' },
  },
  {
    name: 'Synced=False: failed, with its message, even while Ready=False says creating',
    input: observed([
      condition('Ready', 'False', 'Creating'),
      condition('Synced', 'False', 'ReconcileError', { message: 'cannot install' }),
    ]),
    want: { state: 'failed', message: 'cannot install' },
  },
  {
    name: 'Synced=False without a message: the reason',
    input: observed([condition('Synced', 'False', 'ReconcileError')]),
    want: { state: 'failed', message: 'ReconcileError' },
  },
  {
    name: 'Synced=False with neither',
    input: observed([condition('Synced', 'False')]),
    want: { state: 'failed', message: 'reconcile failed' },
  },
  {
    name: 'its own connection Secret not written yet: still coming up, the Secret named',
    input: secretNotWritten('ReconcileError', naming({ name: 'vc-vcluster', namespace: 'ns' })),
    want: { state: 'progressing', message: 'waiting for Secret ns/vc-vcluster to be written' },
  },
  {
    name: 'its own connection Secret, named without a namespace',
    input: secretNotWritten('ReconcileError', naming({ name: 'vc-vcluster' })),
    want: { state: 'progressing', message: 'waiting for Secret vc-vcluster to be written' },
  },
  {
    name: 'a missing Secret it does not name as a connection detail: failed',
    input: secretNotWritten('ReconcileError', naming({ name: 'other' })),
    want: { state: 'failed', message: secretMissing('vc-vcluster') },
  },
  {
    name: 'a missing connection Secret under another reason: failed',
    input: secretNotWritten('Unknown', naming({ name: 'vc-vcluster' })),
    want: { state: 'failed', message: secretMissing('vc-vcluster') },
  },
  {
    name: 'conditions that are not a list',
    input: observed({ Ready: 'True' }),
    want: { state: 'progressing' },
  },
  {
    name: 'conditions with fields of the wrong type',
    input: observed([null, 1, 'Ready', { type: 'Ready', status: true, message: 5 }]),
    want: { state: 'progressing' },
  },
];

describe('health from conditions', () => {
  it.each(table)('$name', ({ input, want }) => {
    expect(healthOf(input)).toEqual(want);
  });
});
