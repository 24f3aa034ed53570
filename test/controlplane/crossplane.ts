/**
 * Crossplane core as a process beside a test API server, set up as its Helm chart would: a CA in
 * the `crossplane-root-ca` Secret, `crossplane core init` (CRDs, lock, defaults), then
 * `crossplane core start` with the External package runtime (no Deployments: no kubelet runs
 * here), its webhook served on loopback and registered by URL.
 */
import { createPrivateKey } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { authority, leaf, type KeyPair } from '../support/certificates.js';
import { conditionStatus, type Kube, type Obj } from '../support/kube.js';
import { readYamlDocuments } from '../support/manifests.js';
import type { ControlPlane } from './controlplane.js';
import { freePort } from '../support/net.js';
import { answers200, launch, waitFor, type LaunchOptions, type Process } from './processes.js';
import { binaryPath, crdDir } from './tools.js';

export const CROSSPLANE_NAMESPACE = 'crossplane-system';
/** The Secrets Crossplane's chart names; the package runtime signs function certificates with the CA. */
export const ROOT_CA_SECRET = 'crossplane-root-ca';
const SERVER_SECRET = 'crossplane-tls-server';
const CLIENT_SECRET = 'crossplane-tls-client';

export interface Crossplane {
  process: Process;
  webhookPort: number;
}

const b64 = (text: string) => Buffer.from(text).toString('base64');

function tlsSecret(name: string, pair: KeyPair, ca: string): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: CROSSPLANE_NAMESPACE },
    type: 'Opaque',
    data: { 'tls.crt': b64(pair.cert), 'tls.key': b64(pair.key), 'ca.crt': b64(ca) },
  };
}

/** Writes a certificate as a pod would mount it: tls.crt, tls.key and the CA as ca.crt. */
export async function writeCertificateDir(dir: string, pair: KeyPair, ca: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'tls.crt'), pair.cert);
  await writeFile(join(dir, 'tls.key'), pair.key, { mode: 0o600 });
  await writeFile(join(dir, 'ca.crt'), ca);
  return dir;
}

/**
 * Applies every CRD in a folder (as raw JSON: see ControlPlane.applyCrd) and waits for them to be
 * served.
 */
async function applyCrdDir(cp: ControlPlane, kube: Kube, dir: string): Promise<void> {
  const names: string[] = [];
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort()) {
    for (const doc of await readYamlDocuments(join(dir, file))) {
      if (doc.kind !== 'CustomResourceDefinition') continue;
      await cp.applyCrd(doc);
      names.push((doc.metadata as { name: string }).name);
    }
  }
  for (const name of names) {
    await waitFor(
      `CRD ${name} established`,
      async () =>
        conditionStatus(
          await kube.read('apiextensions.k8s.io/v1', 'CustomResourceDefinition', name),
          'Established',
        ) === 'True',
    );
  }
}

export async function startCrossplane(
  cp: ControlPlane,
  kube: Kube,
  dir: string,
  options: LaunchOptions & {
    args?: string[];
    /** Register the Usage webhook (default); not for a core that is stopped again soon. */
    usageWebhook?: boolean;
  } = {},
): Promise<Crossplane> {
  const { args = [], usageWebhook = true, ...launchOptions } = options;
  const crossplane = binaryPath('crossplane');
  const env = {
    ...process.env,
    KUBECONFIG: cp.adminKubeconfig,
    POD_NAMESPACE: CROSSPLANE_NAMESPACE,
  };
  await kube.apply({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: CROSSPLANE_NAMESPACE },
  });

  // One CA, as the chart's init container makes it: it signs Crossplane's webhook server
  // certificate (for 127.0.0.1, which the API server dials), Crossplane's client certificate for
  // calling functions, and, later, each function's server certificate (the package runtime does).
  const ca = authority('crossplane-root-ca');
  const webhookCert = leaf('crossplane-webhook', ca.issuer, true);
  const clientCert = leaf('crossplane', ca.issuer, false);
  await kube.apply({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: ROOT_CA_SECRET, namespace: CROSSPLANE_NAMESPACE },
    type: 'Opaque',
    // Crossplane parses the CA key as PKCS#1.
    data: {
      'tls.crt': b64(ca.pair.cert),
      'tls.key': b64(
        createPrivateKey(ca.pair.key).export({ type: 'pkcs1', format: 'pem' }).toString(),
      ),
    },
  });
  await kube.apply(tlsSecret(SERVER_SECRET, webhookCert, ca.pair.cert));
  await kube.apply(tlsSecret(CLIENT_SECRET, clientCert, ca.pair.cert));
  const serverCerts = await writeCertificateDir(join(dir, 'tls/server'), webhookCert, ca.pair.cert);
  const clientCerts = await writeCertificateDir(join(dir, 'tls/client'), clientCert, ca.pair.cert);

  // init applies the CRDs but does not wait for them to be served before using them (in a pod,
  // it would be restarted): apply them first.
  const crds = crdDir('crossplane');
  await applyCrdDir(cp, kube, crds);
  // init: core CRDs, the package lock, default DeploymentRuntimeConfig, and the default managed
  // resource activation policy with the chart's default (`*`: every provider's MRDs active). Its
  // webhook step would register the webhook by Service, which no kube-proxy routes here: we
  // register it by URL below instead. The TLS Secrets exist, so init keeps them.
  const init = launch(dir, 'crossplane-init', crossplane, ['core', 'init', '--activation=*'], {
    env: {
      ...env,
      CRDS_PATH: crds,
      WEBHOOK_ENABLED: 'false',
      TLS_CA_SECRET_NAME: ROOT_CA_SECRET,
      TLS_CLIENT_SECRET_NAME: CLIENT_SECRET,
    },
  });
  await waitFor('crossplane core init', async () => init.exited(), { timeoutMs: 60_000 });
  if (init.exited() !== 'exit code 0') {
    throw new Error(`crossplane core init failed; see ${init.log}:\n${await readFile(init.log)}`);
  }

  const [webhookPort, healthPort, metricsPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const cache = join(dir, 'cache');
  await mkdir(join(cache, 'xpkg'), { recursive: true });
  await mkdir(join(cache, 'xfn'), { recursive: true });
  const core = launch(
    dir,
    'crossplane',
    crossplane,
    [
      'core',
      'start',
      '--debug',
      // Functions run as processes the test starts; it plays the package runtime (function-runtime.ts).
      '--package-runtime=External',
      `--webhook-port=${webhookPort}`,
      `--health-probe-port=${healthPort}`,
      `--metrics-port=${metricsPort}`,
      `--tls-server-certs-dir=${serverCerts}`,
      `--tls-client-certs-dir=${clientCerts}`,
      // Writable caches: the default /cache fails "cannot unpack package ... closed pipe".
      `--xpkg-cache-dir=${join(cache, 'xpkg')}`,
      `--xfn-cache-dir=${join(cache, 'xfn')}`,
      ...args,
    ],
    { ...launchOptions, env },
  );
  await waitFor('Crossplane readyz', () => answers200(`http://127.0.0.1:${healthPort}/readyz`), {
    watch: [core],
    timeoutMs: 90_000,
  });

  if (!usageWebhook) return { process: core, webhookPort };
  // The Usage webhook refuses to delete objects in use; registered by URL with the CA above.
  const webhookDir = crdDir('crossplaneWebhooks');
  for (const doc of await readYamlDocuments(join(webhookDir, 'usage.yaml'))) {
    const webhooks = doc.webhooks as { clientConfig: Obj }[];
    for (const webhook of webhooks) {
      const path = (webhook.clientConfig.service as { path: string }).path;
      webhook.clientConfig = {
        url: `https://127.0.0.1:${webhookPort}${path}`,
        caBundle: b64(ca.pair.cert),
      };
    }
    await kube.apply(doc);
  }
  return { process: core, webhookPort };
}
