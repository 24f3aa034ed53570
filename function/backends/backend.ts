import type { JsonObject } from '../../common/objects.js';
import type { Environment, Placement } from '../input/model.js';

/** What a backend renders for one environment. */
export interface ClusterRendering {
  /** The composed resource that brings the cluster up; it must write the kubeconfig Secret. */
  resource: JsonObject;
  /** The API server URL as reached from the host cluster. */
  endpoint: string;
  /** The Kubernetes minor version the cluster runs, when the backend knows it. */
  kubernetesVersion?: string;
  /**
   * A composed resource the cluster needs first, such as its host namespace: `resource` is
   * composed only once this is observed Ready, and this is deleted only after `resource`.
   */
  prerequisite?: { key: string; description: string; resource: JsonObject };
}

/**
 * A way to get a Kubernetes cluster. A backend parses its own catalogue settings (errors name
 * fields under `field`; `allowedValues` there is the catalogue's, read before), checks a claim
 * against them (errors name the claim's field) and renders one composed resource that writes the
 * kubeconfig to `placement.kubeconfigSecret`, and perhaps a prerequisite of it. Every check is in
 * the first two: `render` gets only environments that passed `validate`, and cannot fail.
 */
export interface ClusterBackend<Settings = unknown> {
  parseSettings(raw: unknown, field: string): Settings;
  validate(environment: Environment, settings: Settings): void;
  render(environment: Environment, settings: Settings, placement: Placement): ClusterRendering;
}

/**
 * Cluster backends by the name used in `spec.cluster.backend` and the catalogue's `cluster`.
 * Adding a backend is one file plus an entry in the registry `index.ts` makes.
 */
export type BackendRegistry = ReadonlyMap<string, ClusterBackend>;

/** `(known: a, b)`: the backends of `registry`, for a message about one it does not have. */
export function knownBackends(registry: BackendRegistry): string {
  return `(known: ${[...registry.keys()].join(', ')})`;
}
