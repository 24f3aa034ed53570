/**
 * Crossplane core installed as users install it: `helm install` of its own chart (from the
 * crossplane module, cluster/charts/crossplane) with the core image built here, and the chart's
 * defaults otherwise: the Deployment package runtime, its webhooks behind their Service, the RBAC
 * manager. Only the image and, for the e2e, extra `core start` flags are set.
 */
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Kube } from '../support/kube.js';
import type { ControlPlane } from './controlplane.js';
import { waitFor } from './processes.js';
import { binaryPath, VERSIONS } from './tools.js';

const run = promisify(execFile);

export const CROSSPLANE_NAMESPACE = 'crossplane-system';
export const CROSSPLANE_CHART = resolve(`.tools/charts/crossplane-${VERSIONS.crossplane}`);

/** `helm …` against `cp`, with Helm's own folders under `dir`. */
export async function helm(cp: ControlPlane, dir: string, args: string[]): Promise<string> {
  const home = join(dir, 'helm');
  await mkdir(home, { recursive: true });
  const { stdout } = await run(binaryPath('helm'), args, {
    env: {
      ...process.env,
      KUBECONFIG: cp.adminKubeconfig,
      HELM_CACHE_HOME: join(home, 'cache'),
      HELM_CONFIG_HOME: join(home, 'config'),
      HELM_DATA_HOME: join(home, 'data'),
    },
    maxBuffer: 1 << 24,
  });
  return stdout;
}

export interface CrossplaneOptions {
  /** Where the core image is: `<registry>/crossplane/crossplane`. */
  repository: string;
  /** More `core start` flags (the chart's `args`). */
  args?: string[];
}

/** Installs the chart and waits until Crossplane and its RBAC manager are available. */
export async function installCrossplane(
  cp: ControlPlane,
  kube: Kube,
  dir: string,
  options: CrossplaneOptions,
): Promise<void> {
  const args = options.args ?? [];
  await helm(cp, dir, [
    'install',
    'crossplane',
    CROSSPLANE_CHART,
    '--namespace',
    CROSSPLANE_NAMESPACE,
    '--create-namespace',
    '--set',
    `image.repository=${options.repository}`,
    // The chart in the module says appVersion 0.0.1; releases stamp the real one.
    '--set',
    `image.tag=${VERSIONS.crossplane}`,
    ...(args.length > 0 ? ['--set', `args={${args.join(',')}}`] : []),
    '--wait',
    '--timeout',
    '5m',
  ]);
  for (const name of ['crossplane', 'crossplane-rbac-manager']) {
    await waitFor(
      `Deployment ${name} available`,
      async () => {
        const deployment = await kube.read('apps/v1', 'Deployment', name, CROSSPLANE_NAMESPACE);
        return ((deployment?.status as { availableReplicas?: number })?.availableReplicas ?? 0) > 0;
      },
      { timeoutMs: 120_000 },
    );
  }
}
