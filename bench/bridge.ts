/**
 * The bridge at scale on the real control plane: 1,000 XEnvironments with their composed Releases,
 * readiness flipped in bulk, and the time from each status patch to its CloudEvent at a local sink.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { startControlPlaneWithXrds } from '../test/controlplane/composite-crds.js';
import { freePort } from '../test/support/net.js';
import { CRD_DIRS, readCrds } from '../test/support/crds.js';
import { composedRelease, readyEnvironmentStatus } from '../test/support/observations.js';
import { TestSink } from '../test/support/sink.js';
import { cpuSeconds, peakRssMiB } from '../test/support/proc.js';
import { ApiClient } from '../bridge/kube/api.js';
import { BRIDGE_NODE_FLAGS, IMAGE_ENV } from '../test/support/image.js';

const xrType = { group: 'platform.xenvironment.io', version: 'v1alpha1', plural: 'xenvironments' };
const releases = { group: 'helm.crossplane.io', version: 'v1beta1', plural: 'releases' };
const TOOLS = ['tool-a', 'tool-b'];

export interface BridgeFigures {
  environments: number;
  events: number;
  /** Events/s while draining a backlog of one event per environment: the bridge's own capacity. */
  drainPerSecond: number;
  /** The same for environments that came up while no bridge ran, `eventsPerEnvironment` each. */
  lateDrainPerSecond: number;
  eventsPerEnvironment: number;
  /** Events of environments announced before a graceful restart, sent again after it. */
  repeatedAfterRestart: number;
  /** The API server's own rate of single-object patches (an XR's annotation), 32 in flight. */
  apiPatchesPerSecond: number;
  /** Patch → CloudEvent at a steady rate of readiness flips. */
  p50Ms: number;
  p99Ms: number;
  flipsPerSecond: number;
  /** Events/s while every cluster flips Ready at once, 32 patches in flight. */
  eventsPerSecond: number;
  /** The bridge that announced the first 1,000 environments. */
  rssMiB: number;
  /** The bridge restarted with 2,000 environments in its caches. */
  lateRssMiB: number;
  cpuSeconds: number;
}

/** Runs `task` over `items` with `width` in flight. */
async function inParallel<T>(
  items: T[],
  width: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await task(items[next++]!);
    }),
  );
}

async function stopBridge(bridge: ChildProcess): Promise<void> {
  if (bridge.exitCode !== null) return;
  const exited = new Promise((done) => bridge.once('exit', done));
  bridge.kill('SIGTERM');
  await exited;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

export async function benchBridge(log: (line: string) => void): Promise<BridgeFigures> {
  const count = Number(process.env.BENCH_ENVIRONMENTS ?? 1_000);
  // This plays Crossplane for the XRs (it writes them and their Releases): the XR's CRD as
  // Crossplane makes it, and provider-helm's real Release CRD.
  const cp = await startControlPlaneWithXrds();
  const sink = new TestSink();
  let bridge: ChildProcess | undefined;
  try {
    for (const crd of await readCrds(CRD_DIRS.providerHelm, (f) =>
      f.startsWith('helm.crossplane.io_releases'),
    ))
      await cp.applyCrd(crd);
    const kc = new KubeConfig();
    kc.loadFromFile(cp.adminKubeconfig);
    const api = kc.makeApiClient(CustomObjectsApi);
    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    for (;;) {
      try {
        await api.listClusterCustomObject({ ...releases });
        await api.listClusterCustomObject({ ...xrType });
        break;
      } catch {
        await new Promise((done) => setTimeout(done, 200));
      }
    }

    // Through a keep-alive pool: client-node would pay a TLS handshake per patch and become the
    // bottleneck of the measurement.
    const fast = new ApiClient(kc);
    // As provider-helm knows them from its cache: a status patch needs no read first.
    const generations = new Map<string, number>();
    const patchedAt = new Map<string, number>();
    /** Patches a Release Ready, as provider-helm reports a deployed release. */
    const markReady = async (release: string, subject?: string) => {
      const path = `/apis/${releases.group}/${releases.version}/${releases.plural}/${release}`;
      const ready = {
        type: 'Ready',
        status: 'True',
        reason: 'Available',
        lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
        observedGeneration: generations.get(release),
      };
      await fast.send('PATCH', `${path}/status`, { status: { conditions: [ready] } });
      if (subject) patchedAt.set(subject, performance.now());
    };
    /** XRs as Crossplane leaves them, their Releases as provider-helm does (Ready or not yet). */
    const createEnvironments = async (list: string[], ready: boolean) => {
      await inParallel(list, 16, async (name) => {
        await api.createClusterCustomObject({
          ...xrType,
          body: {
            apiVersion: 'platform.xenvironment.io/v1alpha1',
            kind: 'XEnvironment',
            metadata: { name },
            spec: { tools: TOOLS.map((t) => ({ name: t })) },
          },
        });
        await api.patchClusterCustomObjectStatus(
          {
            ...xrType,
            name,
            // The function's verdict: ready; the Releases' flips are what is measured.
            body: {
              status: readyEnvironmentStatus(
                name,
                TOOLS.map((t) => ({ name: t, version: '1.0.0' })),
              ),
            },
          },
          merge,
        );
        for (const key of ['cluster', ...TOOLS.map((t) => `tool-${t}`)]) {
          const release = (await api.createClusterCustomObject({
            ...releases,
            body: composedRelease(name, key, '1.0.0'),
          })) as { metadata: { name: string; generation: number } };
          generations.set(release.metadata.name, release.metadata.generation);
          if (ready) await markReady(release.metadata.name);
        }
      });
    };

    const names = Array.from({ length: count }, (_, i) => `bench-${String(i).padStart(4, '0')}`);
    log(`creating ${count} XEnvironments with ${TOOLS.length + 1} Releases each`);
    const created = performance.now();
    await createEnvironments(names, false);
    log(`created in ${((performance.now() - created) / 1000).toFixed(1)} s`);

    // What the bridge's record writes are made of, before the bridge runs: one patch per object.
    const ceilingPatches = 2 * count;
    const ceilingStarted = performance.now();
    await inParallel(
      Array.from({ length: ceilingPatches }, (_, i) => i),
      32,
      async (i) => {
        const path = `/apis/${xrType.group}/${xrType.version}/${xrType.plural}/${names[i % count]}`;
        await fast.send('PATCH', path, {
          metadata: { annotations: { 'bench.xenvironment.io/ceiling': String(i) } },
        });
      },
    );
    const apiPatchesPerSecond = ceilingPatches / ((performance.now() - ceilingStarted) / 1000);
    log(`the API server takes ${apiPatchesPerSecond.toFixed(0)} single-object patches/s`);

    await sink.up();
    const output: string[] = [];
    const profile = process.env.BENCH_PROFILE_DIR
      ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`]
      : [];
    const startBridge = async () => {
      const started = spawn(
        process.execPath,
        [...BRIDGE_NODE_FLAGS, ...profile, 'dist/bundle/bridge/main.mjs'],
        {
          env: {
            ...process.env,
            ...IMAGE_ENV,
            KUBECONFIG: cp.adminKubeconfig,
            K_SINK: sink.url,
            BRIDGE_HTTP_ADDRESS: `127.0.0.1:${await freePort()}`,
            BRIDGE_LOG_LEVEL: 'warn',
            // Its leader-election Lease: a namespace that exists on the bare control plane.
            POD_NAMESPACE: 'default',
          },
        },
      );
      started.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
      return started;
    };
    /** The rate of the `expected` arrivals from `from` on, taken from the first to the last. */
    const drained = async (from: number, expected: number) => {
      await sink.waitFor(from + expected, 300_000);
      const seconds = (sink.received[from + expected - 1]!.at - sink.received[from]!.at) / 1000;
      return (expected - 1) / seconds;
    };

    bridge = await startBridge();
    // Each environment that exists when the bridge starts is announced ("requested"): a backlog
    // that it drains as fast as it can once its informers have listed. The rate is taken
    // between the first and the last arrival.
    const drainRate = await drained(0, count);
    log(`backlog of ${count} events (one per environment) drained at ${drainRate.toFixed(0)}/s`);

    const measure = async (
      expected: number,
      wanted: (type: string) => boolean,
      started: number,
    ) => {
      const before = sink.received.length;
      await sink.waitFor(before + expected, 300_000);
      const fresh = sink.received.slice(before, before + expected);
      const latencies: number[] = [];
      for (const { event, at } of fresh) {
        if (!wanted(event.type)) continue;
        const sent = patchedAt.get(String(event.subject));
        if (sent !== undefined) latencies.push(at - sent);
      }
      return {
        seconds: (fresh[fresh.length - 1]!.at - started) / 1000,
        events: fresh.length,
        latencies: latencies.sort((a, b) => a - b),
      };
    };

    log(`flipping ${count} clusters Ready, 32 patches in flight`);
    const started = performance.now();
    const burstDone = measure(count, (t) => t.includes('environment.created'), started);
    await inParallel(names, 32, (name) => markReady(`${name}-cluster`, name));
    const burst = await burstDone;

    // Each flip at its own moment, whether or not earlier ones were answered.
    const flipsPerSecond = Number(process.env.BENCH_FLIPS_PER_SECOND ?? 100);
    const flips = names.flatMap((name) => TOOLS.map((tool) => [name, tool] as const));
    log(`flipping ${flips.length} tools Ready, ${flipsPerSecond} a second`);
    // Each tool: service.deployed; each environment, once all its tools are: environment.modified.
    const steadyDone = measure(
      count * (TOOLS.length + 1),
      (t) => t.includes('service.deployed'),
      performance.now(),
    );
    const steadyStarted = performance.now();
    await Promise.all(
      flips.map(async ([name, tool], i) => {
        const due = steadyStarted + (i * 1000) / flipsPerSecond;
        await new Promise((done) => setTimeout(done, Math.max(0, due - performance.now())));
        await markReady(`${name}-tool-${tool}`, `${name}/${tool}`);
      }),
    );
    const steady = await steadyDone;
    const first = {
      rssMiB: await peakRssMiB(bridge.pid!),
      cpuSeconds: await cpuSeconds(bridge.pid!),
    };

    // A graceful stop, then environments that came up while no bridge ran: each owes all of its
    // events (requested, created, a service.deployed per tool, modified). The ones announced
    // before must stay quiet: the stop cleared every delivered outbox.
    log('stopping the bridge (SIGTERM)');
    await stopBridge(bridge);
    const late = Array.from({ length: count }, (_, i) => `late-${String(i).padStart(4, '0')}`);
    log(`creating ${count} XEnvironments that are Ready, while no bridge runs`);
    await createEnvironments(late, true);
    const before = sink.received.length;
    bridge = await startBridge();
    const owed = count * (TOOLS.length + 3);
    const lateDrainRate = await drained(before, owed);
    const repeated = sink.received
      .slice(before)
      .filter(({ event }) => !String(event.subject).startsWith('late-')).length;
    log(
      `backlog of ${owed} events (${TOOLS.length + 3} per environment) drained at ${lateDrainRate.toFixed(0)}/s; ${repeated} events sent again after the graceful restart`,
    );

    const figures: BridgeFigures = {
      environments: count,
      events: burst.events + steady.events,
      drainPerSecond: drainRate,
      lateDrainPerSecond: lateDrainRate,
      eventsPerEnvironment: TOOLS.length + 3,
      repeatedAfterRestart: repeated,
      apiPatchesPerSecond,
      p50Ms: percentile(steady.latencies, 50),
      p99Ms: percentile(steady.latencies, 99),
      flipsPerSecond,
      eventsPerSecond: burst.events / burst.seconds,
      rssMiB: first.rssMiB,
      lateRssMiB: await peakRssMiB(bridge.pid!),
      cpuSeconds: first.cpuSeconds + (await cpuSeconds(bridge.pid!)),
    };
    log(
      `bridge: ${burst.events} events ${burst.seconds.toFixed(1)} s after a burst of patches began (${figures.eventsPerSecond.toFixed(0)}/s); at ${flipsPerSecond} flips/s patch → event p50 ${figures.p50Ms.toFixed(1)} ms, p99 ${figures.p99Ms.toFixed(1)} ms over ${steady.latencies.length} events; peak RSS ${figures.rssMiB.toFixed(1)} MiB (${figures.lateRssMiB.toFixed(1)} MiB restarted with ${2 * count} environments), CPU ${figures.cpuSeconds.toFixed(1)} s`,
    );
    fast.close();
    if (output.length) log(`bridge warnings: ${output.join('').slice(0, 500)}`);
    return figures;
  } finally {
    if (bridge) await stopBridge(bridge);
    await sink.down();
    await cp.stop();
  }
}
