/**
 * What the function works on once its input is read: the model every layer above shares. Types
 * only, importing nothing of the function, so that it sits below everything.
 */
import type { JsonObject } from '../../common/objects.js';

export interface Chart {
  repository: string;
  name: string;
  version: string;
}

/** The XR an environment is rendered for; namespace is set only for Crossplane v2 namespaced XRs. */
export interface CompositeRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'Job';

/** A workload in the environment's cluster that must serve before its tool counts as Ready. */
export interface ReadinessCheck {
  apiVersion: string;
  kind: WorkloadKind;
  namespace: string;
  name: string;
}

export interface RequestedTool {
  name: string;
  chart: Chart;
  namespace: string;
  catalogValues: JsonObject;
  /** The claim's values, merged over the catalogue's. */
  values: JsonObject;
  dependsOn: string[];
  /** How long Helm waits for the release's resources to be ready, as provider-helm reads it. */
  waitTimeout: string;
  readiness: ReadinessCheck[];
}

/** A claim as read and checked against the catalogue: everything composing needs, and valid. */
export interface Environment {
  composite: CompositeRef;
  backend: string;
  kubernetesVersion?: string;
  clusterValues: JsonObject;
  /** In the order the claim lists them. */
  tools: RequestedTool[];
  /**
   * `metadata.creationTimestamp` + `spec.ttl` (or the catalogue's default), RFC 3339 to the second
   * as Kubernetes writes times.
   */
  expiresAt?: string;
}

/**
 * Where and with which API versions composed resources go. Legacy (cluster-scoped) XRs compose
 * cluster-scoped managed resources; Crossplane v2 namespaced XRs may only compose namespaced ones,
 * which providers serve under their `.m.` API groups.
 */
export interface Placement {
  namespaced: boolean;
  /** Set on every composed resource of a namespaced XR. */
  namespace?: string;
  helmApiVersion: string;
  kubernetesApiVersion: string;
  kubernetesObjectApiVersion: string;
  usageApiVersion: string;
  /** The Secret the cluster backend writes the kubeconfig to, and provider configs read. */
  kubeconfigSecret: { name: string; namespace: string; key: string };
  /**
   * The name of whatever this environment has in `role` (and `parts`): derived from the XR's
   * namespace and name, so it is unique per XR, role and parts, in whatever scope it lands.
   */
  name(role: string, ...parts: string[]): string;
}
