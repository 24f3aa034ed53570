/**
 * The images the node runs, built here from the pinned binaries in .tools/ without Docker, laid
 * out as their upstream images are (binary paths, users, entrypoints, environment), on the base
 * the distroless images give (package/image/rootfs.ts). Built once per set of pins into
 * .tools/images/ (npm run tools runs this); the stack pushes them to its registry, from which
 * containerd pulls them.
 *
 *   tsx test/controlplane/images.ts   # builds whatever is missing or out of date
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { layer, writeImage, type ImageConfig, type Layer } from '../../package/image/oci.js';
import {
  BASE_ENV,
  baseEntries,
  hostFile,
  NONROOT,
  parents,
  unique,
} from '../../package/image/rootfs.js';
import { tar, type TarEntry } from '../../package/image/tar.js';
import { VERSIONS } from './tools.js';

const TOOLS = resolve('.tools');
const BIN = join(TOOLS, 'bin');
export const IMAGE_DIR = join(TOOLS, 'images');
/** The test workload serves this file on / (readiness probes ask for it). */
export const WORKLOAD_PORT = 8080;

export interface ImageRecipe {
  /** Where it goes in the registry, `repository:tag` (the registry's host in front). */
  reference: string;
  /** The pins it is built from: a change rebuilds it. */
  inputs: string[];
  layers(): Promise<TarEntry[][]>;
  config: ImageConfig;
}

const version = async (binary: string) =>
  (await readFile(join(BIN, `${binary}.version`), 'utf8')).trim();

/** The applets of Debian's static busybox, each a link to it, as busybox images have them. */
function busyboxEntries(): TarEntry[] {
  const applets = execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n');
  return [
    ...applets
      .filter((applet) => applet !== '' && applet !== 'busybox')
      .map((applet) => ({ kind: 'symlink' as const, path: `bin/${applet}`, target: 'busybox' })),
  ];
}

const binary = (name: string, path: string) => hostFile(join(BIN, name), path);

async function yamlFiles(dir: string, to: string): Promise<TarEntry[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort();
  return [
    ...parents(`${to}/x`),
    ...(await Promise.all(
      files.map(async (f) => ({
        kind: 'file' as const,
        path: `${to}/${f}`,
        content: await readFile(join(dir, f)),
      })),
    )),
  ];
}

/**
 * A provider's runtime image, as its Dockerfile makes it: the binary under /usr/local/bin as
 * `command`, its entrypoint, on the distroless base, as the unprivileged user.
 */
function providerImage(
  binaryName: string,
  version: string,
  command: string,
  env: string[] = [],
): ImageRecipe {
  return {
    reference: `crossplane-contrib/${binaryName}-runtime:${version}`,
    inputs: [binaryName],
    layers: async () => [await baseEntries(), await binary(binaryName, `usr/local/bin/${command}`)],
    config: { Entrypoint: [command], User: String(NONROOT), Env: [...BASE_ENV, ...env] },
  };
}

export const RECIPES = {
  /** The pod sandbox, containerd's sandbox_image. */
  pause: {
    reference: `xenvironment/pause:${'3.10.1'}`,
    inputs: ['pause'],
    layers: async () => [await binary('pause', 'pause')],
    config: { Entrypoint: ['/pause'], User: '65535:65535' },
  },
  /**
   * Debian's static busybox: the test charts' workload (`httpd` serving /www), and the shell and
   * `cp` that vcluster's init containers run.
   */
  busybox: {
    reference: 'xenvironment/busybox:1.35.0',
    inputs: [],
    layers: async () => [
      unique([
        ...(await baseEntries()),
        ...(await hostFile('/bin/busybox', 'bin/busybox')),
        ...busyboxEntries(),
        { kind: 'dir', path: 'www' },
        { kind: 'file', path: 'www/index.html', content: Buffer.from('ok\n') },
      ]),
    ],
    config: { Env: BASE_ENV, Cmd: ['sh'], User: String(NONROOT) },
  },
  /** As Crossplane's own image: /bin/crossplane with the CRDs and webhook configurations init applies. */
  crossplane: {
    reference: `crossplane/crossplane:${VERSIONS.crossplane}`,
    inputs: ['crossplane'],
    layers: async () => [
      await baseEntries(),
      [
        ...(await binary('crossplane', 'bin/crossplane')),
        ...(await yamlFiles(join(TOOLS, 'crds/crossplane'), 'crds')),
        ...(await yamlFiles(
          join(TOOLS, 'webhookconfigurations/crossplane'),
          'webhookconfigurations',
        )),
      ],
    ],
    config: {
      Entrypoint: ['/bin/crossplane'],
      User: String(NONROOT),
      Env: BASE_ENV,
      ExposedPorts: { '8080/tcp': {} },
    },
  },
  /** As provider-helm's Dockerfile: the binary on PATH, Helm's homes under /tmp. */
  providerHelm: providerImage('provider-helm', VERSIONS.providerHelm, 'provider-helm', [
    'HELM_CACHE_HOME=/tmp/helm-cache',
    'HELM_CONFIG_HOME=/tmp/helm-config',
    'HELM_DATA_HOME=/tmp/helm-data',
  ]),
  /** As provider-kubernetes' Dockerfile. */
  providerKubernetes: providerImage(
    'provider-kubernetes',
    VERSIONS.providerKubernetes,
    'crossplane-kubernetes-provider',
  ),
  /** CoreDNS as its image has it: /coredns, given `-conf` by its Deployment. */
  coredns: {
    reference: 'coredns/coredns:v1.15.0',
    inputs: ['coredns'],
    layers: async () => [await baseEntries(), await binary('coredns', 'coredns')],
    config: { Entrypoint: ['/coredns'], User: String(NONROOT), Env: BASE_ENV },
  },
  /**
   * As vcluster-oss's image: the syncer at /vcluster, started as `/vcluster start`, and kine on
   * PATH for the SQLite backing store; as root, as upstream runs it.
   */
  vcluster: {
    reference: 'loft-sh/vcluster-oss:0.30.0',
    inputs: ['vcluster', 'kine'],
    layers: async () => [
      await baseEntries(),
      [...(await binary('vcluster', 'vcluster')), ...(await binary('kine', 'usr/local/bin/kine'))],
    ],
    config: { Entrypoint: ['/vcluster', 'start'], Env: BASE_ENV, WorkingDir: '/' },
  },
  /**
   * vcluster's Kubernetes distribution image: the control plane's binaries under /kubernetes, which
   * its init container copies out with `cp`; here the node's own, as built for the host.
   */
  kubernetes: {
    reference: `loft-sh/kubernetes:${VERSIONS.kubernetes}`,
    inputs: ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'],
    layers: async () => [
      unique([
        ...(await baseEntries()),
        ...(await hostFile('/bin/busybox', 'bin/busybox')),
        ...busyboxEntries(),
      ]),
      [
        ...(await binary('kube-apiserver', 'kubernetes/kube-apiserver')),
        ...(await binary('kube-controller-manager', 'kubernetes/kube-controller-manager')).slice(1),
        ...(await binary('kube-scheduler', 'kubernetes/kube-scheduler')).slice(1),
      ],
    ],
    config: { Env: BASE_ENV, User: '1000' },
  },
} satisfies Record<string, ImageRecipe>;

export type ImageName = keyof typeof RECIPES;

export const imagePath = (name: ImageName) => join(IMAGE_DIR, `${name}.tar`);

/** Builds every image whose inputs changed since it was built; returns the names built. */
export async function buildImages(names = Object.keys(RECIPES) as ImageName[]): Promise<string[]> {
  await mkdir(IMAGE_DIR, { recursive: true });
  const built: string[] = [];
  for (const name of names) {
    const recipe: ImageRecipe = RECIPES[name];
    const stamp = JSON.stringify({
      reference: recipe.reference,
      inputs: await Promise.all(recipe.inputs.map(version)),
    });
    const stampPath = `${imagePath(name)}.stamp`;
    if (
      existsSync(imagePath(name)) &&
      (await readFile(stampPath, 'utf8').catch(() => '')) === stamp
    ) {
      continue;
    }
    const layers: Layer[] = await Promise.all((await recipe.layers()).map((l) => layer(tar(l))));
    await writeImage(`${imagePath(name)}.partial`, recipe.reference, layers, recipe.config);
    await rename(`${imagePath(name)}.partial`, imagePath(name));
    await writeFile(stampPath, stamp);
    built.push(name);
  }
  return built;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  buildImages().then(
    (built) =>
      console.log(
        `images: ${built.length ? `built ${built.join(', ')}` : 'up to date'} in ${IMAGE_DIR}`,
      ),
    (error: unknown) => {
      console.error(`images: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
