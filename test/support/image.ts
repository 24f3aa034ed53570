import { readFileSync } from 'node:fs';

/**
 * The V8 flags the image's entrypoint gives node, read from the Dockerfile so that tests and
 * benchmarks run the function as the image does.
 */
export const IMAGE_NODE_FLAGS: readonly string[] = entrypointNodeFlags(
  readFileSync('Dockerfile', 'utf8'),
);

function entrypointNodeFlags(dockerfile: string): string[] {
  const line = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1];
  if (!line) throw new Error('the Dockerfile has no ENTRYPOINT in exec form');
  const flags = (JSON.parse(line) as string[]).slice(1, -1);
  if (flags.length === 0 || flags.some((flag) => !flag.startsWith('--'))) {
    throw new Error(`the Dockerfile's ENTRYPOINT is not node, flags, script: ${line}`);
  }
  return flags;
}
