import type { Observation } from '../../bridge/announce/transitions.js';
import { COMPOSITE_LABEL, COMPOSITION_RESOURCE_NAME_ANNOTATION } from '../../common/contract.js';

/** What the bridge's tests observe of an environment, and the XR it observes it in. */

export const ENVIRONMENT_UID = '5f0c9a4e-2d7b-4c1e-9a63-0b8f1e2d3c4a';
export const CLUSTER_ENDPOINT = 'https://vcluster.vcluster-dev.svc:443';

/** The claim team-a/dev with cert-manager and argo-cd requested, nothing ready yet. */
export function observation(overrides: Partial<Observation> = {}): Observation {
  return {
    uid: ENVIRONMENT_UID,
    id: 'team-a/dev',
    deleting: false,
    gone: false,
    cluster: { ready: false, endpoint: CLUSTER_ENDPOINT },
    tools: [
      { name: 'cert-manager', version: 'v1.19.1', ready: false },
      { name: 'argo-cd', version: '9.1.0', ready: false },
    ],
    ...overrides,
  };
}

/**
 * A provider-helm Release as Crossplane composes it for the XR `xr` under `key` (its name, label
 * and annotation), for tests and benchmarks that write XRs and their Releases in Crossplane's place.
 */
export function composedRelease(xr: string, key: string, version: string) {
  return {
    apiVersion: 'helm.crossplane.io/v1beta1',
    kind: 'Release',
    metadata: {
      name: `${xr}-${key}`,
      labels: { [COMPOSITE_LABEL]: xr },
      annotations: { [COMPOSITION_RESOURCE_NAME_ANNOTATION]: key },
    },
    spec: {
      forProvider: {
        chart: { name: key, repository: 'https://charts.example.org', version },
        namespace: 'default',
      },
    },
  };
}

/**
 * The status the function writes on the XR `xr` once its cluster is up and every tool in `tools`
 * is ready, for tests and benchmarks in which the Releases' own conditions are what varies.
 */
export function readyEnvironmentStatus(xr: string, tools: { name: string; version: string }[]) {
  return {
    cluster: { endpoint: `https://vcluster.vcluster-${xr}.svc:443` },
    tools: tools.map((tool) => ({ ...tool, ready: true })),
  };
}
