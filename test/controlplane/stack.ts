/**
 * The real stack on loopback: a host API server with Crossplane core (External package runtime)
 * and kube-controller-manager (garbage collector, namespace controller); a local OCI registry and
 * Helm chart repository; the product installed from its packages as a user installs it
 * (packages.ts), with provider-helm, provider-kubernetes and the function running as processes
 * for their package revisions (package-runtime.ts); and a second API server in the role of the
 * environments' cluster (what a vcluster would be). No kubelet runs: pods never start.
 *
 *   const stack = await startStack({ log: console.log });
 *   ...
 *   await stack.stop();
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { conditionStatus, Kube } from '../support/kube.js';
import { startChartRepository, writeCharts, type ChartRepository } from './chart-repository.js';
import { startControlPlane, terminate, type ControlPlane } from './controlplane.js';
import { CROSSPLANE_NAMESPACE, startCrossplane, type Crossplane } from './crossplane.js';
import { runFunction, type FunctionRuntime } from './function-runtime.js';
import { startKubeControllerManager } from './kube-controller-manager.js';
import { packageHealthy } from './package-runtime.js';
import {
  configurationHealthy,
  FUNCTION,
  installConfiguration,
  mirror,
  publishPackages,
} from './packages.js';
import { waitFor, type LaunchOptions, type Process } from './processes.js';
import { hostProviderConfigs, PROVIDERS, runProvider } from './providers.js';
import { startRegistry, type Registry } from './registry.js';

/**
 * What the e2e and cluster:up add to `crossplane core start`. Crossplane's per-XR watch circuit
 * breaker (a token bucket: burst 100, refill 1/s, open for 5 min; an update counts twice, for the
 * old and the new object) opens for every environment within seconds of its creation, as its
 * dozen composed resources change while the providers settle them; open, it drops the XR's watch
 * events but one per 30 s, so each step (a tool whose dependencies became Ready, a claim's edit)
 * waits 30 to 60 s for a probe or the function's response TTL. A larger burst keeps it closed, so
 * that a step takes what Crossplane, the providers and Helm take; the README gives both figures.
 */
export const E2E_CROSSPLANE_ARGS = ['--circuit-breaker-burst=1000'];

export interface StackOptions {
  /** Keep the processes when this Node process exits (cluster:up). */
  detached?: boolean;
  log?: (line: string) => void;
  /** More `crossplane core start` flags; none by default, so that Crossplane behaves as installed. */
  crossplaneArgs?: string[];
}

export interface Stack {
  /** Logs of the processes started here; the API servers log in their own `dir`. */
  dir: string;
  host: ControlPlane;
  /** The second API server, where environments' tools install. */
  environment: ControlPlane;
  /** Admin client of the host. */
  kube: Kube;
  crossplane: Crossplane;
  kubeControllerManager: Process;
  providerHelm: Process;
  providerKubernetes: Process;
  fn: FunctionRuntime;
  registry: Registry;
  /** `dir` is where writeCharts() puts charts that `url` serves. */
  charts: ChartRepository & { dir: string };
  /** Seconds from the start to each milestone, for the figures. */
  timings: Record<string, number>;
  /** Every process, with the API servers' as `<role>-etcd` and `<role>-kube-apiserver`. */
  processes(): { name: string; pid: number }[];
  /** Stops everything; removes `dir` unless asked to keep the logs (the API servers' go). */
  stop(options?: { keepLogs?: boolean }): Promise<void>;
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
  const planes: ControlPlane[] = [];
  const cleanup = async () => {
    await terminate(processes.map((p) => p.pid));
    for (const plane of planes.reverse()) await plane.stop();
  };
  const track = async <T>(what: string, start: Promise<T>): Promise<T> => {
    const value = await start;
    mark(what);
    return value;
  };

  try {
    log('starting the host and environment API servers');
    const cps: [Promise<ControlPlane>, Promise<ControlPlane>] = [
      // The host routes to Services' endpoints: how the API server reaches provider webhooks.
      startControlPlane({ detached, args: ['--enable-aggregator-routing=true'] }),
      startControlPlane({ detached }),
    ];
    for (const cp of cps) cp.then((plane) => planes.push(plane)).catch(() => undefined);
    const [host, environment] = await settled<[ControlPlane, ControlPlane]>(cps);
    mark('API servers ready');
    const kube = Kube.fromFile(host.adminKubeconfig);
    await kube.apply({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: CROSSPLANE_NAMESPACE },
    });
    await writeCharts(chartDir, []);

    log(
      'starting Crossplane, kube-controller-manager, registry, chart repository; building packages',
    );
    const registryStarted = startRegistry(dir, launchOptions);
    const [crossplane, kubeControllerManager, registry, charts] = await settled<
      [Crossplane, Process, Registry, ChartRepository, void]
    >([
      track(
        'crossplane ready',
        startCrossplane(host, kube, dir, { ...launchOptions, args: options.crossplaneArgs ?? [] }),
      ),
      track('kube-controller-manager ready', startKubeControllerManager(host, dir, launchOptions)),
      track('registry ready', registryStarted),
      track('chart repository ready', startChartRepository(chartDir, dir, launchOptions)),
      track(
        'packages published',
        registryStarted.then((r) => publishPackages(join(dir, 'packages'), r.host)),
      ),
    ]);

    log('installing the Configuration; running the providers and the function for their revisions');
    await mirror(kube, registry.host);
    await installConfiguration(host.adminKubeconfig);
    const [providerHelm, providerKubernetes, fn] = await settled<
      [Process, Process, FunctionRuntime]
    >([
      track('provider-helm running', runProvider('providerHelm', host, kube, dir, launchOptions)),
      track(
        'provider-kubernetes running',
        runProvider('providerKubernetes', host, kube, dir, launchOptions),
      ),
      track('function running', runFunction(kube, FUNCTION, dir, launchOptions)),
    ]);
    await Promise.all([
      ...Object.values(PROVIDERS).map((p) => packageHealthy(kube, 'Provider', p.package)),
      configurationHealthy(kube),
    ]);
    await managedResourcesServed(kube);
    await hostProviderConfigs(host, kube);
    mark('stack ready');
    log(`logs in ${dir}`);

    return {
      dir,
      host,
      environment,
      kube,
      crossplane,
      kubeControllerManager,
      providerHelm,
      providerKubernetes,
      fn,
      registry,
      charts: { ...charts, dir: chartDir },
      timings,
      processes: () => [
        ...(
          [
            ['host', host],
            ['environment', environment],
          ] as const
        ).flatMap(([role, plane]) => [
          { name: `${role}-etcd`, pid: plane.pids[0]! },
          { name: `${role}-kube-apiserver`, pid: plane.pids[1]! },
        ]),
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

/** Awaits every start, so that none is left running unseen when another fails. */
async function settled<T extends unknown[]>(starts: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const results = await Promise.allSettled(starts);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as T;
}
