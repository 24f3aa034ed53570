import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { nodeFlags, RUNTIME_STAGE } from '../../package/image/dockerfile.js';

/**
 * The V8 flags the image's entrypoint gives node, read from the Dockerfile so that tests and
 * benchmarks run the function as the image does.
 */
export const IMAGE_NODE_FLAGS: readonly string[] = entrypointNodeFlags(RUNTIME_STAGE.entrypoint);

/** Where the image keeps V8's compile cache (NODE_COMPILE_CACHE and how it is keyed). */
const COMPILE_CACHE = new Set(['NODE_COMPILE_CACHE', 'NODE_COMPILE_CACHE_PORTABLE']);

/**
 * The environment the image sets (its ENV lines), which both its entrypoints run with, but for
 * the compile cache: the image's is in its user's home, which a run on this machine must not
 * write to (a benchmark gives its own, COMPILE_CACHE_ENV).
 */
export const IMAGE_ENV: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(RUNTIME_STAGE.env).filter(([name]) => !COMPILE_CACHE.has(name)),
);

/** The image's compile cache settings, with the cache in `directory`. */
export function compileCacheEnv(directory: string): Record<string, string> {
  const env = Object.fromEntries(
    Object.entries(RUNTIME_STAGE.env).filter(([name]) => COMPILE_CACHE.has(name)),
  );
  if (env.NODE_COMPILE_CACHE !== undefined) env.NODE_COMPILE_CACHE = directory;
  return env;
}

/** The flags the shipped sidecar's command gives node: the bridge as it runs beside the function. */
export const BRIDGE_NODE_FLAGS: readonly string[] = bridgeNodeFlags(
  readFileSync('examples/bridge/deploymentruntimeconfig.yaml', 'utf8'),
);

function entrypointNodeFlags(entrypoint: readonly string[]): string[] {
  const flags = nodeFlags(entrypoint, "the Dockerfile's ENTRYPOINT");
  if (flags.length === 0) {
    throw new Error(
      `the Dockerfile's ENTRYPOINT gives node no flags: ${JSON.stringify(entrypoint)}`,
    );
  }
  return flags;
}

function bridgeNodeFlags(runtimeConfig: string): string[] {
  type Container = { name: string; command?: string[] };
  const { containers } = (
    parse(runtimeConfig) as {
      spec: { deploymentTemplate: { spec: { template: { spec: { containers: Container[] } } } } };
    }
  ).spec.deploymentTemplate.spec.template.spec;
  const command = containers.find((container) => container.name === 'bridge')?.command;
  if (!command) throw new Error('the DeploymentRuntimeConfig has no bridge container command');
  return nodeFlags(command, "the bridge container's command");
}
