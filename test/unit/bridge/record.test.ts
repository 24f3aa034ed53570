import { describe, expect, it } from 'vitest';
import { planBatch } from '../../../bridge/announce/batch.js';
import {
  adoptObserved,
  finalizerChange,
  FINALIZER,
  readRecord,
  RECORD_ANNOTATION,
  recordProblems,
} from '../../../bridge/announce/record.js';
import { emptyRecord, type OutboxEntry } from '../../../bridge/announce/transitions.js';
import { CLUSTER_ENDPOINT, observation as observed } from '../../support/observations.js';

const observation = observed({
  cluster: { ready: true, endpoint: CLUSTER_ENDPOINT },
  tools: [
    {
      name: 'cert-manager',
      version: 'v1.19.1',
      ready: true,
      artifactId: 'pkg:generic/cert-manager@v1.19.1',
    },
    {
      name: 'argo-cd',
      version: '9.1.0',
      ready: false,
      failure: 'chart not found',
      artifactId: 'pkg:generic/argo-cd@9.1.0',
    },
  ],
});
const valid = planBatch(observation, emptyRecord(), '/test', new Date('2026-11-25T09:00:00Z'));
const event = valid.outbox[0]!.event;

describe('bridge record validation', () => {
  it('accepts what the bridge writes', () => {
    expect(recordProblems(emptyRecord())).toEqual([]);
    expect(recordProblems(valid)).toEqual([]);
    expect(recordProblems({ ...valid, outbox: [] })).toEqual([]);
  });

  it.each([
    [[], ['must be an object']],
    [{ ...valid, deleted: true }, ['deleted is not a field of the record']],
    [{ ...valid, epoch: 'XYZ' }, ['epoch must be 1 to 16 hex digits']],
    [{ ...valid, seq: 'x' }, ['seq must be a whole number ≥ 0']],
    [{ ...valid, seq: -3 }, ['seq must be a whole number ≥ 0']],
    [{ ...valid, seq: 1.5 }, ['seq must be a whole number ≥ 0']],
    [{ ...valid, last: 'abc' }, ['last must be an event id']],
    [{ ...valid, ready: 'yes' }, ['ready must be true or false']],
    [{ ...valid, toolset: [1] }, ['toolset must be a list of strings']],
    [
      { ...valid, deployed: { a: { version: 1 } } },
      [
        'deployed["a"].version must be a non-empty string',
        'deployed["a"].artifactId must be a non-empty string',
      ],
    ],
    [{ ...valid, incidents: 'abc' }, ['incidents must be an object']],
    [
      { ...valid, incidents: { cluster: { subject: '', description: 'x' } } },
      ['incidents["cluster"].subject must be a non-empty string'],
    ],
    [{ ...valid, outbox: {} }, ['outbox must be a list']],
    [
      { ...valid, outbox: [{ event: { ...event, context: { ...event.context, id: '' } } }] },
      ['outbox[0].event: context.id: must be a non-empty string'],
    ],
    [
      { ...valid, outbox: [{ event, toDefault: false }] },
      ['outbox[0] must be {event, toDefault?: true}'],
    ],
    [{ ...valid, outbox: Array(17).fill({ event }) }, ['outbox holds more than 16 events']],
    [{ ...emptyRecord(), created: true }, ['created before requested']],
    [{ ...emptyRecord(), requested: true, ready: true }, ['ready before created']],
    [{ ...valid, seq: 1 }, ['seq is less than the outbox holds']],
    [{ ...valid, last: event.context.id }, ['last is not the last event of the outbox']],
  ])('refuses %j', (record, problems) => {
    expect(recordProblems(record)).toEqual(problems);
  });
});

describe('bridge record reading', () => {
  const xr = (annotation?: string, finalizers: string[] = []) => ({
    metadata: {
      finalizers,
      annotations: annotation === undefined ? {} : { [RECORD_ANNOTATION]: annotation },
    },
  });

  it.each([
    ['no record, no finalizer: a new environment', xr(), 'new'],
    ['no record but the finalizer: it was removed', xr(undefined, [FINALIZER]), 'invalid'],
    ['not JSON', xr('{'), 'invalid'],
    ['a valid record', xr(JSON.stringify(valid)), 'valid'],
    ['a record of the wrong shape', xr('{"seq":"x"}'), 'invalid'],
  ])('%s', (_, object, kind) => {
    expect(readRecord(object, { gone: false }).kind).toBe(kind);
  });

  it('refuses an outbox that would let go of an XR that is not gone', () => {
    const gone = { ...observation, deleting: true, gone: true };
    const deleting = planBatch(gone, valid, '/test', new Date());
    expect(readRecord(xr(JSON.stringify(deleting), [FINALIZER]), gone).kind).toBe('valid');
    expect(readRecord(xr(JSON.stringify(deleting), [FINALIZER]), { gone: false })).toMatchObject({
      kind: 'invalid',
      problems: ['the outbox announces the deletion of an XR that is not gone'],
    });
  });

  it('salvages open incidents and the last id of a damaged record', () => {
    const damaged = { ...valid, seq: 'x' };
    const read = readRecord(xr(JSON.stringify(damaged)), { gone: false });
    expect(read).toMatchObject({
      kind: 'invalid',
      problems: ['seq must be a whole number ≥ 0'],
      salvage: { incidents: valid.incidents, deployed: valid.deployed, last: valid.last },
    });
  });
});

describe('bridge record rebuilding', () => {
  it('adopts what is observed as announced, in the new epoch', () => {
    const adopted = adoptObserved(observation, 'abcd1234', {});
    expect(recordProblems(adopted)).toEqual([]);
    expect(adopted).toMatchObject({
      epoch: 'abcd1234',
      seq: 0,
      requested: true,
      created: true,
      ready: false,
      toolset: ['argo-cd@9.1.0', 'cert-manager@v1.19.1'],
      deployed: {
        'cert-manager': { version: 'v1.19.1', artifactId: 'pkg:generic/cert-manager@v1.19.1' },
        'argo-cd': { version: '9.1.0', artifactId: 'pkg:generic/argo-cd@9.1.0' },
      },
      incidents: {
        'tool/argo-cd': {
          subject: 'team-a/dev/incidents/abcd1234-tool/argo-cd',
          description: 'chart not found',
        },
      },
      outbox: [],
    });
    // Nothing is left to announce about the state adopted.
    expect(planBatch(observation, adopted, '/test', new Date()).outbox).toEqual([]);
  });

  it('while the XR is deleted, adopts the tools whose Release exists: they are removed as they go', () => {
    // argo-cd uninstalled while the record was damaged: whether it was announced, none can tell.
    const deleting = {
      ...observation,
      deleting: true,
      tools: [observation.tools[0]!, { name: 'argo-cd', version: '9.1.0', ready: false }],
    };
    const adopted = adoptObserved(deleting, 'abcd1234', {});
    expect(recordProblems(adopted)).toEqual([]);
    expect(Object.keys(adopted.deployed)).toEqual(['cert-manager']);
    const types = (o: typeof deleting) =>
      planBatch(o, adopted, '/test', new Date()).outbox.map((e) => e.event.context.type);
    expect(types(deleting)).toEqual([]);
    expect(types({ ...deleting, gone: true })).toEqual([
      'dev.cdevents.service.removed.0.3.0',
      'dev.cdevents.environment.deleted.0.3.0',
    ]);
  });

  it('counts a cluster that went unready after tools were composed as created', () => {
    const unready = { ...observation, cluster: { ready: false } };
    expect(adoptObserved(unready, '1', {})).toMatchObject({ created: true, ready: false });
    expect(adoptObserved({ ...unready, tools: [] }, '1', {})).toMatchObject({ created: false });
  });
});

describe("the bridge's finalizer", () => {
  const gone = { ...observation, deleting: true, gone: true };
  const deletion = planBatch(gone, valid, '/test', new Date()).outbox;
  const table: {
    name: string;
    input: { deleting: boolean; finalizerSet: boolean; delivered: OutboxEntry[] };
    want: 'add' | 'remove' | undefined;
  }[] = [
    {
      name: 'added to a live XR without it',
      input: { deleting: false, finalizerSet: false, delivered: [] },
      want: 'add',
    },
    {
      name: 'added with the first events delivered',
      input: { deleting: false, finalizerSet: false, delivered: valid.outbox },
      want: 'add',
    },
    {
      name: 'kept while the XR lives',
      input: { deleting: false, finalizerSet: true, delivered: valid.outbox },
      want: undefined,
    },
    {
      name: 'never added to an XR being deleted',
      input: { deleting: true, finalizerSet: false, delivered: [] },
      want: undefined,
    },
    {
      name: 'kept while the deletion is not delivered',
      input: { deleting: true, finalizerSet: true, delivered: valid.outbox },
      want: undefined,
    },
    {
      name: 'removed once the deletion is delivered',
      input: { deleting: true, finalizerSet: true, delivered: deletion },
      want: 'remove',
    },
  ];
  it.each(table)('$name', ({ input, want }) => {
    expect(finalizerChange({ deleting: input.deleting }, input.finalizerSet, input.delivered)).toBe(
      want,
    );
  });
});
