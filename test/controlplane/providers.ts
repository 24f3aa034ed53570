/**
 * provider-helm and provider-kubernetes as processes: controller managers that run out of cluster
 * with a kubeconfig, their real CRDs applied first, and `default` provider configs for the host
 * cluster (credentials: a kubeconfig Secret; InjectedIdentity needs an in-cluster service account).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { authority, leaf } from '../support/certificates.js';
import type { Kube } from '../support/kube.js';
import type { ControlPlane } from './controlplane.js';
import { freePort } from '../support/net.js';
import { applyCrdDir, CROSSPLANE_NAMESPACE } from './crossplane.js';
import { answers200, launch, waitFor, type LaunchOptions, type Process } from './processes.js';
import { binaryPath, crdDir } from './tools.js';

/** The Secret the host provider configs read: the admin kubeconfig of the host API server. */
export const HOST_KUBECONFIG_SECRET = { name: 'host-kubeconfig', key: 'kubeconfig' };
export const HOST_PROVIDER_CONFIG = 'default';

const PROVIDERS = {
  providerHelm: {
    name: 'provider-helm',
    // Legacy (cluster-scoped) MRs use a ProviderConfig, namespaced (.m.) ones a ClusterProviderConfig.
    configs: [
      ['helm.crossplane.io/v1beta1', 'ProviderConfig'],
      ['helm.m.crossplane.io/v1beta1', 'ClusterProviderConfig'],
    ],
  },
  providerKubernetes: {
    name: 'provider-kubernetes',
    configs: [
      ['kubernetes.crossplane.io/v1alpha1', 'ProviderConfig'],
      ['kubernetes.m.crossplane.io/v1alpha1', 'ClusterProviderConfig'],
    ],
  },
} as const;

export type ProviderName = keyof typeof PROVIDERS;

export async function startProvider(
  which: ProviderName,
  cp: ControlPlane,
  kube: Kube,
  dir: string,
  options: LaunchOptions = {},
): Promise<Process> {
  const { name, configs } = PROVIDERS[which];
  const [health, metrics, webhook] = [await freePort(), await freePort(), await freePort()];
  // The provider's webhook server (provider-kubernetes converts Object versions) on loopback, with
  // a certificate from a CA of its own that the API server is given for its CRDs.
  const ca = authority(`${name}-ca`);
  const serving = leaf(name, ca.issuer, true);
  const certs = join(dir, `${name}-tls`);
  await mkdir(certs, { recursive: true });
  await writeFile(join(certs, 'tls.crt'), serving.cert);
  await writeFile(join(certs, 'tls.key'), serving.key, { mode: 0o600 });
  await applyCrdDir(cp, kube, await crdDir(which), {
    url: `https://127.0.0.1:${webhook}`,
    caBundle: ca.pair.cert,
  });
  const provider = launch(
    dir,
    name,
    binaryPath(which),
    [
      '--debug',
      // Drift checks every minute instead of ten; changes are still picked up by watches at once.
      '--poll=1m',
      `--health-probe-bind-addr=127.0.0.1:${health}`,
      `--metrics-bind-address=127.0.0.1:${metrics}`,
      `--webhook-port=${webhook}`,
    ],
    {
      ...options,
      env: { ...process.env, KUBECONFIG: cp.adminKubeconfig, TLS_SERVER_CERTS_DIR: certs },
    },
  );
  await waitFor(`${name} readyz`, () => answers200(`http://127.0.0.1:${health}/readyz`), {
    watch: [provider],
  });

  await kube.apply({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: HOST_KUBECONFIG_SECRET.name, namespace: CROSSPLANE_NAMESPACE },
    stringData: { [HOST_KUBECONFIG_SECRET.key]: await readFile(cp.adminKubeconfig, 'utf8') },
  });
  for (const [apiVersion, kind] of configs) {
    // New CRDs answer 404 or 429 until served.
    await waitFor(`${kind} ${apiVersion} served`, () =>
      kube
        .apply({
          apiVersion,
          kind,
          metadata: { name: HOST_PROVIDER_CONFIG },
          spec: {
            credentials: {
              source: 'Secret',
              secretRef: { ...HOST_KUBECONFIG_SECRET, namespace: CROSSPLANE_NAMESPACE },
            },
          },
        })
        .then(() => true),
    );
  }
  return provider;
}
