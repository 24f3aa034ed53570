/**
 * A local OCI registry (go-containerregistry's in-memory `registry`) and the package flow a user
 * follows: `crank xpkg build`, then `crane push`. Packages are referred to as
 * `127.0.0.1:<port>/<name>:<tag>`: Crossplane's package CRDs want a dot in the registry host, and
 * go-containerregistry speaks plain HTTP to loopback addresses.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../support/net.js';
import { answers200, launch, waitFor, type LaunchOptions, type Process } from './processes.js';
import { binaryPath } from './tools.js';

const run = promisify(execFile);

export interface Registry {
  process: Process;
  /** `127.0.0.1:<port>`, the prefix of package references. */
  host: string;
}

export async function startRegistry(dir: string, options: LaunchOptions = {}): Promise<Registry> {
  const port = await freePort();
  const registry = launch(
    dir,
    'registry',
    binaryPath('registry'),
    ['-port', String(port)],
    options,
  );
  const host = `127.0.0.1:${port}`;
  await waitFor('registry', () => answers200(`http://${host}/v2/`), { watch: [registry] });
  return { process: registry, host };
}

/** `crank xpkg build` of a package folder (crossplane.yaml and CRDs; no runtime image). */
export async function buildPackage(root: string, file: string): Promise<void> {
  // An empty examples folder: the default, ./examples, would pack the project's examples.
  const examples = await mkdtemp(join(tmpdir(), 'xenv-xpkg-examples-'));
  try {
    await run(binaryPath('crank'), [
      'xpkg',
      'build',
      `--package-root=${root}`,
      `--examples-root=${examples}`,
      `--package-file=${file}`,
    ]);
  } finally {
    await rm(examples, { recursive: true, force: true });
  }
}

export async function pushPackage(file: string, reference: string): Promise<void> {
  await run(binaryPath('crane'), ['push', file, reference]);
}
