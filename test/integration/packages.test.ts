/**
 * Both packages, built by package/build.sh with the real Crossplane CLI, unpacked and compared with
 * their sources: what Crossplane installs is what the repository holds.
 */
import { execFile } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseYamlDocuments, readYamlDocuments } from '../support/manifests.js';
import { readPackageStream } from '../support/xpkg.js';

type Obj = Record<string, unknown>;

let out: string;
beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'xenv-packages-'));
  await promisify(execFile)('bash', ['package/build.sh', out], {
    env: { ...process.env, CROSSPLANE_CLI: realpathSync('.tools/bin/crank') },
  });
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
async function packaged(file: string): Promise<Obj[]> {
  return parseYamlDocuments(await readPackageStream(join(out, file))).map(
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
});
