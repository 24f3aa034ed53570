/**
 * A local OCI registry (go-containerregistry's, `crane registry serve`, blobs on disk) and the
 * flows around it: `crank xpkg build`, `crane push`. It listens on the host's address on the pod
 * network, so that Crossplane's pod and containerd reach it alike; references are
 * `10.244.0.1:<port>/<name>:<tag>`. Crossplane's package CRDs want a dot in the registry host, and
 * go-containerregistry speaks plain HTTP to private addresses such as this one.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../support/net.js';
import { NODE_NETWORK } from './node-network.js';
import { answers200, launch, waitFor, type LaunchOptions, type Process } from './processes.js';
import { binaryPath } from './tools.js';

const run = promisify(execFile);

export interface Registry {
  process: Process;
  /** `<address>:<port>`, the prefix of image and package references. */
  host: string;
}

export async function startRegistry(
  dir: string,
  options: LaunchOptions & { address?: string } = {},
): Promise<Registry> {
  const { address = NODE_NETWORK.host, ...launchOptions } = options;
  const port = await freePort();
  const blobs = join(dir, 'registry-blobs');
  await mkdir(blobs, { recursive: true });
  const host = `${address}:${port}`;
  const registry = launch(
    dir,
    'registry',
    binaryPath('crane'),
    ['registry', 'serve', '--address', host, '--disk', blobs],
    launchOptions,
  );
  await waitFor('registry', () => answers200(`http://${host}/v2/`), { watch: [registry] });
  return { process: registry, host };
}

/** `crank xpkg build` of a package folder (crossplane.yaml and CRDs), its runtime image embedded. */
export async function buildPackage(
  root: string,
  file: string,
  runtimeImageTarball?: string,
): Promise<void> {
  // An empty examples folder: the default, ./examples, would pack the project's examples.
  const examples = await mkdtemp(join(tmpdir(), 'xenv-xpkg-examples-'));
  try {
    await run(binaryPath('crank'), [
      'xpkg',
      'build',
      `--package-root=${root}`,
      `--examples-root=${examples}`,
      `--package-file=${file}`,
      ...(runtimeImageTarball ? [`--embed-runtime-image-tarball=${runtimeImageTarball}`] : []),
    ]);
  } finally {
    await rm(examples, { recursive: true, force: true });
  }
}

/** Pushes an image or package tarball (one image) as `reference`. */
export async function push(file: string, reference: string): Promise<void> {
  await run(binaryPath('crane'), ['push', file, reference], { maxBuffer: 1 << 24 });
}
