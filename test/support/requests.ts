import { Ready, RunFunctionRequest } from '@crossplane-org/function-sdk-typescript';
import { pipelineInput } from './manifests.js';

type Obj = Record<string, unknown>;

/** The catalogue the shipped Composition carries. */
export function shippedCatalog(): Promise<Obj> {
  return pipelineInput('apis/xenvironment/composition.yaml');
}

export function xEnvironment(spec: Obj, metadata: Obj = {}): Obj {
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
      status: { conditions },
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
