/**
 * The function's runtime image, built without Docker from the Dockerfile's own recipe: its runtime
 * stage's files, user, environment, entrypoint and ports, on a base equal in content to the
 * distroless Node.js image it names (Node.js of that major at /nodejs/bin/node, the C libraries it
 * links from Debian's packages, users, /tmp, CA certificates). Run `npm run build` and
 * package/image/inputs.sh first (`npm run image` does both).
 *
 *   tsx package/image/runtime-image.ts <image.tar> [repository:tag]
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, posix, relative } from 'node:path';
import { RUNTIME_STAGE, type RuntimeStage } from './dockerfile.js';
import { layer, writeImage } from './oci.js';
import {
  BASE_ENV,
  baseEntries,
  debianPackageEntries,
  hostFile,
  hostTree,
  unique,
} from './rootfs.js';
import { tar as tarOf } from './tar.js';

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
  const layers = await Promise.all([
    layer(tarOf(await baseEntries())),
    layer(tarOf(unique([...libraries, ...node]))),
    layer(tarOf(unique(app))),
  ]);
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
