/**
 * Where the real stack's binaries and CRDs come from: the one place to repoint. Each is looked up
 * first where test/tools/install.sh pins it in `.tools/`, then where the warm-up build left it in
 * /tmp/warm (temporary, until the install script pins everything). CRD folders missing from
 * `.tools/crds/` come from the Go module cache (`go mod download`, offline once cached).
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
const WARM = '/tmp/warm';

/** Candidate paths per binary, the pinned one first. */
const BINARIES = {
  crossplane: [join(PINNED, 'bin/crossplane'), `${WARM}/bin/crossplane`],
  crank: [join(PINNED, 'bin/crank'), `${WARM}/bin/crank`],
  registry: [join(PINNED, 'bin/registry'), `${WARM}/bin/registry`],
  crane: [join(PINNED, 'bin/crane'), `${WARM}/bin/crane`],
  kubeControllerManager: [
    join(PINNED, 'bin/kube-controller-manager'),
    `${WARM}/bin/kube-controller-manager`,
  ],
  providerHelm: [
    join(PINNED, 'bin/provider-helm'),
    join(PINNED, 'bin/provider-helm/provider'),
    `${WARM}/helm/provider`,
  ],
  providerKubernetes: [
    join(PINNED, 'bin/provider-kubernetes'),
    join(PINNED, 'bin/provider-kubernetes/provider'),
    `${WARM}/k8s/provider`,
  ],
} as const;

export type Binary = keyof typeof BINARIES;

export function binaryPath(name: Binary): string {
  const found = BINARIES[name].find((path) => existsSync(path) && statSync(path).isFile());
  if (!found) {
    throw new Error(`${name} not found in ${BINARIES[name].join(' or ')}: run npm run tools`);
  }
  return found;
}

/** Manifest folders: the pinned copy under `.tools/`, or the Go module and its subfolder. */
const CRDS = {
  crossplane: {
    pinned: 'crds/crossplane',
    module: `github.com/crossplane/crossplane/v2@${VERSIONS.crossplane}`,
    dir: 'cluster/crds',
  },
  crossplaneWebhooks: {
    pinned: 'webhookconfigurations/crossplane',
    module: `github.com/crossplane/crossplane/v2@${VERSIONS.crossplane}`,
    dir: 'cluster/webhookconfigurations',
  },
  providerHelm: {
    pinned: 'crds/provider-helm',
    module: `github.com/crossplane-contrib/provider-helm@${VERSIONS.providerHelm}`,
    dir: 'package/crds',
  },
  providerKubernetes: {
    pinned: 'crds/provider-kubernetes',
    module: `github.com/crossplane-contrib/provider-kubernetes@${VERSIONS.providerKubernetes}`,
    dir: 'package/crds',
  },
} as const;

export type CrdSet = keyof typeof CRDS;

const moduleDirs = new Map<string, Promise<string>>();

/** The module's folder in the Go module cache, downloading it the first time. */
function moduleDir(module: string): Promise<string> {
  let dir = moduleDirs.get(module);
  if (!dir) {
    const shared = resolve('../shared/go-modules');
    // As ../shared/README.md asks: the shared folder first, then the usual proxy.
    const env = {
      ...process.env,
      GOFLAGS: '-mod=mod',
      GONOSUMDB: 'github.com/crossplane,github.com/crossplane-contrib,github.com/nebius',
      ...(existsSync(shared)
        ? {
            GOPROXY: `file://${shared},${process.env.GOPROXY ?? 'https://proxy.golang.org,direct'}`,
          }
        : {}),
    };
    dir = promisify(execFile)('go', ['mod', 'download', '-json', module], {
      env,
      cwd: tmpdir(),
    }).then(({ stdout }) => (JSON.parse(stdout) as { Dir: string }).Dir);
    moduleDirs.set(module, dir);
  }
  return dir;
}

export async function crdDir(set: CrdSet): Promise<string> {
  const { pinned, module, dir } = CRDS[set];
  const local = join(PINNED, pinned);
  if (existsSync(local)) return local;
  return join(await moduleDir(module), dir);
}
