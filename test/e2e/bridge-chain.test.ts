/**
 * Scratch: the bridge killed twice in quick succession while a chain of tools comes up.
 */
import {
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CDEvent } from '../../bridge/delivery/cdevents.js';
import { startControlPlaneWithXrds } from '../controlplane/composite-crds.js';
import type { ControlPlane } from '../controlplane/controlplane.js';
import { freePort } from '../support/net.js';
import { BridgeProcess, bridgeRbac } from '../support/bridge-process.js';
import { checkEventLog, label } from '../support/event-log.js';
import { CRD_DIRS, readCrds } from '../support/crds.js';
import { composedRelease } from '../support/observations.js';
import { TestSink } from '../support/sink.js';

type Obj = Record<string, unknown>;
const xrType = { group: 'platform.xenvironment.io', version: 'v1alpha1', plural: 'xenvironments' };
const releases = { group: 'helm.crossplane.io', version: 'v1beta1', plural: 'releases' };
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

let cp: ControlPlane;
let custom: CustomObjectsApi;
let objects: KubernetesObjectApi;
let bridgeKubeconfig: string;
const sink = new TestSink();
const bridges: BridgeProcess[] = [];

async function startBridge(identity: string): Promise<BridgeProcess> {
  const bridge = new BridgeProcess(
    {
      KUBECONFIG: bridgeKubeconfig,
      K_SINK: sink.url,
      POD_NAMESPACE: 'crossplane-system',
      POD_NAME: identity,
      BRIDGE_LOG_LEVEL: 'debug',
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

const CHAIN = [
  { name: 'base', version: '1.0.0', dependsOn: [] as string[] },
  { name: 'conf', version: '2.0.0', dependsOn: ['base'] },
  { name: 'app', version: '3.0.0', dependsOn: ['conf'] },
];
/** As the claim lists them: out of dependency order. */
const LISTED = ['app', 'base', 'conf'];

function status(name: string, ready: Set<string>) {
  return {
    cluster: { endpoint: `https://vcluster.vcluster-${name}.svc:443` },
    tools: LISTED.map((tool) => {
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

const readyConditions = () => {
  const at = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  return [
    { type: 'Ready', status: 'True', reason: 'Available', lastTransitionTime: at },
    { type: 'Synced', status: 'True', reason: 'ReconcileSuccess', lastTransitionTime: at },
  ];
};

async function release(xr: string, key: string, version: string, ready: boolean) {
  await custom.createClusterCustomObject({ ...releases, body: composedRelease(xr, key, version) });
  if (ready) {
    await custom.patchClusterCustomObjectStatus(
      { ...releases, name: `${xr}-${key}`, body: { status: { conditions: readyConditions() } } },
      merge,
    );
  }
}

beforeAll(async () => {
  cp = await startControlPlaneWithXrds();
  const kc = new KubeConfig();
  kc.loadFromFile(cp.adminKubeconfig);
  custom = kc.makeApiClient(CustomObjectsApi);
  objects = KubernetesObjectApi.makeApiClient(kc);
  const [crd] = (await readCrds(
    CRD_DIRS.providerHelm,
    (file) => file === 'helm.crossplane.io_releases.yaml',
  )) as [Obj];
  await cp.applyCrd(crd);
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
  for (;;) {
    try {
      await custom.listClusterCustomObject({ ...xrType });
      await custom.listClusterCustomObject({ ...releases });
      break;
    } catch {
      await sleep(200);
    }
  }
  await sink.up();
}, 120_000);

afterAll(async () => {
  await Promise.all(bridges.map((b) => b.stop('SIGKILL')));
  const { writeFile } = await import('node:fs/promises');
  await writeFile('test-results/bridge-chain.log', bridges.map((b) => b.output).join('\n---\n'));
  await sink.down();
  await cp?.stop();
});

describe('chain', () => {
  for (let round = 0; round < 6; round++) {
    it(`round ${round}`, async () => {
      const name = `chain-${round}`;
      let bridge = await startBridge(round % 2 ? 'bridge-a' : `bridge-${round}`);
      await custom.createClusterCustomObject({
        ...xrType,
        body: {
          apiVersion: 'platform.xenvironment.io/v1alpha1',
          kind: 'XEnvironment',
          metadata: { name, finalizers: ['composite.apiextensions.crossplane.io'] },
          spec: { tools: LISTED.map((tool) => ({ name: tool })) },
        },
      });
      const ready = new Set<string>();
      const setStatus = () =>
        custom.patchClusterCustomObjectStatus(
          { ...xrType, name, body: { status: status(name, ready) } },
          merge,
        );
      await setStatus();
      await release(name, 'cluster', '0.30.0', true);
      const deadline = Date.now() + 30_000;
      const mine = () =>
        sink.received
          .map((r) => r.event.data as unknown as CDEvent)
          .filter((e) => e.subject.id === name || e.subject.id.startsWith(`${name}/`));
      while (mine().length < 2 && Date.now() < deadline) await sleep(100);
      const delay = () => sleep([0, 50, 200, 400][round % 4]!);
      for (const tool of CHAIN) {
        await release(name, `tool-${tool.name}`, tool.version, false);
        if (tool.name !== 'base') {
          await bridge.stop('SIGKILL');
          bridge = await startBridge(round % 2 ? 'bridge-a' : `bridge-${round}-${tool.name}`);
        }
        await delay();
        await custom.patchClusterCustomObjectStatus(
          {
            ...releases,
            name: `${name}-tool-${tool.name}`,
            body: { status: { conditions: readyConditions() } },
          },
          merge,
        );
        ready.add(tool.name);
        await setStatus();
        await delay();
      }
      const end = Date.now() + 40_000;
      while (Date.now() < end) {
        const labels = checkEventLog(mine()).distinct.map(label);
        if (labels.includes(`environment.modified ${name}`)) break;
        await sleep(200);
      }
      const log = checkEventLog(mine());
      console.log(name, log.distinct.map(label), log.problems);
      await bridge.stop('SIGKILL');
      expect(log.problems).toEqual([]);
      expect(log.distinct.map(label)).toEqual([
        `environment.requested ${name}`,
        `environment.created ${name}`,
        `service.deployed ${name}/base`,
        `service.deployed ${name}/conf`,
        `service.deployed ${name}/app`,
        `environment.modified ${name}`,
      ]);
    }, 120_000);
  }
});
