/**
 * The real CRDs test/tools/install.sh fetches from their Go modules (pinned versions there):
 * Crossplane's own, provider-helm's and provider-kubernetes'.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readYamlDocuments } from './manifests.js';

type Obj = Record<string, unknown>;

export const CRD_DIRS = {
  crossplane: '.tools/crds/crossplane',
  providerHelm: '.tools/crds/provider-helm',
  providerKubernetes: '.tools/crds/provider-kubernetes',
} as const;

/** The CRDs in one of CRD_DIRS whose file names pass the filter. Missing fails, never skips. */
export async function readCrds(dir: string, filter: (file: string) => boolean = () => true) {
  if (!existsSync(dir)) throw new Error(`${dir} is missing: run npm run tools (npm test does)`);
  const files = (await readdir(dir)).filter((file) => file.endsWith('.yaml') && filter(file));
  const crds: Obj[] = [];
  for (const file of files.sort()) crds.push(...(await readYamlDocuments(join(dir, file))));
  return crds;
}
