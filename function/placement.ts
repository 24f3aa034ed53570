import type { CompositeRef } from './model.js';
import { derivedName } from './names.js';

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

export const KUBECONFIG_KEY = 'kubeconfig';

export function placementFor(
  composite: CompositeRef,
  connectionSecretNamespace: string,
): Placement {
  const name = (role: string, ...parts: string[]) =>
    derivedName([role, composite.namespace ?? '', composite.name, ...parts]);
  const kubeconfigSecret = {
    name: name('kubeconfig'),
    namespace: composite.namespace ?? connectionSecretNamespace,
    key: KUBECONFIG_KEY,
  };
  if (composite.namespace) {
    return {
      namespaced: true,
      namespace: composite.namespace,
      helmApiVersion: 'helm.m.crossplane.io/v1beta1',
      kubernetesApiVersion: 'kubernetes.m.crossplane.io/v1alpha1',
      kubernetesObjectApiVersion: 'kubernetes.m.crossplane.io/v1alpha1',
      usageApiVersion: 'protection.crossplane.io/v1beta1',
      kubeconfigSecret,
      name,
    };
  }
  return {
    namespaced: false,
    helmApiVersion: 'helm.crossplane.io/v1beta1',
    kubernetesApiVersion: 'kubernetes.crossplane.io/v1alpha1',
    kubernetesObjectApiVersion: 'kubernetes.crossplane.io/v1alpha2',
    usageApiVersion: 'apiextensions.crossplane.io/v1beta1',
    kubeconfigSecret,
    name,
  };
}
