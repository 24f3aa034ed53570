/**
 * What the RunFunction tests share: the shipped catalogue, observed resources at each stage of an
 * environment, readers of a response, and the checks every composing case makes.
 */
import { expect } from 'vitest';
import {
  Severity,
  type RunFunctionRequest,
  type RunFunctionResponse,
} from '@crossplane-org/function-sdk-typescript';
import {
  CLUSTER_KEY,
  CLUSTER_READY_CONDITION,
  DNS_LABEL,
  HELM_PROVIDER_CONFIG_KEY,
  HOST_NAMESPACE_KEY,
  KUBERNETES_PROVIDER_CONFIG_KEY,
  prerequisiteUsageKey,
  readinessKey,
  toolKey,
  usageKey,
} from '../../common/contract.js';
import { runFunction } from '../../function/run-function.js';
import { observedResource, request, shippedCatalog, xEnvironment } from './requests.js';

export type Obj = Record<string, unknown>;

/**
 * The shipped catalogue (apis/xenvironment/composition.yaml), but for one dependency the composing
 * cases lean on: argo-cd on cert-manager, a tool waiting for another's webhook. The shipped argo-cd
 * does not need cert-manager, so it does not wait for it.
 */
export const catalog: Obj = await shippedCatalog();
(catalog.tools as Obj[]).find((tool) => tool.name === 'argo-cd')!.dependsOn = ['cert-manager'];

export const HOST_NAMESPACE_USAGE_KEY = prerequisiteUsageKey(HOST_NAMESPACE_KEY);
export const HELM_PROVIDER_CONFIG_USAGE_KEY = prerequisiteUsageKey(HELM_PROVIDER_CONFIG_KEY);
export const kubeconfig = Buffer.from('apiVersion: v1\nkind: Config\n# not base64: raw bytes\n');
export const ready = (extra = {}) => observedResource('Release', { ready: true, ...extra });
export const installing = () => observedResource('Release', { ready: false });
export const exists = (kind = 'ProviderConfig') => observedResource(kind);
export const hostNamespace = (isReady = true) => observedResource('Object', { ready: isReady });
export const providerConfigs = () => ({
  [HELM_PROVIDER_CONFIG_KEY]: exists(),
  [KUBERNETES_PROVIDER_CONFIG_KEY]: exists(),
});
/** A cluster that is up, as every later stage observes it. */
export const upCluster = (extra = {}) => ({
  [HOST_NAMESPACE_KEY]: hostNamespace(),
  [HOST_NAMESPACE_USAGE_KEY]: exists('Usage'),
  [CLUSTER_KEY]: ready(extra),
  ...providerConfigs(),
  [HELM_PROVIDER_CONFIG_USAGE_KEY]: exists('Usage'),
});

/** A workload of `check` as its API server returns it: its one replica available, or not. */
export function workload(check: Obj, available: boolean): Obj {
  const metadata = { name: check.name, namespace: check.namespace, generation: 2 };
  const status =
    check.kind === 'StatefulSet'
      ? { observedGeneration: 2, readyReplicas: available ? 1 : 0 }
      : {
          observedGeneration: 2,
          replicas: 1,
          updatedReplicas: 1,
          availableReplicas: available ? 1 : 0,
          conditions: [{ type: 'Available', status: available ? 'True' : 'False' }],
        };
  return {
    apiVersion: check.apiVersion,
    kind: check.kind,
    metadata,
    spec: { replicas: 1 },
    status,
  };
}
/** The Observe-only Object of a readiness check, having read `manifest`. */
export const observedWorkload = (manifest: Obj) =>
  observedResource('Object', { ready: true, atProvider: { manifest } });
/** An Observe-only Object of an object that does not exist, as provider-kubernetes v1.3.1 says so. */
export const missingWorkload = () =>
  observedResource('Object', { syncedError: 'observe failed: external resource does not exist' });
/** The shipped catalogue's readiness checks of `tool`, each object's namespace filled in. */
export function checksOf(tool: string): Obj[] {
  const entry = toolEntry(catalog.tools as Obj[], tool);
  return ((entry.readiness as Obj[] | undefined) ?? []).map((check) => ({
    namespace: entry.namespace,
    ...check,
  }));
}
export const checkKeys = (tool: string) => checksOf(tool).map((_, n) => readinessKey(tool, n));
/** `tool` serving: its Release Ready and every workload it lists available, but `unavailable`. */
export function serving(tool: string, unavailable: string[] = []) {
  return {
    [toolKey(tool)]: ready(),
    ...Object.fromEntries(
      checksOf(tool).map((check, n) => [
        readinessKey(tool, n),
        observedWorkload(workload(check, !unavailable.includes(String(check.name)))),
      ]),
    ),
  };
}

/** cert-manager and argo-cd asked for, the cluster up, cert-manager's Release observed as `release`. */
export const withCertManager = (release: ReturnType<typeof observedResource>) =>
  request(xEnvironment(twoTools), catalog, { ...upCluster(), [toolKey('cert-manager')]: release });

/** What a cluster that is up composes, with `others`, as composedKeys lists them. */
export const withCluster = (...others: string[]) =>
  [
    CLUSTER_KEY,
    HELM_PROVIDER_CONFIG_KEY,
    HELM_PROVIDER_CONFIG_USAGE_KEY,
    HOST_NAMESPACE_KEY,
    HOST_NAMESPACE_USAGE_KEY,
    KUBERNETES_PROVIDER_CONFIG_KEY,
    ...others,
  ].sort();

/** Short while not Ready: Crossplane 2.2 may not call again for a Release turning Ready. */
export const PROGRESSING_TTL = { seconds: 10, nanos: 0 };
export const twoTools = { tools: [{ name: 'cert-manager' }, { name: 'argo-cd' }] };

export function composedKeys(rsp: RunFunctionResponse): string[] {
  return Object.keys(rsp.desired?.resources ?? {}).sort();
}
export function status(rsp: RunFunctionResponse): Obj {
  return rsp.desired?.composite?.resource?.status as Obj;
}
export function composed(rsp: RunFunctionResponse, key: string): Obj {
  const resource = rsp.desired!.resources[key]?.resource;
  expect(resource, `composed ${key}`).toBeDefined();
  return resource as Obj;
}
export const nameOf = (resource: Obj) => (resource.metadata as { name: string }).name;
export const forProvider = (resource: Obj) => (resource.spec as { forProvider: Obj }).forProvider;
export function fatalMessage(rsp: RunFunctionResponse): string | undefined {
  return rsp.results.find((r) => r.severity === Severity.SEVERITY_FATAL)?.message;
}
export function clusterCondition(rsp: RunFunctionResponse) {
  return rsp.conditions.find((c) => c.type === CLUSTER_READY_CONDITION);
}

/** A copy of the shipped catalogue, edited. */
export function catalogWith(edit: (copy: { tools: Obj[]; vcluster: Obj; root: Obj }) => void): Obj {
  const copy = structuredClone(catalog);
  edit({
    tools: copy.tools as Obj[],
    vcluster: (copy.cluster as Obj).vcluster as Obj,
    root: copy,
  });
  return copy;
}
export const toolEntry = (tools: Obj[], name: string) => tools.find((tool) => tool.name === name)!;
/** A catalogue tool with no dependencies, values or allow-list of its own. */
export const plainTool = (name: string, extra: Obj = {}) => ({
  name,
  chart: { repository: 'https://charts.example.org', name, version: '1.0.0' },
  namespace: 'tools',
  ...extra,
});
/** `{ key: { key: … } }`, `depth` levels deep, built without recursion. */
export function nested(depth: number, key = 'a'): Obj {
  let value: Obj = {};
  for (let i = 1; i < depth; i++) value = { [key]: value };
  return value;
}

// The cluster Release as provider-helm v1.4.0 leaves it between the chart's install and vcluster
// writing its kubeconfig: every observe fails on the missing connection Secret.
export const connectionDetails = [
  { apiVersion: 'v1', kind: 'Secret', name: 'vc-vcluster', namespace: 'ns' },
];
export const secretMissing =
  'observe failed: cannot get connection details: cannot get object: secrets "vc-vcluster" not found';
export const secretMissingRequest = (details: Obj[]) =>
  request(xEnvironment(twoTools), catalog, {
    ...upCluster(),
    [CLUSTER_KEY]: observedResource('Release', {
      ready: false,
      syncedError: secretMissing,
      spec: { connectionDetails: details },
    }),
  });

export interface Case {
  name: string;
  req: () => RunFunctionRequest;
  expect: (rsp: RunFunctionResponse) => void;
  /** Tools the claim dropped: the only observed resources the answer may leave out. */
  dropped?: string[];
}

/**
 * Runs `c`: no Fatal, its own expectations, and what every answer must show: nothing observed is
 * dropped unless the claim dropped that tool, and every composed name is a DNS label, distinct per
 * kind.
 */
export async function checkComposing({ req, expect: check, dropped = [] }: Case): Promise<void> {
  const request = req();
  const rsp = await runFunction(request);
  expect(fatalMessage(rsp)).toBeUndefined();
  check(rsp);
  // Nothing observed is dropped unless the claim dropped that tool.
  const droppedKey = (key: string) =>
    dropped.some(
      (tool) =>
        // A Usage on any dependency starts as the one on the dependency named ''.
        key === toolKey(tool) ||
        key === usageKey(tool) ||
        key.startsWith(usageKey(tool, '')) ||
        checkKeys(tool).includes(key),
    );
  for (const key of Object.keys(request.observed!.resources)) {
    if (!droppedKey(key)) expect(Object.keys(rsp.desired!.resources), key).toContain(key);
  }
  // Every composed name is a DNS label, and no two composed resources of a kind share one.
  const ids = Object.values(rsp.desired!.resources).map(({ resource }) => {
    expect(nameOf(resource!)).toMatch(DNS_LABEL);
    return `${String(resource!.apiVersion)}/${String(resource!.kind)}/${nameOf(resource!)}`;
  });
  expect(new Set(ids).size).toBe(ids.length);
}
