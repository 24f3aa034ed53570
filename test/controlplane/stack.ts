/**
 * The real stack on loopback: a host API server with Crossplane core (External package runtime),
 * kube-controller-manager (garbage collector), provider-helm and provider-kubernetes; a local OCI
 * registry and Helm chart repository; and a second API server in the role of the environments'
 * cluster (what a vcluster would be). No kubelet runs: pods never start.
 *
 *   const stack = await startStack({ log: console.log });
 *   const fn = await installFunctionPackage(stack);   // crank build, crane push, Function, runtime
 *   ...
 *   await stack.stop();
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Kube } from '../support/kube.js';
import { startChartRepository, writeCharts, type ChartRepository } from './chart-repository.js';
import { startControlPlane, terminate, type ControlPlane } from './controlplane.js';
import { CROSSPLANE_NAMESPACE, startCrossplane, type Crossplane } from './crossplane.js';
import { installFunction, playFunctionRuntime, type FunctionRuntime } from './function-runtime.js';
import { startKubeControllerManager } from './kube-controller-manager.js';
import type { LaunchOptions, Process } from './processes.js';
import { startProvider } from './providers.js';
import { buildPackage, pushPackage, startRegistry, type Registry } from './registry.js';

export interface StackOptions {
  /** Keep the processes when this Node process exits (cluster:up). */
  detached?: boolean;
  log?: (line: string) => void;
  /**
   * More `crossplane core start` flags; none by default, so that Crossplane behaves as installed.
   * Note: its watch circuit breaker (per XR: a burst of 50 composed-resource updates, then one per
   * 2 s; open for 5 min) opens while an environment's Releases and Usages settle, and drops the
   * events that would re-render the XR. With realtime compositions (default) XRs are not polled
   * (`--poll-interval` has no effect on them): the XR then waits for the function's response TTL
   * (60 s, the SDK's default) or a half-open probe 30 s after a later event.
   */
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
  registry: Registry;
  /** `dir` is where writeCharts() puts charts that `url` serves. */
  charts: ChartRepository & { dir: string };
  options: StackOptions;
  /** Every process, with the API servers' as `<role>-etcd` and `<role>-kube-apiserver`. */
  processes(): { name: string; pid: number }[];
  /** Tracks a process started later (a function), so that stop() ends it first. */
  adopt(process: Process): void;
  /** Stops everything; removes `dir` unless asked to keep the logs (the API servers' go). */
  stop(options?: { keepLogs?: boolean }): Promise<void>;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const log = options.log ?? (() => {});
  const started = Date.now();
  const dir = await mkdtemp(join(tmpdir(), 'xenv-stack-'));
  const chartDir = join(dir, 'charts');
  await mkdir(chartDir);
  // Every process goes in here as it is launched, so that a failed start stops them all.
  const processes: Process[] = [];
  const launchOptions: LaunchOptions = { detached: options.detached ?? false, started: processes };
  const planes: ControlPlane[] = [];
  const cleanup = async () => {
    await terminate(processes.map((p) => p.pid));
    for (const plane of planes.reverse()) await plane.stop();
  };

  try {
    log('starting the host and environment API servers');
    const cpOptions = { detached: options.detached ?? false };
    const cps: [Promise<ControlPlane>, Promise<ControlPlane>] = [
      startControlPlane(cpOptions),
      startControlPlane(cpOptions),
    ];
    for (const cp of cps) cp.then((plane) => planes.push(plane)).catch(() => undefined);
    const [host, environment] = await settled<[ControlPlane, ControlPlane]>(cps);
    const kube = Kube.fromFile(host.adminKubeconfig);
    await kube.apply({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: CROSSPLANE_NAMESPACE },
    });
    await writeCharts(chartDir, []);

    log('starting Crossplane, kube-controller-manager, providers, registry, chart repository');
    const track = async <T>(name: string, start: Promise<T>): Promise<T> => {
      const value = await start;
      log(`${name} ready after ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return value;
    };
    const [crossplane, kubeControllerManager, providerHelm, providerKubernetes, registry, charts] =
      await settled<[Crossplane, Process, Process, Process, Registry, ChartRepository]>([
        track(
          'crossplane',
          startCrossplane(host, kube, dir, {
            ...launchOptions,
            args: options.crossplaneArgs ?? [],
          }),
        ),
        track('kube-controller-manager', startKubeControllerManager(host, dir, launchOptions)),
        track('provider-helm', startProvider('providerHelm', host, kube, dir, launchOptions)),
        track(
          'provider-kubernetes',
          startProvider('providerKubernetes', host, kube, dir, launchOptions),
        ),
        track('registry', startRegistry(dir, launchOptions)),
        track('chart repository', startChartRepository(chartDir, dir, launchOptions)),
      ]);
    log(`stack ready in ${((Date.now() - started) / 1000).toFixed(1)} s; logs in ${dir}`);

    return {
      dir,
      host,
      environment,
      kube,
      crossplane,
      kubeControllerManager,
      providerHelm,
      providerKubernetes,
      registry,
      charts: { ...charts, dir: chartDir },
      options,
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
      adopt: (process) => processes.push(process),
      stop: async ({ keepLogs = false } = {}) => {
        await cleanup();
        if (!keepLogs) await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    // Keep the logs of a failed start.
    await cleanup();
    throw error;
  }
}

/** Awaits every start, so that none is left running unseen when another fails. */
async function settled<T extends unknown[]>(starts: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const results = await Promise.allSettled(starts);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as T;
}

export interface FunctionPackageOptions {
  name?: string;
  /** The package folder: crossplane.yaml and the input CRD. */
  root?: string;
  tag?: string;
}

/**
 * The Function package the way a user installs it: `crank xpkg build` of package/, `crane push`
 * to the local registry, a `Function` object naming it; then the runtime Crossplane waits for
 * (function-runtime.ts) runs the shipped bundle (`npm run build` first).
 */
export async function installFunctionPackage(
  stack: Stack,
  options: FunctionPackageOptions = {},
): Promise<FunctionRuntime> {
  const name = options.name ?? 'function-xenvironment';
  const file = join(stack.dir, `${name}.xpkg`);
  await buildPackage(resolve(options.root ?? 'package'), file);
  const reference = `${stack.registry.host}/${name}:${options.tag ?? 'v0.1.0'}`;
  await pushPackage(file, reference);
  await installFunction(stack.kube, name, reference);
  const runtime = await playFunctionRuntime(stack.kube, name, stack.dir, {
    detached: stack.options.detached ?? false,
  });
  stack.adopt(runtime.process);
  return runtime;
}
