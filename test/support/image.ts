import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

const DOCKERFILE = readFileSync('Dockerfile', 'utf8');

/**
 * The V8 flags the image's entrypoint gives node, read from the Dockerfile so that tests and
 * benchmarks run the function as the image does.
 */
export const IMAGE_NODE_FLAGS: readonly string[] = entrypointNodeFlags(DOCKERFILE);

/** The environment the image sets (its ENV lines), which both its entrypoints run with. */
export const IMAGE_ENV: Readonly<Record<string, string>> = imageEnv(DOCKERFILE);

/** The flags the shipped sidecar's command gives node: the bridge as it runs beside the function. */
export const BRIDGE_NODE_FLAGS: readonly string[] = bridgeNodeFlags(
  readFileSync('examples/bridge/deploymentruntimeconfig.yaml', 'utf8'),
);

function entrypointNodeFlags(dockerfile: string): string[] {
  const line = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1];
  if (!line) throw new Error('the Dockerfile has no ENTRYPOINT in exec form');
  const flags = nodeFlags(JSON.parse(line) as string[], "the Dockerfile's ENTRYPOINT");
  if (flags.length === 0) {
    throw new Error(`the Dockerfile's ENTRYPOINT gives node no flags: ${line}`);
  }
  return flags;
}

/** `ENV KEY=value ...` lines of the final stage; values without quotes or spaces. */
function imageEnv(dockerfile: string): Record<string, string> {
  const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  const env: Record<string, string> = {};
  for (const [, pairs] of finalStage.matchAll(/^ENV (.+)$/gm)) {
    for (const pair of pairs!.trim().split(/\s+/)) {
      const match = /^([A-Za-z_][A-Za-z0-9_]*)=([^"'\s]*)$/.exec(pair);
      if (!match) throw new Error(`the Dockerfile's ENV has a form this does not read: ${pair}`);
      env[match[1]!] = match[2]!;
    }
  }
  return env;
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

/** The flags of `[node, ...flags, script]`. */
function nodeFlags(command: string[], what: string): string[] {
  const flags = command.slice(1, -1);
  if (flags.some((flag) => !flag.startsWith('--'))) {
    throw new Error(`${what} is not node, flags, script: ${JSON.stringify(command)}`);
  }
  return flags;
}
