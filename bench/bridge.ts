/**
 * The bridge at scale on the real control plane: 1,000 XEnvironments with their composed Releases,
 * readiness flipped in bulk, and the time from each status patch to its CloudEvent at a local sink.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { request, type RequestOptions } from 'node:https';
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
  /** Which bridge: a label and the bundle run. */
  label: string;
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
  /** Patch → CloudEvent at a steady rate of readiness flips, a slow rate and a fast one. */
  slow: Steady;
  fast: Steady;
  /**
   * The bridge's writes to the API server (XRs and ConfigMaps: records, finalizers, a journal)
   * per event delivered, over each process's life, its graceful stop included.
   */
  writesPerEvent: number;
  lateWritesPerEvent: number;
  /** Events/s while every cluster flips Ready at once, 32 patches in flight. */
  eventsPerSecond: number;
  /** The bridge that announced the first 1,000 environments. */
  rssMiB: number;
  /** The bridge restarted with 2,000 environments in its caches. */
  lateRssMiB: number;
  cpuSeconds: number;
}

export interface Steady {
  flipsPerSecond: number;
  flips: number;
  p50Ms: number;
  p99Ms: number;
}

/** What to run: the bundle built from this tree unless told otherwise (BENCH_BRIDGE_BUNDLES). */
export interface BridgeUnderTest {
  label: string;
  bundle: string;
}

/** The resources whose writes are the bridge's own while it runs (the benchmark writes Releases). */
const BRIDGE_RESOURCES = ['xenvironments', 'configmaps'];
const WRITE_VERBS = ['POST', 'PUT', 'PATCH', 'DELETE', 'APPLY'];

/**
 * kube-apiserver's own count of write requests, and the seconds it took to answer them, by verb
 * and resource (`PUT configmaps`), from its /metrics.
 */
async function apiWrites(
  kc: KubeConfig,
): Promise<Record<string, { count: number; seconds: number }>> {
  const cluster = kc.getCurrentCluster()!;
  const url = new URL('/metrics', cluster.server);
  const options: RequestOptions = {
    host: url.hostname,
    port: Number(url.port) || 443,
    path: url.pathname,
  };
  await kc.applyToHTTPSOptions(options);
  const text = await new Promise<string>((resolve, reject) => {
    const req = request(options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve(Buffer.concat(chunks).toString()));
    });
    req.on('error', reject);
    req.end();
  });
  const writes: Record<string, { count: number; seconds: number }> = {};
  for (const line of text.split('\n')) {
    const metric = line.startsWith('apiserver_request_total{')
      ? 'count'
      : line.startsWith('apiserver_request_duration_seconds_sum{')
        ? 'seconds'
        : undefined;
    if (!metric) continue;
    const labels = line.slice(line.indexOf('{') + 1, line.lastIndexOf('}'));
    const label = (name: string) => new RegExp(`(?:^|,)${name}="([^"]*)"`).exec(labels)?.[1];
    const verb = label('verb') ?? '';
    if (!WRITE_VERBS.includes(verb)) continue;
    const key = `${verb} ${label('resource') ?? ''}${label('subresource') ? `/${label('subresource')}` : ''}`;
    writes[key] ??= { count: 0, seconds: 0 };
    writes[key][metric] += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return writes;
}

type Writes = Awaited<ReturnType<typeof apiWrites>>;

/** The bridge's writes between two readings. */
const writesBetween = (before: Writes, after: Writes) =>
  Object.entries(after)
    .filter(([key]) => BRIDGE_RESOURCES.includes(key.split(' ')[1]!))
    .reduce((sum, [key, { count }]) => sum + count - (before[key]?.count ?? 0), 0);

/** Every write between two readings, its count and mean answer time: for the log. */
function writesSaid(before: Writes, after: Writes): string {
  return Object.entries(after)
    .map(([key, { count, seconds }]) => {
      const n = count - (before[key]?.count ?? 0);
      const s = seconds - (before[key]?.seconds ?? 0);
      return n > 0 ? `${key} ${n} (${((s / n) * 1000).toFixed(1)} ms)` : '';
    })
    .filter(Boolean)
    .join(', ');
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

export async function benchBridge(
  log: (line: string) => void,
  under: BridgeUnderTest = { label: 'this tree', bundle: 'dist/bundle/bridge/main.mjs' },
): Promise<BridgeFigures> {
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
    const client = new ApiClient(kc);
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
      await client.send('PATCH', `${path}/status`, { status: { conditions: [ready] } });
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
        await client.send('PATCH', path, {
          metadata: { annotations: { 'bench.xenvironment.io/ceiling': String(i) } },
        });
      },
    );
    const apiPatchesPerSecond = ceilingPatches / ((performance.now() - ceilingStarted) / 1000);
    log(`the API server takes ${apiPatchesPerSecond.toFixed(0)} single-object patches/s`);

    await sink.up();
    const writesAtStart = await apiWrites(kc);
    const output: string[] = [];
    const profile = process.env.BENCH_PROFILE_DIR
      ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`]
      : [];
    const startBridge = async () => {
      const started = spawn(process.execPath, [...BRIDGE_NODE_FLAGS, ...profile, under.bundle], {
        env: {
          ...process.env,
          ...IMAGE_ENV,
          KUBECONFIG: cp.adminKubeconfig,
          K_SINK: sink.url,
          BRIDGE_HTTP_ADDRESS: `127.0.0.1:${await freePort()}`,
          BRIDGE_LOG_LEVEL: process.env.BENCH_BRIDGE_LOG ? 'debug' : 'warn',
          // Its leader-election Lease: a namespace that exists on the bare control plane.
          POD_NAMESPACE: 'default',
        },
      });
      started.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
      // BENCH_BRIDGE_LOG: the bridge's own log (debug), for looking into a run.
      if (process.env.BENCH_BRIDGE_LOG) {
        started.stdout!.pipe(createWriteStream(process.env.BENCH_BRIDGE_LOG, { flags: 'a' }));
      }
      return started;
    };
    /** The rate of the `expected` arrivals from `from` on, taken from the first to the last. */
    const drained = async (from: number, expected: number) => {
      await sink.waitFor(from + expected, 300_000);
      const seconds = (sink.received[from + expected - 1]!.at - sink.received[from]!.at) / 1000;
      return (expected - 1) / seconds;
    };

    /**
     * Waits until the bridge has written nothing for 2 s (at most a minute), so that a rate is
     * measured on its own, not on what the phase before left to write.
     */
    const quiet = async () => {
      let last = writesBetween({}, await apiWrites(kc));
      for (let still = 0, waited = 0; still < 2 && waited < 60; waited++) {
        await new Promise((wake) => setTimeout(wake, 1_000));
        const now = writesBetween({}, await apiWrites(kc));
        still = now === last ? still + 1 : 0;
        last = now;
      }
    };

    bridge = await startBridge();
    // Each environment that exists when the bridge starts is announced ("requested"): a backlog
    // that it drains as fast as it can once its informers have listed. The rate is taken
    // between the first and the last arrival.
    const drainRate = await drained(0, count);
    log(
      `backlog of ${count} events (one per environment) drained at ${drainRate.toFixed(0)}/s; writes so far: ${writesSaid(writesAtStart, await apiWrites(kc))}`,
    );

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
    const burstWrites = await apiWrites(kc);
    const burstDone = measure(count, (t) => t.includes('environment.created'), started);
    await inParallel(names, 32, (name) => markReady(`${name}-cluster`, name));
    const burst = await burstDone;
    log(`writes during the burst: ${writesSaid(burstWrites, await apiWrites(kc))}`);

    // Each flip at its own moment, whether or not earlier ones were answered: first a slow rate,
    // then a fast one. Each tool: service.deployed; each environment, once all its tools are:
    // environment.modified.
    const flips = names.flatMap((name) => TOOLS.map((tool) => [name, tool] as const));
    const steadily = async (list: (readonly [string, string])[], flipsPerSecond: number) => {
      await quiet();
      log(`flipping ${list.length} tools Ready, ${flipsPerSecond} a second`);
      const done = measure(
        list.length + list.length / TOOLS.length,
        (t) => t.includes('service.deployed'),
        performance.now(),
      );
      const started = performance.now();
      const writesBefore = await apiWrites(kc);
      await Promise.all(
        list.map(async ([name, tool], i) => {
          const due = started + (i * 1000) / flipsPerSecond;
          await new Promise((wake) => setTimeout(wake, Math.max(0, due - performance.now())));
          await markReady(`${name}-tool-${tool}`, `${name}/${tool}`);
        }),
      );
      const { latencies, events } = await done;
      const figures: Steady = {
        flipsPerSecond,
        flips: list.length,
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99),
      };
      log(
        `at ${flipsPerSecond} flips/s patch → event p50 ${figures.p50Ms.toFixed(1)} ms, p99 ${figures.p99Ms.toFixed(1)} ms over ${latencies.length} events (${events} in all); writes: ${writesSaid(writesBefore, await apiWrites(kc))}`,
      );
      return { figures, events };
    };
    const slowFlips = Number(process.env.BENCH_SLOW_FLIPS ?? 200);
    const slow = await steadily(flips.slice(0, slowFlips), 10);
    const fast = await steadily(
      flips.slice(slowFlips),
      Number(process.env.BENCH_FLIPS_PER_SECOND ?? 100),
    );
    const first = {
      rssMiB: await peakRssMiB(bridge.pid!),
      cpuSeconds: await cpuSeconds(bridge.pid!),
    };

    // A graceful stop, then environments that came up while no bridge ran: each owes all of its
    // events (requested, created, a service.deployed per tool, modified). The ones announced
    // before must stay quiet: the stop cleared every delivered outbox.
    log('stopping the bridge (SIGTERM)');
    await stopBridge(bridge);
    const firstEvents = sink.received.length;
    const firstWrites = writesBetween(writesAtStart, await apiWrites(kc));
    const late = Array.from({ length: count }, (_, i) => `late-${String(i).padStart(4, '0')}`);
    log(`creating ${count} XEnvironments that are Ready, while no bridge runs`);
    await createEnvironments(late, true);
    const before = sink.received.length;
    const lateWritesAtStart = await apiWrites(kc);
    bridge = await startBridge();
    const owed = count * (TOOLS.length + 3);
    const lateDrainRate = await drained(before, owed);
    log(`writes while draining: ${writesSaid(lateWritesAtStart, await apiWrites(kc))}`);
    const repeated = sink.received
      .slice(before)
      .filter(({ event }) => !String(event.subject).startsWith('late-')).length;
    log(
      `backlog of ${owed} events (${TOOLS.length + 3} per environment) drained at ${lateDrainRate.toFixed(0)}/s; ${repeated} events sent again after the graceful restart`,
    );

    const lateRssMiB = await peakRssMiB(bridge.pid!);
    const lateCpuSeconds = await cpuSeconds(bridge.pid!);
    await stopBridge(bridge);
    const lateWrites = writesBetween(lateWritesAtStart, await apiWrites(kc));
    const lateEvents = sink.received.length - before;

    const figures: BridgeFigures = {
      label: under.label,
      environments: count,
      events: burst.events + slow.events + fast.events,
      drainPerSecond: drainRate,
      lateDrainPerSecond: lateDrainRate,
      eventsPerEnvironment: TOOLS.length + 3,
      repeatedAfterRestart: repeated,
      apiPatchesPerSecond,
      slow: slow.figures,
      fast: fast.figures,
      writesPerEvent: firstWrites / firstEvents,
      lateWritesPerEvent: lateWrites / lateEvents,
      eventsPerSecond: burst.events / burst.seconds,
      rssMiB: first.rssMiB,
      lateRssMiB,
      cpuSeconds: first.cpuSeconds + lateCpuSeconds,
    };
    log(
      `bridge (${under.label}): ${burst.events} events ${burst.seconds.toFixed(1)} s after a burst of patches began (${figures.eventsPerSecond.toFixed(0)}/s); ${firstWrites} writes for ${firstEvents} events, then ${lateWrites} for ${lateEvents}; peak RSS ${figures.rssMiB.toFixed(1)} MiB (${figures.lateRssMiB.toFixed(1)} MiB restarted with ${2 * count} environments), CPU ${figures.cpuSeconds.toFixed(1)} s`,
    );
    client.close();
    if (output.length) log(`bridge warnings: ${output.join('').slice(0, 500)}`);
    return figures;
  } finally {
    if (bridge) await stopBridge(bridge);
    await sink.down();
    await cp.stop();
  }
}
