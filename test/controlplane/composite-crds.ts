/**
 * A bare control plane with the CRDs real Crossplane makes from the product's XRDs, for tests
 * and benchmarks that drive XRs themselves (the XRD's rules, the bridge under faults and at
 * scale): Crossplane core starts (the same set-up as the whole stack's, crossplane.ts), the XRDs
 * are applied, and once their CRDs are Established core is stopped again. Running on, it would
 * reconcile those XRs (pick a Composition, add its finalizer, call a function that is not there)
 * and race the writes the test makes in Crossplane's place. The CRDs stay: no garbage collector
 * runs to remove them with their XRD.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { conditionStatus, Kube } from '../support/kube.js';
import { readYamlDocuments } from '../support/manifests.js';
import {
  startControlPlane,
  terminate,
  type ControlPlane,
  type StartOptions,
} from './controlplane.js';
import { startCrossplane } from './crossplane.js';
import { waitFor } from './processes.js';

export const XRDS = {
  v1: 'apis/xenvironment/definition.yaml',
  v2: 'apis/xenvironment-v2/definition.yaml',
} as const;

export async function startControlPlaneWithXrds(
  xrdPaths: string[] = [XRDS.v1],
  options: StartOptions = {},
): Promise<ControlPlane> {
  const cp = await startControlPlane(options);
  const dir = await mkdtemp(join(tmpdir(), 'xenv-xrds-'));
  try {
    const kube = Kube.fromFile(cp.adminKubeconfig);
    const crossplane = await startCrossplane(cp, kube, dir, { usageWebhook: false });
    const crds: string[] = [];
    for (const path of xrdPaths) {
      for (const xrd of await readYamlDocuments(path)) {
        await kube.apply(xrd);
        const spec = xrd.spec as {
          group: string;
          names: { plural: string };
          claimNames?: { plural: string };
        };
        crds.push(`${spec.names.plural}.${spec.group}`);
        if (spec.claimNames) crds.push(`${spec.claimNames.plural}.${spec.group}`);
      }
    }
    for (const name of crds) {
      await waitFor(
        `Crossplane to make CRD ${name}`,
        async () =>
          conditionStatus(
            await kube.read('apiextensions.k8s.io/v1', 'CustomResourceDefinition', name),
            'Established',
          ) === 'True',
        { watch: [crossplane.process] },
      );
    }
    await terminate([crossplane.process.pid]);
    options.log?.(`CRDs made by Crossplane from ${xrdPaths.join(', ')}: ${crds.join(', ')}`);
    return cp;
  } catch (error) {
    await cp.stop();
    throw error;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
