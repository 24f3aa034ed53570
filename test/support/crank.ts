/**
 * The real Crossplane CLI (crank, built by test/tools/install.sh), run the way examples/render.sh
 * and docs/catalogue.md run it: render against a function already serving, validate offline
 * against the real CRDs.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

const CRANK = '.tools/bin/crank';
// What `--cache-dir` holds for the Crossplane image below: its CRDs, copied from its Go module.
const VALIDATE_CACHE = '.tools/validate-cache';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function crankPath(): string {
  if (!existsSync(CRANK)) throw new Error(`${CRANK} is missing: run npm run tools (npm test does)`);
  return CRANK;
}

/** The Crossplane image whose CRDs validate Crossplane's own kinds: the version crank was built at. */
export function crossplaneImage(): string {
  const version = readFileSync(`${crankPath()}.version`, 'utf8').trim();
  return `xpkg.crossplane.io/crossplane/crossplane:${version}`;
}

export function crank(args: string[], stdin?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      crankPath(),
      args,
      { maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        if (error && code === -1) reject(error);
        else resolve({ code, stdout, stderr });
      },
    );
    child.stdin!.end(stdin ?? '');
  });
}

/** examples/functions.yaml, pointed at the function serving at `address`; returns its path. */
export async function functionsFile(address: string): Promise<string> {
  const fn = parse(await readFile('examples/functions.yaml', 'utf8')) as {
    metadata: { annotations: Record<string, string> };
  };
  fn.metadata.annotations['render.crossplane.io/runtime-development-target'] = address;
  const path = join(await mkdtemp(join(tmpdir(), 'xenv-render-')), 'functions.yaml');
  await writeFile(path, stringify(fn));
  return path;
}

export interface RenderInput {
  xr: string;
  composition: string;
  xrd: string;
  observed?: string;
}

/**
 * `crossplane render` with the XRD's defaults applied, the function's results and the full XR in
 * the output, so that the output validates as a whole.
 */
export function render(input: RenderInput, functions: string): Promise<Run> {
  return crank([
    'render',
    input.xr,
    input.composition,
    functions,
    `--xrd=${input.xrd}`,
    '--include-function-results',
    '--include-full-xr',
    ...(input.observed ? [`--observed-resources=${input.observed}`] : []),
  ]);
}

/**
 * `crossplane beta validate` of resources against the given XRDs and CRD folders, and Crossplane's
 * own CRDs; a resource without a schema fails too.
 */
export function validate(extensions: string[], resources: Record<string, unknown>[]): Promise<Run> {
  return crank(
    [
      'beta',
      'validate',
      // crank does not follow a symlinked folder (.tools/crds/<name> are).
      extensions.map((path) => realpathSync(path)).join(','),
      '-',
      `--cache-dir=${realpathSync(VALIDATE_CACHE)}`,
      `--crossplane-image=${crossplaneImage()}`,
      '--error-on-missing-schemas',
      '--skip-success-results',
    ],
    resources.map((resource) => `---\n${stringify(resource)}`).join(''),
  );
}

/** What `validate` prints when all of `count` resources are valid. */
export const allValid = (count: number) =>
  `Total ${count} resources: 0 missing schemas, ${count} success cases, 0 failure cases`;
