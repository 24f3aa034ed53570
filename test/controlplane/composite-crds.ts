/**
 * A bare control plane with the CRDs real Crossplane makes from the product's XRDs, for tests
 * and benchmarks that drive XRs themselves (the XRD's rules, the bridge under faults and at
 * scale): Crossplane core starts as a process, the XRDs
 * are applied, and once their CRDs are Established core is stopped again. Running on, it would
 * reconcile those XRs (pick a Composition, add its finalizer, call a function that is not there)
 * and race the writes the test makes in Crossplane's place. The CRDs stay: no garbage collector
 * runs to remove them with their XRD.
 */
import { createPrivateKey } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { authority, leaf, type KeyPair } from '../support/certificates.js';
import { conditionStatus, Kube, type Obj } from '../support/kube.js';
import { freePort } from '../support/net.js';
import { readYamlDocuments } from '../support/manifests.js';
import {
  startControlPlane,
  terminate,
  type ControlPlane,
  type StartOptions,
} from './controlplane.js';
import { answers200, launch, waitFor, type Process } from './processes.js';
import { binaryPath, crdDir } from './tools.js';

const CROSSPLANE_NAMESPACE = 'crossplane-system';
const ROOT_CA_SECRET = 'crossplane-root-ca';
const SERVER_SECRET = 'crossplane-tls-server';
const CLIENT_SECRET = 'crossplane-tls-client';

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
async function writeCertificateDir(dir: string, pair: KeyPair, ca: string): Promise<string> {
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

/**
 * Crossplane core as a process, set up as its Helm chart would (a CA in the `crossplane-root-ca`
 * Secret, `crossplane core init`, then `crossplane core start`), without a package runtime or
 * webhooks: here only to make the XRDs' CRDs.
 */
async function startCore(cp: ControlPlane, kube: Kube, dir: string): Promise<Process> {
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
      // No pod runs here: nothing to start packages in.
      '--package-runtime=External',
      `--webhook-port=${webhookPort}`,
      `--health-probe-port=${healthPort}`,
      `--metrics-port=${metricsPort}`,
      `--tls-server-certs-dir=${serverCerts}`,
      `--tls-client-certs-dir=${clientCerts}`,
      // Writable caches: the default /cache fails "cannot unpack package ... closed pipe".
      `--xpkg-cache-dir=${join(cache, 'xpkg')}`,
      `--xfn-cache-dir=${join(cache, 'xfn')}`,
    ],
    { env },
  );
  await waitFor('Crossplane readyz', () => answers200(`http://127.0.0.1:${healthPort}/readyz`), {
    watch: [core],
    timeoutMs: 90_000,
  });

  return core;
}

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
    const crossplane = await startCore(cp, kube, dir);
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
        { watch: [crossplane] },
      );
    }
    await terminate([crossplane.pid]);
    options.log?.(`CRDs made by Crossplane from ${xrdPaths.join(', ')}: ${crds.join(', ')}`);
    return cp;
  } catch (error) {
    await cp.stop();
    throw error;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
