/**
 * The function's runtime image, built without Docker from the Dockerfile's own recipe: its runtime
 * stage's files, user, environment, entrypoint and ports, on a base equal in content to the
 * distroless Node.js image it names (Node.js of that major at /nodejs/bin/node, the C libraries it
 * links from Debian's packages, users, /tmp, CA certificates). Run `npm run build` and
 * package/image/inputs.sh first (`npm run image` does both).
 *
 *   tsx package/image/runtime-image.ts <image.tar> [repository:tag]
 */
import { spawn } from 'node:child_process';
import { chmod, lstat, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix, relative } from 'node:path';
import { RUNTIME_STAGE, type RuntimeStage } from './dockerfile.js';
import { layer, writeImage } from './oci.js';
import {
  BASE_ENV,
  baseEntries,
  debianPackageEntries,
  hostFile,
  hostTree,
  NONROOT,
  unique,
} from './rootfs.js';
import { tar as tarOf, type TarEntry } from './tar.js';

/** The home of the image's unprivileged user (rootfs.ts), where a RUN as that user writes. */
const NONROOT_HOME = 'home/nonroot';

/** Where the distroless Node.js images have node, which the Dockerfile's ENTRYPOINT names. */
export const NODE_PATH = '/nodejs/bin/node';
export const DEFAULT_REFERENCE = 'function-xenvironment-runtime:latest';

export interface RuntimeImageInputs {
  /** package/image/inputs.sh's folder: node/ and debs/. */
  inputs: string;
  /** The repository root, where the build stage's outputs are (dist/bundle). */
  root: string;
}

/** Where a build-stage path (`/src/dist/bundle`) is in this checkout. */
function fromBuildStage(stage: RuntimeStage, path: string, root: string): string {
  const inBuild = relative(stage.buildWorkdir, path);
  if (inBuild.startsWith('..'))
    throw new Error(`COPY from outside the build stage's ${stage.buildWorkdir}: ${path}`);
  return join(root, inBuild);
}

export async function buildRuntimeImage(
  out: string,
  reference: string,
  { inputs, root }: RuntimeImageInputs,
  stage: RuntimeStage = RUNTIME_STAGE,
): Promise<void> {
  const nodeVersion = (await readFile(join(inputs, 'node/VERSION'), 'utf8')).trim();
  if (Number(nodeVersion.split('.')[0]) !== stage.nodeMajor) {
    throw new Error(
      `the image inputs have Node.js ${nodeVersion}; the Dockerfile's base is Node.js ${stage.nodeMajor}`,
    );
  }
  if (stage.entrypoint[0] !== NODE_PATH) {
    throw new Error(`the Dockerfile's ENTRYPOINT must run ${NODE_PATH}, as its base has it`);
  }
  const debs = (await readdir(join(inputs, 'debs'))).filter((f) => f.endsWith('.deb')).sort();
  const libraries = (
    await Promise.all(debs.map((deb) => debianPackageEntries(join(inputs, 'debs', deb))))
  ).flat();
  const node = await hostFile(join(inputs, 'node/bin/node'), NODE_PATH.slice(1));
  const app = [];
  for (const { from, to } of stage.copies) {
    const target = posix.join(stage.workdir, to).slice(1).replace(/\/$/, '');
    app.push(...(await hostTree(fromBuildStage(stage, from, root), target)));
  }
  const tars = [
    tarOf(await baseEntries()),
    tarOf(unique([...libraries, ...node])),
    tarOf(unique(app)),
  ];
  if (stage.runs.length > 0) tars.push(tarOf(await runInImage(stage, tars)));
  const layers = await Promise.all(tars.map((uncompressed) => layer(uncompressed)));
  await writeImage(out, reference, layers, {
    User: stage.user,
    Env: [...BASE_ENV, ...Object.entries(stage.env).map(([key, value]) => `${key}=${value}`)],
    Entrypoint: stage.entrypoint,
    WorkingDir: stage.workdir,
    ExposedPorts: Object.fromEntries(
      stage.exposedPorts.map((port) => [port.includes('/') ? port : `${port}/tcp`, {}]),
    ),
    Labels: {
      'org.opencontainers.image.title': 'function-xenvironment',
      'io.xenvironment.nodejs': nodeVersion,
      'io.xenvironment.debian-packages': debs.join(' '),
    },
  });
}

/**
 * The stage's RUN instructions (each its entrypoint with more arguments, see dockerfile.ts), run as
 * the Dockerfile runs them: in the image's files so far (chroot), as its USER, with its
 * environment, from its WORKDIR. What they write in the user's home is the layer they make
 * (entries, with their owners); anything else they write is not kept. Needs root, as chroot does.
 */
async function runInImage(stage: RuntimeStage, layers: Buffer[]): Promise<TarEntry[]> {
  if (process.getuid?.() !== 0) {
    throw new Error(
      `the Dockerfile RUNs ${stage.runs.length} step(s) as ${stage.user}: this needs root`,
    );
  }
  const [uid, gid] = stage.user.split(':').map(Number) as [number, number];
  if (uid !== NONROOT || gid !== NONROOT)
    throw new Error(`RUN as ${stage.user}: only ${NONROOT}:${NONROOT} is known`);
  const root = await mkdtemp(join(tmpdir(), 'runtime-image-'));
  try {
    // An image's / as any image has it (mkdtemp makes it the owner's alone).
    await chmod(root, 0o755);
    for (const archive of layers)
      await run('tar', ['-x', '-p', '--same-owner', '-C', root], archive);
    const env = [
      ...BASE_ENV,
      ...Object.entries(stage.env).map(([key, value]) => `${key}=${value}`),
    ];
    for (const command of stage.runs) {
      // chroot starts in /: the entrypoint's script, relative to WORKDIR, as the same file.
      const script = stage.entrypoint.length - 1;
      const absolute = command.map((part, i) =>
        i === script && !part.startsWith('/') ? posix.join(stage.workdir, part) : part,
      );
      await run('chroot', [`--userspec=${stage.user}`, root, ...absolute], undefined, env);
    }
    return await treeEntries(join(root, NONROOT_HOME), NONROOT_HOME);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

function run(command: string, args: string[], input?: Buffer, env?: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: [input ? 'pipe' : 'ignore', 'ignore', 'pipe'],
      ...(env ? { env: Object.fromEntries(env.map((pair) => pair.split(/=(.*)/s, 2))) } : {}),
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`${command} ${args.join(' ')}: exit ${code}: ${stderr}`)),
    );
    child.stdin?.end(input);
  });
}

/** A folder of the image being built, at `path`, with each entry's mode and owner. */
async function treeEntries(from: string, path: string): Promise<TarEntry[]> {
  const own = async (source: string) => {
    const stat = await lstat(source);
    return { mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid };
  };
  const entries: TarEntry[] = [{ kind: 'dir', path, ...(await own(from)) }];
  for (const name of (await readdir(from)).sort()) {
    const source = join(from, name);
    const target = posix.join(path, name);
    const stat = await lstat(source);
    if (stat.isDirectory()) entries.push(...(await treeEntries(source, target)));
    else if (stat.isFile()) {
      entries.push({
        kind: 'file',
        path: target,
        content: await readFile(source),
        ...(await own(source)),
      });
    }
  }
  return entries;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [out, reference = DEFAULT_REFERENCE] = process.argv.slice(2);
  if (!out) {
    console.error('usage: runtime-image.ts <image.tar> [repository:tag]');
    process.exit(2);
  }
  buildRuntimeImage(out, reference, { inputs: '.tools/image-inputs', root: '.' }).then(
    () => console.log(`runtime image ${reference} written to ${out}`),
    (error: unknown) => {
      console.error(`runtime-image: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
