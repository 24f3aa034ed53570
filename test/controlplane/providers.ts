/**
 * provider-helm and provider-kubernetes as processes, for the Provider packages Crossplane
 * installed (it resolved them as the Configuration's dependencies, and installed their CRDs): the
 * External runtime's part (package-runtime.ts) for each, then `default` provider configs for the
 * host cluster (credentials: a kubeconfig Secret; InjectedIdentity needs an in-cluster service
 * account).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Kube } from '../support/kube.js';
import type { ControlPlane } from './controlplane.js';
import { freePort } from '../support/net.js';
import { CROSSPLANE_NAMESPACE, writeCertificateDir } from './crossplane.js';
import {
  activeRevision,
  exposeWebhook,
  issueServerCertificate,
  reportRuntime,
} from './package-runtime.js';
import { answers200, launch, waitFor, type LaunchOptions, type Process } from './processes.js';
import { binaryPath } from './tools.js';

/** The Secret the host provider configs read: the admin kubeconfig of the host API server. */
export const HOST_KUBECONFIG_SECRET = { name: 'host-kubeconfig', key: 'kubeconfig' };
export const HOST_PROVIDER_CONFIG = 'default';

export const PROVIDERS = {
  providerHelm: {
    // What Crossplane names a Provider it installs as a dependency: the repository path.
    package: 'crossplane-contrib-provider-helm',
    // Drift checks every minute instead of ten; changes are still picked up by watches at once.
    args: ['--poll=1m'],
    // Legacy (cluster-scoped) MRs use a ProviderConfig, namespaced (.m.) ones a ClusterProviderConfig.
    configs: [
      ['helm.crossplane.io/v1beta1', 'ProviderConfig'],
      ['helm.m.crossplane.io/v1beta1', 'ClusterProviderConfig'],
    ],
  },
  providerKubernetes: {
    package: 'crossplane-contrib-provider-kubernetes',
    // Readiness checks are read again at the poll interval: with --enable-watches, v1.3.1 never
    // started its Object controllers here (no Object reconciled at all), so a short poll instead.
    args: ['--poll=15s'],
    configs: [
      ['kubernetes.crossplane.io/v1alpha1', 'ProviderConfig'],
      ['kubernetes.m.crossplane.io/v1alpha1', 'ClusterProviderConfig'],
    ],
  },
} as const;

export type ProviderName = keyof typeof PROVIDERS;

/** Runs the provider for its active ProviderRevision, as the External runtime. */
export async function runProvider(
  which: ProviderName,
  cp: ControlPlane,
  kube: Kube,
  dir: string,
  options: LaunchOptions = {},
): Promise<Process> {
  const name = PROVIDERS[which].package;
  const revision = await activeRevision(kube, 'Provider', name);
  const [health, metrics, webhook] = [await freePort(), await freePort(), await freePort()];
  const dnsNames = await exposeWebhook(kube, name, webhook);
  const { secretName, pair, ca } = await issueServerCertificate(kube, revision, name, dnsNames);
  const certs = await writeCertificateDir(join(dir, `${name}-tls`), pair, ca);
  // Crossplane installs the provider's CRDs once it knows the webhook certificate.
  await reportRuntime(
    kube,
    'Provider',
    revision.metadata!.name!,
    { tlsServerSecretName: secretName },
    false,
  );
  const provider = launch(
    dir,
    name,
    binaryPath(which),
    [
      '--debug',
      `--health-probe-bind-addr=127.0.0.1:${health}`,
      `--metrics-bind-address=127.0.0.1:${metrics}`,
      `--webhook-port=${webhook}`,
      ...PROVIDERS[which].args,
    ],
    {
      ...options,
      env: { ...process.env, KUBECONFIG: cp.adminKubeconfig, TLS_SERVER_CERTS_DIR: certs },
    },
  );
  await waitFor(`${name} readyz`, () => answers200(`http://127.0.0.1:${health}/readyz`), {
    watch: [provider],
  });
  await reportRuntime(
    kube,
    'Provider',
    revision.metadata!.name!,
    { tlsServerSecretName: secretName },
    true,
  );
  return provider;
}

/** The `default` provider configs of the host cluster, once their CRDs are served. */
export async function hostProviderConfigs(cp: ControlPlane, kube: Kube): Promise<void> {
  await kube.apply({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: HOST_KUBECONFIG_SECRET.name, namespace: CROSSPLANE_NAMESPACE },
    stringData: { [HOST_KUBECONFIG_SECRET.key]: await readFile(cp.adminKubeconfig, 'utf8') },
  });
  for (const { configs } of Object.values(PROVIDERS)) {
    for (const [apiVersion, kind] of configs) {
      // New CRDs answer 404 or 429 until served.
      await waitFor(
        `${kind} ${apiVersion} served`,
        () =>
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
        { timeoutMs: 120_000 },
      );
    }
  }
}
