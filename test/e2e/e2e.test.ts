/**
 * End to end on the real stack (test/controlplane/stack.ts), on a node of this machine: Crossplane
 * v2 installed from its chart, the product installed from its packages as a user installs it
 * (providers and the function with the bridge sidecar, each with its shipped runtime config), all
 * running as pods from images built here; real provider-helm and Helm installing from a local
 * chart repository into a real vcluster per environment, whose tools' pods run on the same node;
 * provider-kubernetes making the host namespace and reading the tools' workloads; the bridge
 * sending to a real HTTP sink on the host.
 *
 * Nothing plays Crossplane, a provider, the kubelet or the cluster. Steps run in order, each
 * asserting one thing a user would see; a failure names its step.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { CoreV1Api, Exec, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peakRssMiB } from '../support/proc.js';
import { checkEvents, Events } from './e2e-events.js';
import { Timeline, V1_KINDS, V2_KINDS } from './e2e-timeline.js';
import { CROSSPLANE_NAMESPACE } from '../controlplane/crossplane.js';
import { garbageCollectorWatches } from '../controlplane/node.js';
import { NODE_NETWORK } from '../controlplane/node-network.js';
import { FUNCTION } from '../controlplane/packages.js';
import { waitFor } from '../controlplane/processes.js';
import { E2E_CROSSPLANE_ARGS, startStack, type Stack } from '../controlplane/stack.js';
import { conditionStatus, Kube, type Resource } from '../support/kube.js';
import { TestSink } from '../support/sink.js';
import { chartVersion, offerTestCatalogue, UPGRADE } from '../support/test-charts.js';

const EVENTS_FILE = 'test-results/events.jsonl';
const V1 = {
  apiVersion: 'platform.xenvironment.io/v1alpha1',
  claim: 'Environment',
  xr: 'XEnvironment',
};
const V2 = { apiVersion: 'v2.platform.xenvironment.io/v1alpha1', kind: 'Environment' };
const TEAM_A = 'team-a';
const TEAM_B = 'team-b';
const COMPOSITION_V1 = 'xenvironments.platform.xenvironment.io-test';
const COMPOSITION_V2 = 'environments.v2.platform.xenvironment.io-test';
const CE_EXTENSIONS = { cluster: 'e2e' };
const INBOUND_TOKEN = 'e2e-inbound-token';
/** How long before expiry the bridge warns: the expiring environment below lives 75 s. */
const EXPIRY_WARNING_SECONDS = 45;
/** What a vcluster takes to come up on 2 busy cores, at most. */
const CLUSTER_TIMEOUT_MS = 300_000;
/** The bridge's port for /metrics, /healthz and /readyz, in the shipped runtime config. */
const BRIDGE_HTTP_PORT = 8080;

let stack: Stack;
/** How many events the sink had when the bridge was restarted: its metrics count from there. */
let receivedBeforeRestart = 0;
const sink = new TestSink(EVENTS_FILE, NODE_NETWORK.host);
const events = new Events(sink);
/** Each environment's timeline, by its subject id. */
const timelines = new Map<string, Timeline>();
/**
 * What of each environment was still there when its environment.deleted arrived, looked up on
 * arrival: the bridge announces only once the XR is gone, and the XR goes only after its composed
 * resources (foreground deletion), so anything found means the announcement came too early.
 */
const leftWhenDeleted = new Map<string, Promise<string[]>>();
/**
 * What of each environment was there when a service.removed of it arrived, by the service's
 * subject (`<environment>/<tool>`): during a deletion, the tool's Release must be gone by then
 * (Helm uninstalled it). A tool the claim drops is announced as removed at once.
 */
const presentWhenRemoved = new Map<string, Promise<string[]>>();
sink.onReceive = ({ event }) => {
  const subject = String(event.subject);
  if (event.type === 'dev.cdevents.service.removed.0.3.0' && !presentWhenRemoved.has(subject)) {
    const environment = subject.slice(0, subject.lastIndexOf('/'));
    presentWhenRemoved.set(
      subject,
      timelines.get(environment)?.present() ?? Promise.resolve(['?']),
    );
  }
  if (event.type !== 'dev.cdevents.environment.deleted.0.3.0' || leftWhenDeleted.has(subject))
    return;
  leftWhenDeleted.set(subject, timelines.get(subject)?.present() ?? Promise.resolve(['?']));
};

/**
 * The events of a deletion: `service.removed` for each of `tools` (in the order Helm uninstalls
 * them), each arriving once the tool's Release was gone, then `environment.deleted`.
 */
async function expectDeletion(environment: string, tools: string[], announced: string[]) {
  expect(announced.slice(0, -1).sort()).toEqual(tools.map((tool) => `service.removed ${tool}`));
  expect(announced.at(-1)).toBe('environment.deleted');
  for (const tool of tools) {
    expect(await presentWhenRemoved.get(`${environment}/${tool}`)).not.toContain(`tool-${tool}`);
  }
  expect(await leftWhenDeleted.get(environment)).toEqual([]);
}
const figures: Record<string, number | string> = {};
let started = Date.now();
const seconds = (since: number) => Math.round((Date.now() - since) / 100) / 10;
const wait = <T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 120_000) =>
  waitFor(what, probe, { timeoutMs, watch: stack.node.processes });

/** The function's pod, whose sidecar is the bridge. */
async function functionPod(): Promise<Resource> {
  const [pod] = await stack.kube.list('v1', 'Pod', {
    namespace: CROSSPLANE_NAMESPACE,
    labelSelector: `pkg.crossplane.io/function=${FUNCTION}`,
  });
  if (!pod) throw new Error('no pod of the function');
  return pod;
}

/** GET on the bridge's HTTP port, at its pod's address. */
async function bridgeGet(path: string): Promise<{ status: number; body: string }> {
  const ip = ((await functionPod()).status as { podIP: string }).podIP;
  const response = await fetch(`http://${ip}:${BRIDGE_HTTP_PORT}${path}`);
  return { status: response.status, body: await response.text() };
}

/**
 * The bridge's process on this machine, where the kubelet runs its container (the bundle's
 * bridge entrypoint is on its command line, and nothing else here runs it).
 */
function bridgeProcess(): number {
  const pids = readdirSync('/proc').filter((entry) => {
    if (!/^\d+$/.test(entry)) return false;
    try {
      return readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('bridge/main.mjs');
    } catch {
      return false;
    }
  });
  if (pids.length !== 1) throw new Error(`${pids.length} bridge processes on this machine`);
  return Number(pids[0]);
}

/** What the bridge container logged, as `kubectl logs` shows it. */
async function bridgeLog(): Promise<string> {
  const pod = await functionPod();
  return stack.kube.config.makeApiClient(CoreV1Api).readNamespacedPodLog({
    name: pod.metadata!.name!,
    namespace: CROSSPLANE_NAMESPACE,
    container: 'bridge',
  });
}

/**
 * A client of an environment's vcluster from its kubeconfig, reached as provider-helm reaches it
 * (through the `vcluster` Service of its host namespace): the test runs on the host, which does
 * not resolve cluster names, so the Service's address stands in for its name, and TLS still checks
 * the name the kubeconfig gives.
 */
async function environmentCluster(kubeconfig: string, hostNamespace: string) {
  const config = new KubeConfig();
  config.loadFromString(kubeconfig);
  const named = config.getCurrentCluster()!.server;
  const server = new URL(named);
  const service = await stack.kube.read('v1', 'Service', 'vcluster', hostNamespace);
  const ip = (service!.spec as { clusterIP: string }).clusterIP;
  config.loadFromOptions({
    clusters: [
      {
        ...config.getCurrentCluster()!,
        server: `https://${ip}:${server.port || 443}`,
        tlsServerName: server.hostname,
      },
    ],
    users: config.users,
    contexts: config.contexts,
    currentContext: config.currentContext,
  });
  return { server: named, kube: new Kube(config), config };
}

/** Runs a command in the web workload's container, through the environment's API server. */
async function execInWeb(cluster: { kube: Kube; config: KubeConfig }, command: string[]) {
  const [pod] = await cluster.kube.list('v1', 'Pod', {
    namespace: 'web',
    labelSelector: 'app=web',
  });
  if (!pod) throw new Error('no web pod');
  await new Promise<void>((done, fail) => {
    void new Exec(cluster.config)
      .exec(
        'web',
        pod.metadata!.name!,
        'web',
        command,
        null,
        process.stderr,
        null,
        false,
        (status) =>
          status.status === 'Success' ? done() : fail(new Error(JSON.stringify(status))),
      )
      .catch(fail);
  });
}

/** Each step's duration, and progress on the console. */
function step(name: string, run: () => Promise<void>, timeoutMs = 180_000) {
  it(
    name,
    async () => {
      const begun = Date.now();
      console.log(`e2e: ${name}`);
      try {
        await run();
      } finally {
        figures[`step: ${name}`] = seconds(begun);
        console.log(`e2e: ${name}: ${seconds(begun)} s`);
      }
    },
    timeoutMs,
  );
}

beforeAll(async () => {
  started = Date.now();
  await rm(EVENTS_FILE, { force: true });
  await sink.up();
  stack = await startStack({
    log: (line) => console.log(`stack: ${line}`),
    crossplaneArgs: E2E_CROSSPLANE_ARGS,
    // The shipped sidecar, sending to the test's sink, with the settings the steps below exercise.
    bridge: {
      env: {
        K_SINK: sink.url,
        K_CE_OVERRIDES: JSON.stringify({ extensions: CE_EXTENSIONS }),
        BRIDGE_LOG_LEVEL: 'debug',
        BRIDGE_EXPIRY_WARNING: `${EXPIRY_WARNING_SECONDS}s`,
        BRIDGE_INBOUND_TOKEN: INBOUND_TOKEN,
        BRIDGE_INBOUND_COMPOSITION: COMPOSITION_V1,
      },
    },
  });
  for (const [what, at] of Object.entries(stack.timings)) figures[`boot: ${what}`] = at;
  await offerTestCatalogue(stack);
  await stack.kube.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: TEAM_B } });
  await waitFor(
    'bridge /readyz',
    async () => (await bridgeGet('/readyz').catch(() => undefined))?.status === 200,
  );
  figures.setupSeconds = seconds(started);
}, 600_000);

afterAll(async () => {
  figures.totalSeconds = seconds(started);
  if (stack) {
    for (const { name, pid } of stack.processes()) {
      figures[`peak RSS MiB: ${name}`] = Math.round(await peakRssMiB(pid).catch(() => 0));
    }
  }
  await mkdir('test-results', { recursive: true });
  await writeFile('test-results/bridge.log', await bridgeLog().catch(() => ''));
  await writeFile('test-results/e2e.json', JSON.stringify(figures, null, 2));
  console.log(JSON.stringify(figures, null, 2));
  await sink.down();
  // XENV_KEEP_LOGS=1 keeps the processes' logs (the path is printed at boot).
  await stack?.stop({ keepLogs: Boolean(process.env.XENV_KEEP_LOGS) });
}, 60_000);

describe.sequential('an Environment claim (v1 XRD) from creation to deletion', () => {
  let xrName: string | undefined;
  const timeline = () => claimTimeline;
  let claimTimeline: Timeline;
  const claim = (tools: object[]) => ({
    apiVersion: V1.apiVersion,
    kind: V1.claim,
    metadata: { name: 'dev', namespace: TEAM_A },
    spec: {
      compositionRef: { name: COMPOSITION_V1 },
      tools,
      writeConnectionSecretToRef: { name: 'dev-kubeconfig' },
    },
  });
  const readClaim = () => stack.kube.read(V1.apiVersion, V1.claim, 'dev', TEAM_A);
  /** The environment's vcluster, once it runs. */
  let env: Awaited<ReturnType<typeof environmentCluster>>;
  const TOOLS = [
    { name: 'widgets-crd' },
    { name: 'settings', values: { greeting: 'hello from the claim' } },
    { name: 'web' },
  ];

  step('a claim is accepted and announced as requested', async () => {
    claimTimeline = new Timeline(stack.kube, V1_KINDS, () => xrName);
    claimTimeline.start();
    timelines.set(`${TEAM_A}/dev`, claimTimeline);
    await stack.kube.apply(claim(TOOLS));
    xrName = await wait('the claim bound to an XR', async () => {
      const bound = await readClaim();
      return (bound?.spec as { resourceRef?: { name: string } }).resourceRef?.name;
    });
    expect(await events.next(1)).toEqual(['environment.requested']);
  });

  step('its host namespace comes first, made by provider-kubernetes', async () => {
    await wait('the host namespace Ready', async () => timeline().at('host-namespace').ready);
    expect(await stack.kube.read('v1', 'Namespace', timeline().namespace!)).toBeDefined();
  });

  step('then vcluster installs into it, runs on the node and is Ready', async () => {
    await wait(
      'the cluster Release Ready',
      async () => timeline().at('cluster').ready,
      CLUSTER_TIMEOUT_MS,
    );
    // It appeared only once the host namespace was Ready.
    expect(timeline().at('cluster').readyBefore).toContain('host-namespace');
    const cluster = timeline().current.get('cluster')!;
    const forProvider = (cluster.spec as { forProvider: { namespace: string } }).forProvider;
    const hostNamespace = timeline().namespace!;
    expect(forProvider.namespace).toBe(hostNamespace);
    // vcluster's control plane runs as a pod of the host namespace, on the node.
    const [controlPlane] = await stack.kube.list('v1', 'Pod', {
      namespace: hostNamespace,
      labelSelector: 'app=vcluster',
    });
    expect(controlPlane?.status).toMatchObject({ phase: 'Running' });
    expect((controlPlane!.spec as { nodeName: string }).nodeName).toBe(stack.node.name);
    // Once it runs, vcluster writes its kubeconfig Secret in the host namespace.
    const secret = await stack.kube.read('v1', 'Secret', 'vc-vcluster', hostNamespace);
    env = await environmentCluster(
      Buffer.from((secret!.data as { config: string }).config, 'base64').toString(),
      hostNamespace,
    );
    expect(env.server).toBe(`https://vcluster.${hostNamespace}.svc:443`);
    expect(await events.next(1)).toEqual(['environment.created']);
  });

  step('its tools install in dependency order', async () => {
    await wait('every tool Ready', async () =>
      ['widgets-crd', 'settings', 'web'].every((t) => timeline().at(`tool-${t}`).ready),
    );
    for (const tool of ['widgets-crd', 'settings']) {
      expect(timeline().at(`tool-${tool}`).readyBefore).toContain('cluster');
    }
    // web depends on both: its Release appeared only once they were Ready.
    expect(timeline().at('tool-web').readyBefore).toEqual(
      expect.arrayContaining(['cluster', 'tool-widgets-crd', 'tool-settings']),
    );
    // Helm waited for web's Deployment: its Release turned Ready only once its pod served,
    // as its readiness probe (asked by the kubelet) said. Conditions have whole seconds.
    const [pod] = await env.kube.list('v1', 'Pod', { namespace: 'web', labelSelector: 'app=web' });
    const podReady = (
      pod!.status as { conditions: { type: string; lastTransitionTime: string }[] }
    ).conditions.find((c) => c.type === 'Ready')!;
    expect(timeline().at('tool-web').ready).toBeGreaterThanOrEqual(
      Date.parse(podReady.lastTransitionTime),
    );
    // Then the function composed web's readiness check, reading that Deployment and nothing more.
    await wait('web readiness check Ready', async () => timeline().at('readiness-web-0').ready);
    expect(timeline().at('readiness-web-0').readyBefore).toContain('tool-web');
    const check = timeline().current.get('readiness-web-0')!;
    expect(check.spec).toMatchObject({
      managementPolicies: ['Observe'],
      watch: true,
      forProvider: {
        manifest: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' } },
      },
    });
    const deployed = await events.next(4);
    // The two without dependencies become Ready in either order.
    expect(deployed.slice(0, 2).sort()).toEqual([
      'service.deployed settings',
      'service.deployed widgets-crd',
    ]);
    // With its last tool the environment is Ready, as the bridge sees the Releases.
    expect(deployed.slice(2)).toEqual(['service.deployed web', 'environment.modified']);
  });

  step('the claim becomes Ready', async () => {
    // The XR sees its last tool Ready when Crossplane next renders it: on that Release's watch
    // event, or at the function's response TTL if that event is dropped (see E2E_CROSSPLANE_ARGS).
    const ready = await wait('the claim Ready', async () => {
      const c = await readClaim();
      return conditionStatus(c, 'Ready') === 'True' && c;
    });
    figures.claimReadySeconds = seconds(timeline().at('host-namespace').seen!);
    expect(ready.status).toMatchObject({
      phase: 'Ready',
      cluster: { ready: true },
      tools: [
        { name: 'widgets-crd', ready: true },
        { name: 'settings', ready: true },
        { name: 'web', ready: true },
      ],
    });
  });

  step('a workload that stops serving makes its tool Starting again, until it serves', async () => {
    const web = async () => {
      const c = await readClaim();
      const tools = (c?.status as { tools?: { name: string; phase: string; message?: string }[] })
        ?.tools;
      return { claim: c, web: tools?.find((t) => t.name === 'web') };
    };
    // The web server loses what its readiness probe asks for.
    await execInWeb(env, ['rm', '/srv/index.html']);
    // Crossplane writes the XR's status and then its conditions: the claim may show one first.
    const starting = await wait('web Starting, the claim not Ready', async () => {
      const now = await web();
      return (
        now.web?.phase === 'Starting' && conditionStatus(now.claim, 'Ready') === 'False' && now
      );
    });
    expect(starting.web!.message).toContain('Deployment web/web');
    await execInWeb(env, ['sh', '-c', 'echo ok > /srv/index.html']);
    await wait('the claim Ready again', async () => {
      const now = await web();
      return now.web?.phase === 'Ready' && conditionStatus(now.claim, 'Ready') === 'True';
    });
    // No longer Ready, Ready again: the tool itself was neither removed nor deployed anew.
    const announced = await events.settle();
    expect(announced.at(-1)).toBe('environment.modified');
    expect(announced.filter((l) => l !== 'environment.modified')).toEqual([]);
  });

  step(
    "the kubeconfig in the claim's connection Secret reaches the environment's cluster",
    async () => {
      const secret = await wait("the claim's connection Secret", async () => {
        const s = await stack.kube.read('v1', 'Secret', 'dev-kubeconfig', TEAM_A);
        return (s?.data as Record<string, string> | undefined)?.kubeconfig ? s : undefined;
      });
      const config = new KubeConfig();
      config.loadFromString(
        Buffer.from((secret.data as { kubeconfig: string }).kubeconfig, 'base64').toString(),
      );
      const fromClaim = (
        await environmentCluster(
          Buffer.from((secret.data as { kubeconfig: string }).kubeconfig, 'base64').toString(),
          timeline().namespace!,
        )
      ).kube;
      expect(config.getCurrentCluster()?.server).toBe(env.server);
      // What Helm installed there, with the claim's values.
      const settings = await fromClaim.read('v1', 'ConfigMap', 'settings', 'settings');
      expect(settings?.data).toEqual({
        greeting: 'hello from the claim',
        chart: chartVersion('test-configmap'),
      });
      expect(await fromClaim.list('apps/v1', 'Deployment', { namespace: 'web' })).toHaveLength(1);
      expect(
        await fromClaim.list('test.xenvironment.io/v1', 'Widget', { namespace: 'web' }),
      ).toHaveLength(1);
    },
  );

  step('dropping a tool uninstalls it, and a new version upgrades one', async () => {
    await stack.kube.apply(claim([{ name: 'widgets-crd' }, { ...TOOLS[1], version: UPGRADE }]));
    await wait(
      'web uninstalled from the environment',
      async () => (await env.kube.list('apps/v1', 'Deployment', { namespace: 'web' })).length === 0,
    );
    expect(await env.kube.list('test.xenvironment.io/v1', 'Widget', { namespace: 'web' })).toEqual(
      [],
    );
    await wait('settings upgraded', async () => {
      const settings = await env.kube.read('v1', 'ConfigMap', 'settings', 'settings');
      return (settings?.data as { chart?: string } | undefined)?.chart === UPGRADE;
    });
    expect(timeline().releases()).toEqual(['cluster', 'tool-settings', 'tool-widgets-crd']);
    await wait(
      'the claim Ready again',
      async () => conditionStatus(await readClaim(), 'Ready') === 'True',
    );
    // How many environment.modified (tool set, no longer Ready, Ready again) depends on how the
    // writes of Crossplane and provider-helm interleave; the services' events do not.
    const changed = await events.settle();
    expect(changed.filter((l) => l !== 'environment.modified').sort()).toEqual([
      'service.removed web',
      'service.upgraded settings',
    ]);
    expect(changed.at(-1)).toBe('environment.modified');
  });

  step(
    'an edit into a Fatal state: the XR is not Synced, the field named, nothing uninstalled',
    async () => {
      await stack.kube.apply(
        claim([{ name: 'widgets-crd' }, { ...TOOLS[1], version: UPGRADE }, { name: 'tekon' }]),
      );
      // On a Fatal result Crossplane 2.2 marks the XR Synced=False with the message; a claim's
      // Synced stays its own (its sync to the XR went fine), and it gets no event of the Fatal:
      // what it shows is its conditions from the function turned Unknown (reason FatalError).
      const refused = await wait('the XR not Synced', async () => {
        const xr = await stack.kube.read(V1.apiVersion, V1.xr, xrName!);
        return conditionStatus(xr, 'Synced') === 'False' && xr;
      });
      const synced = (
        refused.status as { conditions: { type: string; message?: string }[] }
      ).conditions.find((c) => c.type === 'Synced');
      expect(synced?.message).toContain('spec.tools[2].name: "tekon" is not in the catalogue');
      const claimNow = await wait('the claim showing it', async () => {
        const c = await readClaim();
        return conditionStatus(c, 'ToolsReady') === 'Unknown' && c;
      });
      expect(conditionStatus(claimNow, 'ClusterReady')).toBe('Unknown');
      // With it, environment.modified as the tool set or readiness is seen to change, before or after.
      const announced = await events.settle();
      expect(announced.filter((l) => l !== 'environment.modified')).toEqual(['incident.detected']);
      expect(timeline().releases()).toEqual(['cluster', 'tool-settings', 'tool-widgets-crd']);
      expect((await env.kube.read('v1', 'ConfigMap', 'settings', 'settings'))?.data).toMatchObject({
        chart: UPGRADE,
      });
    },
  );

  step('fixing the edit resolves the incident', async () => {
    await stack.kube.apply(claim([{ name: 'widgets-crd' }, { ...TOOLS[1], version: UPGRADE }]));
    await wait(
      'the XR Synced',
      async () =>
        conditionStatus(await stack.kube.read(V1.apiVersion, V1.xr, xrName!), 'Synced') === 'True',
    );
    await wait(
      'the claim Ready',
      async () => conditionStatus(await readClaim(), 'Ready') === 'True',
    );
    // Crossplane's claim reconciler may write the claim's old spec to the XR once more from its
    // cache: the Fatal comes back for a moment, and the bridge reports it as it is.
    const announced = await events.settle();
    expect(announced.filter((l) => l !== 'environment.modified').join()).toMatch(
      /^incident\.resolved(,incident\.detected,incident\.resolved)*$/,
    );
  });

  step(
    'deleting the claim: Usages hold the cluster until its tools are gone, then the host namespace goes',
    async () => {
      // The garbage collector deletes an XR's composed resources; it must watch the XR's kind (a
      // new CRD: it rediscovers every 30 s).
      await wait(
        'the garbage collector to watch XEnvironments',
        () =>
          garbageCollectorWatches(
            stack.kubeControllerManager,
            'xenvironments.platform.xenvironment.io',
          ),
        60_000,
      );
      const deleting = Date.now();
      await stack.kube.delete(V1.apiVersion, V1.claim, 'dev', TEAM_A);
      await wait('the claim gone', async () => (await readClaim()) === undefined, 240_000);
      figures.claimDeletedSeconds = seconds(deleting);
      const t = timeline();
      // What went just before the claim, seen by a poll after it.
      await t.refresh();
      const toolsGone = Math.max(t.at('tool-settings').gone!, t.at('tool-widgets-crd').gone!);
      figures.toolsGoneSeconds = (toolsGone - deleting) / 1000;
      expect(t.at('cluster').gone).toBeGreaterThanOrEqual(toolsGone);
      expect(t.at('host-namespace').gone).toBeGreaterThanOrEqual(t.at('cluster').gone!);
      expect(t.at('namespace').gone).toBeLessThanOrEqual(t.at('host-namespace').gone!);
    },
    300_000,
  );

  step(
    'each tool is announced as removed once Helm uninstalled it, then environment.deleted once the cluster and the host namespace are gone',
    async () => {
      // widgets-crd and settings do not depend on each other: uninstalled in either order.
      await expectDeletion(`${TEAM_A}/dev`, ['settings', 'widgets-crd'], await events.next(3));
      await claimTimeline.stop();
    },
  );

  step('nothing is left in the host but its own provider configs', async () => {
    await wait('the XR, provider configs, Usages and Secrets gone', async () => {
      const left = [
        ...(await stack.kube.list(V1.apiVersion, V1.xr)),
        ...(await stack.kube.list(V1_KINDS.release, 'Release')),
        ...(await stack.kube.list(V1_KINDS.object, 'Object')),
        ...(await stack.kube.list(V1_KINDS.usage, 'Usage')),
        ...(await stack.kube.list('helm.crossplane.io/v1beta1', 'ProviderConfig')),
        ...(await stack.kube.list('kubernetes.crossplane.io/v1alpha1', 'ProviderConfig')),
        ...(await stack.kube.list('v1', 'Secret', { namespace: TEAM_A })),
      ].filter((o) => o.metadata?.name !== 'default');
      const secrets = (await stack.kube.list('v1', 'Secret', { namespace: CROSSPLANE_NAMESPACE }))
        .map((s) => s.metadata!.name!)
        .filter((name) => name.startsWith('kubeconfig-') || name.includes(xrName!));
      return left.length + secrets.length === 0;
    });
    // The vcluster went with its host namespace, and every pod it ran on the node with it.
    const hostNamespace = timeline().namespace!;
    expect(await stack.kube.read('v1', 'Namespace', hostNamespace)).toBeUndefined();
    await wait(
      "the environment's pods gone from the node",
      async () => (await stack.kube.list('v1', 'Pod', { namespace: hostNamespace })).length === 0,
    );
  });
});

describe.sequential('a namespaced Environment (v2 XRD)', () => {
  let v2Timeline: Timeline;
  const xr = {
    apiVersion: V2.apiVersion,
    kind: V2.kind,
    metadata: { name: 'preview', namespace: TEAM_B },
    spec: {
      crossplane: { compositionRef: { name: COMPOSITION_V2 } },
      tools: [{ name: 'widgets-crd' }],
    },
  };
  const read = () => stack.kube.read(V2.apiVersion, V2.kind, 'preview', TEAM_B);

  step(
    'an Environment in its namespace becomes Ready through the namespaced provider APIs',
    async () => {
      v2Timeline = new Timeline(stack.kube, V2_KINDS, () => 'preview');
      v2Timeline.start();
      timelines.set(`${TEAM_B}/preview`, v2Timeline);
      await stack.kube.apply(xr);
      const ready = await wait('the Environment Ready', async () => {
        const current = await read();
        return conditionStatus(current, 'Ready') === 'True' && current;
      });
      expect(ready.status).toMatchObject({ phase: 'Ready', cluster: { ready: true } });
      expect(v2Timeline.releases()).toEqual(['cluster', 'tool-widgets-crd']);
      for (const key of ['cluster', 'tool-widgets-crd', 'host-namespace']) {
        expect(v2Timeline.current.get(key)?.metadata?.namespace).toBe(TEAM_B);
      }
      expect(await events.next(4)).toEqual([
        'environment.requested',
        'environment.created',
        'service.deployed widgets-crd',
        'environment.modified',
      ]);
    },
  );

  step(
    "its kubeconfig Secret, in its own namespace, reaches the environment's cluster",
    async () => {
      const ref = (
        (await read())!.status as {
          cluster: { kubeconfigSecretRef: { name: string; key: string } };
        }
      ).cluster.kubeconfigSecretRef;
      const secret = await stack.kube.read('v1', 'Secret', ref.name, TEAM_B);
      const config = new KubeConfig();
      config.loadFromString(
        Buffer.from((secret!.data as Record<string, string>)[ref.key]!, 'base64').toString(),
      );
      const hostNamespace = v2Timeline.namespace!;
      expect(config.getCurrentCluster()?.server).toBe(`https://vcluster.${hostNamespace}.svc:443`);
      const cluster = await environmentCluster(config.exportConfig(), hostNamespace);
      expect(
        await cluster.kube.read('v1', 'ConfigMap', 'widgets-installed', 'widgets'),
      ).toBeDefined();
    },
  );

  step(
    'a bridge that cannot read the environments does not take the function down',
    async () => {
      // Restarted without permission to list what it watches, its caches never sync and its
      // /readyz fails, as after an API server outage or a broken upgrade of its RBAC.
      const binding = (await stack.kube.read(
        'rbac.authorization.k8s.io/v1',
        'ClusterRoleBinding',
        'xenvironment-bridge',
      )) as Resource & { roleRef: object; subjects: object };
      await stack.kube.delete(
        'rbac.authorization.k8s.io/v1',
        'ClusterRoleBinding',
        'xenvironment-bridge',
      );
      try {
        process.kill(bridgeProcess(), 'SIGKILL');
        receivedBeforeRestart = sink.received.length;
        await wait('the restarted bridge not ready', async () => {
          const pod = await functionPod();
          const restarts = (
            pod.status as { containerStatuses: { name: string; restartCount: number }[] }
          ).containerStatuses.find((c) => c.name === 'bridge')!.restartCount;
          return (
            restarts > 0 && (await bridgeGet('/readyz').catch(() => undefined))?.status === 503
          );
        });
        // The function's pod stays Ready, so its Service still leads Crossplane to it: a change
        // to the Environment is composed as ever.
        await stack.kube.apply({
          ...xr,
          spec: { ...xr.spec, tools: [{ name: 'widgets-crd' }, { name: 'settings' }] },
        });
        await wait(
          'settings installed and the Environment Ready',
          async () => {
            const current = await read();
            const tools = (current?.status as { tools?: { ready: boolean }[] })?.tools;
            return (
              conditionStatus(current, 'Ready') === 'True' &&
              tools?.length === 2 &&
              tools.every((t) => t.ready)
            );
          },
          CLUSTER_TIMEOUT_MS,
        );
        expect(conditionStatus(await functionPod(), 'Ready')).toBe('True');
        expect((await bridgeGet('/readyz')).status).toBe(503);
        expect(await events.settle()).toEqual([]);
      } finally {
        // Given its permissions back, it catches up with what changed meanwhile.
        await stack.kube.apply({
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRoleBinding',
          metadata: { name: binding.metadata!.name },
          roleRef: binding.roleRef,
          subjects: binding.subjects,
        });
      }
      await wait('the bridge ready again', async () => (await bridgeGet('/readyz')).status === 200);
      const announced = await events.settle();
      expect(announced.filter((l) => l !== 'environment.modified')).toEqual([
        'service.deployed settings',
      ]);
    },
    CLUSTER_TIMEOUT_MS + 120_000,
  );

  step(
    'deleted in the foreground, it is announced as deleted only once its cluster is gone',
    async () => {
      await wait(
        'the garbage collector to watch Environments',
        () =>
          garbageCollectorWatches(
            stack.kubeControllerManager,
            'environments.v2.platform.xenvironment.io',
          ),
        60_000,
      );
      // kubectl delete --cascade=foreground, as docs/claim-api.md says for a namespaced Environment.
      await stack.kube.objects.delete(
        {
          apiVersion: V2.apiVersion,
          kind: V2.kind,
          metadata: { name: 'preview', namespace: TEAM_B },
        },
        undefined,
        undefined,
        undefined,
        undefined,
        'Foreground',
      );
      await wait('the Environment gone', async () => (await read()) === undefined, 240_000);
      // Its tools since the step above: widgets-crd and settings.
      await expectDeletion(`${TEAM_B}/preview`, ['settings', 'widgets-crd'], await events.next(3));
      expect(v2Timeline.at('tool-widgets-crd').gone).toBeLessThanOrEqual(
        v2Timeline.at('cluster').gone!,
      );
      await v2Timeline.stop();
    },
    300_000,
  );
});

describe.sequential('environments requested by events, and expiring', () => {
  const REQUESTED = 'dev.cdeventsx.xenvironment-environment.requested.0.1.0';
  const RELEASED = 'dev.cdeventsx.xenvironment-environment.released.0.1.0';
  const TTL_SECONDS = 75;
  let sent = 0;
  /** Posts a CDEvent in binary CloudEvents mode, as a Knative Trigger delivers it. */
  const post = async (
    type: string,
    content: Record<string, unknown>,
    { id = `e2e-${++sent}`, token = INBOUND_TOKEN } = {},
  ) => {
    const timestamp = new Date().toISOString();
    const cdevent = {
      context: { specversion: '0.5.1', id, source: '/e2e/pipeline', type, timestamp },
      subject: { id: String(content.name), content },
    };
    const response = await fetch(`http://${inboundAddress}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'ce-specversion': '1.0',
        'ce-id': id,
        'ce-source': '/e2e/pipeline',
        'ce-type': type,
        'ce-time': timestamp,
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify(cdevent),
    });
    return { id, status: response.status, body: (await response.json()) as Record<string, string> };
  };
  const readClaim = (name: string) => stack.kube.read(V1.apiVersion, V1.claim, name, TEAM_A);
  /** A timeline for the claim once it is bound to its XR, for what is left when it is deleted. */
  const follow = async (name: string) => {
    const xr = await wait(`${name} bound to an XR`, async () => {
      const bound = await readClaim(name);
      return (bound?.spec as { resourceRef?: { name: string } }).resourceRef?.name;
    });
    const t = new Timeline(stack.kube, V1_KINDS, () => xr);
    t.start();
    timelines.set(`${TEAM_A}/${name}`, t);
    return t;
  };
  let expiring: Timeline;
  let requestId: string;
  /** The shipped inbound Service (examples/bridge/inbound.yaml), reached through kube-proxy. */
  let inboundAddress: string;
  beforeAll(async () => {
    const service = await stack.kube.read(
      'v1',
      'Service',
      'xenvironment-bridge-inbound',
      CROSSPLANE_NAMESPACE,
    );
    inboundAddress = `${(service!.spec as { clusterIP: string }).clusterIP}:80`;
  });

  step('a requested event creates the claim it names, as the event says', async () => {
    const answer = await post(REQUESTED, {
      name: `${TEAM_A}/from-event`,
      tools: [{ name: 'settings', values: { greeting: 'from a pipeline' } }],
      ttl: `${TTL_SECONDS}s`,
    });
    expect(answer).toMatchObject({ status: 202, body: { result: 'created' } });
    requestId = answer.id;
    const claim = (await readClaim('from-event'))!;
    expect(claim.metadata?.annotations).toMatchObject({
      'xenvironment.io/inbound-event-id': requestId,
    });
    expect(claim.spec).toMatchObject({
      compositionRef: { name: COMPOSITION_V1 },
      tools: [{ name: 'settings', values: { greeting: 'from a pipeline' } }],
      ttl: `${TTL_SECONDS}s`,
    });
    expiring = await follow('from-event');
    expect(await events.next(1)).toEqual(['environment.requested']);
  });

  step('the same event delivered again changes nothing', async () => {
    const before = (await readClaim('from-event'))!;
    const again = await post(
      REQUESTED,
      { name: `${TEAM_A}/from-event`, tools: [{ name: 'web' }] },
      { id: requestId },
    );
    expect(again).toMatchObject({ status: 202, body: { result: 'applied already' } });
    // Crossplane writes the claim's spec too (its resourceRef, the Composition's revision): what
    // the event would set and the event recorded are what must not change.
    const after = (await readClaim('from-event'))!;
    const asRequested = (claim: typeof after) => {
      const { tools, ttl } = claim.spec as { tools: unknown; ttl: unknown };
      return { tools, ttl, annotations: claim.metadata?.annotations };
    };
    expect(asRequested(after)).toEqual(asRequested(before));
  });

  step('events it may not act on are answered so that a broker does not retry them', async () => {
    const tools = [{ name: 'settings' }];
    expect(await post(REQUESTED, { name: `${TEAM_A}/x`, tools }, { token: '' })).toMatchObject({
      status: 401,
    });
    expect(await post(REQUESTED, { name: `${TEAM_B}/x`, tools })).toMatchObject({ status: 403 });
    const invalid = await post(REQUESTED, { name: `${TEAM_A}/x`, tools: [{ nam: 'settings' }] });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error).toContain('tools');
    // A sink the bridge would never send to is refused at the door, not taken and then an incident.
    const sink = 'http://169.254.169.254/latest';
    const metadata = await post(REQUESTED, { name: `${TEAM_A}/x`, tools, sink });
    expect(metadata.status).toBe(400);
    expect(metadata.body.error).toMatch(
      /^subject\.content\.sink: host 169\.254\.169\.254 is link-local/,
    );
    expect(await readClaim('x')).toBeUndefined();
    expect(await stack.kube.read(V1.apiVersion, V1.claim, 'x', TEAM_B)).toBeUndefined();
  });

  step('before it expires, the Expiring condition and the expiring event', async () => {
    const warned = await wait(
      'the claim Expiring',
      async () => {
        const claim = await readClaim('from-event');
        return conditionStatus(claim, 'Expiring') === 'True' && claim;
      },
      TTL_SECONDS * 1_000,
    );
    const expiresAt = Date.parse((warned.status as { expiresAt: string }).expiresAt);
    expect(expiresAt - Date.now()).toBeGreaterThan(0);
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(EXPIRY_WARNING_SECONDS * 1_000);
    // created, Ready (modified) and the settings tool come before or after, as the cluster goes.
    const announced = await events.settle();
    expect(announced).toContain('environment.expiring');
    expect(announced).not.toContain('environment.deleted');
  });

  step(
    'at its expiry the bridge deletes the claim: its tool removed, deleted once all is gone',
    async () => {
      const expiresAt = Date.parse(
        ((await readClaim('from-event'))!.status as { expiresAt: string }).expiresAt,
      );
      await wait(
        'the claim gone',
        async () => (await readClaim('from-event')) === undefined,
        300_000,
      );
      expect(Date.now()).toBeGreaterThanOrEqual(expiresAt);
      // Whether its cluster and tool came up within its 75 s depends on the machine's load: what
      // was announced as deployed is what must be announced removed.
      const announced = await events.until('environment.deleted', 60_000);
      const environment = `${TEAM_A}/from-event`;
      await expectDeletion(
        environment,
        events.deployedTools(environment),
        announced.filter((l) => l.startsWith('service.removed') || l === 'environment.deleted'),
      );
      await expiring.stop();
    },
    400_000,
  );

  step(
    'a released event deletes the environment it names',
    async () => {
      expect(await post(REQUESTED, { name: `${TEAM_A}/released`, tools: [] })).toMatchObject({
        status: 202,
        body: { result: 'created' },
      });
      const released = await follow('released');
      await wait(
        'the claim Ready',
        async () => conditionStatus(await readClaim('released'), 'Ready') === 'True',
      );
      expect(await post(RELEASED, { name: `${TEAM_A}/released` })).toMatchObject({
        status: 202,
        body: { result: 'deleting' },
      });
      await wait(
        'the claim gone',
        async () => (await readClaim('released')) === undefined,
        300_000,
      );
      const announced = await events
        .next(1, 60_000)
        .then(async (first) => [...first, ...(await events.settle())]);
      expect(announced[0]).toBe('environment.requested');
      // It has no tools: nothing is removed before environment.deleted.
      await expectDeletion(`${TEAM_A}/released`, [], announced.slice(-1));
      expect(announced.filter((l) => l.startsWith('service.'))).toEqual([]);
      await released.stop();
    },
    400_000,
  );
});

describe.sequential('the bridge throughout', () => {
  step('sent nothing more than the transitions above', async () => {
    expect(await events.settle(2_000)).toEqual([]);
    figures.redeliveries = events.redeliveries;
  });

  step(
    'sent valid CDEvents in binary CloudEvents, unique ids, one chain per environment',
    async () => {
      checkEvents(events.distinct(), CE_EXTENSIONS);
    },
  );

  step('never logged a secret', async () => {
    const log = await bridgeLog();
    expect(log).toContain('emitted');
    expect(log).not.toMatch(/PRIVATE KEY/);
    expect(log).not.toContain(INBOUND_TOKEN);
  });

  step('exposes metrics and health', async () => {
    const metrics = (await bridgeGet('/metrics')).body;
    // Every delivery since its restart counts, a redelivery too: as many as the sink received.
    const deleted = 'dev.cdevents.environment.deleted.0.3.0';
    const received = sink.received
      .slice(receivedBeforeRestart)
      .filter((r) => r.event.type === deleted).length;
    expect(received).toBeGreaterThan(0);
    expect(metrics).toContain(
      `xenvironment_bridge_events_emitted_total{type="${deleted}"} ${received}`,
    );
    expect(metrics).toContain('xenvironment_bridge_delivery_seconds_bucket');
    expect((await bridgeGet('/healthz')).status).toBe(200);
  });
});
