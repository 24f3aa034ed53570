/**
 * Installs a Function package as a user does (a `Function` object naming the package in the local
 * registry) and plays Crossplane's External package runtime for it.
 *
 * With `--package-runtime=External`, Crossplane unpacks the package, creates the active
 * FunctionRevision and installs the package's CRDs, but starts nothing: it waits for an external
 * runtime to run the function and report where it listens. What the Deployment runtime would do,
 * this does with a process: it issues the function's server certificate from Crossplane's CA (the
 * `crossplane-root-ca` Secret, as the Deployment runtime does), stores it in the Secret the
 * revision names, starts the shipped bundle with it (whose `ca.crt`, the same CA, verifies
 * Crossplane's client certificate: real mTLS), and patches the revision's status subresource
 * with `endpoint`, `tlsServerSecretName` and the condition `RuntimeHealthy` (without it the
 * Function stays `Healthy=False`, "Package runtime health is Unknown"). Crossplane then dials the
 * endpoint for every XR.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import forge from 'node-forge';
import { leaf } from '../support/certificates.js';
import { conditionStatus, type Kube, type Resource } from '../support/kube.js';
import { freePort } from '../support/net.js';
import { CROSSPLANE_NAMESPACE, ROOT_CA_SECRET } from './crossplane.js';
import { launch, listening, waitFor, type LaunchOptions, type Process } from './processes.js';

const PKG = 'pkg.crossplane.io/v1';
export const FUNCTION_BUNDLE = resolve('dist/bundle/function/main.mjs');

export interface FunctionRuntime {
  process: Process;
  /** What the revision's status.endpoint says: `dns:///127.0.0.1:<port>`. */
  endpoint: string;
  revision: string;
}

/** Applies a `Function` for the package and waits for its active revision. */
export async function installFunction(
  kube: Kube,
  name: string,
  reference: string,
): Promise<Resource> {
  await kube.apply({
    apiVersion: PKG,
    kind: 'Function',
    metadata: { name },
    spec: { package: reference },
  });
  return activeRevision(kube, name);
}

export function activeRevision(kube: Kube, name: string, timeoutMs = 60_000): Promise<Resource> {
  return waitFor(
    `an active FunctionRevision of ${name}`,
    async () =>
      (
        await kube.list(PKG, 'FunctionRevision', {
          labelSelector: `pkg.crossplane.io/package=${name}`,
        })
      ).find((r) => (r.spec as { desiredState?: string }).desiredState === 'Active'),
    { timeoutMs },
  );
}

/**
 * What a package runtime reports on the revision's status subresource. Merge patches replace
 * lists, so the conditions go back whole, guarded by resourceVersion against Crossplane's writes.
 */
async function reportRuntime(kube: Kube, revision: string, fields: Record<string, string>) {
  for (let attempt = 0; ; attempt++) {
    const current = await kube.read(PKG, 'FunctionRevision', revision);
    const conditions = ((current?.status as { conditions?: { type: string }[] })?.conditions ?? [])
      .filter((c) => c.type !== 'RuntimeHealthy')
      .concat({
        type: 'RuntimeHealthy',
        status: 'True',
        reason: 'HealthyPackageRevision',
        lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      } as { type: string });
    try {
      await kube.patchClusterStatus(
        PKG,
        'functionrevisions',
        revision,
        { ...fields, conditions },
        current!.metadata!.resourceVersion,
      );
      return;
    } catch (error) {
      if ((error as { code?: number }).code !== 409 || attempt >= 10) throw error;
    }
  }
}

/** Runs the function from the shipped bundle for its active revision, as described above. */
export async function playFunctionRuntime(
  kube: Kube,
  name: string,
  dir: string,
  options: LaunchOptions = {},
): Promise<FunctionRuntime> {
  const revision = await activeRevision(kube, name);
  const revisionName = revision.metadata!.name!;
  const caSecret = await kube.read('v1', 'Secret', ROOT_CA_SECRET, CROSSPLANE_NAMESPACE);
  const caData = caSecret?.data as Record<string, string> | undefined;
  if (!caData) throw new Error(`${ROOT_CA_SECRET} is missing: Crossplane is not set up`);
  const decode = (key: string) => Buffer.from(caData[key]!, 'base64').toString();
  const caCert = decode('tls.crt');
  const caName = String(
    forge.pki.certificateFromPem(caCert).subject.getField('CN')?.value ?? ROOT_CA_SECRET,
  );
  const caKey = forge.pki.privateKeyFromPem(decode('tls.key')) as forge.pki.rsa.PrivateKey;
  const server = leaf(name, { name: caName, key: caKey }, true);

  const secretName =
    (revision.spec as { tlsServerSecretName?: string }).tlsServerSecretName ?? `${name}-tls-server`;
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  await kube.apply({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: secretName, namespace: CROSSPLANE_NAMESPACE },
    data: { 'tls.crt': b64(server.cert), 'tls.key': b64(server.key), 'ca.crt': b64(caCert) },
  });
  const certs = join(dir, `${name}-tls`);
  await mkdir(certs, { recursive: true });
  await writeFile(join(certs, 'tls.crt'), server.cert);
  await writeFile(join(certs, 'tls.key'), server.key, { mode: 0o600 });
  await writeFile(join(certs, 'ca.crt'), caCert);

  const port = await freePort();
  // The image's entrypoint flags (Dockerfile), so that memory figures match a real deployment.
  const fn = launch(
    dir,
    name,
    process.execPath,
    [
      '--max-semi-space-size=1',
      '--max-old-space-size=128',
      FUNCTION_BUNDLE,
      '--address',
      `127.0.0.1:${port}`,
      '--tls-server-certs-dir',
      certs,
    ],
    options,
  );
  await waitFor(`${name} listening`, () => listening(port), { watch: [fn] });

  const endpoint = `dns:///127.0.0.1:${port}`;
  await reportRuntime(kube, revisionName, { endpoint, tlsServerSecretName: secretName });
  await waitFor(
    `Function ${name} healthy`,
    async () => {
      const fnObject = await kube.read(PKG, 'Function', name);
      return (
        conditionStatus(fnObject, 'Healthy') === 'True' &&
        conditionStatus(fnObject, 'Installed') === 'True'
      );
    },
    { watch: [fn] },
  );
  return { process: fn, endpoint, revision: revisionName };
}
