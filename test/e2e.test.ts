/**
 * End to end on a real kube-apiserver and etcd with the real provider and Usage CRDs: the real
 * function (gRPC, mTLS), the real bridge process (its own RBAC), a real HTTP CloudEvents sink.
 * test/support/crossplane-standin.ts still plays Crossplane's XR reconciler, and the test plays the
 * providers by patching the status of composed resources.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import {
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mutualTlsCredentials } from '../function/server.js';
import { startControlPlane, type ControlPlane } from './controlplane/controlplane.js';
import { freePort } from './support/net.js';
import { createTestPki } from './support/certificates.js';
import { CrossplaneStandIn, compositeCrd, condition } from './support/crossplane-standin.js';
import { composedResourceCrds } from './support/crds.js';
import { loadOfficialSpec } from './support/cdevents-spec.js';
import { startFunction, type RunningFunction } from './support/function-server.js';
import { readYamlDocuments } from './support/manifests.js';
import { shippedCatalog } from './support/requests.js';
import { TestSink } from './support/sink.js';
import { bridgeRbac } from './support/bridge-process.js';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type Obj = Record<string, unknown>;
const EVENTS_FILE = 'test-results/events.jsonl';
const XR = 'dev-x7k2p';
const SECRET_MARKER = 'token-that-must-never-be-logged';
const xrType = { group: 'platform.xenvironment.io', version: 'v1alpha1', plural: 'xenvironments' };

let cp: ControlPlane;
let objects: KubernetesObjectApi;
let custom: CustomObjectsApi;
let fn: RunningFunction;
let crossplane: CrossplaneStandIn;
let bridgeKubeconfig: string;
let bridgeOutput = '';
let bridge: ChildProcess | undefined;
let metricsPort = 0;
const sink = new TestSink(EVENTS_FILE);

async function apply(object: Obj): Promise<void> {
  await objects.patch(
    object as KubernetesObject,
    undefined,
    undefined,
    'e2e',
    true,
    PatchStrategy.ServerSideApply,
  );
}

async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

function startBridge(): ChildProcess {
  const child = spawn(process.execPath, ['dist/bundle/bridge/main.mjs'], {
    env: {
      ...process.env,
      KUBECONFIG: bridgeKubeconfig,
      K_SINK: sink.url,
      K_CE_OVERRIDES: JSON.stringify({ extensions: { cluster: 'e2e' } }),
      BRIDGE_HTTP_ADDRESS: `127.0.0.1:${metricsPort}`,
      POD_NAMESPACE: 'crossplane-system',
      POD_NAME: 'function-xenvironment-e2e',
      BRIDGE_RETRY_BASE_MS: '100',
      BRIDGE_RETRY_MAX_MS: '1000',
      BRIDGE_SINK_TIMEOUT_MS: '2000',
      BRIDGE_LOG_LEVEL: 'debug',
    },
  });
  child.stdout!.on('data', (chunk: Buffer) => (bridgeOutput += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (bridgeOutput += chunk.toString()));
  return child;
}

async function stopBridge(): Promise<void> {
  const child = bridge;
  bridge = undefined;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((done) => child.once('exit', done));
  child.kill('SIGTERM');
  await exited;
}

async function bridgeReady(): Promise<void> {
  await eventually('bridge /readyz', async () => {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/readyz`);
    return res.status === 200 ? true : undefined;
  });
}

/** The composed resource with this composition key. */
async function composedAt(key: string): Promise<KubernetesObject & { spec?: Obj }> {
  const found = (await crossplane.composed(XR)).find(
    (o) => o.metadata?.annotations?.['crossplane.io/composition-resource-name'] === key,
  );
  if (!found) throw new Error(`nothing composed as ${key}`);
  return found;
}

/** Plays the provider: the resource composed as `key` is Ready and Synced, for its current generation. */
async function markReady(key: string): Promise<void> {
  const object = await composedAt(key);
  const [group, version] = object.apiVersion!.split('/') as [string, string];
  const observedGeneration = object.metadata!.generation;
  const conditions = [
    condition('Ready', true, 'Available', { observedGeneration }),
    condition('Synced', true, 'ReconcileSuccess', { observedGeneration }),
  ];
  await custom.patchClusterCustomObjectStatus(
    {
      group,
      version,
      plural: `${object.kind!.toLowerCase()}s`,
      name: object.metadata!.name!,
      body: { status: { conditions } },
    },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

async function composedReleases(): Promise<string[]> {
  return (await crossplane.composed(XR))
    .filter((o) => o.kind === 'Release')
    .map((o) => o.metadata!.annotations!['crossplane.io/composition-resource-name']!)
    .sort();
}

async function editTools(tools: Obj[]): Promise<void> {
  await custom.patchClusterCustomObject(
    { ...xrType, name: XR, body: { spec: { tools } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

/** A short name for each event: its CDEvents type and, for services, the tool. */
function label(data: Obj): string {
  const context = data.context as { type: string };
  const subject = data.subject as { id: string };
  const short = context.type
    .replace(/^dev\.cdevents(x\.xenvironment-)?\.?/, '')
    .replace(/\.\d+\.\d+\.\d+$/, '');
  return short.startsWith('service.') ? `${short} ${subject.id.split('/').pop()}` : short;
}

let seen = 0;
/** The labels of the next `count` events, once they have all arrived. */
async function next(count: number): Promise<string[]> {
  const events = await sink.waitFor(seen + count);
  const fresh = events.slice(seen).map((r) => label(r.event.data as Obj));
  seen += count;
  return fresh;
}

beforeAll(async () => {
  await rm(EVENTS_FILE, { force: true });
  cp = await startControlPlane();
  const kc = new KubeConfig();
  kc.loadFromFile(cp.adminKubeconfig);
  objects = KubernetesObjectApi.makeApiClient(kc);
  custom = kc.makeApiClient(CustomObjectsApi);

  const [xrd] = (await readYamlDocuments('apis/xenvironment/definition.yaml')) as [Obj];
  for (const crd of [compositeCrd(xrd), ...(await composedResourceCrds())]) await cp.applyCrd(crd);
  await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'crossplane-system' } });
  // The shipped RBAC, bound to the user the bridge authenticates as.
  for (const document of await bridgeRbac('xenvironment-bridge')) await apply(document);
  bridgeKubeconfig = await cp.userKubeconfig('xenvironment-bridge');

  const pki = createTestPki();
  const certs = await mkdtemp(join(tmpdir(), 'xenv-e2e-tls-'));
  await writeFile(join(certs, 'tls.key'), pki.server.key);
  await writeFile(join(certs, 'tls.crt'), pki.server.cert);
  await writeFile(join(certs, 'ca.crt'), pki.ca.cert);
  fn = await startFunction({
    serverCredentials: await mutualTlsCredentials(certs),
    clientCredentials: grpc.credentials.createSsl(
      Buffer.from(pki.ca.cert),
      Buffer.from(pki.client.key),
      Buffer.from(pki.client.cert),
    ),
  });
  crossplane = new CrossplaneStandIn(kc, fn, await shippedCatalog());
  // New CRDs answer 429 until their storage is ready.
  await eventually('CRDs served', async () => {
    await custom.listClusterCustomObject({ ...xrType });
    return (await crossplane.composed('probe')) && true;
  });

  await sink.up();
  metricsPort = await freePort();
  bridge = startBridge();
  await bridgeReady();
}, 180_000);

afterAll(async () => {
  await stopBridge();
  await writeFile('test-results/bridge.log', bridgeOutput);
  await sink.down();
  await fn?.stop();
  await cp?.stop();
});

describe('an environment from claim to deletion', () => {
  it('is composed step by step and announced exactly once per transition', async () => {
    // 1. A developer's claim becomes this XR.
    await custom.createClusterCustomObject({
      ...xrType,
      body: {
        apiVersion: 'platform.xenvironment.io/v1alpha1',
        kind: 'XEnvironment',
        metadata: {
          name: XR,
          labels: { 'crossplane.io/claim-name': 'dev', 'crossplane.io/claim-namespace': 'team-a' },
        },
        spec: {
          tools: [{ name: 'cert-manager' }, { name: 'argo-cd' }, { name: 'tekton-pipelines' }],
          writeConnectionSecretToRef: { name: 'dev-x7k2p-claim', namespace: 'crossplane-system' },
        },
      },
    });
    await crossplane.reconcile(XR);
    expect(await composedReleases()).toEqual([]);
    expect(await next(1)).toEqual(['environment.requested']);
    // Its host namespace comes first, then the cluster Release that installs into it.
    await markReady('host-namespace');
    await crossplane.reconcile(XR);
    expect(await composedReleases()).toEqual(['cluster']);

    // 2. The cluster comes up and its Release writes the kubeconfig secret.
    await apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: ((await composedAt('cluster')).spec!.writeConnectionSecretToRef as { name: string })
          .name,
        namespace: 'crossplane-system',
      },
      stringData: {
        kubeconfig: `apiVersion: v1\nkind: Config\nusers: [{name: a, user: {token: ${SECRET_MARKER}}}]\n`,
      },
    });
    await markReady('cluster');
    expect(await next(1)).toEqual(['environment.created']);
    await crossplane.reconcile(XR);
    expect(await composedReleases()).toEqual([
      'cluster',
      'tool-cert-manager',
      'tool-tekton-pipelines',
    ]);

    // 3. Tools without dependencies are ready; the dependent one is composed.
    await markReady('tool-cert-manager');
    expect(await next(1)).toEqual(['service.deployed cert-manager']);
    await markReady('tool-tekton-pipelines');
    expect(await next(1)).toEqual(['service.deployed tekton-pipelines']);
    await crossplane.reconcile(XR);
    expect(await composedReleases()).toEqual([
      'cluster',
      'tool-argo-cd',
      'tool-cert-manager',
      'tool-tekton-pipelines',
    ]);

    // 4. The sink goes down, argo-cd becomes ready, the bridge restarts, then the sink returns.
    await sink.down();
    await markReady('tool-argo-cd');
    await eventually('a failed delivery', async () =>
      bridgeOutput.includes('delivery failed') ? true : undefined,
    );
    await stopBridge();
    bridge = startBridge();
    await bridgeReady();
    await new Promise((done) => setTimeout(done, 1_000));
    await sink.up();
    expect(await next(2)).toEqual(['service.deployed argo-cd', 'environment.modified']);
    await crossplane.reconcile(XR);
    const xr = await crossplane.readXr(XR);
    expect(xr.status).toMatchObject({
      phase: 'Ready',
      tools: [
        { name: 'cert-manager', ready: true, phase: 'Ready' },
        { name: 'argo-cd', ready: true, phase: 'Ready' },
        { name: 'tekton-pipelines', ready: true, phase: 'Ready' },
      ],
    });
    const claimSecret = (await objects.read({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'dev-x7k2p-claim', namespace: 'crossplane-system' },
    })) as KubernetesObject & { data: Record<string, string> };
    expect(Buffer.from(claimSecret.data.kubeconfig!, 'base64').toString()).toContain(SECRET_MARKER);

    // 5. The claim drops tekton and bumps cert-manager.
    await editTools([{ name: 'cert-manager', version: 'v1.20.0' }, { name: 'argo-cd' }]);
    await crossplane.reconcile(XR);
    expect(await composedReleases()).toEqual(['cluster', 'tool-argo-cd', 'tool-cert-manager']);
    // Releases and the XR's status change as separate writes: these three may come in any order.
    expect((await next(3)).sort()).toEqual([
      'environment.modified',
      'environment.modified',
      'service.removed tekton-pipelines',
    ]);
    await markReady('tool-cert-manager');
    expect(await next(2)).toEqual(['service.upgraded cert-manager', 'environment.modified']);

    // 6. An edit into a bad state: Fatal, an incident, and nothing deleted; fixed, it resolves.
    await editTools([
      { name: 'cert-manager', version: 'v1.20.0' },
      { name: 'argo-cd' },
      { name: 'tekon' },
    ]);
    const fatal = await crossplane.reconcile(XR);
    expect(fatal!.results[0]!.message).toContain(
      'spec.tools[2].name: "tekon" is not in the catalogue',
    );
    expect(await next(1)).toEqual(['incident.detected']);
    expect(await composedReleases()).toEqual(['cluster', 'tool-argo-cd', 'tool-cert-manager']);
    await editTools([{ name: 'cert-manager', version: 'v1.20.0' }, { name: 'argo-cd' }]);
    await crossplane.reconcile(XR);
    expect(await next(1)).toEqual(['incident.resolved']);

    // 7. Deletion: Crossplane removes what it composed; the bridge announces, then lets go.
    await custom.deleteClusterCustomObject({ ...xrType, name: XR });
    await crossplane.reconcile(XR);
    expect(await next(1)).toEqual(['environment.deleted']);
    await eventually(
      'the XR to be gone',
      async () =>
        await custom.getClusterCustomObject({ ...xrType, name: XR }).then(
          () => undefined,
          (e: { code?: number }) => (e.code === 404 ? true : undefined),
        ),
    );

    // Nothing more arrives: one event per transition.
    await new Promise((done) => setTimeout(done, 1_500));
    expect(sink.received).toHaveLength(seen);
  });

  it('sent valid CDEvents in CloudEvents, with unique ids, one chain, and no secret in the logs', async () => {
    const spec = loadOfficialSpec();
    const ids = new Set<string>();
    let previous: string | undefined;
    for (const { event, mode } of sink.received) {
      const data = event.data as { context: Obj; subject: Obj };
      const validate = spec.validatorFor(String(data.context.type));
      expect(validate(data), JSON.stringify(validate.errors)).toBe(true);
      expect(mode).toBe('binary');
      expect(event).toMatchObject({
        id: data.context.id,
        source: data.context.source,
        type: data.context.type,
        subject: data.subject.id,
        time: data.context.timestamp,
        datacontenttype: 'application/json',
        cluster: 'e2e',
      });
      expect(ids.has(event.id)).toBe(false);
      ids.add(event.id);
      if (previous) {
        const links = data.context.links as { from: { contextId: string } }[];
        expect(links[0]!.from.contextId).toBe(previous);
      }
      previous = event.id;
    }
    expect(
      new Set(sink.received.map((r) => (r.event.data as { context: Obj }).context.chainId)).size,
    ).toBe(1);
    expect(bridgeOutput).not.toContain(SECRET_MARKER);
  });

  it('exposes metrics and health', async () => {
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toMatch(
      /xenvironment_bridge_events_emitted_total\{type="dev\.cdevents\.environment\.deleted\.0\.3\.0"\} 1/,
    );
    expect(metrics).toContain('xenvironment_bridge_delivery_seconds_bucket');
    expect(metrics).toContain('xenvironment_bridge_queue_depth');
    expect((await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).status).toBe(200);
  });
});
