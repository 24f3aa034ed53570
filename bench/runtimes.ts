/**
 * The runtimes the function is measured under: the image's Node (the official binary
 * package/image/inputs.sh fetched, as the headline), this machine's Node (Node 20) beside it, and
 * the built runtime image itself, its layers extracted and its entrypoint run in a chroot as its
 * user, with its environment: the image's own files and libraries. And the floors: `node` alone,
 * and `node` with grpc-js answering RunFunction, under the same flags and environment.
 */
import { execFileSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { build } from 'esbuild';
import { RUNTIME_STAGE } from '../package/image/dockerfile.js';
import { buildRuntimeImage } from '../package/image/runtime-image.js';
import { IMAGE_ENV, IMAGE_NODE_FLAGS, unpackImage } from '../test/support/image.js';

/** package/image/inputs.sh's Node, which the image carries (npm run tools fetches it). */
export const IMAGE_NODE = '.tools/image-inputs/node/bin/node';
const BUNDLE = 'dist/bundle/function/main.mjs';
const FLOOR_BUNDLE = 'dist/bench/floor-grpc.mjs';

/** How a runtime runs a Node program: the command before the program's own arguments. */
export interface Runtime {
  /** "Node 24.22.3", "image". */
  label: string;
  version: string;
  /** The function: command and arguments up to (not including) the function's own flags. */
  function: string[];
  /** `node` with `-e <script>`: the floor of node alone. */
  node: (script: string) => string[];
  /** The grpc-js floor server, given `127.0.0.1:<port>`. */
  grpcFloor?: (address: string) => string[];
  /** The whole environment it runs with (nothing of the benchmark's own). */
  env: Record<string, string>;
}

const nodeVersion = (node: string) => execFileSync(node, ['--version']).toString().trim();

/** The image's environment on this machine: its ENV. */
const HOST_ENV: Record<string, string> = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  ...IMAGE_ENV,
};

/** A Node binary running the bundle as the image's entrypoint does. */
function nodeRuntime(node: string): Runtime {
  const version = nodeVersion(node);
  const env = HOST_ENV;
  return {
    label: `Node ${version.slice(1)}`,
    version,
    function: [node, ...IMAGE_NODE_FLAGS, BUNDLE],
    node: (script) => [node, ...IMAGE_NODE_FLAGS, '-e', script],
    grpcFloor: (address) => [node, ...IMAGE_NODE_FLAGS, FLOOR_BUNDLE, address],
    env,
  };
}

/**
 * The runtime image (package/image/runtime-image.ts, from the Dockerfile's recipe), its layers
 * extracted into `dir`; its entrypoint is run there in a chroot, as its user, with its Env only.
 * Undefined where this is not root (chroot needs it).
 */
async function imageRuntime(dir: string): Promise<Runtime | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const tarball = join(dir, 'runtime.tar');
  await buildRuntimeImage(tarball, 'function-xenvironment-runtime:bench', {
    inputs: '.tools/image-inputs',
    root: '.',
  });
  const root = join(dir, 'image-root');
  await rm(root, { recursive: true, force: true });
  const image = await unpackImage(tarball, root);
  const { User, WorkingDir = '/', Entrypoint = [], Env = [] } = image.config;
  // chroot starts in /: the entrypoint's script, relative to the working directory, as the same file.
  const entrypoint = Entrypoint.map((part, i) =>
    i === Entrypoint.length - 1 && !part.startsWith('/') ? posix.join(WorkingDir, part) : part,
  );
  const chroot = ['chroot', `--userspec=${User ?? '0:0'}`, root];
  const nodeInImage = entrypoint[0]!;
  return {
    label: 'image',
    version: execFileSync('chroot', [root, nodeInImage, '--version']).toString().trim(),
    function: [...chroot, ...entrypoint],
    node: (script) => [...chroot, nodeInImage, ...entrypoint.slice(1, -1), '-e', script],
    env: Object.fromEntries(Env.map((pair) => pair.split(/=(.*)/s, 2) as [string, string])),
  };
}

/** The grpc-js floor server, bundled as the function is. */
async function buildFloor(): Promise<void> {
  await build({
    entryPoints: ['bench/floor/grpc-server.ts'],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: FLOOR_BUNDLE,
    logLevel: 'warning',
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
  });
}

/** Node 24 (the image's), this machine's Node, and the image where it can run. */
export async function runtimes(dir: string, log: (line: string) => void): Promise<Runtime[]> {
  await buildFloor();
  const found = [nodeRuntime(IMAGE_NODE), nodeRuntime(process.execPath)];
  const image = await imageRuntime(dir);
  if (image) found.push(image);
  else log('the image runs in a chroot, which needs root: left out');
  const [headline] = found;
  if (Number(headline!.version.slice(1).split('.')[0]) !== RUNTIME_STAGE.nodeMajor) {
    throw new Error(`${IMAGE_NODE} is ${headline!.version}, not the image's Node`);
  }
  log(`runtimes: ${found.map((r) => `${r.label} (${r.version})`).join(', ')}`);
  return found;
}
