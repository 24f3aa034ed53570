/**
 * The runtime image built without Docker (package/image/runtime-image.ts) against the Dockerfile
 * it is built from: the same files, user, environment, entrypoint and ports, and Node of the same
 * major; run as the image runs it; and embedded in the Function package, which is what
 * Crossplane's Deployment runtime runs as the function's container.
 */
import { execFile } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUNTIME_STAGE } from '../../package/image/dockerfile.js';
import { layerFiles, readImage, type ImageFile } from '../../package/image/oci.js';
import { buildRuntimeImage, NODE_PATH } from '../../package/image/runtime-image.js';
import { untar } from '../../package/image/tar.js';
import { unpackImage } from '../support/image.js';

const run = promisify(execFile);
const INPUTS = '.tools/image-inputs';

let dir: string;
let image: ImageFile;
let files: Map<string, Buffer>;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xenv-runtime-image-'));
  await buildRuntimeImage(join(dir, 'runtime.tar'), 'function-xenvironment-runtime:test', {
    inputs: INPUTS,
    root: '.',
  });
  const read = await readImage(join(dir, 'runtime.tar'));
  image = read.image;
  files = new Map();
  for (const layer of read.layers)
    for (const [path, content] of await layerFiles(layer)) files.set(path, content);
}, 120_000);

afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the runtime image, built from the Dockerfile', () => {
  it('runs as the Dockerfile says: user, entrypoint, working directory, environment, ports', () => {
    expect(image).toMatchObject({ os: 'linux', architecture: 'amd64' });
    expect(image.config.User).toBe(RUNTIME_STAGE.user);
    expect(image.config.Entrypoint).toEqual(RUNTIME_STAGE.entrypoint);
    expect(image.config.WorkingDir).toBe(RUNTIME_STAGE.workdir);
    for (const [name, value] of Object.entries(RUNTIME_STAGE.env)) {
      expect(image.config.Env).toContain(`${name}=${value}`);
    }
    expect(Object.keys(image.config.ExposedPorts ?? {})).toEqual(
      RUNTIME_STAGE.exposedPorts.map((port) => `${port}/tcp`),
    );
  });

  it('holds what the Dockerfile copies, and Node.js of the major its base names', async () => {
    for (const entrypoint of ['function/main.mjs', 'bridge/main.mjs']) {
      expect(files.get(`app/${entrypoint}`)).toEqual(
        await readFile(join('dist/bundle', entrypoint)),
      );
    }
    expect(RUNTIME_STAGE.nodeMajor).toBe(24);
    expect(image.config.Labels?.['io.xenvironment.nodejs']).toMatch(/^24\./);
    expect(files.has(NODE_PATH.slice(1))).toBe(true);
  });

  it("runs the function's entrypoint with only its own files, as its unprivileged user", async () => {
    const root = join(dir, 'root');
    await unpackImage(join(dir, 'runtime.tar'), root);
    const [node, ...rest] = RUNTIME_STAGE.entrypoint as [string, ...string[]];
    const { stdout } = await run('chroot', [
      `--userspec=${RUNTIME_STAGE.user}`,
      root,
      node,
      ...rest.map((part) => (part.endsWith('.mjs') ? `${RUNTIME_STAGE.workdir}/${part}` : part)),
      '--help',
    ]);
    expect(stdout).toContain('Usage: function-xenvironment');
  });

  it('is what the Function package carries: its config and layers, and package.yaml on top', async () => {
    const out = join(dir, 'packages');
    await run(
      'bash',
      ['package/build.sh', out, `--embed-runtime-image-tarball=${join(dir, 'runtime.tar')}`],
      {
        env: { ...process.env, CROSSPLANE_CLI: realpathSync('.tools/bin/crank') },
      },
    );
    const pkg = await readImage(join(out, 'function-xenvironment.xpkg'));
    expect(pkg.image.config).toMatchObject({
      User: image.config.User,
      Entrypoint: image.config.Entrypoint,
      WorkingDir: image.config.WorkingDir,
      Env: image.config.Env,
    });
    // The runtime's layers, then one more: the package itself, as Crossplane labels it.
    expect(pkg.image.rootfs.diff_ids.slice(0, image.rootfs.diff_ids.length)).toEqual(
      image.rootfs.diff_ids,
    );
    const top = untar(gunzipSync(pkg.layers.at(-1)!));
    expect([...top.keys()]).toEqual(['package.yaml']);
  });
});
