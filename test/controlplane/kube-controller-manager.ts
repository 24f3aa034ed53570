/**
 * kube-controller-manager with only the controllers the stack needs: the garbage collector
 * (Crossplane deletes composed resources, and providers their connection Secrets, through owner
 * references) and the namespace controller (empties deleted namespaces). Nothing that needs a
 * kubelet, a cloud provider or service-account tokens.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ControlPlane } from './controlplane.js';
import { freePort } from '../support/net.js';
import { answers200, launch, waitFor, type LaunchOptions, type Process } from './processes.js';
import { binaryPath } from './tools.js';

export const CONTROLLERS = ['garbagecollector', 'namespace'];

export async function startKubeControllerManager(
  cp: ControlPlane,
  dir: string,
  options: LaunchOptions = {},
): Promise<Process> {
  const port = await freePort();
  const certDir = join(dir, 'kube-controller-manager-certs');
  await mkdir(certDir, { recursive: true });
  const kcm = launch(
    dir,
    'kube-controller-manager',
    binaryPath('kubeControllerManager'),
    [
      `--kubeconfig=${cp.adminKubeconfig}`,
      `--authentication-kubeconfig=${cp.adminKubeconfig}`,
      `--authorization-kubeconfig=${cp.adminKubeconfig}`,
      `--controllers=${CONTROLLERS.join(',')}`,
      '--leader-elect=false',
      '--use-service-account-credentials=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      `--cert-dir=${certDir}`,
      // Level 2 logs each garbage-collector resync, which garbageCollectorWatches() reads.
      '--v=2',
    ],
    options,
  );
  await waitFor(
    'kube-controller-manager healthz',
    () => answers200(`https://127.0.0.1:${port}/healthz`),
    { watch: [kcm] },
  );
  return kcm;
}

/**
 * Whether the garbage collector watches a resource (`<plural>.<group>`). It rediscovers resources
 * every 30 s (fixed in kube-controller-manager): an owner whose kind it does not watch yet, like
 * an XR whose CRD is new, is noticed gone only after a backoff of a minute or more.
 */
export async function garbageCollectorWatches(kcm: Process, resource: string): Promise<boolean> {
  const [plural, ...group] = resource.split('.');
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // The resync's log line lists what it adds as `<group>/<version>, Resource=<plural>`.
  const added = new RegExp(`${escape(group.join('.'))}/[^,\\s]+, Resource=${escape(plural!)}\\b`);
  const log = await readFile(kcm.log, 'utf8');
  return log
    .split('\n')
    .some((line) => line.includes('syncing garbage collector') && added.test(line));
}
