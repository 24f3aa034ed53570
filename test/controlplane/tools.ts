/**
 * Where the real stack's binaries, CRDs and provider packages come from: the one place to repoint.
 * Binaries and CRDs only from `.tools/`, where test/tools/install.sh pins them; the providers'
 * package folders (crossplane.yaml and CRDs, what their packages are built from) from their Go
 * modules, which install.sh has downloaded already (`go mod download`, offline once cached).
 */
import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

export const VERSIONS = {
  crossplane: 'v2.2.4',
  providerHelm: 'v1.4.0',
  providerKubernetes: 'v1.3.1',
  kubernetes: 'v1.35.4',
} as const;

const PINNED = resolve('.tools');

const BINARIES = {
  crossplane: 'crossplane',
  crank: 'crank',
  crane: 'crane',
  helm: 'helm',
  kubeControllerManager: 'kube-controller-manager',
  kubeScheduler: 'kube-scheduler',
  kubelet: 'kubelet',
  kubeProxy: 'kube-proxy',
  kubectl: 'kubectl',
  coredns: 'coredns',
  providerHelm: 'provider-helm',
  providerKubernetes: 'provider-kubernetes',
} as const;

export type Binary = keyof typeof BINARIES;

export function binaryPath(name: Binary): string {
  const path = join(PINNED, 'bin', BINARIES[name]);
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new Error(`${path} is missing: run npm run tools (npm test does)`);
  }
  return path;
}

const CRDS = {
  crossplane: 'crds/crossplane',
  crossplaneWebhooks: 'webhookconfigurations/crossplane',
  providerHelm: 'crds/provider-helm',
  providerKubernetes: 'crds/provider-kubernetes',
} as const;

export type CrdSet = keyof typeof CRDS;

export function crdDir(set: CrdSet): string {
  const path = join(PINNED, CRDS[set]);
  if (!existsSync(path)) throw new Error(`${path} is missing: run npm run tools (npm test does)`);
  return path;
}

const PROVIDER_MODULES = {
  providerHelm: `github.com/crossplane-contrib/provider-helm@${VERSIONS.providerHelm}`,
  providerKubernetes: `github.com/crossplane-contrib/provider-kubernetes@${VERSIONS.providerKubernetes}`,
} as const;

/** A provider's `package/` folder in its Go module, as its own release builds its package. */
export async function providerPackageDir(which: keyof typeof PROVIDER_MODULES): Promise<string> {
  return join(await goModuleDir(PROVIDER_MODULES[which]), 'package');
}

/**
 * The folder of a Go module (`path@version`) in the module cache, downloaded first if it is not
 * there yet; an error if it cannot be had.
 */
export async function goModuleDir(module: string): Promise<string> {
  const shared = resolve('../shared/go-modules');
  // As test/tools/lib.sh sets it up: the shared module folder first, then the usual proxy.
  const env = {
    ...process.env,
    GOFLAGS: '-mod=mod',
    GONOSUMDB: 'github.com/crossplane,github.com/crossplane-contrib,github.com/nebius',
    GOTOOLCHAIN: 'local',
    ...(existsSync(shared)
      ? { GOPROXY: `file://${shared},${process.env.GOPROXY ?? 'https://proxy.golang.org,direct'}` }
      : {}),
  };
  const { stdout } = await promisify(execFile)('go', ['mod', 'download', '-json', module], {
    env,
    cwd: tmpdir(),
  });
  return (JSON.parse(stdout) as { Dir: string }).Dir;
}
