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

/**
 * A provider's CRD as Crossplane's package manager installs it: a conversion webhook pointed at the
 * provider's Service (named after the package, as a dependency is). The API server calls it only to
 * convert between versions, which fails while the provider does not run, as it would in a cluster.
 */
function asInstalledBy(provider: string, crd: Obj): Obj {
  const conversion = (crd.spec as { conversion?: { strategy: string; webhook?: Obj } }).conversion;
  if (conversion?.strategy !== 'Webhook') return crd;
  const clientConfig = (conversion.webhook?.clientConfig ?? {}) as { service?: Obj };
  clientConfig.service = {
    ...clientConfig.service,
    name: provider,
    namespace: 'crossplane-system',
    port: 9443,
  };
  conversion.webhook = { ...conversion.webhook, clientConfig };
  return crd;
}

/** What a cluster with both providers installed serves for the resources the function composes. */
export async function composedResourceCrds(): Promise<Obj[]> {
  return [
    ...(await readCrds(CRD_DIRS.providerHelm)).map((crd) =>
      asInstalledBy('crossplane-contrib-provider-helm', crd),
    ),
    ...(await readCrds(CRD_DIRS.providerKubernetes)).map((crd) =>
      asInstalledBy('crossplane-contrib-provider-kubernetes', crd),
    ),
    ...(await readCrds(CRD_DIRS.crossplane, (file) => file.endsWith('usages.yaml'))),
  ];
}
