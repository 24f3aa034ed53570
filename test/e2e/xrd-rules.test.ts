/**
 * The XRD's CEL rule (ttl at most 365d) on a real kube-apiserver: JSON Schema tools cannot run CEL,
 * and a rule that compiles can still decide wrongly.
 */
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { limits } from '../../function/input/limits.js';
import { startControlPlaneWithXrds } from '../controlplane/composite-crds.js';
import type { ControlPlane } from '../controlplane/controlplane.js';

const xrType = { group: 'platform.xenvironment.io', version: 'v1alpha1', plural: 'xenvironments' };
let cp: ControlPlane;
let custom: CustomObjectsApi;
let created = 0;

beforeAll(async () => {
  // The XR's CRD as Crossplane makes it from the XRD, with the XRD's rule.
  cp = await startControlPlaneWithXrds();
  const kc = new KubeConfig();
  kc.loadFromFile(cp.adminKubeconfig);
  custom = kc.makeApiClient(CustomObjectsApi);
}, 180_000);

afterAll(async () => {
  await cp?.stop();
});

/** Creates an XEnvironment with this ttl (dry run); the message of the API server's refusal, if any. */
async function refusal(ttl: string): Promise<string | undefined> {
  const body = {
    apiVersion: 'platform.xenvironment.io/v1alpha1',
    kind: 'XEnvironment',
    metadata: { name: `ttl-${created++}` },
    spec: { ttl },
  };
  for (let attempt = 0; ; attempt++) {
    try {
      await custom.createClusterCustomObject({ ...xrType, body, dryRun: 'All' });
      return undefined;
    } catch (error) {
      const { code, body: answer } = error as { code?: number; body?: string };
      // A new CRD answers 404 or 429 until it is served.
      if ((code === 404 || code === 429) && attempt < 100) {
        await new Promise((done) => setTimeout(done, 100));
        continue;
      }
      if (code === 422) return (JSON.parse(String(answer)) as { message: string }).message;
      throw error;
    }
  }
}

describe('the XRD on a real API server', () => {
  it.each(['8h', '1d12h', '365d', '364d23h59m60s', `${limits.ttlDays * 86_400}s`])(
    'accepts a ttl of %s',
    async (ttl) => {
      expect(await refusal(ttl)).toBeUndefined();
    },
  );

  it.each([
    ['366d', /spec\.ttl: Invalid value: "366d": must be at most 365d/],
    ['365d1s', /spec\.ttl: Invalid value: "365d1s": must be at most 365d/],
    ['10000000d', /spec\.ttl: Invalid value: "10000000d": must be at most 365d/],
    // Past an int64: the rule fails to evaluate, which refuses too.
    ['99999999999999999999d', /spec\.ttl: .*evaluating rule: must be at most 365d/],
    ['1s'.repeat(17), /spec\.ttl: Too long: may not be more than 32 bytes/],
  ])('refuses a ttl of %s', async (ttl, why) => {
    expect(await refusal(ttl)).toMatch(why);
  });
});
