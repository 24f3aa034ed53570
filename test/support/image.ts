import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { parse } from 'yaml';
import { nodeFlags, RUNTIME_STAGE } from '../../package/image/dockerfile.js';
import { readImage, type ImageFile } from '../../package/image/oci.js';

/**
 * The V8 flags the image's entrypoint gives node, read from the Dockerfile so that tests and
 * benchmarks run the function as the image does.
 */
export const IMAGE_NODE_FLAGS: readonly string[] = entrypointNodeFlags(RUNTIME_STAGE.entrypoint);

/** The environment the image sets (its ENV lines), which both its entrypoints run with. */
export const IMAGE_ENV: Readonly<Record<string, string>> = RUNTIME_STAGE.env;

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

/**
 * The image in `tarball` unpacked into `root` (made here, as an image's / is: 0755), its layers
 * in order with their owners and modes, as a runtime would lay them out. Returns its config.
 */
export async function unpackImage(tarball: string, root: string): Promise<ImageFile> {
  await mkdir(root, { mode: 0o755 });
  const { image, layers } = await readImage(tarball);
  for (const layer of layers) {
    execFileSync('tar', ['-xzpf', '-', '--same-owner', '-C', root], { input: layer });
  }
  return image;
}
