import type { JsonObject } from '../field-error.js';
import type { Environment } from '../environment.js';
import type { Placement } from '../placement.js';

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
 * A way to get a Kubernetes cluster. A backend validates its own catalogue settings (errors name
 * fields under `field`; `allowedValues` there is the catalogue's, read before) and renders one
 * composed resource that writes the kubeconfig to `placement.kubeconfigSecret`, and perhaps a
 * prerequisite of it. Adding a backend is one file plus an entry in `index.ts`.
 */
export interface ClusterBackend<Settings = unknown> {
  parseSettings(raw: unknown, field: string): Settings;
  render(environment: Environment, settings: Settings, placement: Placement): ClusterRendering;
}
