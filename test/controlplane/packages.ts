/**
 * The packages, installed the way a user installs the product (README, "Installing"):
 * `package/build.sh` builds the Function and the Configuration, the providers' packages are built
 * from their own `package/` folders (crossplane.yaml and CRDs; no runtime image, since no pod
 * runs here), `crane push` puts all four into the local registry, and
 * `crossplane xpkg install configuration registry.example.org/configuration-xenvironment:v0.1.0`
 * installs the Configuration. Crossplane resolves its dependencies (the Function at
 * `registry.example.org/function-xenvironment`, the providers at `xpkg.crossplane.io`) and installs
 * them; two `ImageConfig`s rewrite those registries to the local one, as a mirror would.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Kube } from '../support/kube.js';
import { packageHealthy } from './package-runtime.js';
import { PROVIDERS } from './providers.js';
import { buildPackage, pushPackage } from './registry.js';
import { binaryPath, providerPackageDir, VERSIONS } from './tools.js';

const run = promisify(execFile);

/** Where the product's packages are published (package/configuration/crossplane.yaml). */
const PUBLISHED = 'registry.example.org';
const UPSTREAM = 'xpkg.crossplane.io';
const VERSION = 'v0.1.0';
const CONFIGURATION = 'configuration-xenvironment';
export const FUNCTION = 'function-xenvironment';

/** Builds the four packages into `dir` and pushes them to the registry at `registry`. */
export async function publishPackages(dir: string, registry: string): Promise<void> {
  await run('bash', ['package/build.sh', dir], {
    env: { ...process.env, CROSSPLANE_CLI: binaryPath('crank') },
  });
  const pushes = [
    pushPackage(join(dir, `${FUNCTION}.xpkg`), `${registry}/${FUNCTION}:${VERSION}`),
    pushPackage(join(dir, `${CONFIGURATION}.xpkg`), `${registry}/${CONFIGURATION}:${VERSION}`),
  ];
  for (const which of ['providerHelm', 'providerKubernetes'] as const) {
    const file = join(dir, `${which}.xpkg`);
    await buildPackage(await providerPackageDir(which), file);
    const repository = PROVIDERS[which].package.replace(
      'crossplane-contrib-',
      'crossplane-contrib/',
    );
    pushes.push(pushPackage(file, `${registry}/${repository}:${VERSIONS[which]}`));
  }
  await Promise.all(pushes);
}

/** Points both registries the packages name at the local one. */
export async function mirror(kube: Kube, registry: string): Promise<void> {
  for (const [name, prefix] of [
    ['published-packages', PUBLISHED],
    ['upstream-packages', UPSTREAM],
  ] as const) {
    await kube.apply({
      apiVersion: 'pkg.crossplane.io/v1beta1',
      kind: 'ImageConfig',
      metadata: { name },
      spec: {
        matchImages: [{ type: 'Prefix', prefix: `${prefix}/` }],
        rewriteImage: { prefix: `${registry}/` },
      },
    });
  }
}

/** `crossplane xpkg install configuration …`, as the README has a platform engineer run it. */
export async function installConfiguration(kubeconfig: string): Promise<void> {
  await run(
    binaryPath('crank'),
    ['xpkg', 'install', 'configuration', `${PUBLISHED}/${CONFIGURATION}:${VERSION}`],
    { env: { ...process.env, KUBECONFIG: kubeconfig } },
  );
}

export function configurationHealthy(kube: Kube) {
  return packageHealthy(kube, 'Configuration', CONFIGURATION);
}
