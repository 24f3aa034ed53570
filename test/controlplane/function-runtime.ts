/**
 * The function for its active FunctionRevision, as the External runtime (package-runtime.ts):
 * the shipped bundle (`npm run build`) with the image's Node flags, serving mTLS with a certificate
 * from Crossplane's CA (whose `ca.crt`, the same CA, verifies Crossplane's client certificate).
 * The revision's `endpoint` then points Crossplane at this process: `dns:///127.0.0.1:<port>`
 * instead of the Service a Deployment runtime would make, since nothing routes Services here.
 */
import { join, resolve } from 'node:path';
import type { Kube } from '../support/kube.js';
import { IMAGE_ENV, IMAGE_NODE_FLAGS } from '../support/image.js';
import { freePort } from '../support/net.js';
import { writeCertificateDir } from './crossplane.js';
import {
  activeRevision,
  issueServerCertificate,
  packageHealthy,
  reportRuntime,
} from './package-runtime.js';
import { launch, listening, waitFor, type LaunchOptions, type Process } from './processes.js';

const FUNCTION_BUNDLE = resolve('dist/bundle/function/main.mjs');

export interface FunctionRuntime {
  process: Process;
  /** What the revision's status.endpoint says. */
  endpoint: string;
  revision: string;
}

export async function runFunction(
  kube: Kube,
  name: string,
  dir: string,
  options: LaunchOptions = {},
): Promise<FunctionRuntime> {
  const revision = await activeRevision(kube, 'Function', name);
  const { secretName, pair, ca } = await issueServerCertificate(kube, revision, name);
  const certs = await writeCertificateDir(join(dir, `${name}-tls`), pair, ca);
  const port = await freePort();
  // The image's entrypoint flags and environment (Dockerfile), as a real deployment runs it.
  const fn = launch(
    dir,
    name,
    process.execPath,
    [
      ...IMAGE_NODE_FLAGS,
      FUNCTION_BUNDLE,
      '--address',
      `127.0.0.1:${port}`,
      '--tls-server-certs-dir',
      certs,
    ],
    { ...options, env: { ...(options.env ?? process.env), ...IMAGE_ENV } },
  );
  await waitFor(`${name} listening`, () => listening(port), { watch: [fn] });
  const endpoint = `dns:///127.0.0.1:${port}`;
  const revisionName = revision.metadata!.name!;
  await reportRuntime(
    kube,
    'Function',
    revisionName,
    { endpoint, tlsServerSecretName: secretName },
    true,
  );
  await packageHealthy(kube, 'Function', name);
  return { process: fn, endpoint, revision: revisionName };
}
