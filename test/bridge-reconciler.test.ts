import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { JsonObject } from '../common/objects.js';
import type { CDEvent } from '../bridge/cdevents.js';
import { RECORD_ANNOTATION } from '../bridge/observe.js';
import { Reconciler, type Store } from '../bridge/reconciler.js';

/** An in-memory stand-in for the Kubernetes store: one XR whose Releases are all Ready. */
function memoryStore(xr: JsonObject): Store & { xr: JsonObject } {
  const ready = { conditions: [{ type: 'Ready', status: 'True', reason: 'Available' }] };
  const release = (key: string, version: string) => ({
    metadata: { annotations: { 'crossplane.io/composition-resource-name': key } },
    spec: { forProvider: { chart: { name: key, version } } },
    status: ready,
  });
  return {
    xr,
    composite: () => structuredClone(xr),
    composed: () => [release('cluster', '0.30.0'), release('tool-argo-cd', '9.1.0')],
    async record(_key, current, record) {
      const metadata = current.metadata as {
        annotations?: Record<string, string>;
        finalizers?: string[];
      };
      xr = {
        ...current,
        metadata: {
          ...metadata,
          annotations: { ...metadata.annotations, [RECORD_ANNOTATION]: JSON.stringify(record) },
        },
      };
      this.xr = xr;
      return structuredClone(xr);
    },
  };
}

const xr = {
  apiVersion: 'platform.xenvironment.io/v1alpha1',
  kind: 'XEnvironment',
  metadata: { name: 'dev', uid: 'c0ffee00-0000-4000-8000-000000000001' },
  spec: { tools: [{ name: 'argo-cd' }] },
  status: {
    cluster: { endpoint: 'https://vcluster.vcluster-dev.svc:443' },
    tools: [{ name: 'argo-cd', version: '9.1.0' }],
  },
};

async function announce(store: Store): Promise<CDEvent[]> {
  const sent: CDEvent[] = [];
  const reconciler = new Reconciler(
    store,
    async (event) => void sent.push(event),
    '/test',
    pino({ level: 'silent' }),
  );
  await reconciler.reconcile('0//dev');
  return sent;
}

describe('bridge reconciler', () => {
  it('announces each transition once and records it on the XR', async () => {
    const store = memoryStore(structuredClone(xr));
    const first = await announce(store);
    expect(first.map((e) => e.context.type)).toEqual([
      'dev.cdeventsx.xenvironment-environment.requested.0.1.0',
      'dev.cdevents.environment.created.0.3.0',
      'dev.cdevents.service.deployed.0.3.0',
      'dev.cdevents.environment.modified.0.3.0',
    ]);
    expect(await announce(store)).toEqual([]);
  });

  it('starts over from an unreadable record, re-sending the same ids', async () => {
    const store = memoryStore(structuredClone(xr));
    const original = (await announce(store)).map((e) => e.context.id);
    const corrupted = structuredClone(store.xr) as {
      metadata: { annotations: Record<string, string> };
    };
    corrupted.metadata.annotations[RECORD_ANNOTATION] = '{not json';
    const again = (await announce(memoryStore(corrupted as unknown as JsonObject))).map(
      (e) => e.context.id,
    );
    expect(again).toEqual(original);
  });

  it('does not record a transition whose delivery failed', async () => {
    const store = memoryStore(structuredClone(xr));
    const reconciler = new Reconciler(
      store,
      async () => {
        throw new Error('sink down');
      },
      '/test',
      pino({ level: 'silent' }),
    );
    await expect(reconciler.reconcile('0//dev')).rejects.toThrow('sink down');
    expect((store.xr.metadata as { annotations?: object }).annotations).toBeUndefined();
  });
});
