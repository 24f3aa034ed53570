/**
 * Plays Crossplane's External package runtime: what the Deployment runtime does with a pod, this
 * does with a process on loopback, for the active revision of a Function or a Provider.
 *
 * With `--package-runtime=External`, Crossplane unpacks a package, creates its active revision and
 * installs what it carries, but starts nothing: it waits for a runtime to run it and to report on
 * the revision's status. Like the Deployment runtime, this issues the package's server certificate
 * from Crossplane's CA (the `crossplane-root-ca` Secret) into the Secret the revision names, starts
 * the process with it, and patches the revision's status subresource: `tlsServerSecretName` (a
 * provider's CRDs are installed only once it is set: its `tls.crt` becomes their conversion
 * webhook's CA bundle), `endpoint` for a function (Crossplane dials it for every XR, over mTLS),
 * and the condition `RuntimeHealthy` once the process answers (without it the package stays
 * `Healthy=False`, "Package runtime health is Unknown").
 *
 * A provider's webhooks are named by Service (`<package name>.crossplane-system.svc:9443`), which
 * the Deployment runtime creates. So does this, without a selector and with an EndpointSlice at
 * the machine's own address and the provider's webhook port: the host API server runs with
 * `--enable-aggregator-routing`, so it dials a Service's endpoints rather than its cluster IP,
 * which nothing routes here (no kube-proxy). Endpoints may not be loopback addresses.
 */
import { networkInterfaces } from 'node:os';
import forge from 'node-forge';
import { leaf, type KeyPair } from '../support/certificates.js';
import { conditionStatus, type Kube, type Resource } from '../support/kube.js';
import { CROSSPLANE_NAMESPACE, ROOT_CA_SECRET } from './crossplane.js';
import { waitFor } from './processes.js';

const PKG = 'pkg.crossplane.io/v1';
/** The port Crossplane names in a provider's webhook configurations. */
const WEBHOOK_SERVICE_PORT = 9443;

export type PackageKind = 'Function' | 'Provider';

export function activeRevision(
  kube: Kube,
  kind: PackageKind,
  name: string,
  timeoutMs = 120_000,
): Promise<Resource> {
  return waitFor(
    `an active ${kind}Revision of ${name}`,
    async () =>
      (
        await kube.list(PKG, `${kind}Revision`, {
          labelSelector: `pkg.crossplane.io/package=${name}`,
        })
      ).find((r) => (r.spec as { desiredState?: string }).desiredState === 'Active'),
    { timeoutMs },
  );
}

const b64 = (text: string) => Buffer.from(text).toString('base64');

/** Issues a server certificate from Crossplane's CA into the Secret the revision names. */
export async function issueServerCertificate(
  kube: Kube,
  revision: Resource,
  name: string,
  dnsNames: string[] = [],
): Promise<{ secretName: string; pair: KeyPair; ca: string }> {
  const caSecret = await kube.read('v1', 'Secret', ROOT_CA_SECRET, CROSSPLANE_NAMESPACE);
  const caData = caSecret?.data as Record<string, string> | undefined;
  if (!caData) throw new Error(`${ROOT_CA_SECRET} is missing: Crossplane is not set up`);
  const decode = (key: string) => Buffer.from(caData[key]!, 'base64').toString();
  const ca = decode('tls.crt');
  const caName = String(
    forge.pki.certificateFromPem(ca).subject.getField('CN')?.value ?? ROOT_CA_SECRET,
  );
  const caKey = forge.pki.privateKeyFromPem(decode('tls.key')) as forge.pki.rsa.PrivateKey;
  const pair = leaf(name, { name: caName, key: caKey }, true, undefined, dnsNames);
  const secretName =
    (revision.spec as { tlsServerSecretName?: string }).tlsServerSecretName ?? `${name}-tls-server`;
  await kube.apply({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: secretName, namespace: CROSSPLANE_NAMESPACE },
    data: { 'tls.crt': b64(pair.cert), 'tls.key': b64(pair.key), 'ca.crt': b64(ca) },
  });
  return { secretName, pair, ca };
}

/**
 * What a package runtime reports on the revision's status subresource; `healthy` adds the
 * condition `RuntimeHealthy`. Merge patches replace lists, so the conditions go back whole,
 * guarded by resourceVersion against Crossplane's own writes.
 */
export async function reportRuntime(
  kube: Kube,
  kind: PackageKind,
  revision: string,
  fields: Record<string, string>,
  healthy: boolean,
): Promise<void> {
  const plural = `${kind.toLowerCase()}revisions`;
  for (let attempt = 0; ; attempt++) {
    const current = await kube.read(PKG, `${kind}Revision`, revision);
    const conditions = ((current?.status as { conditions?: { type: string }[] })?.conditions ?? [])
      .filter((c) => !healthy || c.type !== 'RuntimeHealthy')
      .concat(
        healthy
          ? [
              {
                type: 'RuntimeHealthy',
                status: 'True',
                reason: 'HealthyPackageRevision',
                lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
              } as { type: string },
            ]
          : [],
      );
    try {
      await kube.patchClusterStatus(
        PKG,
        plural,
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

/** The machine's first non-loopback IPv4 address: where a Service's endpoints may point. */
function machineAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    const found = addresses?.find((a) => a.family === 'IPv4' && !a.internal);
    if (found) return found.address;
  }
  throw new Error(
    'no non-loopback IPv4 address: a provider webhook Service needs one (endpoints may not be loopback)',
  );
}

/**
 * The Service a provider's webhooks are named by, as the Deployment runtime makes it, routed to
 * `port` on this machine (see above). Returns the DNS names the API server checks the
 * certificate for.
 */
export async function exposeWebhook(kube: Kube, name: string, port: number): Promise<string[]> {
  await kube.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: CROSSPLANE_NAMESPACE },
    spec: { ports: [{ name: 'webhook', port: WEBHOOK_SERVICE_PORT, protocol: 'TCP' }] },
  });
  await kube.apply({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `${name}-external-runtime`,
      namespace: CROSSPLANE_NAMESPACE,
      labels: { 'kubernetes.io/service-name': name },
    },
    addressType: 'IPv4',
    ports: [{ name: 'webhook', port, protocol: 'TCP' }],
    endpoints: [{ addresses: [machineAddress()], conditions: { ready: true } }],
  });
  return [
    `${name}.${CROSSPLANE_NAMESPACE}.svc`,
    `${name}.${CROSSPLANE_NAMESPACE}.svc.cluster.local`,
  ];
}

/** Waits for a package to be Installed and Healthy. */
export function packageHealthy(kube: Kube, kind: PackageKind | 'Configuration', name: string) {
  return waitFor(
    `${kind} ${name} installed and healthy`,
    async () => {
      const object = await kube.read(PKG, kind, name);
      return (
        conditionStatus(object, 'Healthy') === 'True' &&
        conditionStatus(object, 'Installed') === 'True'
      );
    },
    { timeoutMs: 180_000 },
  );
}
