/**
 * Both packages, built by package/build.sh with the real Crossplane CLI, unpacked and compared with
 * their sources: what Crossplane installs is what the repository holds.
 */
import { execFile } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { mkdtemp, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseYamlDocuments, readYamlDocuments } from '../support/manifests.js';
import { readPackageStream } from '../support/xpkg.js';

type Obj = Record<string, unknown>;

const run = promisify(execFile);
/** The project's tools: Crossplane core as `crossplane`, and the Crossplane CLI as `crank`. */
const TOOLS_BIN = realpathSync('.tools/bin');

/** package/build.sh into a new folder, in the environment `env`. */
async function build(env: NodeJS.ProcessEnv): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'xenv-packages-'));
  await run('bash', ['package/build.sh', dir], { env });
  return dir;
}

/** This process's environment without CROSSPLANE_CLI, with `path` first on PATH. */
function withoutCli(path: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${path}:${process.env.PATH ?? ''}` };
  delete env.CROSSPLANE_CLI;
  return env;
}

let out: string;
beforeAll(async () => {
  out = await build({ ...process.env, CROSSPLANE_CLI: `${TOOLS_BIN}/crank` });
}, 60_000);

const byKindAndName = (objects: Obj[]) =>
  objects
    .map((o) => ({ key: `${String(o.kind)}/${String((o.metadata as Obj).name)}`, o }))
    .sort((a, b) => a.key.localeCompare(b.key))
    .map(({ o }) => o);

async function sources(...paths: string[]): Promise<Obj[]> {
  return (await Promise.all(paths.map((path) => readYamlDocuments(path)))).flat();
}

/** The package's objects; without status, which the CLI writes as its Go types' zero values. */
async function packaged(file: string, dir = out): Promise<Obj[]> {
  return parseYamlDocuments(await readPackageStream(join(dir, file))).map(
    ({ status: _, ...object }) => object,
  );
}

/** The name Crossplane gives a package it installs as a dependency (xpkg.ToDNSLabel of its repository path). */
function dependencyName(packageRef: string): string {
  const repository = packageRef.slice(packageRef.indexOf('/') + 1);
  return repository
    .slice(0, 63)
    .replace(/[./:-]/g, '-')
    .replace(/[^a-z0-9-]/g, '')
    .replace(/^-+|-+$/g, '');
}

describe('the packages', () => {
  it('the Function holds its metadata and the input CRD, as in package/', async () => {
    const expected = await sources(
      'package/crossplane.yaml',
      'package/input/xenvironment.fn.crossplane.io_catalogs.yaml',
    );
    expect(byKindAndName(await packaged('function-xenvironment.xpkg'))).toEqual(
      byKindAndName(expected),
    );
  });

  it('the Configuration holds its metadata and both XRDs and Compositions, as in apis/', async () => {
    const expected = await sources(
      'package/configuration/crossplane.yaml',
      'apis/xenvironment/definition.yaml',
      'apis/xenvironment/composition.yaml',
      'apis/xenvironment-v2/definition.yaml',
      'apis/xenvironment-v2/composition.yaml',
    );
    expect(byKindAndName(await packaged('configuration-xenvironment.xpkg'))).toEqual(
      byKindAndName(expected),
    );
  });

  it('the Configuration depends on the function under the name its Compositions call', async () => {
    const objects = await packaged('configuration-xenvironment.xpkg');
    const meta = objects.find((o) => o.apiVersion === 'meta.pkg.crossplane.io/v1')!;
    const dependencies = (meta.spec as { dependsOn: { kind: string; package: string }[] })
      .dependsOn;
    const fn = dependencies.find((d) => d.kind === 'Function')!;
    const called = objects
      .filter((o) => o.kind === 'Composition')
      .flatMap((o) => (o.spec as { pipeline: { functionRef: { name: string } }[] }).pipeline)
      .map((step) => step.functionRef.name);
    expect(called.length).toBeGreaterThan(0);
    for (const name of called) expect(name).toBe(dependencyName(fn.package));
    expect(dependencies.map((d) => `${d.kind} ${dependencyName(d.package)}`).sort()).toEqual([
      'Function function-xenvironment',
      'Provider crossplane-contrib-provider-helm',
      'Provider crossplane-contrib-provider-kubernetes',
    ]);
  });

  it('build.sh picks the CLI with xpkg when Crossplane core is the first crossplane on PATH', async () => {
    // The precondition: .tools/bin's crossplane is Crossplane core, which has no xpkg command.
    await expect(run(`${TOOLS_BIN}/crossplane`, ['xpkg', '--help'])).rejects.toMatchObject({
      stderr: expect.stringContaining('unexpected argument xpkg'),
    });
    const dir = await build(withoutCli(TOOLS_BIN));
    for (const file of ['function-xenvironment.xpkg', 'configuration-xenvironment.xpkg']) {
      expect(await packaged(file, dir)).toEqual(await packaged(file));
    }
  }, 60_000);

  it('build.sh names what it tried when no crossplane or crank on PATH has xpkg', async () => {
    const onlyCore = await mkdtemp(join(tmpdir(), 'xenv-core-'));
    await symlink(`${TOOLS_BIN}/crossplane`, join(onlyCore, 'crossplane'));
    const env = { ...withoutCli(onlyCore), PATH: `${onlyCore}:/usr/bin:/bin` };
    await expect(build(env)).rejects.toMatchObject({
      stderr: expect.stringContaining(`tried: ${onlyCore}/crossplane`),
    });
    await expect(
      build({ ...env, CROSSPLANE_CLI: `${TOOLS_BIN}/crossplane` }),
    ).rejects.toMatchObject({
      stderr: expect.stringContaining('has no xpkg command'),
    });
  });
});
