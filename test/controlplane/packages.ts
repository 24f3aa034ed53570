/**
 * The product and its providers, published and installed the way a user does it (README,
 * "Installing"): the function's runtime image built from the Dockerfile's recipe, `package/build.sh`
 * embedding it in the Function package beside the Configuration, the providers' packages built
 * from their own `package/` folders with their runtime images embedded, all pushed to the local
 * registry, which two `ImageConfig`s put in place of `registry.example.org/` and
 * `xpkg.crossplane.io/`, as a mirror would. Then the shipped runtime configs, and
 * `crossplane xpkg install` of the providers, the function (with the bridge sidecar) and the
 * Configuration. Crossplane's Deployment runtime runs each as a pod from its package image.
 */
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildRuntimeImage } from '../../package/image/runtime-image.js';
import { conditionStatus, type Kube, type Obj } from '../support/kube.js';
import { readYamlDocuments } from '../support/manifests.js';
import { imagePath, RECIPES, type ImageName } from './images.js';
import { waitFor } from './processes.js';
import { buildPackage, push } from './registry.js';
import { binaryPath, providerPackageDir, VERSIONS } from './tools.js';

const run = promisify(execFile);

/** Where the product's packages are published (package/configuration/crossplane.yaml). */
export const PUBLISHED = 'registry.example.org';
const UPSTREAM = 'xpkg.crossplane.io';
export const VERSION = 'v0.1.0';
const CONFIGURATION = 'configuration-xenvironment';
export const FUNCTION = 'function-xenvironment';

export const PROVIDERS = {
  providerHelm: {
    // What Crossplane names a Provider it installs as a dependency: the repository path.
    name: 'crossplane-contrib-provider-helm',
    repository: 'crossplane-contrib/provider-helm',
    runtimeConfig: 'provider-helm',
  },
  providerKubernetes: {
    name: 'crossplane-contrib-provider-kubernetes',
    repository: 'crossplane-contrib/provider-kubernetes',
    runtimeConfig: 'provider-kubernetes-readiness',
  },
} as const;

export type ProviderName = keyof typeof PROVIDERS;

/** The images pods run besides the packages: `<registry>/<repository>:<tag>`. */
export function imageReference(registry: string, name: ImageName): string {
  return `${registry}/${RECIPES[name].reference}`;
}

/** Pushes the images built by `npm run tools` (images.ts) that pods run directly. */
export async function pushImages(registry: string, names: ImageName[]): Promise<void> {
  await Promise.all(names.map((name) => push(imagePath(name), imageReference(registry, name))));
}

/**
 * Builds the four packages into `dir`, the function's with its runtime image, and pushes them to
 * `registry` where the Configuration's dependencies name them (after the ImageConfigs' rewrite).
 * Returns the function's package image, which is also what the bridge sidecar runs.
 */
export async function publishPackages(dir: string, registry: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const runtimeImage = join(dir, 'function-runtime.tar');
  await buildRuntimeImage(runtimeImage, `${FUNCTION}-runtime:${VERSION}`, {
    inputs: '.tools/image-inputs',
    root: '.',
  });
  await run('bash', ['package/build.sh', dir, `--embed-runtime-image-tarball=${runtimeImage}`], {
    env: { ...process.env, CROSSPLANE_CLI: binaryPath('crank') },
  });
  const functionImage = `${registry}/${FUNCTION}:${VERSION}`;
  const pushes = [
    push(join(dir, `${FUNCTION}.xpkg`), functionImage),
    push(join(dir, `${CONFIGURATION}.xpkg`), `${registry}/${CONFIGURATION}:${VERSION}`),
  ];
  for (const which of Object.keys(PROVIDERS) as ProviderName[]) {
    const file = join(dir, `${which}.xpkg`);
    await buildPackage(await providerPackageDir(which), file, imagePath(which));
    pushes.push(push(file, `${registry}/${PROVIDERS[which].repository}:${VERSIONS[which]}`));
  }
  await Promise.all(pushes);
  return functionImage;
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

/** `crossplane xpkg install <kind> <package> [name] [--runtime-config]`, as the README has it. */
export async function xpkgInstall(
  kubeconfig: string,
  kind: 'configuration' | 'function' | 'provider',
  reference: string,
  name?: string,
  runtimeConfig?: string,
): Promise<void> {
  await run(
    binaryPath('crank'),
    [
      'xpkg',
      'install',
      kind,
      reference,
      ...(name ? [name] : []),
      ...(runtimeConfig ? [`--runtime-config=${runtimeConfig}`] : []),
    ],
    { env: { ...process.env, KUBECONFIG: kubeconfig } },
  );
}

/** The shipped runtime configs of both providers, `args` of each replaced where given. */
export async function providerRuntimeConfigs(
  args: Partial<Record<ProviderName, string[]>>,
): Promise<Obj[]> {
  const documents = await readYamlDocuments('examples/providers/runtime.yaml');
  for (const [which, given] of Object.entries(args) as [ProviderName, string[]][]) {
    const config = documents.find(
      (d) => (d.metadata as { name: string }).name === PROVIDERS[which].runtimeConfig,
    )!;
    runtimeContainer(config).args = given;
  }
  return documents;
}

/** The `package-runtime` container of a DeploymentRuntimeConfig. */
export function runtimeContainer(config: Obj, name = 'package-runtime'): Obj {
  const spec = config.spec as {
    deploymentTemplate: { spec: { template: { spec: { containers: Obj[] } } } };
  };
  return spec.deploymentTemplate.spec.template.spec.containers.find((c) => c.name === name)!;
}

const PKG = 'pkg.crossplane.io/v1';

/** Waits for a package to be installed and healthy (its revision's runtime too). */
export function packageHealthy(kube: Kube, kind: string, name: string, timeoutMs = 240_000) {
  return waitFor(
    `${kind} ${name} healthy`,
    async () => {
      const pkg = await kube.read(PKG, kind, name);
      return (
        conditionStatus(pkg, 'Installed') === 'True' && conditionStatus(pkg, 'Healthy') === 'True'
      );
    },
    { timeoutMs },
  );
}

export function configurationHealthy(kube: Kube) {
  return packageHealthy(kube, 'Configuration', CONFIGURATION);
}

export { CONFIGURATION };
