import { describe, expect, it } from 'vitest';
import {
  CLAIM_NAME_LABEL,
  CLAIM_NAMESPACE_LABEL,
  CLUSTER_KEY,
  COMPOSITION_RESOURCE_NAME_ANNOTATION,
  toolKey,
} from '../../../common/contract.js';
import type { JsonObject } from '../../../common/objects.js';
import { environmentId, observe } from '../../../bridge/announce/observe.js';
import { FINALIZER } from '../../../bridge/announce/record.js';
import type { Observation } from '../../../bridge/announce/transitions.js';
import { CLUSTER_ENDPOINT as ENDPOINT, ENVIRONMENT_UID } from '../../support/observations.js';
import { xEnvironment } from '../../support/requests.js';

function xr(parts: { metadata?: JsonObject; spec?: JsonObject; status?: JsonObject } = {}) {
  return {
    ...xEnvironment(parts.spec ?? {}, { uid: ENVIRONMENT_UID, ...parts.metadata }),
    status: parts.status ?? {},
  };
}

type State = 'ready' | 'creating' | 'failed';
const CONDITIONS: Record<State, JsonObject[]> = {
  ready: [{ type: 'Ready', status: 'True', reason: 'Available' }],
  creating: [{ type: 'Ready', status: 'False', reason: 'Creating' }],
  failed: [
    { type: 'Synced', status: 'False', reason: 'ReconcileError', message: 'chart not found' },
  ],
};

/** A composed Release as the informer holds it. */
function release(key: string, state: State, chart: JsonObject = {}): JsonObject {
  return {
    metadata: { annotations: { [COMPOSITION_RESOURCE_NAME_ANNOTATION]: key } },
    spec: { forProvider: { chart } },
    status: { conditions: CONDITIONS[state] },
  };
}
const argoChart = { name: 'argo-cd', version: '9.1.0' };

describe('the environment id', () => {
  const table: { name: string; input: JsonObject; want: string }[] = [
    {
      name: "a claim's XR: the claim's namespace/name",
      input: xr({
        metadata: { labels: { [CLAIM_NAME_LABEL]: 'dev', [CLAIM_NAMESPACE_LABEL]: 'team-a' } },
      }),
      want: 'team-a/dev',
    },
    {
      name: 'a claim label without the other: the XR name',
      input: xr({ metadata: { labels: { [CLAIM_NAME_LABEL]: 'dev' } } }),
      want: 'dev-x7k2p',
    },
    {
      name: 'empty claim labels: the XR name',
      input: xr({ metadata: { labels: { [CLAIM_NAME_LABEL]: '', [CLAIM_NAMESPACE_LABEL]: '' } } }),
      want: 'dev-x7k2p',
    },
    {
      name: 'a namespaced (v2) XR: its namespace/name',
      input: xr({ metadata: { name: 'dev', namespace: 'team-a' } }),
      want: 'team-a/dev',
    },
    { name: 'a cluster-scoped XR without a claim: its name', input: xr(), want: 'dev-x7k2p' },
  ];
  it.each(table)('$name', ({ input, want }) => {
    expect(environmentId(input)).toBe(want);
  });
});

describe('observing an XR', () => {
  const base: Observation = {
    uid: ENVIRONMENT_UID,
    id: 'dev-x7k2p',
    deleting: false,
    gone: false,
    cluster: { ready: false },
    tools: [],
  };
  const table: {
    name: string;
    input: { xr: JsonObject; composed: JsonObject[] };
    want: Observation;
  }[] = [
    {
      name: 'nothing composed yet: the claimed tools, without versions, none ready',
      input: { xr: xr({ spec: { tools: [{ name: 'argo-cd' }] } }), composed: [] },
      want: { ...base, tools: [{ name: 'argo-cd', version: '', ready: false }] },
    },
    {
      name: "the status's tools, resolved by the function, over the claim's",
      input: {
        xr: xr({
          spec: { tools: [{ name: 'argo-cd' }, { name: 'extra' }] },
          status: { tools: [{ name: 'argo-cd', version: '9.1.0', phase: 'Waiting' }] },
        }),
        composed: [],
      },
      want: { ...base, tools: [{ name: 'argo-cd', version: '9.1.0', ready: false }] },
    },
    {
      name: "a claim's version before the function has run",
      input: { xr: xr({ spec: { tools: [{ name: 'argo-cd', version: '9.2.0' }] } }), composed: [] },
      want: { ...base, tools: [{ name: 'argo-cd', version: '9.2.0', ready: false }] },
    },
    {
      name: "without a version anywhere else, the Release's chart version; not ready before the function says so",
      input: {
        xr: xr({ spec: { tools: [{ name: 'argo-cd', ready: true }] } }),
        composed: [release(toolKey('argo-cd'), 'ready', argoChart)],
      },
      want: {
        ...base,
        tools: [
          {
            name: 'argo-cd',
            version: '9.1.0',
            ready: false,
            artifactId: 'pkg:generic/argo-cd@9.1.0',
          },
        ],
      },
    },
    {
      name: 'a Ready Release of an older version is not the tool ready: an upgrade in flight',
      input: {
        xr: xr({ status: { tools: [{ name: 'argo-cd', version: '9.2.0', ready: true }] } }),
        composed: [release(toolKey('argo-cd'), 'ready', argoChart)],
      },
      want: {
        ...base,
        tools: [
          {
            name: 'argo-cd',
            version: '9.2.0',
            ready: false,
            artifactId: 'pkg:generic/argo-cd@9.1.0',
          },
        ],
      },
    },
    {
      name: "a failed Release: the tool's failure, its artifact with the chart's repository",
      input: {
        xr: xr({ status: { tools: [{ name: 'argo-cd', version: '9.1.0' }] } }),
        composed: [
          release(toolKey('argo-cd'), 'failed', {
            ...argoChart,
            repository: 'https://argoproj.github.io/argo-helm',
          }),
        ],
      },
      want: {
        ...base,
        tools: [
          {
            name: 'argo-cd',
            version: '9.1.0',
            ready: false,
            artifactId:
              'pkg:generic/argo-cd@9.1.0?repository_url=https%3A%2F%2Fargoproj.github.io%2Fargo-helm',
            failure: 'chart not found',
          },
        ],
      },
    },
    {
      name: 'a Release without a chart name has no artifact',
      input: {
        xr: xr({ status: { tools: [{ name: 'argo-cd', version: '9.1.0' }] } }),
        composed: [release(toolKey('argo-cd'), 'creating', { version: '9.1.0' })],
      },
      want: { ...base, tools: [{ name: 'argo-cd', version: '9.1.0', ready: false }] },
    },
    {
      name: 'status entries without a name are left out; resources without a key ignored',
      input: {
        xr: xr({
          status: { tools: [{ version: '1' }, 'argo-cd', { name: 'argo-cd', version: 9 }] },
        }),
        composed: [{ ...release(toolKey('argo-cd'), 'ready', argoChart), metadata: {} }],
      },
      want: { ...base, tools: [{ name: 'argo-cd', version: '', ready: false }] },
    },
    {
      name: "the claim's ttl, as it asks for it (announced with the request)",
      input: { xr: xr({ spec: { ttl: '1d12h' } }), composed: [] },
      want: { ...base, ttl: '1d12h' },
    },
    {
      name: 'a ttl the XRD would not allow is left out',
      input: { xr: xr({ spec: { ttl: '8 hours' } }), composed: [] },
      want: base,
    },
    {
      name: 'a Ready cluster, with the endpoint from the status',
      input: {
        xr: xr({ status: { cluster: { endpoint: ENDPOINT, ready: true } } }),
        composed: [release(CLUSTER_KEY, 'ready')],
      },
      want: { ...base, cluster: { ready: true, endpoint: ENDPOINT } },
    },
    {
      name: 'a failed cluster',
      input: { xr: xr(), composed: [release(CLUSTER_KEY, 'failed')] },
      want: { ...base, cluster: { ready: false, failure: 'chart not found' } },
    },
    {
      name: "the function's Fatal result, as the XR's Synced=False",
      input: {
        xr: xr({
          status: {
            conditions: [
              { type: 'Synced', status: 'False', reason: 'ReconcileError', message: 'bad spec' },
            ],
          },
        }),
        composed: [],
      },
      want: { ...base, fatal: 'bad spec' },
    },
    {
      name: 'being deleted while Crossplane tears down: deleting, not gone',
      input: {
        xr: xr({
          metadata: {
            deletionTimestamp: '2026-11-25T10:00:00Z',
            finalizers: ['composite.apiextensions.crossplane.io', FINALIZER],
          },
        }),
        composed: [],
      },
      want: { ...base, deleting: true },
    },
    {
      name: 'being deleted: a Release Helm is uninstalling still has its artifact, one gone has none',
      input: {
        xr: xr({
          // In the foreground: the garbage collector deletes the Releases first.
          metadata: {
            deletionTimestamp: '2026-11-25T10:00:00Z',
            finalizers: ['foregroundDeletion', FINALIZER],
          },
          status: {
            tools: [
              { name: 'argo-cd', version: '9.1.0', ready: true },
              { name: 'cert-manager', version: 'v1.19.1', ready: true },
            ],
          },
        }),
        composed: [
          {
            ...release(toolKey('argo-cd'), 'ready', argoChart),
            metadata: {
              annotations: { [COMPOSITION_RESOURCE_NAME_ANNOTATION]: toolKey('argo-cd') },
              deletionTimestamp: '2026-11-25T10:00:01Z',
              finalizers: ['finalizer.managedresource.crossplane.io'],
            },
          },
        ],
      },
      want: {
        ...base,
        deleting: true,
        tools: [
          {
            name: 'argo-cd',
            version: '9.1.0',
            ready: true,
            artifactId: 'pkg:generic/argo-cd@9.1.0',
          },
          { name: 'cert-manager', version: 'v1.19.1', ready: false },
        ],
      },
    },
    {
      name: "deleted, held only by the bridge's finalizer: gone",
      input: {
        xr: xr({
          metadata: { deletionTimestamp: '2026-11-25T10:00:00Z', finalizers: [FINALIZER] },
        }),
        composed: [],
      },
      want: { ...base, deleting: true, gone: true },
    },
  ];
  it.each(table)('$name', ({ input, want }) => {
    expect(observe(input.xr, input.composed)).toEqual(want);
  });
});

describe('a tool ready for the bridge: the function says so and its Release is Ready', () => {
  // The function's verdict (status.tools[].ready: Release and workloads); what the bridge sees.
  const table: { name: string; input: { says?: boolean; release: State }; want: boolean }[] = [
    { name: 'both', input: { says: true, release: 'ready' }, want: true },
    { name: 'workloads still starting', input: { says: false, release: 'ready' }, want: false },
    { name: 'Release not Ready', input: { says: true, release: 'creating' }, want: false },
    { name: 'Release failed', input: { says: true, release: 'failed' }, want: false },
    { name: 'the function has not said', input: { release: 'ready' }, want: false },
  ];
  it.each(table)('$name', ({ input, want }) => {
    const tool = { name: 'argo-cd', version: '9.1.0', phase: 'Ready' };
    const status = { tools: [input.says === undefined ? tool : { ...tool, ready: input.says }] };
    const [observed] = observe(xr({ status }), [
      release(toolKey('argo-cd'), input.release, argoChart),
    ]).tools;
    expect(observed!.ready).toBe(want);
  });
});
