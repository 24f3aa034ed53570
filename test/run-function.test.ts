import { beforeAll, describe, expect, it } from 'vitest';
import {
  Ready,
  Severity,
  Status,
  Target,
  type RunFunctionRequest,
  type RunFunctionResponse,
} from '@crossplane-org/function-sdk-typescript';
import { runFunction } from '../function/run-function.js';
import { observedResource, request, shippedCatalog, xEnvironment } from './support/requests.js';

type Obj = Record<string, unknown>;

let catalog: Obj;
beforeAll(async () => {
  catalog = await shippedCatalog();
});

const kubeconfig = Buffer.from('apiVersion: v1\nkind: Config\n# not base64: raw bytes\n');
const ready = (extra = {}) => observedResource('Release', { ready: true, ...extra });
const installing = () => observedResource('Release', { ready: false });
const exists = (kind = 'ProviderConfig') => observedResource(kind);
const providerConfigs = () => ({
  'helm-providerconfig': exists(),
  'kubernetes-providerconfig': exists(),
});

const twoTools = { tools: [{ name: 'cert-manager' }, { name: 'argo-cd' }] };

function composedKeys(rsp: RunFunctionResponse): string[] {
  return Object.keys(rsp.desired?.resources ?? {}).sort();
}
function status(rsp: RunFunctionResponse): Obj {
  return rsp.desired?.composite?.resource?.status as Obj;
}
function release(rsp: RunFunctionResponse, key: string): Obj {
  return rsp.desired!.resources[key]!.resource as Obj;
}
function fatalMessage(rsp: RunFunctionResponse): string | undefined {
  return rsp.results.find((r) => r.severity === Severity.SEVERITY_FATAL)?.message;
}

interface Case {
  name: string;
  req: () => RunFunctionRequest;
  expect: (rsp: RunFunctionResponse) => void;
  /** Tools the claim dropped: the only observed resources the answer may leave out. */
  dropped?: string[];
}

const cases: Case[] = [
  {
    name: 'a new environment composes the cluster and provider configs, no tools yet',
    req: () => request(xEnvironment(twoTools), catalog),
    expect: (rsp) => {
      expect(composedKeys(rsp)).toEqual([
        'cluster',
        'helm-providerconfig',
        'kubernetes-providerconfig',
      ]);
      expect(status(rsp).phase).toBe('Pending');
      expect(rsp.desired?.composite?.ready).toBe(Ready.READY_FALSE);
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
    name: 'a ready cluster lets the tools without dependencies in, with a Usage on the cluster',
    req: () => request(xEnvironment(twoTools), catalog, { cluster: ready(), ...providerConfigs() }),
    expect: (rsp) => {
      expect(composedKeys(rsp)).toEqual([
        'cluster',
        'helm-providerconfig',
        'kubernetes-providerconfig',
        'tool-cert-manager',
        'usage-cert-manager',
      ]);
      expect(status(rsp).phase).toBe('InstallingTools');
      expect(rsp.results[0]!.message).toBe('installing cert-manager (0 of 2 tools ready)');
      const usage = release(rsp, 'usage-cert-manager');
      expect(usage).toMatchObject({
        apiVersion: 'apiextensions.crossplane.io/v1beta1',
        kind: 'Usage',
        spec: {
          of: { kind: 'Release', resourceRef: { name: 'dev-x7k2p-cluster' } },
          by: { kind: 'Release', resourceRef: { name: 'dev-x7k2p-cert-manager' } },
          replayDeletion: true,
        },
      });
      expect(release(rsp, 'tool-cert-manager')).toMatchObject({
        metadata: {
          name: 'dev-x7k2p-cert-manager',
          annotations: { 'crossplane.io/external-name': 'cert-manager' },
        },
        spec: {
          providerConfigRef: { name: 'dev-x7k2p' },
          forProvider: { namespace: 'cert-manager' },
        },
      });
    },
  },
  {
    name: 'a ready dependency lets its dependent in, ordered for deletion after it',
    req: () =>
      request(xEnvironment(twoTools), catalog, {
        cluster: ready(),
        ...providerConfigs(),
        'tool-cert-manager': ready(),
        'usage-cert-manager': exists('Usage'),
      }),
    expect: (rsp) => {
      expect(composedKeys(rsp)).toContain('tool-argo-cd');
      expect(release(rsp, 'usage-argo-cd-on-cert-manager')).toMatchObject({
        spec: {
          of: { resourceRef: { name: 'dev-x7k2p-cert-manager' } },
          by: { resourceRef: { name: 'dev-x7k2p-argo-cd' } },
        },
      });
      expect(rsp.desired!.resources['tool-cert-manager']!.ready).toBe(Ready.READY_TRUE);
      expect(rsp.desired!.resources['tool-argo-cd']!.ready).toBe(Ready.READY_FALSE);
      expect(rsp.results[0]!.message).toBe('installing argo-cd (1 of 2 tools ready)');
    },
  },
  {
    name: 'a composed tool stays when its dependency and the cluster blip',
    req: () =>
      request(xEnvironment(twoTools), catalog, {
        cluster: installing(),
        ...providerConfigs(),
        'tool-cert-manager': installing(),
        'tool-argo-cd': ready(),
      }),
    expect: (rsp) => {
      expect(composedKeys(rsp)).toEqual(
        expect.arrayContaining([
          'tool-cert-manager',
          'tool-argo-cd',
          'usage-argo-cd-on-cert-manager',
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
        cluster: installing(),
        ...providerConfigs(),
        'tool-argo-cd': ready(),
        'usage-argo-cd': exists('Usage'),
      }),
    dropped: [],
    expect: (rsp) => {
      expect(composedKeys(rsp)).toEqual([
        'cluster',
        'helm-providerconfig',
        'kubernetes-providerconfig',
        'tool-argo-cd',
        'usage-argo-cd',
      ]);
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
    name: 'all ready: the XR is ready and carries the kubeconfig bytes unchanged',
    req: () =>
      request(xEnvironment({ ...twoTools, ttl: '1d2h' }), catalog, {
        cluster: ready({ connectionDetails: { kubeconfig } }),
        ...providerConfigs(),
        'tool-cert-manager': ready(),
        'tool-argo-cd': ready(),
        'usage-cert-manager': exists('Usage'),
        'usage-argo-cd': exists('Usage'),
        'usage-argo-cd-on-cert-manager': exists('Usage'),
      }),
    expect: (rsp) => {
      expect(rsp.desired?.composite?.ready).toBe(Ready.READY_TRUE);
      expect(Buffer.from(rsp.desired!.composite!.connectionDetails.kubeconfig!)).toEqual(
        kubeconfig,
      );
      expect(status(rsp)).toMatchObject({
        phase: 'Ready',
        cluster: { ready: true, endpoint: 'https://vcluster.vcluster-dev-x7k2p.svc:443' },
        expiresAt: '2026-11-26T11:00:00Z',
      });
      for (const resource of Object.values(rsp.desired!.resources)) {
        expect(resource.ready).toBe(Ready.READY_TRUE);
      }
      expect(rsp.conditions).toEqual([
        expect.objectContaining({ type: 'ClusterReady', status: Status.STATUS_CONDITION_TRUE }),
        expect.objectContaining({
          type: 'ToolsReady',
          status: Status.STATUS_CONDITION_TRUE,
          message: '2 of 2 tools ready',
          target: Target.TARGET_COMPOSITE_AND_CLAIM,
        }),
      ]);
      expect(rsp.results[0]!.message).toBe('environment ready (2 of 2 tools ready)');
    },
  },
  {
    name: 'a tool the claim drops is removed, and the claim is told',
    dropped: ['tekton-pipelines'],
    req: () =>
      request(xEnvironment({ tools: [{ name: 'cert-manager' }] }), catalog, {
        cluster: ready(),
        ...providerConfigs(),
        'tool-cert-manager': ready(),
        'tool-tekton-pipelines': ready(),
        'usage-tekton-pipelines': exists('Usage'),
      }),
    expect: (rsp) => {
      expect(composedKeys(rsp)).not.toContain('tool-tekton-pipelines');
      expect(composedKeys(rsp)).not.toContain('usage-tekton-pipelines');
      expect(rsp.results.map((r) => r.message)).toContain(
        'removing tool tekton-pipelines: no longer requested',
      );
    },
  },
  {
    name: 'a version bump changes the chart version, and claim values merge over the catalogue',
    req: () =>
      request(
        xEnvironment({
          tools: [
            {
              name: 'cert-manager',
              version: 'v1.20.0',
              values: { crds: { keep: true }, replicaCount: 2 },
            },
          ],
        }),
        catalog,
        { cluster: ready(), ...providerConfigs(), 'tool-cert-manager': ready() },
      ),
    expect: (rsp) => {
      expect(release(rsp, 'tool-cert-manager')).toMatchObject({
        spec: {
          forProvider: {
            chart: { name: 'cert-manager', version: 'v1.20.0' },
            values: { crds: { enabled: true, keep: true }, replicaCount: 2 },
          },
        },
      });
      expect(status(rsp).tools).toEqual([
        expect.objectContaining({ name: 'cert-manager', version: 'v1.20.0' }),
      ]);
    },
  },
  {
    name: 'cluster values merge over the catalogue, but cannot rewire how providers reach it',
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
        catalog,
      ),
    expect: (rsp) => {
      const values = (release(rsp, 'cluster').spec as { forProvider: { values: Obj } }).forProvider
        .values;
      expect(values).toMatchObject({
        exportKubeConfig: { server: 'https://vcluster.vcluster-dev-x7k2p.svc:443' },
        sync: { toHost: { ingresses: { enabled: false } } },
        controlPlane: { distro: { k8s: { image: { tag: 'v1.34.1' } } } },
      });
      expect(status(rsp).cluster).toMatchObject({ kubernetesVersion: '1.34' });
    },
  },
  {
    name: 'a failing tool fails the environment with a warning that names it',
    req: () =>
      request(xEnvironment(twoTools), catalog, {
        cluster: ready(),
        ...providerConfigs(),
        'tool-cert-manager': observedResource('Release', {
          ready: false,
          syncedError: 'chart "cert-manager" version "v9" not found',
        }),
      }),
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
      expect(rsp.conditions[1]).toMatchObject({ type: 'ToolsReady', reason: 'Failed' });
    },
  },
  {
    name: 'a namespaced (Crossplane v2) XR gets namespaced managed resources and a kubeconfig Secret beside it',
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
        { cluster: ready(), ...providerConfigs() },
      ),
    expect: (rsp) => {
      for (const [key, { resource }] of Object.entries(rsp.desired!.resources)) {
        expect((resource!.metadata as Obj).namespace, key).toBe('team-a');
        expect(String(resource!.apiVersion), key).toMatch(
          /\.m\.crossplane\.io\/|^protection\.crossplane\.io\//,
        );
      }
      expect(release(rsp, 'cluster')).toMatchObject({
        spec: {
          providerConfigRef: { kind: 'ClusterProviderConfig', name: 'default' },
          writeConnectionSecretToRef: { name: 'dev-kubeconfig' },
          forProvider: { namespace: 'vcluster-team-a-dev' },
        },
      });
      expect(release(rsp, 'tool-cert-manager')).toMatchObject({
        spec: { providerConfigRef: { kind: 'ProviderConfig', name: 'dev' } },
      });
      expect(release(rsp, 'helm-providerconfig')).toMatchObject({
        spec: {
          credentials: {
            secretRef: { name: 'dev-kubeconfig', namespace: 'team-a', key: 'kubeconfig' },
          },
        },
      });
      expect(status(rsp).cluster).toMatchObject({
        kubeconfigSecretRef: { name: 'dev-kubeconfig', key: 'kubeconfig' },
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
];

/** Bad input: each must be Fatal, name the field, and leave the desired state as it came. */
const badInput: { name: string; req: () => RunFunctionRequest; message: string }[] = [
  {
    name: 'an unknown tool',
    req: () =>
      request(
        xEnvironment({ tools: [{ name: 'cert-manager' }, { name: 'argo-cd' }, { name: 'tekon' }] }),
        catalog,
      ),
    message:
      'spec.tools[2].name: "tekon" is not in the catalogue (offered: cert-manager, knative-operator, knative-serving, knative-eventing, tekton-pipelines, argo-cd)',
  },
  {
    name: 'a tool whose dependency is not requested',
    req: () => request(xEnvironment({ tools: [{ name: 'argo-cd' }] }), catalog),
    message: 'spec.tools[0].name: "argo-cd" depends on "cert-manager"; add it to spec.tools',
  },
  {
    name: 'a tool listed twice',
    req: () =>
      request(
        xEnvironment({ tools: [{ name: 'cert-manager' }, { name: 'cert-manager' }] }),
        catalog,
      ),
    message: 'spec.tools[1].name: "cert-manager" is listed twice',
  },
  {
    name: 'a bad tool name',
    req: () => request(xEnvironment({ tools: [{ name: 'Cert_Manager' }] }), catalog),
    message: 'spec.tools[0].name: "Cert_Manager" is not a DNS-1123 label',
  },
  {
    name: 'values of the wrong type',
    req: () =>
      request(xEnvironment({ tools: [{ name: 'cert-manager', values: 'replicas=2' }] }), catalog),
    message: 'spec.tools[0].values: must be an object, got the string "replicas=2"',
  },
  {
    name: 'tools that are not a list',
    req: () => request(xEnvironment({ tools: { name: 'cert-manager' } }), catalog),
    message: 'spec.tools: must be a list, got object {"name":"cert-manager"}',
  },
  {
    name: 'a Kubernetes version the catalogue does not offer',
    req: () => request(xEnvironment({ cluster: { kubernetesVersion: '1.20' } }), catalog),
    message: 'spec.cluster.kubernetesVersion: "1.20" is not offered (offered: 1.32, 1.33, 1.34)',
  },
  {
    name: 'an unknown backend',
    req: () => request(xEnvironment({ cluster: { backend: 'kind' } }), catalog),
    message: 'spec.cluster.backend: "kind" is not a known backend (known: vcluster)',
  },
  {
    name: 'a malformed ttl',
    req: () => request(xEnvironment({ ttl: '8 hours' }), catalog),
    message: 'spec.ttl: "8 hours" is not a duration such as "8h" or "1d12h"',
  },
  {
    name: 'a sink that is not a URI',
    req: () => request(xEnvironment({ events: { sink: 'broker' } }), catalog),
    message: 'spec.events.sink: "broker" is not an absolute URI',
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
      'input: must be apiVersion xenvironment.fn.crossplane.io/v1beta1, kind Catalog; got example.org/v1, Input',
  },
  {
    name: 'a catalogue dependency that does not exist',
    req: () =>
      request(
        xEnvironment({}),
        withTools((tools) => (tools[0]!.dependsOn = ['istio'])),
      ),
    message: 'input.tools[0].dependsOn[0]: "istio" is not in the catalogue',
  },
  {
    name: 'a catalogue dependency cycle',
    req: () =>
      request(
        xEnvironment({}),
        withTools((tools) => (tools[0]!.dependsOn = ['argo-cd'])),
      ),
    message: 'input.tools[0].dependsOn: cycle cert-manager → argo-cd → cert-manager',
  },
  {
    name: 'a catalogue chart without a version',
    req: () =>
      request(
        xEnvironment({}),
        withTools((tools) => delete (tools[1]!.chart as Obj).version),
      ),
    message: 'input.tools[1].chart.version: must be a non-empty string, got nothing',
  },
  {
    name: 'a catalogue default Kubernetes version it does not offer',
    req: () =>
      request(xEnvironment({}), {
        ...catalog,
        cluster: { vcluster: { ...vclusterSettings(), defaultKubernetesVersion: '1.99' } },
      }),
    message:
      'input.cluster.vcluster.defaultKubernetesVersion: "1.99" is not one of input.cluster.vcluster.kubernetesVersions',
  },
];

function withTools(edit: (tools: Obj[]) => void): Obj {
  const copy = structuredClone(catalog);
  edit(copy.tools as Obj[]);
  return copy;
}
function vclusterSettings(): Obj {
  return (catalog.cluster as Obj).vcluster as Obj;
}

describe('RunFunction', () => {
  it.each(cases)('$name', async ({ req, expect: check, dropped = [] }) => {
    const request = req();
    const rsp = await runFunction(request);
    expect(fatalMessage(rsp)).toBeUndefined();
    check(rsp);
    // Nothing observed is dropped unless the claim dropped that tool.
    const droppedKey = (key: string) =>
      dropped.some((tool) => key === `tool-${tool}` || key.startsWith(`usage-${tool}`));
    for (const key of Object.keys(request.observed!.resources)) {
      if (!droppedKey(key)) expect(Object.keys(rsp.desired!.resources), key).toContain(key);
    }
  });

  it.each(badInput)(
    'is Fatal on $name, naming the field, and changes nothing',
    async ({ req, message }) => {
      const request = req();
      // A healthy environment edited into a bad state: everything it composed is observed.
      request.observed!.resources = {
        cluster: ready(),
        ...providerConfigs(),
        'tool-cert-manager': ready(),
      };
      // And an earlier pipeline step desired something, which must pass through.
      request.desired!.resources['earlier-step'] = {
        resource: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kept' } },
        connectionDetails: {},
        ready: Ready.READY_TRUE,
      };
      const desiredBefore = structuredClone(request.desired);
      const rsp = await runFunction(request);
      expect(fatalMessage(rsp)).toBe(message);
      expect(rsp.results[0]!.target).toBe(Target.TARGET_COMPOSITE_AND_CLAIM);
      expect(rsp.desired).toEqual(desiredBefore);
    },
  );
});
