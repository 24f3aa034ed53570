/**
 * The bridge under faults, on a real kube-apiserver and etcd, run as it ships (the bundle, its
 * RBAC): SIGKILLed at random (seeded) moments while readiness flips, a sink that fails and then
 * hangs, corrupted records, deletions, two replicas at once. This tests the bridge, not
 * Crossplane: the test writes the XRs and their Releases and flips their conditions itself, as
 * the function and provider-helm would, and keeps a model of what it did to judge what was said.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CDEvent } from '../../bridge/delivery/cdevents.js';
import {
  JOURNAL_KEY,
  readShard,
  shardNames,
  shardOf,
  type Entry,
  type Shard,
} from '../../bridge/announce/journal.js';
import { FINALIZER, RECORD_ANNOTATION, recordProblems } from '../../bridge/announce/record.js';
import type { Recorded } from '../../bridge/announce/transitions.js';
import { startControlPlaneWithXrds } from '../controlplane/composite-crds.js';
import type { ControlPlane } from '../controlplane/controlplane.js';
import { freePort } from '../support/net.js';
import { BridgeProcess, bridgeRbac } from '../support/bridge-process.js';
import { checkEventLog, openIncidents } from '../support/event-log.js';
import { CRD_DIRS, readCrds } from '../support/crds.js';
import { composedRelease, readyEnvironmentStatus } from '../support/observations.js';
import { Random } from '../support/random.js';
import { TestSink } from '../support/sink.js';

type Obj = Record<string, unknown>;
type State = 'ready' | 'progressing' | 'failed';
const COMPONENTS = ['cluster', 'tool-a', 'tool-b'] as const;
type Component = (typeof COMPONENTS)[number];

const SEED = Number(process.env.BRIDGE_FAULTS_SEED || 20261125);
const KILLS = 20;
const CROSSPLANE_FINALIZER = 'composite.apiextensions.crossplane.io';
const xrType = { group: 'platform.xenvironment.io', version: 'v1alpha1', plural: 'xenvironments' };
const releases = { group: 'helm.crossplane.io', version: 'v1beta1', plural: 'releases' };
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** The same kills, flips and corruptions for the same seed. */
const seeded = new Random(SEED);
const random = () => seeded.next();
const pick = <T>(items: readonly T[]): T => seeded.pick(items);

/** What the test did to one environment. */
interface Env {
  name: string;
  state: Record<Component, State>;
  /** Readiness as a whole, and how often the test changed it. */
  ready: boolean;
  readyChanges: number;
  /** How often each component went into failure. */
  failures: Record<Component, number>;
  deleted: boolean;
  /**
   * Its journal was deleted while a batch of it was delivered and not yet on the XR: rebuilt from
   * what is observed, it cannot follow up on that batch (an incident it detected stays open).
   */
  journalLost?: boolean;
  /**
   * Its record was damaged, not yet rebuilt, when the test deleted it: rebuilt after its Releases
   * are gone, it cannot tell which tools were announced as deployed (adopted silently, by design).
   */
  damagedAtDeletion?: boolean;
}

let cp: ControlPlane;
let custom: CustomObjectsApi;
let core: CoreV1Api;
let objects: KubernetesObjectApi;
let bridgeKubeconfig: string;
const sink = new TestSink();
const envs: Env[] = [];
const bridges: BridgeProcess[] = [];
const figures = { kills: 0, killsWhileWorking: 0, corruptions: 0, deletions: 0, flips: 0 };
const started = Date.now();

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** A bridge as a pod's container would run it; the same identity is the same pod. */
async function startBridge(identity: string): Promise<BridgeProcess> {
  const bridge = new BridgeProcess(
    {
      KUBECONFIG: bridgeKubeconfig,
      K_SINK: sink.url,
      POD_NAMESPACE: 'crossplane-system',
      POD_NAME: identity,
      BRIDGE_RETRY_BASE_MS: '100',
      BRIDGE_RETRY_MAX_MS: '1000',
      BRIDGE_SINK_TIMEOUT_MS: '1000',
      BRIDGE_LEASE_DURATION_MS: '3000',
      BRIDGE_LEASE_RENEW_DEADLINE_MS: '2000',
      BRIDGE_LEASE_RETRY_PERIOD_MS: '500',
    },
    await freePort(),
  );
  bridge.start();
  bridges.push(bridge);
  return bridge;
}

async function ready(bridge: BridgeProcess): Promise<void> {
  await eventually('bridge /readyz', async () =>
    (await bridge.get('/readyz'))?.status === 200 ? true : undefined,
  );
}

function conditions(state: State): Obj[] {
  const at = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const condition = (type: string, ok: boolean, reason: string, message?: string) => ({
    type,
    status: ok ? 'True' : 'False',
    reason,
    lastTransitionTime: at,
    ...(message ? { message } : {}),
  });
  switch (state) {
    case 'ready':
      return [condition('Ready', true, 'Available'), condition('Synced', true, 'ReconcileSuccess')];
    case 'progressing':
      return [condition('Ready', false, 'Creating'), condition('Synced', true, 'ReconcileSuccess')];
    case 'failed':
      return [
        condition('Ready', false, 'Creating'),
        condition('Synced', false, 'ReconcileError', 'cannot install release: chart not found'),
      ];
  }
}

/** Plays provider-helm: the Release's conditions say `state`. */
async function set(env: Env, component: Component, state: State): Promise<void> {
  const was = env.state[component];
  env.state[component] = state;
  if (state === 'failed' && was !== 'failed') env.failures[component]++;
  const ready = COMPONENTS.every((c) => env.state[c] === 'ready');
  if (ready !== env.ready) env.readyChanges++;
  env.ready = ready;
  figures.flips++;
  await custom.patchClusterCustomObjectStatus(
    {
      ...releases,
      name: `${env.name}-${component}`,
      body: { status: { conditions: conditions(state) } },
    },
    merge,
  );
}

/** Plays the function and Crossplane: an XR, its status, and its three Releases. */
async function createEnv(name: string): Promise<Env> {
  await custom.createClusterCustomObject({
    ...xrType,
    body: {
      apiVersion: 'platform.xenvironment.io/v1alpha1',
      kind: 'XEnvironment',
      metadata: { name, finalizers: [CROSSPLANE_FINALIZER] },
      spec: { tools: [{ name: 'a' }, { name: 'b' }] },
    },
  });
  await custom.patchClusterCustomObjectStatus(
    {
      ...xrType,
      name,
      // The function's verdict stays ready: the Releases' flips are what this test varies.
      body: {
        status: readyEnvironmentStatus(name, [
          { name: 'a', version: '1.0.0' },
          { name: 'b', version: '2.0.0' },
        ]),
      },
    },
    merge,
  );
  const version = { cluster: '0.30.0', 'tool-a': '1.0.0', 'tool-b': '2.0.0' };
  for (const component of COMPONENTS) {
    await custom.createClusterCustomObject({
      ...releases,
      body: composedRelease(name, component, version[component]),
    });
  }
  const env: Env = {
    name,
    state: { cluster: 'progressing', 'tool-a': 'progressing', 'tool-b': 'progressing' },
    ready: false,
    readyChanges: 0,
    failures: { cluster: 0, 'tool-a': 0, 'tool-b': 0 },
    deleted: false,
  };
  for (const component of COMPONENTS) await set(env, component, 'progressing');
  envs.push(env);
  return env;
}

/** Plays Crossplane's deletion: the XR is deleted, its Releases go, then Crossplane lets go. */
async function deleteEnv(env: Env): Promise<void> {
  env.deleted = true;
  figures.deletions++;
  const raw = (await readXr(env.name))?.metadata.annotations?.[RECORD_ANNOTATION];
  env.damagedAtDeletion = !validRecord(raw);
  await custom.deleteClusterCustomObject({ ...xrType, name: env.name });
  for (const component of COMPONENTS) {
    await custom.deleteClusterCustomObject({ ...releases, name: `${env.name}-${component}` });
  }
  await eventually('Crossplane to let go', async () => {
    const xr = await readXr(env.name);
    if (!xr) return true;
    const finalizers = xr.metadata.finalizers ?? [];
    await patchMetadata(xr, { finalizers: finalizers.filter((f) => f !== CROSSPLANE_FINALIZER) });
    return true;
  });
}

type Xr = KubernetesObject & {
  metadata: { name: string; uid: string; finalizers?: string[]; resourceVersion: string };
};

const BRIDGE_NAMESPACE = 'crossplane-system';

/** The journal shard that holds an XR's entry, as stored; undefined if missing or invalid. */
async function shardOfXr(uid: string): Promise<Shard | undefined> {
  try {
    const map = await core.readNamespacedConfigMap({
      name: shardNames()[shardOf(uid)]!,
      namespace: BRIDGE_NAMESPACE,
    });
    const read = readShard(map.data?.[JOURNAL_KEY]);
    return read.kind === 'valid' ? read.shard : undefined;
  } catch (error) {
    if ((error as { code?: number }).code === 404) return undefined;
    throw error;
  }
}

/** The journal's entry for an XR: a batch its record on the XR may not hold yet. */
async function entryOf(xr: Xr | undefined): Promise<Entry | undefined> {
  return xr && (await shardOfXr(xr.metadata.uid))?.entries[xr.metadata.uid];
}

/** The record on the XR as it stands. */
const recordOn = (xr: Xr | undefined) =>
  JSON.parse(xr?.metadata.annotations?.[RECORD_ANNOTATION] ?? 'null') as Recorded | null;

/** A merge patch of the XR's metadata, guarded by the resourceVersion read: the bridge writes too. */
async function patchMetadata(xr: Xr, metadata: Obj): Promise<void> {
  await custom.patchClusterCustomObject(
    {
      ...xrType,
      name: xr.metadata.name,
      body: { metadata: { ...metadata, resourceVersion: xr.metadata.resourceVersion } },
    },
    merge,
  );
}

async function readXr(name: string): Promise<Xr | undefined> {
  try {
    return (await custom.getClusterCustomObject({ ...xrType, name })) as Xr;
  } catch (error) {
    if ((error as { code?: number }).code === 404) return undefined;
    throw error;
  }
}

const incidentKey = (component: Component) =>
  component === 'cluster' ? 'cluster' : `tool/${component.slice(5)}`;

function validRecord(raw: string | undefined): boolean {
  try {
    return recordProblems(JSON.parse(raw ?? '')).length === 0;
  } catch {
    return false;
  }
}

/**
 * The record says everything the test did was announced and delivered: the XR's, and the
 * journal holds none newer (its events would still be owed).
 */
function settled(env: Env, xr: Xr | undefined, entry: Entry | undefined): boolean {
  if (env.deleted) return xr === undefined;
  let record: Recorded;
  try {
    record = JSON.parse(xr?.metadata.annotations?.[RECORD_ANNOTATION] ?? '') as Recorded;
  } catch {
    return false;
  }
  // A record the test corrupted and the bridge has not rebuilt yet.
  if (recordProblems(record).length > 0) return false;
  if (entry && (entry.record.epoch !== record.epoch || entry.record.seq !== record.seq)) {
    return false;
  }
  const failing = COMPONENTS.filter((c) => env.state[c] === 'failed')
    .map(incidentKey)
    .sort();
  return (
    record.outbox.length === 0 &&
    record.ready === env.ready &&
    JSON.stringify(Object.keys(record.incidents).sort()) === JSON.stringify(failing)
  );
}

async function allSettled(ms = 30_000): Promise<void> {
  await eventually(
    'every environment announced',
    async () => {
      for (const env of envs) {
        const xr = await readXr(env.name);
        if (!settled(env, xr, await entryOf(xr))) return undefined;
      }
      return true;
    },
    ms,
  );
}

const events = (): CDEvent[] => sink.received.map((r) => r.event.data as unknown as CDEvent);
const eventsSince = (before: number): CDEvent[] => events().slice(before);
const ofEnv = (list: CDEvent[], env: Env) =>
  list.filter((e) => e.subject.id === env.name || e.subject.id.startsWith(`${env.name}/`));
const kind = (e: CDEvent) =>
  e.context.type
    .replace(/^dev\.cdevents(x\.xenvironment-)?\.?/, '')
    .replace(/\.\d+\.\d+\.\d+$/, '');

/**
 * What the sink heard agrees with the model: the environment's readiness, its open incidents (by
 * component), no more readiness or failure announcements than the test made changes, deletions.
 */
function disagreements(): string[] {
  const log = checkEventLog(events());
  const problems = [...log.problems];
  for (const env of envs) {
    const mine = ofEnv(log.distinct, env);
    const count = (k: string) => mine.filter((e) => kind(e) === k).length;
    const modified = count('environment.modified');
    if (modified > env.readyChanges) {
      problems.push(`${env.name}: ${modified} readiness events for ${env.readyChanges} changes`);
    }
    if (env.deleted) {
      if (count('environment.deleted') !== 1)
        problems.push(`${env.name}: deletion not announced once`);
      if (openIncidents(mine).length > 0) problems.push(`${env.name}: deleted with open incidents`);
      if (kind(mine.at(-1)!) !== 'environment.deleted')
        problems.push(`${env.name}: events after its deletion`);
      // Every tool announced as deployed is removed before the deletion.
      const deployed = new Set<string>();
      for (const e of mine) {
        if (kind(e) === 'service.deployed') deployed.add(e.subject.id);
        if (kind(e) === 'service.removed') deployed.delete(e.subject.id);
      }
      if (deployed.size > 0 && !env.damagedAtDeletion)
        problems.push(`${env.name}: deleted with ${[...deployed].join()} not removed`);
      continue;
    }
    // Readiness announcements alternate, starting with "ready": their parity is the last word.
    if (modified % 2 !== (env.ready ? 1 : 0))
      problems.push(`${env.name}: readiness ${env.ready} not the last announced`);
    const open = openIncidents(mine).map((subject) => {
      const detected = mine.find((e) => e.subject.id === subject)!;
      const service = (detected.subject.content as { service?: { id: string } }).service;
      return service ? `tool-${service.id.split('/').pop()}` : 'cluster';
    });
    const failing = COMPONENTS.filter((c) => env.state[c] === 'failed');
    if (open.sort().join() !== failing.join() && !env.journalLost)
      problems.push(`${env.name}: open incidents ${open} but failing ${failing}`);
    for (const component of COMPONENTS) {
      const detections = mine.filter((e) => {
        if (kind(e) !== 'incident.detected') return false;
        const service = (e.subject.content as { service?: { id: string } }).service;
        return (service ? `tool-${service.id.split('/').pop()}` : 'cluster') === component;
      }).length;
      if (detections > env.failures[component])
        problems.push(
          `${env.name}: ${component} detected ${detections} times for ${env.failures[component]} failures`,
        );
    }
  }
  return problems;
}

/** Fails tool-a of `env` and waits until the sink took the batch that says so; where it began. */
async function failedAndAnnounced(env: Env): Promise<number> {
  const before = sink.received.length;
  await set(env, 'tool-a', 'failed');
  await eventually('the failure announced', async () =>
    ofEnv(eventsSince(before), env).some((e) => kind(e) === 'environment.modified')
      ? true
      : undefined,
  );
  return before;
}

async function corrupt(env: Env): Promise<boolean> {
  const xr = await readXr(env.name);
  // Only where everything is announced: a rebuilt record adopts what it observes, by design.
  if (!xr || !settled(env, xr, await entryOf(xr))) return false;
  const raw = xr.metadata.annotations![RECORD_ANNOTATION]!;
  const hasIncidents = Object.keys((JSON.parse(raw) as Recorded).incidents).length > 0;
  // Whole-record damage loses open incidents: only where none is open. A damaged field keeps them.
  const bad = hasIncidents
    ? JSON.stringify({ ...JSON.parse(raw), seq: 'x' })
    : pick(['{"deleted":true}', '{"incidents":"abc"}', '{"seq":"x"}', '{"seq":-3}', '{']);
  try {
    await patchMetadata(xr, { annotations: { [RECORD_ANNOTATION]: bad } });
    figures.corruptions++;
    return true;
  } catch {
    return false; // the bridge wrote in between
  }
}

beforeAll(async () => {
  // The XR's CRD as Crossplane makes it from the XRD; the real provider-helm Release CRD.
  cp = await startControlPlaneWithXrds();
  const kc = new KubeConfig();
  kc.loadFromFile(cp.adminKubeconfig);
  custom = kc.makeApiClient(CustomObjectsApi);
  core = kc.makeApiClient(CoreV1Api);
  objects = KubernetesObjectApi.makeApiClient(kc);
  const [release] = (await readCrds(
    CRD_DIRS.providerHelm,
    (file) => file === 'helm.crossplane.io_releases.yaml',
  )) as [Obj];
  await cp.applyCrd(release);
  // The bridge's namespace (Crossplane's set-up may have made it), and the one its shipped RBAC
  // lets requested events act in.
  for (const name of ['crossplane-system', 'team-a']) {
    await objects.patch(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } as KubernetesObject,
      undefined,
      undefined,
      'faults',
      true,
      PatchStrategy.ServerSideApply,
    );
  }
  for (const document of await bridgeRbac('xenvironment-bridge')) {
    await objects.patch(
      document as KubernetesObject,
      undefined,
      undefined,
      'faults',
      true,
      PatchStrategy.ServerSideApply,
    );
  }
  bridgeKubeconfig = await cp.userKubeconfig('xenvironment-bridge');
  // New CRDs answer 404 or 429 until their storage is ready.
  await eventually('CRDs served', async () => {
    await custom.listClusterCustomObject({ ...xrType });
    await custom.listClusterCustomObject({ ...releases });
    return true;
  });
  await sink.up();
  await mkdir('test-results', { recursive: true });
}, 120_000);

afterAll(async () => {
  await Promise.all(bridges.map((b) => b.stop('SIGKILL')));
  await writeFile('test-results/bridge-faults.log', bridges.map((b) => b.output).join('\n---\n'));
  await sink.down();
  await cp?.stop();
});

/**
 * A chain of tools: app depends on conf, conf on base; the claim lists them out of that order,
 * and the function's status says each one's dependencies.
 */
const CHAIN = [
  { name: 'base', version: '1.0.0', dependsOn: [] as string[] },
  { name: 'conf', version: '2.0.0', dependsOn: ['base'] },
  { name: 'app', version: '3.0.0', dependsOn: ['conf'] },
];
const CHAIN_LISTED = ['app', 'base', 'conf'];

/** The function's status of a chain environment, `ready` its tools ready so far. */
function chainStatus(name: string, ready: Set<string>): Obj {
  return {
    ...readyEnvironmentStatus(name, []),
    tools: CHAIN_LISTED.map((tool) => {
      const { version, dependsOn } = CHAIN.find((t) => t.name === tool)!;
      return {
        name: tool,
        version,
        ready: ready.has(tool),
        ...(dependsOn.length ? { dependsOn } : {}),
      };
    }),
  };
}

/** Plays provider-helm installing a Release: created, then Ready when `ready`. */
async function install(xr: string, key: string, version: string, ready: boolean): Promise<void> {
  await custom.createClusterCustomObject({ ...releases, body: composedRelease(xr, key, version) });
  if (ready) await markReady(xr, key);
}

async function markReady(xr: string, key: string): Promise<void> {
  await custom.patchClusterCustomObjectStatus(
    { ...releases, name: `${xr}-${key}`, body: { status: { conditions: conditions('ready') } } },
    merge,
  );
}

describe('the bridge under faults', () => {
  let a: BridgeProcess;
  let steady: Env;

  it('announces a set of environments once each', async () => {
    for (let i = 0; i < 6; i++) await createEnv(`env-${i}`);
    steady = await createEnv('steady');
    a = await startBridge('bridge-a');
    await ready(a);
    for (const env of envs) for (const component of COMPONENTS) await set(env, component, 'ready');
    await allSettled();
    expect(disagreements()).toEqual([]);
    expect(ofEnv(events(), steady).map(kind)).toEqual([
      'environment.requested',
      'environment.created',
      'service.deployed',
      'service.deployed',
      'environment.modified',
    ]);
  });

  it('says nothing when restarted while everything is Ready', async () => {
    const before = sink.received.length;
    for (const signal of ['SIGKILL', 'SIGTERM', 'SIGKILL'] as const) {
      await a.stop(signal);
      a = await startBridge('bridge-a');
      await ready(a);
      await sleep(1_500);
    }
    expect(sink.received.slice(before).map((r) => r.event.type)).toEqual([]);
  });

  it('sends nothing again after a graceful stop right after announcing', async () => {
    const [env] = envs;
    const before = sink.received.length;
    await set(env!, 'tool-a', 'failed');
    await eventually('incident.detected and environment.modified', async () =>
      sink.received.length >= before + 2 ? true : undefined,
    );
    const announcedAt = sink.received[before + 1]!.at;
    await a.stop('SIGTERM');
    // Stopped within the second a delivered outbox waits: clearing it was the stop's doing.
    expect(performance.now() - announcedAt).toBeLessThan(1_000);
    const xr = await readXr(env!.name);
    const record = JSON.parse(xr!.metadata.annotations![RECORD_ANNOTATION]!) as Recorded;
    expect(record.outbox).toEqual([]);
    // Checkpointed onto the XR, and dropped from the journal: the XR is the truth again.
    expect(await entryOf(xr)).toBeUndefined();
    a = await startBridge('bridge-a');
    await ready(a);
    await sleep(1_500);
    expect(sink.received.slice(before).map((r) => r.event.type)).toHaveLength(2);
    await set(env!, 'tool-a', 'ready');
    await allSettled();
  });

  // What the sink took is owed to it whatever happens next: the bridge killed while the sink holds
  // an incident's detection unanswered, the failure gone before it runs again. Recorded only after
  // delivery, the detection would never be resolved: the new process finds nothing to announce.
  it('resolves an incident it was killed announcing, the failure gone while it was down', async () => {
    await ready(a);
    const env = envs[1]!;
    const before = sink.received.length;
    sink.hang = true;
    await set(env, 'tool-b', 'failed');
    await eventually('incident.detected taken by the sink', async () =>
      sink.received.slice(before).some((r) => r.event.type.includes('incident.detected'))
        ? true
        : undefined,
    );
    await a.stop('SIGKILL');
    figures.kills++;
    figures.killsWhileWorking++;
    sink.hang = false;
    await set(env, 'tool-b', 'ready');
    a = await startBridge('bridge-a');
    await allSettled();
    expect(disagreements()).toEqual([]);
    expect(
      ofEnv(
        checkEventLog(sink.received.slice(before).map((r) => r.event.data as unknown as CDEvent))
          .distinct,
        env,
      ).map(kind),
    ).toEqual([
      'incident.detected',
      'environment.modified',
      'incident.resolved',
      'environment.modified',
    ]);
  });

  // The journal: a kill at each step of a batch's way, and a journal damaged or deleted.
  it('sends a batch the journal held when killed before delivering it, then what changed meanwhile', async () => {
    await ready(a);
    const env = envs[2]!;
    const before = sink.received.length;
    sink.stall = true;
    await set(env, 'tool-a', 'failed');
    const xr = await readXr(env.name);
    const journaled = await eventually('the batch written into the journal', async () => {
      const entry = await entryOf(xr);
      return entry?.record.outbox.length ? entry : undefined;
    });
    await a.stop('SIGKILL');
    figures.kills++;
    figures.killsWhileWorking++;
    sink.stall = false;
    // Neither taken by the sink nor on the XR yet: only the journal has it.
    expect(sink.received.length).toBe(before);
    expect(recordOn(await readXr(env.name))!.seq).toBeLessThan(journaled.record.seq);
    await set(env, 'tool-a', 'ready');
    a = await startBridge('bridge-a');
    await allSettled();
    expect(disagreements()).toEqual([]);
    const said = ofEnv(checkEventLog(eventsSince(before)).distinct, env);
    expect(said.map(kind)).toEqual([
      'incident.detected',
      'environment.modified',
      'incident.resolved',
      'environment.modified',
    ]);
    expect(said.slice(0, 2).map((e) => e.context.id)).toEqual(
      journaled.record.outbox.map(({ event }) => event.context.id),
    );
  });

  it('sends a delivered batch again, with its ids, when killed before the XR held it', async () => {
    await ready(a);
    const env = envs[3]!;
    const before = await failedAndAnnounced(env);
    await a.stop('SIGKILL');
    figures.kills++;
    figures.killsWhileWorking++;
    // Delivered, in the journal, not on the XR: the checkpoint waits for the XR to settle.
    const xr = await readXr(env.name);
    expect((await entryOf(xr))!.record.seq).toBeGreaterThan(recordOn(xr)!.seq);
    await set(env, 'tool-a', 'ready');
    a = await startBridge('bridge-a');
    await allSettled();
    expect(disagreements()).toEqual([]);
    const log = checkEventLog(ofEnv(eventsSince(before), env));
    expect(log.distinct.map(kind)).toEqual([
      'incident.detected',
      'environment.modified',
      'incident.resolved',
      'environment.modified',
    ]);
    expect(log.redeliveries).toBe(2);
  });

  it('sends nothing again when killed after the XR held a batch, before the journal dropped it', async () => {
    const env = envs[4]!;
    // The journal drops an entry with its next write, within a second: caught within a few tries.
    let caught = false;
    for (let attempt = 0; attempt < 5 && !caught; attempt++) {
      await ready(a);
      await set(env, 'tool-a', 'failed');
      const xr = await eventually('the XR to hold the batch', async () => {
        const read = await readXr(env.name);
        return recordOn(read)?.incidents['tool/a'] ? read : undefined;
      });
      await a.stop('SIGKILL');
      figures.kills++;
      figures.killsWhileWorking++;
      caught = (await entryOf(xr))?.record.seq === recordOn(xr)!.seq;
      const before = sink.received.length;
      a = await startBridge('bridge-a');
      await ready(a);
      await sleep(1_500);
      if (caught) expect(ofEnv(eventsSince(before), env)).toEqual([]);
      await set(env, 'tool-a', 'ready');
      await allSettled();
    }
    expect(caught).toBe(true);
    expect(disagreements()).toEqual([]);
  });

  it('rebuilds records from what it observes when its journal is damaged or deleted, sending nothing under new ids', async () => {
    // Every XR holding its record, and the journal holding no entry: a damaged shard loses nothing.
    await ready(a);
    await allSettled();
    await eventually('the journal to drop every entry', async () => {
      for (const env of envs.filter((e) => !e.deleted)) {
        if (await entryOf(await readXr(env.name))) return undefined;
      }
      return true;
    });
    await a.stop('SIGKILL');
    figures.kills++;
    const env = envs[5]!;
    const uid = (await readXr(env.name))!.metadata.uid;
    await core.patchNamespacedConfigMap(
      {
        name: shardNames()[shardOf(uid)]!,
        namespace: BRIDGE_NAMESPACE,
        body: { data: { [JOURNAL_KEY]: '{"format":1' } },
      },
      merge,
    );
    let before = sink.received.length;
    a = await startBridge('bridge-a');
    await ready(a);
    await eventually('the shard made again', async () =>
      (await shardOfXr(uid)) ? true : undefined,
    );
    await sleep(1_500);
    expect(eventsSince(before)).toEqual([]);
    expect(a.output).toContain('journal shard lost');
    for (const state of ['failed', 'ready'] as const) {
      await set(env, 'tool-b', state);
      await allSettled();
    }
    expect(disagreements()).toEqual([]);

    // The whole journal deleted while a batch was delivered and not yet on its XR: every record
    // is rebuilt, what was sent is not sent again, and that batch is not followed up.
    const lost = await createEnv('lost');
    lost.journalLost = true;
    for (const component of COMPONENTS) await set(lost, component, 'ready');
    await allSettled();
    before = await failedAndAnnounced(lost);
    await a.stop('SIGKILL');
    figures.kills++;
    for (const name of shardNames()) {
      await core.deleteNamespacedConfigMap({ name, namespace: BRIDGE_NAMESPACE });
    }
    a = await startBridge('bridge-a');
    await allSettled();
    await sleep(1_500);
    await set(lost, 'tool-a', 'ready');
    await allSettled();
    expect(disagreements()).toEqual([]);
    const log = checkEventLog(ofEnv(eventsSince(before), lost));
    expect([log.problems, log.redeliveries]).toEqual([[], 0]);
    // Its failure's detection stays open: its resolution is of the incident adopted on rebuilding.
    expect(log.distinct.map(kind)).toEqual([
      'incident.detected',
      'environment.modified',
      'incident.resolved',
      'environment.modified',
    ]);
    expect(openIncidents(log.distinct)).toEqual([log.distinct[0]!.subject.id]);
  });

  // A container restarted at once keeps its pod's name, so takes its lease back at once; a process
  // of another name waits the lease out: both, in turns.
  it('announces a chain of tools in dependency order, nothing lost, when killed twice in a second while they come up', async () => {
    await a.stop('SIGKILL');
    const pause = [0, 50, 200, 400];
    for (let round = 0; round < 4; round++) {
      const name = `chain-${round}`;
      const identity = (step: string) => (round % 2 ? 'bridge-a' : `bridge-${name}-${step}`);
      a = await startBridge(identity('start'));
      await custom.createClusterCustomObject({
        ...xrType,
        body: {
          apiVersion: 'platform.xenvironment.io/v1alpha1',
          kind: 'XEnvironment',
          metadata: { name, finalizers: [CROSSPLANE_FINALIZER] },
          spec: { tools: CHAIN_LISTED.map((tool) => ({ name: tool })) },
        },
      });
      const ready = new Set<string>();
      const status = () =>
        custom.patchClusterCustomObjectStatus(
          { ...xrType, name, body: { status: chainStatus(name, ready) } },
          merge,
        );
      await status();
      await install(name, 'cluster', '0.30.0', true);
      const mine = () =>
        checkEventLog(
          events().filter((e) => e.subject.id === name || e.subject.id.startsWith(`${name}/`)),
        );
      await eventually('requested and created', async () =>
        mine().distinct.length >= 2 ? true : undefined,
      );
      // Each tool installs once the one before is Ready; the bridge is killed and started again
      // as conf's and as app's Releases appear, while their readiness is still to be announced.
      for (const tool of CHAIN) {
        await install(name, `tool-${tool.name}`, tool.version, false);
        if (tool.name !== 'base') {
          await a.stop('SIGKILL');
          figures.kills++;
          a = await startBridge(identity(tool.name));
        }
        await sleep(pause[round]!);
        await markReady(name, `tool-${tool.name}`);
        ready.add(tool.name);
        await status();
        await sleep(pause[round]!);
      }
      const said = await eventually(
        `${name} Ready announced`,
        async () => {
          const log = mine();
          return log.distinct.some((e) => kind(e) === 'environment.modified') ? log : undefined;
        },
        60_000,
      );
      expect(said.problems).toEqual([]);
      expect(said.distinct.map((e) => `${kind(e)} ${e.subject.id}`)).toEqual([
        `environment.requested ${name}`,
        `environment.created ${name}`,
        `service.deployed ${name}/base`,
        `service.deployed ${name}/conf`,
        `service.deployed ${name}/app`,
        `environment.modified ${name}`,
      ]);
      await a.stop('SIGKILL');
    }
    a = await startBridge('bridge-a');
    await ready(a);
  }, 180_000);

  it('loses, repeats and invents nothing while killed, failed by its sink, and corrupted', async () => {
    const chaotic = envs.filter((env) => env !== steady && !env.journalLost);
    for (let kill = 0; kill < KILLS; kill++) {
      // The sink: fine, then 500s, then hanging after taking events, then fine again.
      sink.failWith = kill >= 4 && kill < 8 ? 500 : undefined;
      sink.hang = kill >= 8 && kill < 12;
      // Most kills land while it works (caches synced, leading, sending); some while it starts.
      // While the sink fails, always while it works: those deliveries are what is tested.
      const working = random() < 0.7 || sink.failWith !== undefined || sink.hang;
      if (working) {
        await ready(a);
        figures.killsWhileWorking++;
      }
      const flipped = new Set<Env>();
      for (let flips = 2 + Math.floor(random() * 3); flips > 0; flips--) {
        const env = pick(chaotic.filter((e) => !e.deleted));
        flipped.add(env);
        await set(
          env,
          pick(COMPONENTS),
          pick(['ready', 'ready', 'progressing', 'failed'] as const),
        );
      }
      // Not one flipped just now: the bridge may not have seen the flip yet, and would adopt that.
      const unflipped = chaotic.filter((e) => !e.deleted && !flipped.has(e));
      if (random() < 0.5) {
        for (const env of unflipped.sort(() => random() - 0.5)) if (await corrupt(env)) break;
      }
      if (kill === 14) await deleteEnv(chaotic[0]!);
      await sleep(working ? 50 + random() * 1_200 : random() * 400);
      await a.stop('SIGKILL');
      figures.kills++;
      if (kill === 16) await deleteEnv(chaotic[1]!); // while the bridge is down
      await sleep(random() * 300);
      a = await startBridge('bridge-a');
    }
    sink.failWith = undefined;
    sink.hang = false;
    // One more with an open incident, deleted for good measure.
    await set(chaotic[2]!, 'tool-b', 'failed');
    await deleteEnv(chaotic[2]!);
    await allSettled(60_000);
    expect(disagreements()).toEqual([]);
    expect(ofEnv(events(), steady)).toHaveLength(5);
  }, 180_000);

  it('announces once with two replicas, and hands over on SIGTERM and on a lost lease', async () => {
    const alive = envs.filter((e) => !e.deleted);
    for (const env of alive) for (const component of COMPONENTS) await set(env, component, 'ready');
    await allSettled();
    const before = sink.received.length;
    const b = await startBridge('bridge-b');
    await ready(b);
    await sleep(1_000);
    expect([
      await a.metric('xenvironment_bridge_leader'),
      await b.metric('xenvironment_bridge_leader'),
    ]).toEqual([1, 0]);
    const [env] = envs.filter((e) => !e.deleted && e !== steady);
    const flip = async (state: State) => {
      await set(env!, 'tool-a', state);
      await allSettled();
    };
    await flip('failed');
    // SIGTERM releases the lease: the other takes over within its retry period, not 3 s.
    await a.stop('SIGTERM');
    await eventually(
      'bridge-b to lead',
      async () => ((await b.metric('xenvironment_bridge_leader')) === 1 ? true : undefined),
      1_500,
    );
    await flip('ready');
    a = await startBridge('bridge-a');
    await ready(a);
    // A leader killed cannot release: bridge-a waits out the lease, then leads.
    await b.stop('SIGKILL');
    await flip('failed');
    expect(await a.metric('xenvironment_bridge_leader')).toBe(1);
    await flip('ready');
    const during = sink.received.slice(before).map((r) => r.event.data as unknown as CDEvent);
    expect(checkEventLog(during).redeliveries).toBe(0);
    expect(during.map(kind)).toEqual([
      'incident.detected',
      'environment.modified',
      'incident.resolved',
      'environment.modified',
      'incident.detected',
      'environment.modified',
      'incident.resolved',
      'environment.modified',
    ]);
    expect(disagreements()).toEqual([]);
  }, 60_000);

  it('stops leading, by exiting, when it cannot renew its lease', async () => {
    const binding = (await bridgeRbac('xenvironment-bridge')).find(
      (d) => d.kind === 'RoleBinding',
    )!;
    await objects.delete(binding as KubernetesObject);
    const code = await a.exited(10_000);
    expect(code).toBe(1);
    expect(a.output).toContain('lost the lease');
    await objects.create(binding as KubernetesObject);
    a = await startBridge('bridge-a');
    await eventually('bridge-a to lead again', async () =>
      (await a.metric('xenvironment_bridge_leader')) === 1 ? true : undefined,
    );
  });

  it('reports its figures', async () => {
    const logged = (message: string) =>
      bridges.map((b) => b.output.split(message).length - 1).reduce((x, y) => x + y, 0);
    const log = checkEventLog(events());
    const summary = {
      seed: SEED,
      ...figures,
      received: sink.received.length,
      distinct: log.distinct.length,
      redeliveries: log.redeliveries,
      problems: disagreements().length,
      recordsRebuilt: logged('invalid record: rebuilt'),
      deliveriesFailed: logged('delivery failed'),
      seconds: Math.round((Date.now() - started) / 1000),
    };
    await writeFile('test-results/bridge-faults.json', `${JSON.stringify(summary, null, 2)}\n`);
    console.log('bridge faults:', JSON.stringify(summary));
    // The faults were met, not dodged by the seeded schedule.
    expect(summary.deliveriesFailed).toBeGreaterThan(0);
    expect(summary.recordsRebuilt).toBeGreaterThan(0);
    expect(summary.redeliveries).toBeGreaterThan(0);
    // Every bridge that ever ran left its finalizer on no environment that is gone.
    for (const env of envs.filter((e) => e.deleted)) expect(await readXr(env.name)).toBeUndefined();
    expect(
      (await Promise.all(envs.filter((e) => !e.deleted).map((e) => readXr(e.name)))).every((xr) =>
        xr!.metadata.finalizers!.includes(FINALIZER),
      ),
    ).toBe(true);
  });
});
