import { Ready, RunFunctionRequest } from '@crossplane-org/function-sdk-typescript';
import { CLUSTER_KEY, toolKey } from '../../common/contract.js';
import { pipelineInput } from './manifests.js';

type Obj = Record<string, unknown>;

/** The catalogue the shipped Composition carries. */
export function shippedCatalog(): Promise<Obj> {
  return pipelineInput('apis/xenvironment/composition.yaml');
}

/** A cluster-scoped XEnvironment as Crossplane sends it, the claim's `spec`. */
export function xEnvironment(spec: Obj, metadata: Obj = {}) {
  return {
    apiVersion: 'platform.xenvironment.io/v1alpha1',
    kind: 'XEnvironment',
    metadata: { name: 'dev-x7k2p', creationTimestamp: '2026-11-25T09:00:00Z', ...metadata },
    spec,
  };
}

export interface ObservedOptions {
  ready?: boolean;
  /** Ready=False reason; defaults to Creating when not ready. */
  reason?: string;
  syncedError?: string;
  connectionDetails?: Record<string, Buffer>;
  /** The observed resource's spec, as Crossplane passes it back. */
  spec?: Obj;
  /** Its `status.atProvider`: a Release's Helm state, an Object's observed manifest. */
  atProvider?: Obj;
}

/** An observed composed resource with Crossplane-style conditions. */
export function observedResource(kind: string, options: ObservedOptions = {}) {
  const conditions: Obj[] = [];
  if (options.ready !== undefined) {
    conditions.push({
      type: 'Ready',
      status: options.ready ? 'True' : 'False',
      reason: options.ready ? 'Available' : (options.reason ?? 'Creating'),
    });
  }
  if (options.syncedError) {
    conditions.push({
      type: 'Synced',
      status: 'False',
      reason: 'ReconcileError',
      message: options.syncedError,
    });
  }
  return {
    resource: {
      apiVersion: 'helm.crossplane.io/v1beta1',
      kind,
      ...(options.spec ? { spec: options.spec } : {}),
      status: { conditions, ...(options.atProvider ? { atProvider: options.atProvider } : {}) },
    },
    connectionDetails: options.connectionDetails ?? {},
    ready: Ready.READY_UNSPECIFIED,
  };
}

export function request(
  xr: Obj,
  input: unknown,
  observed: Record<string, ReturnType<typeof observedResource>> = {},
  desired: Record<string, Obj> = {},
): RunFunctionRequest {
  return RunFunctionRequest.fromPartial({
    meta: { tag: 'test' },
    observed: {
      composite: { resource: xr, connectionDetails: {}, ready: Ready.READY_UNSPECIFIED },
      resources: observed,
    },
    desired: {
      resources: Object.fromEntries(
        Object.entries(desired).map(([key, resource]) => [
          key,
          { resource, connectionDetails: {}, ready: Ready.READY_UNSPECIFIED },
        ]),
      ),
    },
    input: input as Obj,
  });
}

/** A catalogue of `count` tools; every other tool depends on the one before it. */
function catalogue(count: number): Obj {
  return {
    apiVersion: 'xenvironment.fn.crossplane.io/v1beta1',
    kind: 'Catalog',
    cluster: {
      vcluster: {
        chart: { repository: 'https://charts.loft.sh', name: 'vcluster', version: '0.30.0' },
        hostProviderConfigName: 'default',
        defaultKubernetesVersion: '1.33',
        kubernetesVersions: {
          '1.33': {
            controlPlane: { distro: { k8s: { enabled: true, image: { tag: 'v1.33.5' } } } },
          },
        },
      },
    },
    tools: Array.from({ length: count }, (_, i) => ({
      name: `tool-${i}`,
      chart: { repository: 'https://charts.example.org', name: `chart-${i}`, version: `1.${i}.0` },
      namespace: `ns-${i}`,
      values: { replicaCount: 1, image: { tag: `v${i}` } },
      // What loadRequest and requestCarrying (big-values.ts) set, so that it is rendered.
      allowedValues: ['extra', 'big'],
      ...(i % 2 === 1 ? { dependsOn: [`tool-${i - 1}`] } : {}),
    })),
  };
}

const readyCondition = { conditions: [{ type: 'Ready', status: 'True', reason: 'Available' }] };

/**
 * What the benchmarks and load tests send: an XEnvironment with `count` tools, the cluster and the
 * first half of the tools observed Ready.
 */
export function loadRequest(count: number): RunFunctionRequest {
  const observed: Record<
    string,
    { resource: Obj; connectionDetails: Record<string, Buffer>; ready: Ready }
  > = {
    [CLUSTER_KEY]: {
      resource: {
        apiVersion: 'helm.crossplane.io/v1beta1',
        kind: 'Release',
        metadata: { name: 'bench-cluster' },
        status: readyCondition,
      },
      connectionDetails: {},
      ready: Ready.READY_UNSPECIFIED,
    },
  };
  for (let i = 0; i < count; i++) {
    const rendered = i < Math.ceil(count / 2) || i % 2 === 0;
    if (!rendered) continue;
    observed[toolKey(`tool-${i}`)] = {
      resource: {
        apiVersion: 'helm.crossplane.io/v1beta1',
        kind: 'Release',
        metadata: { name: `bench-tool-${i}` },
        ...(i < count / 2 ? { status: readyCondition } : {}),
      },
      connectionDetails: {},
      ready: Ready.READY_UNSPECIFIED,
    };
  }
  return RunFunctionRequest.fromPartial({
    meta: { tag: 'bench' },
    observed: {
      composite: {
        resource: {
          apiVersion: 'platform.xenvironment.io/v1alpha1',
          kind: 'XEnvironment',
          metadata: { name: 'bench' },
          spec: {
            tools: Array.from({ length: count }, (_, i) => ({
              name: `tool-${i}`,
              values: { extra: i },
            })),
          },
        },
        connectionDetails: {},
        ready: Ready.READY_UNSPECIFIED,
      },
      resources: observed,
    },
    desired: { resources: {} },
    input: catalogue(count),
  });
}
