/**
 * The real stack on one node of this machine: a host control plane (etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler) with a kubelet on containerd, kube-proxy and CoreDNS
 * (node.ts); a local OCI registry holding the images built here and a Helm chart repository;
 * Crossplane installed from its own Helm chart; the product installed from its packages as a user
 * installs it (packages.ts), so that Crossplane's package runtime runs provider-helm,
 * provider-kubernetes and the function, with the bridge as its sidecar, as pods.
 *
 *   const stack = await startStack({ log: console.log });
 *   ...
 *   await stack.stop();
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { conditionStatus, Kube, type Obj } from '../support/kube.js';
import { readYamlDocuments } from '../support/manifests.js';
import { startChartRepository, writeCharts, type ChartRepository } from './chart-repository.js';
import { startClusterDns } from './cluster-dns.js';
import { startControlPlane, terminate, type ControlPlane } from './controlplane.js';
import { CROSSPLANE_NAMESPACE, installCrossplane } from './crossplane.js';
import { clearNodeState, prepareNode, startNode, type Node } from './node.js';
import {
  configurationHealthy,
  FUNCTION,
  imageReference,
  mirror,
  packageHealthy,
  providerRuntimeConfigs,
  PROVIDERS,
  publishPackages,
  PUBLISHED,
  pushImages,
  runtimeContainer,
  VERSION,
  xpkgInstall,
  type ProviderName,
} from './packages.js';
import { waitFor, type LaunchOptions, type Process } from './processes.js';
import { startRegistry, type Registry } from './registry.js';
import { VERSIONS } from './tools.js';

/**
 * What the e2e and cluster:up add to `crossplane core start`. Crossplane's per-XR watch circuit
 * breaker (a token bucket: burst 100, refill 1/s, open for 5 min; an update counts twice, for the
 * old and the new object) opens for every environment within seconds of its creation, as its
 * dozen composed resources change while the providers settle them; open, it drops the XR's watch
 * events but one per 30 s, so each step (a tool whose dependencies became Ready, a claim's edit)
 * waits 30 to 60 s for a probe or the function's response TTL. A larger burst keeps it closed, so
 * that a step takes what Crossplane, the providers and Helm take; docs/testing.md gives both figures.
 */
export const E2E_CROSSPLANE_ARGS = ['--circuit-breaker-burst=1000'];

/**
 * The providers' polls in the stack: provider-helm sees an upgraded Release again only at its
 * poll, provider-kubernetes reads the readiness checks at its own.
 */
const PROVIDER_ARGS: Record<ProviderName, string[]> = {
  providerHelm: ['--debug', '--poll=1m'],
  providerKubernetes: ['--debug', '--poll=15s'],
};

export interface BridgeSettings {
  /** Environment of the bridge sidecar, over the shipped DeploymentRuntimeConfig's. */
  env: Record<string, string>;
}

export interface StackOptions {
  /** Keep the processes when this Node process exits (cluster:up). */
  detached?: boolean;
  log?: (line: string) => void;
  /** More `crossplane core start` flags; none by default, so that Crossplane behaves as installed. */
  crossplaneArgs?: string[];
  /** The bridge sidecar's settings that differ from the shipped ones (its sink, say). */
  bridge?: BridgeSettings;
}

export interface Stack {
  /** Logs of the processes started here; the API server logs in its own `dir`. */
  dir: string;
  host: ControlPlane;
  /** Admin client of the host. */
  kube: Kube;
  node: Node;
  registry: Registry;
  /** The function's package image: the function and its bridge sidecar run it. */
  functionImage: string;
  /** `dir` is where writeCharts() puts charts that `url` serves. */
  charts: ChartRepository & { dir: string };
  /** Seconds from the start to each milestone, for the figures. */
  timings: Record<string, number>;
  /** The node's kube-controller-manager (its log tells what the garbage collector watches). */
  kubeControllerManager: Process;
  /** Every process, with the API server's as `host-etcd` and `host-kube-apiserver`. */
  processes(): { name: string; pid: number }[];
  /** Stops everything; removes `dir` unless asked to keep the logs (the API server's go). */
  stop(options?: { keepLogs?: boolean }): Promise<void>;
}

/** The shipped bridge sidecar configuration, its image the function's and `env` set over its own. */
export async function bridgeRuntimeConfig(image: string, env: Record<string, string>) {
  const [config] = (await readYamlDocuments('examples/bridge/deploymentruntimeconfig.yaml')) as [
    Obj,
  ];
  const bridge = runtimeContainer(config, 'bridge');
  bridge.image = image;
  const shipped = bridge.env as { name: string }[];
  const kept = shipped.filter(({ name }) => !(name in env));
  bridge.env = [...kept, ...Object.entries(env).map(([name, value]) => ({ name, value }))];
  return config;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const log = options.log ?? (() => {});
  const started = Date.now();
  const timings: Record<string, number> = {};
  const mark = (what: string) => {
    timings[what] = Math.round((Date.now() - started) / 100) / 10;
    log(`${what} after ${timings[what]} s`);
  };
  const dir = await mkdtemp(join(tmpdir(), 'xenv-stack-'));
  const chartDir = join(dir, 'charts');
  await mkdir(chartDir);
  // Every process goes in here as it is launched, so that a failed start stops them all.
  const processes: Process[] = [];
  const detached = options.detached ?? false;
  const launchOptions: LaunchOptions = { detached, started: processes };
  let host: ControlPlane | undefined;
  const cleanup = async () => {
    await terminate(processes.map((p) => p.pid));
    // The pods' containers outlive containerd and the kubelet.
    await clearNodeState();
    await host?.stop();
  };

  try {
    await prepareNode();
    await writeCharts(chartDir, []);
    log('starting the host control plane, the registry and the chart repository');
    const planeStarted = startControlPlane({ detached, node: true });
    // Stopped with the rest if another start fails.
    planeStarted.then((plane) => (host = plane)).catch(() => undefined);
    const [plane, registry, charts] = await settled<[ControlPlane, Registry, ChartRepository]>([
      planeStarted,
      startRegistry(dir, launchOptions),
      startChartRepository(chartDir, dir, launchOptions),
    ]);
    const kube = Kube.fromFile(plane.adminKubeconfig);
    mark('API server ready');

    log('pushing images; building and pushing packages; starting the node');
    const [, functionImage, node] = await settled<[void, string, Node]>([
      pushImages(registry.host, [
        'pause',
        'busybox',
        'crossplane',
        'coredns',
        'vcluster',
        'kubernetes',
      ]).then(() => mark('images pushed')),
      publishPackages(join(dir, 'packages'), registry.host).then((image) => {
        mark('packages published');
        return image;
      }),
      startNode(plane, kube, {
        ...launchOptions,
        registry: registry.host,
        sandboxImage: imageReference(registry.host, 'pause'),
        logDir: dir,
        log,
      }).then((n) => {
        mark('node ready');
        return n;
      }),
    ]);
    await startClusterDns(kube, imageReference(registry.host, 'coredns'));
    mark('cluster DNS ready');

    log('installing Crossplane from its chart');
    await installCrossplane(plane, kube, dir, {
      repository: `${registry.host}/crossplane/crossplane`,
      args: ['--debug', ...(options.crossplaneArgs ?? [])],
    });
    mark('crossplane ready');

    log('installing the providers, the function with its bridge, and the Configuration');
    await mirror(kube, registry.host);
    // The namespace the shipped RBAC lets requested environments be made in.
    await kube.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } });
    for (const document of [
      ...(await providerRuntimeConfigs(PROVIDER_ARGS)),
      ...(await readYamlDocuments('examples/bridge/rbac.yaml')),
      ...(await readYamlDocuments('examples/bridge/inbound.yaml')),
      await bridgeRuntimeConfig(functionImage, options.bridge?.env ?? {}),
    ]) {
      await kube.apply(document);
    }
    for (const which of Object.keys(PROVIDERS) as ProviderName[]) {
      const provider = PROVIDERS[which];
      await xpkgInstall(
        plane.adminKubeconfig,
        'provider',
        `xpkg.crossplane.io/${provider.repository}:${VERSIONS[which]}`,
        provider.name,
        provider.runtimeConfig,
      );
    }
    await xpkgInstall(
      plane.adminKubeconfig,
      'function',
      `${PUBLISHED}/${FUNCTION}:${VERSION}`,
      FUNCTION,
      'function-xenvironment-with-bridge',
    );
    await xpkgInstall(
      plane.adminKubeconfig,
      'configuration',
      `${PUBLISHED}/configuration-xenvironment:${VERSION}`,
    );
    await Promise.all([
      ...Object.values(PROVIDERS).map((p) => packageHealthy(kube, 'Provider', p.name)),
      packageHealthy(kube, 'Function', FUNCTION),
      configurationHealthy(kube),
    ]);
    mark('packages healthy');
    await managedResourcesServed(kube);
    await hostProviderConfigs(kube);
    mark('stack ready');
    log(`logs in ${dir}`);

    const kubeControllerManager = node.processes.find((p) => p.name === 'kube-controller-manager')!;
    return {
      dir,
      host: plane,
      kube,
      node,
      registry,
      functionImage,
      charts: { ...charts, dir: chartDir },
      timings,
      kubeControllerManager,
      processes: () => [
        { name: 'host-etcd', pid: plane.pids[0]! },
        { name: 'host-kube-apiserver', pid: plane.pids[1]! },
        ...processes.map(({ name, pid }) => ({ name, pid })),
      ],
      stop: async ({ keepLogs = false } = {}) => {
        await cleanup();
        if (!keepLogs) await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    // Keep the logs of a failed start.
    await cleanup();
    log(`failed; logs in ${dir}`);
    throw error;
  }
}

/** The shipped provider configs of the host cluster, once their CRDs are served. */
async function hostProviderConfigs(kube: Kube): Promise<void> {
  for (const config of await readYamlDocuments('examples/providers/host-configs.yaml')) {
    // New CRDs answer 404 or 429 until served.
    await waitFor(
      `${String(config.kind)} ${String(config.apiVersion)} served`,
      () => kube.apply(config).then(() => true),
      { timeoutMs: 120_000 },
    );
  }
}

/** Every provider's managed resource definitions active (MRAP `default`) and their CRDs served. */
function managedResourcesServed(kube: Kube) {
  return waitFor(
    "the providers' managed resources served",
    async () => {
      const mrds = await kube.list(
        'apiextensions.crossplane.io/v1alpha1',
        'ManagedResourceDefinition',
      );
      return mrds.length > 0 && mrds.every((mrd) => conditionStatus(mrd, 'Established') === 'True');
    },
    { timeoutMs: 120_000 },
  );
}

export { CROSSPLANE_NAMESPACE };

/** Awaits every start, so that none is left running unseen when another fails. */
async function settled<T extends unknown[]>(starts: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const results = await Promise.allSettled(starts);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as T;
}
