import { beforeAll, describe, expect, it } from 'vitest';
import {
  Ready,
  Severity,
  Status,
  Target,
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
  TOOLS_READY_CONDITION,
  prerequisiteUsageKey,
  readinessKey,
  toolKey,
  usageKey,
} from '../common/contract.js';
import type { BackendRegistry, ClusterBackend } from '../function/backends/backend.js';
import { vcluster, type VclusterSettings } from '../function/backends/vcluster.js';
import { clusterBackends } from '../function/backends/index.js';
import { parseCatalog } from '../function/input/catalog.js';
import { runFunction } from '../function/run-function.js';
import { FieldError } from '../function/input/untrusted-input.js';
import { capturedLogger } from './support/logs.js';
import {
  loadRequest,
  observedResource,
  request,
  shippedCatalog,
  xEnvironment,
} from './support/requests.js';

type Obj = Record<string, unknown>;

let catalog: Obj;
beforeAll(async () => {
  catalog = await shippedCatalog();
});

const HOST_NAMESPACE_USAGE_KEY = prerequisiteUsageKey(HOST_NAMESPACE_KEY);
const HELM_PROVIDER_CONFIG_USAGE_KEY = prerequisiteUsageKey(HELM_PROVIDER_CONFIG_KEY);
const kubeconfig = Buffer.from('apiVersion: v1\nkind: Config\n# not base64: raw bytes\n');
const ready = (extra = {}) => observedResource('Release', { ready: true, ...extra });
const installing = () => observedResource('Release', { ready: false });
const exists = (kind = 'ProviderConfig') => observedResource(kind);
const hostNamespace = (isReady = true) => observedResource('Object', { ready: isReady });
const providerConfigs = () => ({
  [HELM_PROVIDER_CONFIG_KEY]: exists(),
  [KUBERNETES_PROVIDER_CONFIG_KEY]: exists(),
});
/** A cluster that is up, as every later stage observes it. */
const upCluster = (extra = {}) => ({
  [HOST_NAMESPACE_KEY]: hostNamespace(),
  [HOST_NAMESPACE_USAGE_KEY]: exists('Usage'),
  [CLUSTER_KEY]: ready(extra),
  ...providerConfigs(),
  [HELM_PROVIDER_CONFIG_USAGE_KEY]: exists('Usage'),
});

/** A workload of `check` as its API server returns it: its one replica available, or not. */
function workload(check: Obj, available: boolean): Obj {
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
const observedWorkload = (manifest: Obj) =>
  observedResource('Object', { ready: true, atProvider: { manifest } });
/** An Observe-only Object of an object that does not exist, as provider-kubernetes v1.3.1 says so. */
const missingWorkload = () =>
  observedResource('Object', { syncedError: 'observe failed: external resource does not exist' });
/** The shipped catalogue's readiness checks of `tool`, each object's namespace filled in. */
function checksOf(tool: string): Obj[] {
  const entry = toolEntry(catalog.tools as Obj[], tool);
  return ((entry.readiness as Obj[] | undefined) ?? []).map((check) => ({
    namespace: entry.namespace,
    ...check,
  }));
}
const checkKeys = (tool: string) => checksOf(tool).map((_, n) => readinessKey(tool, n));
/** `tool` serving: its Release Ready and every workload it lists available, but `unavailable`. */
function serving(tool: string, unavailable: string[] = []) {
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
const withCertManager = (release: ReturnType<typeof observedResource>) =>
  request(xEnvironment(twoTools), catalog, { ...upCluster(), [toolKey('cert-manager')]: release });

/** What a cluster that is up composes, with `others`, as composedKeys lists them. */
const withCluster = (...others: string[]) =>
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
const PROGRESSING_TTL = { seconds: 10, nanos: 0 };
const twoTools = { tools: [{ name: 'cert-manager' }, { name: 'argo-cd' }] };

function composedKeys(rsp: RunFunctionResponse): string[] {
  return Object.keys(rsp.desired?.resources ?? {}).sort();
}
function status(rsp: RunFunctionResponse): Obj {
  return rsp.desired?.composite?.resource?.status as Obj;
}
function composed(rsp: RunFunctionResponse, key: string): Obj {
  const resource = rsp.desired!.resources[key]?.resource;
  expect(resource, `composed ${key}`).toBeDefined();
  return resource as Obj;
}
const nameOf = (resource: Obj) => (resource.metadata as { name: string }).name;
const forProvider = (resource: Obj) => (resource.spec as { forProvider: Obj }).forProvider;
function fatalMessage(rsp: RunFunctionResponse): string | undefined {
  return rsp.results.find((r) => r.severity === Severity.SEVERITY_FATAL)?.message;
}
function clusterCondition(rsp: RunFunctionResponse) {
  return rsp.conditions.find((c) => c.type === CLUSTER_READY_CONDITION);
}

/** A copy of the shipped catalogue, edited. */
function catalogWith(edit: (copy: { tools: Obj[]; vcluster: Obj; root: Obj }) => void): Obj {
  const copy = structuredClone(catalog);
  edit({
    tools: copy.tools as Obj[],
    vcluster: (copy.cluster as Obj).vcluster as Obj,
    root: copy,
  });
  return copy;
}
const toolEntry = (tools: Obj[], name: string) => tools.find((tool) => tool.name === name)!;
/** A catalogue tool with no dependencies, values or allow-list of its own. */
const plainTool = (name: string, extra: Obj = {}) => ({
  name,
  chart: { repository: 'https://charts.example.org', name, version: '1.0.0' },
  namespace: 'tools',
  ...extra,
});
/** `{ key: { key: … } }`, `depth` levels deep, built without recursion. */
function nested(depth: number, key = 'a'): Obj {
  let value: Obj = {};
  for (let i = 1; i < depth; i++) value = { [key]: value };
  return value;
}

// The cluster Release as provider-helm v1.4.0 leaves it between the chart's install and vcluster
// writing its kubeconfig: every observe fails on the missing connection Secret.
const connectionDetails = [
  { apiVersion: 'v1', kind: 'Secret', name: 'vc-vcluster', namespace: 'ns' },
];
const secretMissing =
  'observe failed: cannot get connection details: cannot get object: secrets "vc-vcluster" not found';
const secretMissingRequest = (details: Obj[]) =>
  request(xEnvironment(twoTools), catalog, {
    ...upCluster(),
    [CLUSTER_KEY]: observedResource('Release', {
      ready: false,
      syncedError: secretMissing,
      spec: { connectionDetails: details },
    }),
  });

interface Case {
  name: string;
  req: () => RunFunctionRequest;
  expect: (rsp: RunFunctionResponse) => void;
  /** Tools the claim dropped: the only observed resources the answer may leave out. */
  dropped?: string[];
}

const cases: Case[] = [
  {
    name: 'a new environment composes its host namespace and provider configs; the cluster waits for the namespace; Crossplane is to call again in 10 s',
    req: () => request(xEnvironment(twoTools), catalog),
    expect: (rsp) => {
      expect(composedKeys(rsp)).toEqual([
        HELM_PROVIDER_CONFIG_KEY,
        HOST_NAMESPACE_KEY,
        KUBERNETES_PROVIDER_CONFIG_KEY,
      ]);
      const namespace = composed(rsp, HOST_NAMESPACE_KEY);
      expect(namespace).toMatchObject({
        apiVersion: 'kubernetes.crossplane.io/v1alpha2',
        kind: 'Object',
        spec: {
          providerConfigRef: { name: 'default' },
          forProvider: { manifest: { apiVersion: 'v1', kind: 'Namespace' } },
        },
      });
      const manifest = forProvider(namespace).manifest as { metadata: { name: string } };
      expect(manifest.metadata.name).toMatch(/^vcluster-dev-x7k2p-[a-z2-7]{10}$/);
      expect(status(rsp).phase).toBe('Pending');
      expect(rsp.desired?.composite?.ready).toBe(Ready.READY_FALSE);
      expect(rsp.meta?.ttl).toEqual(PROGRESSING_TTL);
      expect(rsp.results[0]).toMatchObject({
        severity: Severity.SEVERITY_NORMAL,
        message: 'creating the vcluster cluster (0 of 2 tools ready)',
        target: Target.TARGET_COMPOSITE_AND_CLAIM,
      });
      expect(status(rsp).tools).toEqual([
        {
          name: 'cert-manager',
          version: 'v1.19.1',
          ready: false,
          phase: 'Waiting',
          message: 'waiting for the cluster',
        },
        {
          name: 'argo-cd',
          version: '9.1.0',
          ready: false,
          phase: 'Waiting',
          message: 'waiting for the cluster, cert-manager',
        },
      ]);
    },
  },
  {
    name: 'a host namespace being created: the cluster is provisioning and waits for it',
    req: () =>
      request(xEnvironment(twoTools), catalog, {
        [HOST_NAMESPACE_KEY]: hostNamespace(false),
        ...providerConfigs(),
      }),
    expect: (rsp) => {
      expect(composedKeys(rsp)).not.toContain(CLUSTER_KEY);
      expect(status(rsp).phase).toBe('ProvisioningCluster');
      const namespace = forProvider(composed(rsp, HOST_NAMESPACE_KEY)).manifest as Obj;
      expect(clusterCondition(rsp)).toMatchObject({
        status: Status.STATUS_CONDITION_FALSE,
        reason: 'Creating',
        message: `waiting for the host namespace ${nameOf(namespace)}`,
      });
    },
  },
  {
    name: 'a ready host namespace lets the cluster Release in, installing into it without creating it, deleted before it',
    req: () =>
      request(xEnvironment(twoTools), catalog, {
        [HOST_NAMESPACE_KEY]: hostNamespace(),
        ...providerConfigs(),
      }),
    expect: (rsp) => {
      expect(composedKeys(rsp)).toEqual(withCluster());
      const cluster = composed(rsp, CLUSTER_KEY);
      const namespace = composed(rsp, HOST_NAMESPACE_KEY);
      const namespaceName = nameOf(forProvider(namespace).manifest as Obj);
      expect(forProvider(cluster)).toMatchObject({
        namespace: namespaceName,
        skipCreateNamespace: true,
      });
      expect(composed(rsp, HOST_NAMESPACE_USAGE_KEY)).toMatchObject({
        kind: 'Usage',
        spec: {
          of: { kind: 'Object', resourceRef: { name: nameOf(namespace) } },
          by: { kind: 'Release', resourceRef: { name: nameOf(cluster) } },
          replayDeletion: true,
        },
      });
      expect(rsp.desired!.resources[HOST_NAMESPACE_KEY]!.ready).toBe(Ready.READY_TRUE);
      expect(status(rsp).phase).toBe('ProvisioningCluster');
      expect(status(rsp).cluster).toMatchObject({
        endpoint: `https://vcluster.${namespaceName}.svc:443`,
      });
    },
  },
  {
    name: 'a host namespace that cannot be made fails the environment, naming it',
    req: () =>
      request(xEnvironment(twoTools), catalog, {
        [HOST_NAMESPACE_KEY]: observedResource('Object', {
          ready: false,
          syncedError: 'cannot create object: namespaces is forbidden',
        }),
        ...providerConfigs(),
      }),
    expect: (rsp) => {
      expect(status(rsp).phase).toBe('Failed');
      expect(rsp.results[0]).toMatchObject({ severity: Severity.SEVERITY_WARNING });
      expect(rsp.results[0]!.message).toMatch(
        /^failed: cluster: the host namespace vcluster-dev-x7k2p-\w+: cannot create object: namespaces is forbidden/,
      );
    },
  },
  {
    name: 'a deployed cluster whose kubeconfig Secret is not written yet is provisioning, not failed',
    req: () => secretMissingRequest(connectionDetails),
    expect: (rsp) => {
      expect(status(rsp).phase).toBe('ProvisioningCluster');
      expect(rsp.results[0]).toMatchObject({
        severity: Severity.SEVERITY_NORMAL,
        message: 'provisioning the vcluster cluster (0 of 2 tools ready)',
      });
      expect(clusterCondition(rsp)).toMatchObject({
        reason: 'Creating',
        message: 'waiting for Secret ns/vc-vcluster to be written',
      });
    },
  },
  {
    name: 'a missing Secret the cluster does not name as its connection details is a failure',
    req: () => secretMissingRequest([{ ...connectionDetails[0], name: 'other' }]),
    expect: (rsp) => {
      expect(status(rsp).phase).toBe('Failed');
      expect(clusterCondition(rsp)).toMatchObject({ reason: 'Failed', message: secretMissing });
    },
  },
  {
    name: 'a ready cluster lets the tools without dependencies in, with a Usage on the cluster',
    req: () => request(xEnvironment(twoTools), catalog, upCluster()),
    expect: (rsp) => {
      expect(composedKeys(rsp)).toEqual(
        withCluster(toolKey('cert-manager'), usageKey('cert-manager')),
      );
      expect(status(rsp).phase).toBe('InstallingTools');
      expect(rsp.results[0]!.message).toBe('installing cert-manager (0 of 2 tools ready)');
      const release = composed(rsp, toolKey('cert-manager'));
      expect(composed(rsp, usageKey('cert-manager'))).toMatchObject({
        apiVersion: 'apiextensions.crossplane.io/v1beta1',
        kind: 'Usage',
        spec: {
          of: { kind: 'Release', resourceRef: { name: nameOf(composed(rsp, CLUSTER_KEY)) } },
          by: { kind: 'Release', resourceRef: { name: nameOf(release) } },
          replayDeletion: true,
        },
      });
      expect(release).toMatchObject({
        metadata: { annotations: { 'crossplane.io/external-name': 'cert-manager' } },
        spec: {
          providerConfigRef: { name: nameOf(composed(rsp, HELM_PROVIDER_CONFIG_KEY)) },
          forProvider: { namespace: 'cert-manager' },
        },
      });
      expect(forProvider(release).skipCreateNamespace).toBeUndefined();
    },
  },
  {
    name: 'a serving dependency lets its dependent in, ordered for deletion after it',
    req: () =>
      request(xEnvironment(twoTools), catalog, {
        ...upCluster(),
        ...serving('cert-manager'),
        [usageKey('cert-manager')]: exists('Usage'),
      }),
    expect: (rsp) => {
      expect(composedKeys(rsp)).toContain(toolKey('argo-cd'));
      expect(composed(rsp, usageKey('argo-cd', 'cert-manager'))).toMatchObject({
        spec: {
          of: { resourceRef: { name: nameOf(composed(rsp, toolKey('cert-manager'))) } },
          by: { resourceRef: { name: nameOf(composed(rsp, toolKey('argo-cd'))) } },
        },
      });
      expect(rsp.desired!.resources[toolKey('cert-manager')]!.ready).toBe(Ready.READY_TRUE);
      expect(rsp.desired!.resources[toolKey('argo-cd')]!.ready).toBe(Ready.READY_FALSE);
      expect(rsp.results[0]!.message).toBe('installing argo-cd (1 of 2 tools ready)');
    },
  },
  {
    name: 'a composed tool stays when its dependency and the cluster blip',
    req: () =>
      request(xEnvironment(twoTools), catalog, {
        ...upCluster(),
        [CLUSTER_KEY]: installing(),
        [toolKey('cert-manager')]: installing(),
        [toolKey('argo-cd')]: ready(),
      }),
    expect: (rsp) => {
      expect(composedKeys(rsp)).toEqual(
        expect.arrayContaining([
          toolKey('cert-manager'),
          toolKey('argo-cd'),
          usageKey('argo-cd', 'cert-manager'),
        ]),
      );
      expect(status(rsp).phase).toBe('ProvisioningCluster');
      expect(rsp.desired?.composite?.ready).toBe(Ready.READY_FALSE);
    },
  },
  {
    name: 'a composed tool whose dependency is gone while the cluster blips stays, without a Usage on it',
    req: () =>
      request(xEnvironment(twoTools), catalog, {
        ...upCluster(),
        [CLUSTER_KEY]: installing(),
        [toolKey('argo-cd')]: ready(),
        [usageKey('argo-cd')]: exists('Usage'),
      }),
    expect: (rsp) => {
      expect(composedKeys(rsp)).toEqual(
        withCluster(toolKey('argo-cd'), usageKey('argo-cd'), ...checkKeys('argo-cd')),
      );
      expect(status(rsp).tools).toContainEqual(
        expect.objectContaining({
          name: 'cert-manager',
          phase: 'Waiting',
          message: 'waiting for the cluster',
        }),
      );
    },
  },
  {
    name: 'what was composed stays while it is asked for: a tool whose Usages alone are observed, a cluster whose namespace blips',
    req: () =>
      request(xEnvironment(twoTools), catalog, {
        [HOST_NAMESPACE_KEY]: hostNamespace(false),
        [HOST_NAMESPACE_USAGE_KEY]: exists('Usage'),
        ...providerConfigs(),
        [usageKey('cert-manager')]: exists('Usage'),
        [usageKey('argo-cd', 'cert-manager')]: exists('Usage'),
      }),
    expect: (rsp) => {
      expect(composedKeys(rsp)).toEqual(
        withCluster(
          toolKey('argo-cd'),
          toolKey('cert-manager'),
          usageKey('argo-cd'),
          usageKey('argo-cd', 'cert-manager'),
          usageKey('cert-manager'),
        ),
      );
    },
  },
  {
    name: 'a resource observed without a body still counts as composed',
    req: () => {
      const req = request(xEnvironment(twoTools), catalog, {
        ...upCluster(),
        [CLUSTER_KEY]: installing(),
        [toolKey('cert-manager')]: installing(),
      });
      req.observed!.resources[toolKey('cert-manager')]!.resource = undefined;
      return req;
    },
    expect: (rsp) => {
      expect(composedKeys(rsp)).toEqual(
        withCluster(toolKey('cert-manager'), usageKey('cert-manager')),
      );
    },
  },
  {
    name: "all ready: the XR is ready and carries the kubeconfig bytes unchanged; Crossplane's default TTL",
    req: () =>
      request(xEnvironment({ ...twoTools, ttl: '1d2h' }), catalog, {
        ...upCluster({ connectionDetails: { kubeconfig } }),
        ...serving('cert-manager'),
        ...serving('argo-cd'),
        [usageKey('cert-manager')]: exists('Usage'),
        [usageKey('argo-cd')]: exists('Usage'),
        [usageKey('argo-cd', 'cert-manager')]: exists('Usage'),
      }),
    expect: (rsp) => {
      expect(rsp.desired?.composite?.ready).toBe(Ready.READY_TRUE);
      expect(rsp.meta?.ttl).toEqual({ seconds: 60, nanos: 0 });
      expect(Buffer.from(rsp.desired!.composite!.connectionDetails.kubeconfig!)).toEqual(
        kubeconfig,
      );
      expect(status(rsp)).toMatchObject({
        phase: 'Ready',
        cluster: { ready: true },
        expiresAt: '2026-11-26T11:00:00Z',
      });
      for (const resource of Object.values(rsp.desired!.resources)) {
        expect(resource.ready).toBe(Ready.READY_TRUE);
      }
      expect(rsp.conditions).toEqual([
        expect.objectContaining({
          type: CLUSTER_READY_CONDITION,
          status: Status.STATUS_CONDITION_TRUE,
        }),
        expect.objectContaining({
          type: TOOLS_READY_CONDITION,
          status: Status.STATUS_CONDITION_TRUE,
          message: '2 of 2 tools ready',
          target: Target.TARGET_COMPOSITE_AND_CLAIM,
        }),
      ]);
      expect(rsp.results[0]!.message).toBe('environment ready (2 of 2 tools ready)');
    },
  },
  {
    name: 'a ttl of exactly 365 days expires a year on, where the catalogue sets no maximum',
    req: () =>
      request(
        xEnvironment({ ttl: '365d' }),
        catalogWith(({ root }) => delete root.environments),
      ),
    expect: (rsp) => expect(status(rsp).expiresAt).toBe('2027-11-25T09:00:00Z'),
  },
  {
    name: 'a tool the claim drops is removed, and the claim is told',
    dropped: ['tekton-pipelines'],
    req: () =>
      request(xEnvironment({ tools: [{ name: 'cert-manager' }] }), catalog, {
        ...upCluster(),
        [toolKey('cert-manager')]: ready(),
        [toolKey('tekton-pipelines')]: ready(),
        [usageKey('tekton-pipelines')]: exists('Usage'),
      }),
    expect: (rsp) => {
      expect(composedKeys(rsp)).not.toContain(toolKey('tekton-pipelines'));
      expect(composedKeys(rsp)).not.toContain(usageKey('tekton-pipelines'));
      expect(rsp.results.map((r) => r.message)).toContain(
        'removing tool tekton-pipelines: no longer requested',
      );
    },
  },
  {
    name: 'a version bump changes the chart version, and allowed claim values merge over the catalogue',
    req: () =>
      request(
        xEnvironment({
          tools: [
            {
              name: 'cert-manager',
              version: 'v1.20.0',
              values: { replicaCount: 2, webhook: { resources: { limits: { cpu: '1' } } } },
            },
          ],
        }),
        catalog,
        { ...upCluster(), [toolKey('cert-manager')]: ready() },
      ),
    expect: (rsp) => {
      expect(composed(rsp, toolKey('cert-manager'))).toMatchObject({
        spec: {
          forProvider: {
            chart: { name: 'cert-manager', version: 'v1.20.0' },
            values: {
              crds: { enabled: true },
              replicaCount: 2,
              webhook: { resources: { limits: { cpu: '1' } } },
            },
          },
        },
      });
      expect(status(rsp).tools).toEqual([
        expect.objectContaining({ name: 'cert-manager', version: 'v1.20.0' }),
      ]);
    },
  },
  {
    name: 'cluster values the catalogue allows merge over it, but cannot rewire how providers reach the cluster',
    req: () =>
      request(
        xEnvironment({
          cluster: {
            kubernetesVersion: '1.34',
            values: {
              exportKubeConfig: { server: 'https://elsewhere' },
              sync: { toHost: { ingresses: { enabled: false } } },
            },
          },
        }),
        catalogWith(({ vcluster }) => {
          vcluster.allowedValues = ['sync.toHost.ingresses.enabled', 'exportKubeConfig'];
        }),
        { [HOST_NAMESPACE_KEY]: hostNamespace() },
      ),
    expect: (rsp) => {
      const values = forProvider(composed(rsp, CLUSTER_KEY)).values as Obj;
      expect(values).toMatchObject({
        exportKubeConfig: { server: status(rsp).cluster && (status(rsp).cluster as Obj).endpoint },
        sync: { toHost: { ingresses: { enabled: false } } },
        controlPlane: { distro: { k8s: { image: { tag: 'v1.34.1' } } } },
      });
      expect((values.exportKubeConfig as Obj).server).toMatch(/^https:\/\/vcluster\.vcluster-/);
      expect(status(rsp).cluster).toMatchObject({ kubernetesVersion: '1.34' });
    },
  },
  {
    name: 'the allow-list: `*` matches any one key, a listed path allows its whole subtree, dotted keys pass through their parent',
    req: () =>
      request(
        xEnvironment({
          tools: [
            { name: 'cert-manager' },
            {
              name: 'argo-cd',
              values: {
                configs: { params: { 'server.insecure': false, 'reposerver.parallelism': 2 } },
                server: { resources: { limits: { cpu: '2', memory: '1Gi' } } },
                notifications: { bots: { slack: { enabled: true } } },
              },
            },
          ],
        }),
        catalogWith(({ tools }) => {
          toolEntry(tools, 'argo-cd').allowedValues = [
            'configs.params',
            'server.resources',
            'notifications.*.slack',
          ];
        }),
        { ...upCluster(), ...serving('cert-manager') },
      ),
    expect: (rsp) => {
      expect(forProvider(composed(rsp, toolKey('argo-cd'))).values).toEqual({
        configs: { params: { 'server.insecure': false, 'reposerver.parallelism': 2 } },
        server: { resources: { limits: { cpu: '2', memory: '1Gi' } } },
        notifications: { bots: { slack: { enabled: true } } },
      });
    },
  },
  {
    name: 'keys such as __proto__ and constructor stay plain data in values, and work as tool names',
    req: () =>
      request(
        xEnvironment({
          tools: [{ name: 'constructor', values: JSON.parse('{"__proto__": {"polluted": true}}') }],
        }),
        catalogWith(({ root }) => {
          root.tools = [
            plainTool('constructor', {
              values: JSON.parse('{"__proto__": {"base": 1}, "constructor": {"x": 1}}'),
              allowedValues: ['*'],
            }),
          ];
        }),
        upCluster(),
      ),
    expect: (rsp) => {
      const values = forProvider(composed(rsp, toolKey('constructor'))).values as Obj;
      expect(Object.getPrototypeOf(values)).toBe(Object.prototype);
      expect(Object.keys(values)).toEqual(['__proto__', 'constructor']);
      expect(Object.getOwnPropertyDescriptor(values, '__proto__')!.value).toEqual({
        base: 1,
        polluted: true,
      });
      expect(({} as Obj).polluted).toBeUndefined();
    },
  },
  {
    name: 'values nested exactly 64 levels are taken whole',
    req: () =>
      request(
        xEnvironment({ tools: [{ name: 'cert-manager', values: { resources: nested(64) } }] }),
        catalog,
        upCluster(),
      ),
    expect: (rsp) => {
      const values = forProvider(composed(rsp, toolKey('cert-manager'))).values as Obj;
      let depth = 1; // resources
      for (let at = values.resources as Obj; at.a; at = at.a as Obj) depth++;
      expect(depth).toBe(64);
    },
  },
  {
    name: 'a tool Release is composed with Helm waiting for its workloads, up to the catalogue default or its own waitTimeout',
    req: () =>
      request(
        xEnvironment({ tools: [{ name: 'cert-manager' }, { name: 'knative-operator' }] }),
        catalogWith(({ tools }) => (toolEntry(tools, 'knative-operator').waitTimeout = '7m30s')),
        upCluster(),
      ),
    expect: (rsp) => {
      expect(forProvider(composed(rsp, toolKey('cert-manager')))).toMatchObject({
        wait: true,
        waitTimeout: '5m',
      });
      expect(forProvider(composed(rsp, toolKey('knative-operator')))).toMatchObject({
        wait: true,
        waitTimeout: '7m30s',
      });
      // The cluster's Release is not waited for: its kubeconfig Secret says when it is up.
      expect(forProvider(composed(rsp, CLUSTER_KEY)).wait).toBeUndefined();
    },
  },
  {
    name: 'a tool whose Release is not Ready yet is Installing, with nothing to read its workloads',
    req: () => withCertManager(installing()),
    expect: (rsp) => {
      expect(composedKeys(rsp)).toEqual(
        withCluster(toolKey('cert-manager'), usageKey('cert-manager')),
      );
      expect(status(rsp).tools).toContainEqual(
        expect.objectContaining({ name: 'cert-manager', phase: 'Installing', ready: false }),
      );
    },
  },
  {
    name: "a Ready Release gets its workloads read by Observe-only Objects through the environment's kubernetes provider config; the tool is Starting and its dependents wait",
    req: () =>
      request(xEnvironment(twoTools), catalog, {
        ...upCluster(),
        [toolKey('cert-manager')]: ready(),
        [usageKey('cert-manager')]: exists('Usage'),
      }),
    expect: (rsp) => {
      expect(composedKeys(rsp)).toEqual(
        withCluster(
          toolKey('cert-manager'),
          usageKey('cert-manager'),
          ...checkKeys('cert-manager'),
        ),
      );
      expect(checkKeys('cert-manager')).toEqual([
        'readiness-cert-manager-0',
        'readiness-cert-manager-1',
        'readiness-cert-manager-2',
      ]);
      const webhook = composed(rsp, readinessKey('cert-manager', 2));
      expect(webhook).toEqual({
        apiVersion: 'kubernetes.crossplane.io/v1alpha2',
        kind: 'Object',
        metadata: {
          name: expect.stringMatching(/^readiness-dev-x7k2p-cert-manager-2-[a-z2-7]{10}$/),
        },
        spec: {
          managementPolicies: ['Observe'],
          watch: true,
          forProvider: {
            manifest: {
              apiVersion: 'apps/v1',
              kind: 'Deployment',
              metadata: { name: 'cert-manager-webhook', namespace: 'cert-manager' },
            },
          },
          providerConfigRef: { name: nameOf(composed(rsp, KUBERNETES_PROVIDER_CONFIG_KEY)) },
        },
      });
      expect(rsp.desired!.resources[readinessKey('cert-manager', 2)]!.ready).toBe(
        Ready.READY_FALSE,
      );
      expect(rsp.desired!.resources[toolKey('cert-manager')]!.ready).toBe(Ready.READY_TRUE);
      expect(status(rsp).tools).toEqual([
        {
          name: 'cert-manager',
          version: 'v1.19.1',
          ready: false,
          phase: 'Starting',
          message: 'waiting for Deployment cert-manager/cert-manager: not read yet (and 2 more)',
        },
        {
          name: 'argo-cd',
          version: '9.1.0',
          ready: false,
          phase: 'Waiting',
          message: 'waiting for cert-manager',
        },
      ]);
      expect(status(rsp).phase).toBe('InstallingTools');
      expect(rsp.results[0]!.message).toBe('starting cert-manager (0 of 2 tools ready)');
      expect(rsp.conditions[1]).toMatchObject({
        type: TOOLS_READY_CONDITION,
        status: Status.STATUS_CONDITION_FALSE,
        reason: 'Starting',
      });
      expect(rsp.desired?.composite?.ready).toBe(Ready.READY_FALSE);
    },
  },
  {
    name: 'a tool whose webhook is not available is Starting, naming it; its dependents wait, the rest install',
    req: () =>
      request(xEnvironment({ tools: [...twoTools.tools, { name: 'knative-operator' }] }), catalog, {
        ...upCluster(),
        ...serving('cert-manager', ['cert-manager-webhook']),
        [toolKey('knative-operator')]: installing(),
      }),
    expect: (rsp) => {
      expect(composedKeys(rsp)).not.toContain(toolKey('argo-cd'));
      expect(status(rsp).tools).toEqual([
        expect.objectContaining({
          name: 'cert-manager',
          phase: 'Starting',
          message:
            'waiting for Deployment cert-manager/cert-manager-webhook: 0 of 1 replicas available',
        }),
        expect.objectContaining({
          name: 'argo-cd',
          phase: 'Waiting',
          message: 'waiting for cert-manager',
        }),
        expect.objectContaining({ name: 'knative-operator', phase: 'Installing' }),
      ]);
      expect(rsp.desired!.resources[readinessKey('cert-manager', 0)]!.ready).toBe(Ready.READY_TRUE);
      expect(rsp.desired!.resources[readinessKey('cert-manager', 2)]!.ready).toBe(
        Ready.READY_FALSE,
      );
      expect(rsp.results[0]!.message).toBe(
        'installing knative-operator; starting cert-manager (0 of 3 tools ready)',
      );
      expect(rsp.conditions[1]).toMatchObject({ reason: 'Installing' });
    },
  },
  {
    name: 'a workload that does not exist yet (the Observe-only Object reports an error) is starting, not failed',
    req: () =>
      request(
        xEnvironment({ tools: [{ name: 'knative-operator' }, { name: 'knative-serving' }] }),
        catalog,
        {
          ...upCluster(),
          ...serving('knative-operator'),
          ...serving('knative-serving'),
          [readinessKey('knative-serving', 1)]: missingWorkload(),
        },
      ),
    expect: (rsp) => {
      expect(status(rsp).phase).toBe('InstallingTools');
      expect(status(rsp).tools).toContainEqual({
        name: 'knative-serving',
        version: '2.0.0',
        ready: false,
        phase: 'Starting',
        message: 'waiting for Deployment knative-serving/autoscaler: does not exist yet',
      });
      expect(rsp.results[0]).toMatchObject({
        severity: Severity.SEVERITY_NORMAL,
        message: 'starting knative-serving (1 of 2 tools ready)',
      });
    },
  },
  {
    name: 'a readiness Object that cannot read its workload fails the tool and the environment, naming the workload',
    req: () =>
      request(xEnvironment(twoTools), catalog, {
        ...upCluster(),
        ...serving('cert-manager'),
        [readinessKey('cert-manager', 1)]: observedResource('Object', {
          syncedError:
            'observe failed: cannot get object: deployments.apps "cert-manager-cainjector" is forbidden',
        }),
      }),
    expect: (rsp) => {
      expect(status(rsp).phase).toBe('Failed');
      expect(status(rsp).tools).toContainEqual(
        expect.objectContaining({
          name: 'cert-manager',
          phase: 'Failed',
          message:
            'Deployment cert-manager/cert-manager-cainjector: observe failed: cannot get object: deployments.apps "cert-manager-cainjector" is forbidden',
        }),
      );
      expect(rsp.results[0]).toMatchObject({ severity: Severity.SEVERITY_WARNING });
      expect(composedKeys(rsp)).not.toContain(toolKey('argo-cd'));
    },
  },
  {
    name: 'a serving tool is Ready and lets its dependents in; a StatefulSet counts by its ready replicas',
    req: () =>
      request(xEnvironment(twoTools), catalog, {
        ...upCluster(),
        ...serving('cert-manager'),
        ...serving('argo-cd', ['argo-cd-application-controller']),
      }),
    expect: (rsp) => {
      expect(status(rsp).tools).toEqual([
        { name: 'cert-manager', version: 'v1.19.1', ready: true, phase: 'Ready' },
        {
          name: 'argo-cd',
          version: '9.1.0',
          ready: false,
          phase: 'Starting',
          message:
            'waiting for StatefulSet argocd/argo-cd-application-controller: 0 of 1 replicas ready',
        },
      ]);
      expect(rsp.results[0]!.message).toBe('starting argo-cd (1 of 2 tools ready)');
    },
  },
  {
    name: 'readiness Objects stay while their Release blips, and the tool is Installing again',
    req: () =>
      request(xEnvironment(twoTools), catalog, {
        ...upCluster(),
        ...serving('cert-manager'),
        [toolKey('cert-manager')]: installing(),
        [toolKey('argo-cd')]: ready(),
      }),
    expect: (rsp) => {
      expect(composedKeys(rsp)).toEqual(expect.arrayContaining(checkKeys('cert-manager')));
      expect(status(rsp).tools).toContainEqual(
        expect.objectContaining({ name: 'cert-manager', phase: 'Installing' }),
      );
    },
  },
  {
    name: 'a Release Helm marked failed (its wait timed out) is Failed, though provider-helm calls it only unavailable',
    req: () =>
      withCertManager(
        observedResource('Release', {
          ready: false,
          reason: 'Unavailable',
          atProvider: {
            state: 'failed',
            revision: 1,
            releaseDescription: 'Release "cert-manager" failed: context deadline exceeded',
          },
        }),
      ),
    expect: (rsp) => {
      expect(status(rsp).tools).toContainEqual(
        expect.objectContaining({
          name: 'cert-manager',
          phase: 'Failed',
          message: 'Helm release failed: Release "cert-manager" failed: context deadline exceeded',
        }),
      );
      expect(status(rsp).phase).toBe('Failed');
    },
  },
  {
    name: 'a claim without a ttl expires after the catalogue default',
    req: () => request(xEnvironment({}), catalog),
    expect: (rsp) => expect(status(rsp).expiresAt).toBe('2026-11-26T09:00:00Z'),
  },
  {
    name: 'a claim without a ttl, where the catalogue sets only a maximum, expires after the maximum',
    req: () =>
      request(
        xEnvironment({}),
        catalogWith(({ root }) => (root.environments = { maxTTL: '2d' })),
      ),
    expect: (rsp) => expect(status(rsp).expiresAt).toBe('2026-11-27T09:00:00Z'),
  },
  {
    name: 'a claim without a ttl, where the catalogue sets no lifetimes, never expires',
    req: () =>
      request(
        xEnvironment({}),
        catalogWith(({ root }) => delete root.environments),
      ),
    expect: (rsp) => expect(status(rsp).expiresAt).toBeUndefined(),
  },
  {
    name: 'a ttl of exactly the catalogue maximum is taken',
    req: () => request(xEnvironment({ ttl: '29d24h' }), catalog),
    expect: (rsp) => expect(status(rsp).expiresAt).toBe('2026-12-25T09:00:00Z'),
  },
  {
    name: 'a failing tool fails the environment with a warning that names it',
    req: () =>
      withCertManager(
        observedResource('Release', {
          ready: false,
          syncedError: 'chart "cert-manager" version "v9" not found',
        }),
      ),
    expect: (rsp) => {
      expect(status(rsp).phase).toBe('Failed');
      expect(status(rsp).tools).toContainEqual(
        expect.objectContaining({
          name: 'cert-manager',
          phase: 'Failed',
          message: 'chart "cert-manager" version "v9" not found',
        }),
      );
      expect(rsp.results[0]).toMatchObject({
        severity: Severity.SEVERITY_WARNING,
        message:
          'failed: tool cert-manager: chart "cert-manager" version "v9" not found (0 of 2 tools ready)',
      });
      expect(rsp.conditions[1]).toMatchObject({ type: TOOLS_READY_CONDITION, reason: 'Failed' });
      // A failure may clear by itself: Crossplane is to look again soon.
      expect(rsp.meta?.ttl).toEqual(PROGRESSING_TTL);
    },
  },
  {
    name: 'a namespaced (Crossplane v2) XR gets namespaced managed resources, a kubeconfig Secret beside it, and reads workloads through its own provider config',
    req: () =>
      request(
        {
          ...xEnvironment(
            { tools: [{ name: 'cert-manager' }] },
            { namespace: 'team-a', name: 'dev' },
          ),
          apiVersion: 'v2.platform.xenvironment.io/v1alpha1',
          kind: 'Environment',
        },
        catalog,
        { ...upCluster(), [toolKey('cert-manager')]: ready() },
      ),
    expect: (rsp) => {
      for (const [key, { resource }] of Object.entries(rsp.desired!.resources)) {
        expect((resource!.metadata as Obj).namespace, key).toBe('team-a');
        expect(String(resource!.apiVersion), key).toMatch(
          /\.m\.crossplane\.io\/|^protection\.crossplane\.io\//,
        );
      }
      const cluster = composed(rsp, CLUSTER_KEY);
      const secret = (cluster.spec as { writeConnectionSecretToRef: { name: string } })
        .writeConnectionSecretToRef.name;
      expect(secret).toMatch(/^kubeconfig-team-a-dev-[a-z2-7]{10}$/);
      expect(cluster).toMatchObject({
        spec: {
          providerConfigRef: { kind: 'ClusterProviderConfig', name: 'default' },
          writeConnectionSecretToRef: { name: secret },
          forProvider: { namespace: expect.stringMatching(/^vcluster-team-a-dev-[a-z2-7]{10}$/) },
        },
      });
      expect(composed(rsp, HOST_NAMESPACE_KEY)).toMatchObject({
        apiVersion: 'kubernetes.m.crossplane.io/v1alpha1',
        spec: { providerConfigRef: { kind: 'ClusterProviderConfig', name: 'default' } },
      });
      expect(composed(rsp, toolKey('cert-manager'))).toMatchObject({
        spec: {
          providerConfigRef: {
            kind: 'ProviderConfig',
            name: nameOf(composed(rsp, HELM_PROVIDER_CONFIG_KEY)),
          },
        },
      });
      expect(composed(rsp, HELM_PROVIDER_CONFIG_KEY)).toMatchObject({
        spec: {
          credentials: { secretRef: { name: secret, namespace: 'team-a', key: 'kubeconfig' } },
        },
      });
      expect(status(rsp).cluster).toMatchObject({
        kubeconfigSecretRef: { name: secret, key: 'kubeconfig' },
      });
      expect(composed(rsp, readinessKey('cert-manager', 0))).toMatchObject({
        apiVersion: 'kubernetes.m.crossplane.io/v1alpha1',
        kind: 'Object',
        spec: {
          managementPolicies: ['Observe'],
          providerConfigRef: {
            kind: 'ProviderConfig',
            name: nameOf(composed(rsp, KUBERNETES_PROVIDER_CONFIG_KEY)),
          },
        },
      });
    },
  },
  {
    name: 'resources desired by an earlier pipeline step are kept',
    req: () =>
      request(
        xEnvironment({}),
        catalog,
        {},
        {
          'network-policy': { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } },
        },
      ),
    expect: (rsp) => {
      expect(composedKeys(rsp)).toContain('network-policy');
    },
  },
  {
    name: 'a catalogue chain of as many tools as it may hold renders',
    req: () => {
      const chain = Array.from({ length: 1024 }, (_, i) =>
        plainTool(`t${i}`, i > 0 ? { dependsOn: [`t${i - 1}`] } : {}),
      );
      return request(
        xEnvironment({ tools: chain.slice(0, 200).map(({ name }) => ({ name })) }),
        catalogWith(({ root }) => (root.tools = chain)),
        upCluster(),
      );
    },
    expect: (rsp) => {
      expect(composedKeys(rsp)).toContain(toolKey('t0'));
      expect(composedKeys(rsp)).not.toContain(toolKey('t1'));
    },
  },
];

const badClaim = (name: string, spec: Obj, message: string | RegExp, metadata: Obj = {}) => ({
  name,
  req: () => request(xEnvironment(spec, metadata), catalog),
  message,
});
const badCatalog = (name: string, edit: Parameters<typeof catalogWith>[0], message: string) => ({
  name,
  req: () => request(xEnvironment({}), catalogWith(edit)),
  message,
});

/** A catalogue whose first tool lists `check` as its one readiness check. */
const badReadiness = (name: string, check: Obj, message: string) =>
  badCatalog(name, ({ tools }) => (tools[0]!.readiness = [check]), message);

/** Bad input: each must be Fatal, name the field, and leave the desired state as it came. */
const badInput: { name: string; req: () => RunFunctionRequest; message: string | RegExp }[] = [
  badClaim(
    'an unknown tool',
    { tools: [{ name: 'cert-manager' }, { name: 'argo-cd' }, { name: 'tekon' }] },
    'spec.tools[2].name: "tekon" is not in the catalogue (offered: cert-manager, knative-operator, knative-serving, knative-eventing, tekton-pipelines, argo-cd)',
  ),
  {
    name: 'an unknown tool, among more tools than a message lists',
    req: () =>
      request(
        xEnvironment({ tools: [{ name: 'tekon' }] }),
        catalogWith(({ root }) => {
          root.tools = Array.from({ length: 30 }, (_, i) => plainTool(`t${i}`));
        }),
      ),
    message:
      'spec.tools[0].name: "tekon" is not in the catalogue (offered: t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11, t12, t13, t14, t15, t16, t17, t18, t19, … (30 in all))',
  },
  badClaim(
    'a tool whose dependency is not requested',
    { tools: [{ name: 'argo-cd' }] },
    'spec.tools[0].name: "argo-cd" depends on "cert-manager"; add it to spec.tools',
  ),
  badClaim(
    'a tool listed twice',
    { tools: [{ name: 'cert-manager' }, { name: 'cert-manager' }] },
    'spec.tools[1].name: "cert-manager" is listed twice',
  ),
  badClaim(
    'a bad tool name',
    { tools: [{ name: 'Cert_Manager' }] },
    'spec.tools[0].name: "Cert_Manager" is not a DNS-1123 label',
  ),
  badClaim(
    'a prototype key as a tool name',
    { tools: [{ name: '__proto__' }] },
    'spec.tools[0].name: "__proto__" is not a DNS-1123 label',
  ),
  badClaim(
    'a tool name that is an Object method',
    { tools: [{ name: 'constructor' }] },
    /^spec\.tools\[0\]\.name: "constructor" is not in the catalogue/,
  ),
  badClaim(
    'more tools than the XRD allows',
    { tools: Array.from({ length: 201 }, (_, i) => ({ name: `t${i}` })) },
    'spec.tools: 201 tools; at most 200',
  ),
  badClaim(
    'a chart version longer than the XRD allows',
    { tools: [{ name: 'cert-manager', version: '1'.repeat(65) }] },
    'spec.tools[0].version: 65 characters; at most 64',
  ),
  badClaim(
    'values of the wrong type',
    { tools: [{ name: 'cert-manager', values: 'replicas=2' }] },
    'spec.tools[0].values: must be an object, got the string "replicas=2"',
  ),
  badClaim(
    'tools that are not a list',
    { tools: { name: 'cert-manager' } },
    'spec.tools: must be a list, got an object with keys "name"',
  ),
  badClaim(
    'claim cluster values the catalogue does not allow (a host-side setting)',
    {
      cluster: { values: { exportKubeConfig: { secret: { namespace: 'kube-system' } } } },
    },
    'spec.cluster.values.exportKubeConfig: may not be set by a claim (the catalogue allows: sync.toHost.ingresses.enabled)',
  ),
  badClaim(
    'claim cluster values beside an allowed path',
    {
      cluster: {
        values: { sync: { toHost: { ingresses: { enabled: false }, secrets: { all: true } } } },
      },
    },
    'spec.cluster.values.sync.toHost.secrets: may not be set by a claim (the catalogue allows: sync.toHost.ingresses.enabled)',
  ),
  badClaim(
    'a scalar where the allow-list leads into an object (it would replace the catalogue subtree)',
    { cluster: { values: { sync: null } } },
    'spec.cluster.values.sync: may not be set by a claim (the catalogue allows: sync.toHost.ingresses.enabled)',
  ),
  {
    name: 'tool values the catalogue does not allow, naming a key that is not an identifier',
    req: () =>
      request(
        xEnvironment({
          tools: [
            {
              name: 'cert-manager',
              values: { webhook: { podLabels: { 'app.kubernetes.io/name': 'x' } } },
            },
          ],
        }),
        catalogWith(({ tools }) => (toolEntry(tools, 'cert-manager').allowedValues = ['*.*.x'])),
      ),
    message:
      'spec.tools[0].values.webhook.podLabels["app.kubernetes.io/name"]: may not be set by a claim (the catalogue allows: *.*.x)',
  },
  badClaim(
    'any values for a tool whose catalogue entry allows none',
    { tools: [{ name: 'knative-operator', values: { replicas: 2 } }] },
    'spec.tools[0].values.replicas: may not be set by a claim (the catalogue allows none)',
  ),
  badClaim(
    'claim values nested deeper than 64 levels',
    {
      tools: [{ name: 'cert-manager', values: { resources: nested(65) } }],
    },
    `spec.tools[0].values.resources${'.a'.repeat(64)}: nested deeper than 64 levels`,
  ),
  badClaim(
    'claim values nested 100,000 levels',
    { cluster: { values: { sync: nested(100_000) } } },
    /^spec\.cluster\.values\.sync(\.a){64}: nested deeper than 64 levels$/,
  ),
  {
    name: 'lists nested deeper than 64 levels count as well',
    req: () => {
      let value: unknown = [];
      for (let i = 0; i < 70; i++) value = [value];
      return request(
        xEnvironment({ tools: [{ name: 'cert-manager', values: { resources: value } }] }),
        catalog,
      );
    },
    message: `spec.tools[0].values.resources${'[0]'.repeat(64)}: nested deeper than 64 levels`,
  },
  badClaim(
    'a Kubernetes version the catalogue does not offer',
    { cluster: { kubernetesVersion: '1.20' } },
    'spec.cluster.kubernetesVersion: "1.20" is not offered (offered: 1.32, 1.33, 1.34)',
  ),
  badClaim(
    'an unknown backend',
    { cluster: { backend: 'kind' } },
    'spec.cluster.backend: "kind" is not a known backend (known: vcluster)',
  ),
  badClaim(
    'an Object method as the backend',
    { cluster: { backend: 'toString' } },
    'spec.cluster.backend: "toString" is not a known backend (known: vcluster)',
  ),
  badClaim(
    'a malformed ttl',
    { ttl: '8 hours' },
    'spec.ttl: "8 hours" is not a duration such as "8h" or "1d12h"',
  ),
  badClaim('a ttl past the limit', { ttl: '365d1s' }, 'spec.ttl: "365d1s" is longer than 365d'),
  badClaim(
    'a ttl of more days than a date holds',
    { ttl: '99999999999999999999d' },
    'spec.ttl: "99999999999999999999d" is longer than 365d',
  ),
  badClaim(
    'a ttl whose expiry would not be an RFC 3339 year',
    { ttl: '10000000d' },
    'spec.ttl: "10000000d" is longer than 365d',
  ),
  badClaim(
    'a ttl longer than the XRD allows',
    { ttl: '1s'.repeat(17) },
    'spec.ttl: 34 characters; at most 32',
  ),
  badClaim(
    'a ttl over the catalogue maximum',
    { ttl: '30d1s' },
    'spec.ttl: "30d1s" is more than this platform allows (maxTTL 30d)',
  ),
  badCatalog(
    'a catalogue default ttl over its maximum',
    ({ root }) => (root.environments = { defaultTTL: '8d', maxTTL: '7d' }),
    'input.environments.defaultTTL: "8d" is more than maxTTL 7d',
  ),
  badCatalog(
    'a catalogue maximum ttl past the limit',
    ({ root }) => (root.environments = { maxTTL: '366d' }),
    'input.environments.maxTTL: "366d" is longer than 365d',
  ),
  badCatalog(
    'a catalogue default ttl that is not a duration',
    ({ root }) => (root.environments = { defaultTTL: 'a day' }),
    'input.environments.defaultTTL: "a day" is not a duration such as "8h" or "1d12h"',
  ),
  badCatalog(
    'a waitTimeout in days, which provider-helm cannot read',
    ({ root }) => (root.toolDefaults = { waitTimeout: '1d' }),
    'input.toolDefaults.waitTimeout: "1d" is not a duration such as "90s", "5m" or "1h30m"',
  ),
  badCatalog(
    'a waitTimeout of no time',
    ({ tools }) => (tools[0]!.waitTimeout = '0m0s'),
    'input.tools[0].waitTimeout: "0m0s" is no time at all',
  ),
  badCatalog(
    'a waitTimeout past the limit',
    ({ tools }) => (tools[0]!.waitTimeout = '1h1s'),
    'input.tools[0].waitTimeout: "1h1s" is longer than 3600s',
  ),
  badReadiness(
    'a readiness check of a kind the function cannot read',
    { apiVersion: 'v1', kind: 'Pod', name: 'x' },
    'input.tools[0].readiness[0].kind: "Pod" is not a workload whose readiness the function reads (known: Deployment, StatefulSet, DaemonSet, Job)',
  ),
  badReadiness(
    'a readiness check whose kind is an Object method',
    { apiVersion: 'apps/v1', kind: 'constructor', name: 'x' },
    'input.tools[0].readiness[0].kind: "constructor" is not a workload whose readiness the function reads (known: Deployment, StatefulSet, DaemonSet, Job)',
  ),
  badReadiness(
    'a readiness check at the wrong API version',
    { apiVersion: 'apps/v1', kind: 'Job', name: 'x' },
    'input.tools[0].readiness[0].apiVersion: must be batch/v1 for a Job, got the string "apps/v1"',
  ),
  badReadiness(
    'a readiness check whose name is not an object name',
    { apiVersion: 'apps/v1', kind: 'Deployment', name: 'Web_Hook' },
    'input.tools[0].readiness[0].name: "Web_Hook" is not a DNS-1123 subdomain',
  ),
  badCatalog(
    'a readiness check in a namespace that is not one',
    ({ tools }) =>
      (tools[0]!.readiness = [
        { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'a.b', name: 'x' },
      ]),
    'input.tools[0].readiness[0].namespace: "a.b" is not a namespace name',
  ),
  badCatalog(
    'more readiness checks than the input CRD allows',
    ({ tools }) =>
      (tools[0]!.readiness = Array.from({ length: 17 }, (_, i) => ({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: `d${i}`,
      }))),
    'input.tools[0].readiness: 17 checks; at most 16',
  ),
  badClaim(
    'a creation time that is not RFC 3339',
    { ttl: '1h' },
    'metadata.creationTimestamp: "yesterday" is not an RFC 3339 time',
    { creationTimestamp: 'yesterday' },
  ),
  badClaim(
    'a creation time that leaves no room for the ttl before the year 10000',
    { ttl: '2d' },
    'metadata.creationTimestamp: "9999-12-31T00:00:00Z" plus spec.ttl is past the year 9999',
    { creationTimestamp: '9999-12-31T00:00:00Z' },
  ),
  badClaim(
    'a sink that is not a URI',
    { events: { sink: 'broker' } },
    'spec.events.sink: "broker" is not an absolute URL with a valid host and port',
  ),
  // Both pass the XRD's `^https?://` pattern; the bridge could never send to either.
  badClaim(
    'a sink without a host',
    { events: { sink: 'http://' } },
    'spec.events.sink: "http://" is not an absolute URL with a valid host and port',
  ),
  badClaim(
    'a sink with a port out of range',
    { events: { sink: 'http://x:99999/' } },
    'spec.events.sink: "http://x:99999/" is not an absolute URL with a valid host and port',
  ),
  badClaim(
    'a sink longer than the XRD allows, not echoed whole',
    { events: { sink: `http://${'x'.repeat(2048)}` } },
    'spec.events.sink: 2055 characters; at most 2048',
  ),
  {
    name: 'a missing XR',
    req: () => {
      const req = request(xEnvironment({}), catalog);
      req.observed!.composite = undefined;
      return req;
    },
    message: 'observed.composite.resource: must be an object, got nothing',
  },
  {
    name: 'a missing input',
    req: () => request(xEnvironment({}), undefined),
    message: 'input: is missing: the Composition step must carry a Catalog',
  },
  {
    name: 'an input of the wrong kind',
    req: () => request(xEnvironment({}), { apiVersion: 'example.org/v1', kind: 'Input' }),
    message:
      'input.apiVersion: must be xenvironment.fn.crossplane.io/v1beta1, got the string "example.org/v1"',
  },
  badCatalog(
    'a catalogue dependency that does not exist',
    ({ tools }) => (tools[0]!.dependsOn = ['istio']),
    'input.tools[0].dependsOn[0]: "istio" is not in the catalogue',
  ),
  badCatalog(
    'a catalogue dependency listed twice',
    ({ tools }) => (tools[0]!.dependsOn = ['argo-cd', 'argo-cd']),
    'input.tools[0].dependsOn[1]: "argo-cd" is listed twice',
  ),
  badCatalog(
    'a catalogue dependency cycle',
    ({ tools }) => (tools[0]!.dependsOn = ['argo-cd']),
    'input.tools[0].dependsOn: cycle cert-manager → argo-cd → cert-manager',
  ),
  badCatalog(
    'a catalogue tool that depends on itself',
    ({ tools }) => (tools[2]!.dependsOn = ['knative-serving']),
    'input.tools[2].dependsOn: cycle knative-serving → knative-serving',
  ),
  badCatalog(
    'a catalogue cycle through all the tools it may hold, shown by its ends',
    ({ root }) => {
      root.tools = Array.from({ length: 1024 }, (_, i) =>
        plainTool(`t${i}`, { dependsOn: [`t${(i + 1) % 1024}`] }),
      );
    },
    'input.tools[0].dependsOn: cycle t0 → t1 → t2 → t3 → t4 → … → t1022 → t1023 → t0 (1024 tools)',
  ),
  badCatalog(
    'more catalogue tools than the input CRD allows',
    ({ root }) => {
      root.tools = Array.from({ length: 1025 }, (_, i) => plainTool(`t${i}`));
    },
    'input.tools: 1025 tools; at most 1024',
  ),
  badCatalog(
    'more catalogue dependencies than the input CRD allows',
    ({ tools }) => {
      tools[0]!.dependsOn = Array.from({ length: 33 }, (_, i) => `t${i}`);
    },
    'input.tools[0].dependsOn: 33 dependencies; at most 32',
  ),
  badCatalog(
    'more allowed values than the input CRD allows',
    ({ tools }) => {
      tools[1]!.allowedValues = Array.from({ length: 65 }, (_, i) => `k${i}`);
    },
    'input.tools[1].allowedValues: 65 paths; at most 64',
  ),
  badCatalog(
    'an allowed value that is not a path',
    ({ vcluster }) => (vcluster.allowedValues = ['sync..toHost']),
    'input.cluster.vcluster.allowedValues[0]: "sync..toHost" is not a dot-separated path',
  ),
  badCatalog(
    'a catalogue tool name longer than Helm allows a release name',
    ({ root }) => (root.tools = [plainTool('t'.repeat(54))]),
    'input.tools[0].name: 54 characters; at most 53',
  ),
  badCatalog(
    'catalogue values nested deeper than 64 levels',
    ({ tools }) => (tools[0]!.values = nested(66, 'x')),
    `input.tools[0].values${'.x'.repeat(65)}: nested deeper than 64 levels`,
  ),
  badCatalog(
    'a catalogue that offers no cluster backend',
    ({ root }) => (root.cluster = { connectionSecretNamespace: 'crossplane-system' }),
    'input.cluster: offers no cluster backend (known: vcluster)',
  ),
  badCatalog(
    'a catalogue chart without a version',
    ({ tools }) => delete (tools[1]!.chart as Obj).version,
    'input.tools[1].chart.version: must be a non-empty string, got nothing',
  ),
  badCatalog(
    'a catalogue default Kubernetes version it does not offer',
    ({ vcluster }) => (vcluster.defaultKubernetesVersion = '1.99'),
    'input.cluster.vcluster.defaultKubernetesVersion: "1.99" is not one of input.cluster.vcluster.kubernetesVersions',
  ),
  badCatalog(
    'a prototype key as the catalogue default Kubernetes version',
    ({ vcluster }) => (vcluster.defaultKubernetesVersion = '__proto__'),
    'input.cluster.vcluster.defaultKubernetesVersion: "__proto__" is not one of input.cluster.vcluster.kubernetesVersions',
  ),
  badCatalog(
    'a catalogue Kubernetes version that is not one',
    ({ vcluster }) => {
      vcluster.kubernetesVersions = JSON.parse('{"__proto__": {}}');
    },
    'input.cluster.vcluster.kubernetesVersions.__proto__: is not a Kubernetes minor version such as "1.33"',
  ),
  badCatalog(
    'a prototype key as a catalogue backend',
    ({ root }) => {
      root.cluster = JSON.parse('{"__proto__": {"chart": {}}}');
    },
    'input.cluster.__proto__: is not a known cluster backend (known: vcluster)',
  ),
];

describe('RunFunction', () => {
  it.each(cases)('$name', async ({ req, expect: check, dropped = [] }) => {
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
  });

  it('moves the expiry when spec.ttl is edited: creation time plus the ttl, on every call', async () => {
    const expiry = async (spec: Obj) =>
      status(await runFunction(request(xEnvironment(spec), catalog))).expiresAt;
    expect(await expiry({ ttl: '8h' })).toBe('2026-11-25T17:00:00Z');
    expect(await expiry({ ttl: '2d' })).toBe('2026-11-27T09:00:00Z');
    expect(await expiry({ ttl: '1h' })).toBe('2026-11-25T10:00:00Z');
    // Dropped: the catalogue's default again.
    expect(await expiry({})).toBe('2026-11-26T09:00:00Z');
  });

  it.each(badInput)(
    'is Fatal on $name, naming the field, and changes nothing',
    async ({ req, message }) => {
      const request = req();
      // A healthy environment edited into a bad state: everything it composed is observed.
      request.observed!.resources = { ...upCluster(), [toolKey('cert-manager')]: ready() };
      // And an earlier pipeline step desired something, which must pass through.
      request.desired!.resources['earlier-step'] = {
        resource: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kept' } },
        connectionDetails: {},
        ready: Ready.READY_TRUE,
      };
      const desiredBefore = structuredClone(request.desired);
      const rsp = await runFunction(request);
      if (typeof message === 'string') expect(fatalMessage(rsp)).toBe(message);
      else expect(fatalMessage(rsp)).toMatch(message);
      expect(rsp.results).toHaveLength(1);
      expect(rsp.results[0]).toMatchObject({
        reason: 'InvalidInput',
        target: Target.TARGET_COMPOSITE_AND_CLAIM,
      });
      expect(rsp.desired).toEqual(desiredBefore);
    },
  );
});

describe('RunFunction with the backends it is given', () => {
  /** The shipped registry with vcluster's methods replaced by `overrides`. */
  const vclusterWith = (overrides: Partial<ClusterBackend<VclusterSettings>>): BackendRegistry =>
    new Map([['vcluster', { ...vcluster, ...overrides } as ClusterBackend]]);

  it('checks the claim with its backend before composing anything: Fatal InvalidInput, logged naming the XR', async () => {
    const { logger, lines } = capturedLogger();
    let rendered = 0;
    const backends = vclusterWith({
      render: (...args) => {
        rendered++;
        return vcluster.render(...args);
      },
    });
    const req = request(xEnvironment({ cluster: { kubernetesVersion: '1.20' } }), catalog);
    const rsp = await runFunction(req, { logger, backends });
    expect(rsp.results).toEqual([
      {
        severity: Severity.SEVERITY_FATAL,
        message:
          'spec.cluster.kubernetesVersion: "1.20" is not offered (offered: 1.32, 1.33, 1.34)',
        reason: 'InvalidInput',
        target: Target.TARGET_COMPOSITE_AND_CLAIM,
      },
    ]);
    expect(rendered).toBe(0);
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 40, tag: 'test', xr: 'XEnvironment dev-x7k2p' }),
    );
    // The same claim with an offered version renders through the same backend.
    const fine = request(xEnvironment({ cluster: { kubernetesVersion: '1.33' } }), catalog);
    expect(fatalMessage(await runFunction(fine, { backends }))).toBeUndefined();
    expect(rendered).toBe(1);
  });

  it('answers a failure of its own with a Fatal InternalError for the platform team, logged with its stack', async () => {
    const { logger, lines } = capturedLogger();
    const backends = vclusterWith({
      render: () => {
        throw new TypeError('boom');
      },
    });
    const req = request(xEnvironment(twoTools), catalog, upCluster());
    req.desired!.resources['earlier-step'] = {
      resource: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kept' } },
      connectionDetails: {},
      ready: Ready.READY_TRUE,
    };
    const desiredBefore = structuredClone(req.desired);
    const rsp = await runFunction(req, { logger, backends });
    expect(rsp.results).toEqual([
      {
        severity: Severity.SEVERITY_FATAL,
        message: 'internal error: RunFunction failed: boom',
        reason: 'InternalError',
        target: Target.TARGET_COMPOSITE,
      },
    ]);
    expect(rsp.desired).toEqual(desiredBefore);
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 50,
        tag: 'test',
        xr: 'XEnvironment dev-x7k2p',
        error: 'boom',
        stack: expect.stringContaining('TypeError: boom'),
      }),
    );
  });
});

describe('the catalogue, read once per distinct input', () => {
  const reversed = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(reversed);
    if (typeof value !== 'object' || value === null) return value;
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([k, v]) => [k, reversed(v)]),
    );
  };

  it('is the same reading for an equal input, keys in any order; another for any difference', () => {
    // Not read before in this file.
    const input = structuredClone(catalog) as { tools: { namespace: string }[] };
    input.tools[0]!.namespace = 'first';
    const first = parseCatalog(input, clusterBackends);
    expect(parseCatalog(reversed(structuredClone(input)), clusterBackends)).toBe(first);
    // Read from a frozen input: no response can change it for the next request.
    expect(Object.isFrozen(input)).toBe(true);
    const changed = structuredClone(catalog) as { tools: { namespace: string }[] };
    changed.tools[0]!.namespace = 'elsewhere';
    const other = parseCatalog(changed, clusterBackends);
    expect(other).not.toBe(first);
    expect(other.tools.get('cert-manager')!.namespace).toBe('elsewhere');
    // As many keys, one named differently; one key more.
    const valued = (values: Obj) => {
      const input = structuredClone(catalog) as { tools: { values?: Obj }[] };
      input.tools[0]!.values = values;
      return parseCatalog(input, clusterBackends);
    };
    const ab = valued({ a: 1, b: 2 });
    expect(valued({ a: 1, c: 2 })).not.toBe(ab);
    expect(valued({ a: 1, b: 2, c: 3 })).not.toBe(valued({ a: 1, b: 2 }));
    // -0 and 0 are different values on the wire.
    const negative = structuredClone(catalog) as { tools: { values?: Obj }[] };
    negative.tools[0]!.values = { n: -0 };
    const positive = structuredClone(catalog) as { tools: { values?: Obj }[] };
    positive.tools[0]!.values = { n: 0 };
    expect(parseCatalog(negative, clusterBackends)).not.toBe(
      parseCatalog(positive, clusterBackends),
    );
  });

  it('keeps only the most recent few, and reads a catalogue in error every time', () => {
    const first = parseCatalog(structuredClone(catalog), clusterBackends);
    for (let n = 0; n < 8; n++) {
      const other = structuredClone(catalog) as { tools: { namespace: string }[] };
      other.tools[0]!.namespace = `ns-${n}`;
      parseCatalog(other, clusterBackends);
    }
    expect(parseCatalog(structuredClone(catalog), clusterBackends)).not.toBe(first);
    const broken = { ...structuredClone(catalog), kind: 'NotACatalog' };
    expect(() => parseCatalog(broken, clusterBackends)).toThrow(FieldError);
    expect(() => parseCatalog(structuredClone(broken), clusterBackends)).toThrow(FieldError);
  });

  it('composes what a fresh reading composes, for requests that share it', async () => {
    const allReady = observedResource('Release', { ready: true });
    const requests = () => [
      loadRequest(1),
      loadRequest(200),
      request(xEnvironment({ tools: [{ name: 'cert-manager' }] }), structuredClone(catalog)),
      // Readiness Objects composed and read: the tool is Starting.
      request(xEnvironment({ tools: [{ name: 'cert-manager' }] }), structuredClone(catalog), {
        [CLUSTER_KEY]: allReady,
        [toolKey('cert-manager')]: allReady,
      }),
    ];
    const fresh = [];
    for (const req of requests()) {
      // Another registry: nothing read before for it.
      fresh.push(await runFunction(req, { backends: new Map(clusterBackends) }));
    }
    for (let round = 0; round < 2; round++) {
      const again = [];
      for (const req of requests()) again.push(await runFunction(req));
      expect(again).toEqual(fresh);
    }
  });
});
