/**
 * Spike: the whole path on the real stack (test/controlplane/stack.ts). Crossplane core v2 calls
 * the function (installed as a package from a local registry, over mTLS); real provider-helm
 * installs the cluster chart with real Helm from a local chart repository into the host API
 * server, whose Secret carries a kubeconfig for a second API server; the tools install there in
 * dependency order; deleting the claim lets Usages hold the cluster until its tools are gone, and
 * the garbage collector cleans up. No kubelet runs, so pods never start; nothing here needs them
 * (Releases do not wait for workloads).
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peakRssMiB } from './support/proc.js';
import { writeCharts } from './controlplane/chart-repository.js';
import { garbageCollectorWatches } from './controlplane/kube-controller-manager.js';
import { waitFor } from './controlplane/processes.js';
import { installFunctionPackage, startStack, type Stack } from './controlplane/stack.js';
import { conditionStatus, Kube, type Resource } from './support/kube.js';
import { readYamlDocuments } from './support/manifests.js';
import { testComposition, toolCharts, vclusterChart, WIDGET_CRD } from './support/test-charts.js';

const HELM = 'helm.crossplane.io/v1beta1';
const XRD = 'apiextensions.crossplane.io/v1';
const CLAIM = { apiVersion: 'platform.xenvironment.io/v1alpha1', kind: 'Environment' };
const XR = { apiVersion: 'platform.xenvironment.io/v1alpha1', kind: 'XEnvironment' };
const NAMESPACE = 'team-a';
const CLAIM_LABELS = `crossplane.io/claim-name=dev,crossplane.io/claim-namespace=${NAMESPACE}`;
const TOOL_CHARTS = {
  'test-crd': 'widgets-crd',
  'test-configmap': 'settings',
  'test-deployment': 'web',
};

let stack: Stack;
let env: Kube;
const figures: Record<string, number | string> = {};
const seconds = (since: number) => Math.round((Date.now() - since) / 100) / 10;

/** The claim's Releases by role: `cluster`, or the tool name, from the chart they install. */
async function releases(): Promise<Map<string, Resource>> {
  const list = await stack.kube.list(HELM, 'Release', { labelSelector: CLAIM_LABELS });
  return new Map(
    list.map((release) => {
      const chart = (release.spec as { forProvider: { chart: { name: string } } }).forProvider.chart
        .name;
      const role = chart === 'test-vcluster' ? 'cluster' : TOOL_CHARTS[chart as 'test-crd'];
      return [role ?? chart, release] as const;
    }),
  );
}

const ready = (release: Resource | undefined) => conditionStatus(release, 'Ready') === 'True';

beforeAll(async () => {
  const started = Date.now();
  stack = await startStack({ log: (line) => console.log(`stack: ${line}`) });
  figures.bootSeconds = seconds(started);
  const fnStarted = Date.now();
  await installFunctionPackage(stack);
  figures.functionInstallSeconds = seconds(fnStarted);

  const envKubeconfig = await readFile(stack.environment.adminKubeconfig, 'utf8');
  await writeCharts(stack.charts.dir, [vclusterChart(), ...toolCharts()]);
  const [xrd] = await readYamlDocuments('apis/xenvironment/definition.yaml');
  await stack.kube.apply(xrd!);
  await waitFor('the XRD established and its claim offered', async () => {
    const name = (xrd!.metadata as { name: string }).name;
    const object = await stack.kube.read(XRD, 'CompositeResourceDefinition', name);
    return (
      conditionStatus(object, 'Established') === 'True' &&
      conditionStatus(object, 'Offered') === 'True'
    );
  });
  await stack.kube.apply(
    await testComposition('apis/xenvironment/composition.yaml', stack.charts.url, envKubeconfig),
  );
  await stack.kube.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
  figures.setupSeconds = seconds(started);
}, 300_000);

afterAll(async () => {
  if (stack) {
    for (const { name, pid } of stack.processes()) {
      figures[`peakRssMiB.${name}`] = Math.round(await peakRssMiB(pid).catch(() => 0));
    }
  }
  console.log(JSON.stringify(figures, null, 2));
  await mkdir('test-results', { recursive: true });
  await writeFile('test-results/e2e-crossplane.json', JSON.stringify(figures, null, 2));
  // XENV_KEEP_LOGS=1 keeps the processes' logs (the path is printed at boot).
  await stack?.stop({ keepLogs: Boolean(process.env.XENV_KEEP_LOGS) });
}, 60_000);

describe('an environment on real Crossplane, providers and Helm', () => {
  it('is composed, installed and reachable', async () => {
    const started = Date.now();
    await stack.kube.apply({
      ...CLAIM,
      metadata: { name: 'dev', namespace: NAMESPACE },
      spec: {
        tools: [
          { name: 'widgets-crd' },
          { name: 'settings', values: { greeting: 'hello from the claim' } },
          { name: 'web' },
        ],
        writeConnectionSecretToRef: { name: 'dev-kubeconfig' },
      },
    });

    // Watch Releases appear: each tool must appear only once its dependencies are Ready. And
    // note whether Crossplane's watch circuit breaker opened for the XR: then the XR sees its last
    // tool Ready only at the function's response TTL, up to ~70 s later (see StackOptions).
    const appeared: { role: string; readyThen: string[] }[] = [];
    let claim: Resource | undefined;
    const watch = setInterval(() => {
      releases()
        .then((current) => {
          for (const role of current.keys()) {
            if (appeared.some((a) => a.role === role)) continue;
            const readyThen = [...current].filter(([, r]) => ready(r)).map(([name]) => name);
            appeared.push({ role, readyThen });
          }
        })
        .catch(() => undefined);
      stack.kube
        .list(XR.apiVersion, XR.kind, { labelSelector: CLAIM_LABELS })
        .then(([xr]) => {
          if (conditionStatus(xr, 'Responsive') === 'False') figures.circuitBreakerOpened = 'yes';
        })
        .catch(() => undefined);
    }, 200);
    try {
      await waitFor(
        'the cluster Release Ready',
        async () => ready((await releases()).get('cluster')),
        { timeoutMs: 60_000, watch: [stack.providerHelm] },
      );
      figures.clusterReadySeconds = seconds(started);
      await waitFor(
        'every tool Release Ready',
        async () => {
          const current = await releases();
          return ['widgets-crd', 'settings', 'web'].every((tool) => ready(current.get(tool)));
        },
        { timeoutMs: 90_000, watch: [stack.providerHelm, stack.crossplane.process] },
      );
      figures.toolsReadySeconds = seconds(started);
      claim = await waitFor(
        'the claim Ready',
        async () => {
          const c = await stack.kube.read(CLAIM.apiVersion, CLAIM.kind, 'dev', NAMESPACE);
          return conditionStatus(c, 'Ready') === 'True' ? c : undefined;
        },
        { timeoutMs: 120_000, watch: [stack.crossplane.process] },
      );
      figures.environmentReadySeconds = seconds(started);
      expect(claim.status).toMatchObject({
        phase: 'Ready',
        cluster: { ready: true },
        tools: [
          { name: 'widgets-crd', ready: true },
          { name: 'settings', ready: true },
          { name: 'web', ready: true },
        ],
      });

      // Once the XR is Ready, the claim's connection secret gets the kubeconfig, which reaches
      // the second API server.
      const secret = await waitFor(
        "the claim's connection secret",
        async () => {
          const s = await stack.kube.read('v1', 'Secret', 'dev-kubeconfig', NAMESPACE);
          return (s?.data as Record<string, string> | undefined)?.kubeconfig ? s : undefined;
        },
        { timeoutMs: 30_000 },
      );
      const config = new KubeConfig();
      config.loadFromString(
        Buffer.from((secret.data as { kubeconfig: string }).kubeconfig, 'base64').toString(),
      );
      expect(config.getCurrentCluster()?.server).toBe(stack.environment.server);
      env = new Kube(config);
    } finally {
      clearInterval(watch);
    }

    expect(appeared[0]!.role).toBe('cluster');
    const web = appeared.find((a) => a.role === 'web');
    expect(web?.readyThen).toEqual(expect.arrayContaining(['cluster', 'widgets-crd', 'settings']));

    // What Helm installed: in the environment's API server, the tools, with the claim's values.
    const settings = await env.read('v1', 'ConfigMap', 'settings', 'settings');
    expect(settings?.data).toEqual({ greeting: 'hello from the claim' });
    expect(await env.read('apps/v1', 'Deployment', 'web', 'web')).toBeDefined();
    expect(await env.read('test.xenvironment.io/v1', 'Widget', 'web', 'web')).toBeDefined();
    // In the host, the cluster chart got the function's wiring values.
    const xr = await stack.kube.read(
      XR.apiVersion,
      XR.kind,
      String((claim!.spec as { resourceRef: { name: string } }).resourceRef.name),
    );
    const endpoint = (xr?.status as { cluster: { endpoint: string } }).cluster.endpoint;
    const cluster = (await releases()).get('cluster')!;
    const hostNamespace = (cluster.spec as { forProvider: { namespace: string } }).forProvider
      .namespace;
    const wiring = await stack.kube.read('v1', 'ConfigMap', 'vcluster-wiring', hostNamespace);
    expect(wiring?.data).toEqual({ server: endpoint });
  }, 240_000);

  it('holds the cluster until its tools are gone, then cleans everything up', async () => {
    expect(env, 'the environment came up').toBeDefined();
    const cluster = (await releases()).get('cluster')!;
    // The Usage webhook refuses to delete the cluster while tools use it.
    await expect(stack.kube.delete(HELM, 'Release', cluster.metadata!.name!)).rejects.toThrow(
      /in-use by \d+ usage/,
    );

    // The garbage collector must watch the XR's kind (new CRD) to see the XR go.
    await waitFor(
      'the garbage collector to watch XEnvironments',
      () =>
        garbageCollectorWatches(
          stack.kubeControllerManager,
          'xenvironments.platform.xenvironment.io',
        ),
      { timeoutMs: 45_000 },
    );

    const started = Date.now();
    await stack.kube.delete(CLAIM.apiVersion, CLAIM.kind, 'dev', NAMESPACE);
    let clusterOutlivedTools = true;
    let toolsGoneSeconds = 0;
    await waitFor(
      'every Release gone',
      async () => {
        const current = await releases();
        const tools = [...current.keys()].filter((role) => role !== 'cluster');
        if (tools.length > 0 && !current.has('cluster')) clusterOutlivedTools = false;
        if (tools.length === 0 && !toolsGoneSeconds) toolsGoneSeconds = seconds(started);
        return current.size === 0;
      },
      { timeoutMs: 120_000, watch: [stack.providerHelm, stack.kubeControllerManager] },
    );
    figures.toolsGoneSeconds = toolsGoneSeconds;
    figures.clusterGoneSeconds = seconds(started);
    expect(clusterOutlivedTools).toBe(true);

    // Helm uninstalled the tools from the environment's cluster (CRDs stay, as Helm leaves them).
    expect(await env.read('v1', 'ConfigMap', 'settings', 'settings')).toBeUndefined();
    expect(await env.read('apps/v1', 'Deployment', 'web', 'web')).toBeUndefined();
    expect(
      await env.read('apiextensions.k8s.io/v1', 'CustomResourceDefinition', WIDGET_CRD),
    ).toBeDefined();
    // And everything composed is gone from the host.
    await waitFor(
      'the claim, XR, Usages, provider configs and secrets gone',
      async () => {
        const left = [
          ...(await stack.kube.list(CLAIM.apiVersion, CLAIM.kind, { namespace: NAMESPACE })),
          ...(await stack.kube.list(XR.apiVersion, XR.kind)),
          ...(await stack.kube.list('apiextensions.crossplane.io/v1beta1', 'Usage')),
          ...(await stack.kube.list(HELM, 'ProviderConfig', { labelSelector: CLAIM_LABELS })),
          ...(await stack.kube.list('kubernetes.crossplane.io/v1alpha1', 'ProviderConfig', {
            labelSelector: CLAIM_LABELS,
          })),
          ...(await stack.kube.list('v1', 'Secret', { namespace: NAMESPACE })),
          ...(await stack.kube.list('v1', 'Secret', { namespace: 'crossplane-system' })).filter(
            (s) =>
              s.metadata?.name?.includes('kubeconfig') && s.metadata.name !== 'host-kubeconfig',
          ),
        ];
        return left.length === 0;
      },
      { timeoutMs: 60_000 },
    );
    figures.cleanedUpSeconds = seconds(started);
  }, 240_000);

  it('has provider-kubernetes apply Objects to the host, and the namespace controller empty them', async () => {
    // What the host-namespace Object of an environment will need.
    const object = {
      apiVersion: 'kubernetes.crossplane.io/v1alpha2',
      kind: 'Object',
      metadata: { name: 'probe-namespace' },
      spec: {
        forProvider: {
          manifest: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'probe' } },
        },
        providerConfigRef: { name: 'default' },
      },
    };
    await stack.kube.apply(object);
    await waitFor(
      'the Object Ready',
      async () =>
        conditionStatus(
          await stack.kube.read(object.apiVersion, object.kind, object.metadata.name),
          'Ready',
        ) === 'True',
      { timeoutMs: 30_000, watch: [stack.providerKubernetes] },
    );
    expect(await stack.kube.read('v1', 'Namespace', 'probe')).toBeDefined();
    // Served at v1alpha1 too, through the provider's conversion webhook.
    const old = await stack.kube.read(
      'kubernetes.crossplane.io/v1alpha1',
      'Object',
      'probe-namespace',
    );
    expect(old?.apiVersion).toBe('kubernetes.crossplane.io/v1alpha1');

    await stack.kube.delete(object.apiVersion, object.kind, object.metadata.name);
    await waitFor(
      'the namespace gone',
      async () => (await stack.kube.read('v1', 'Namespace', 'probe')) === undefined,
      { timeoutMs: 30_000, watch: [stack.providerKubernetes, stack.kubeControllerManager] },
    );
  }, 60_000);
});
