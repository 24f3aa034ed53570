import type { CompositeRef } from './environment.js';
import { boundedName } from './names.js';

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
  usageApiVersion: string;
  /** The Secret the cluster backend writes the kubeconfig to, and provider configs read. */
  kubeconfigSecret: { name: string; namespace: string; key: string };
  /** Prefix of composed resource names, unique per XR. */
  prefix: string;
}

export const KUBECONFIG_KEY = 'kubeconfig';

export function placementFor(
  composite: CompositeRef,
  connectionSecretNamespace: string,
): Placement {
  const kubeconfigName = boundedName([composite.name, 'kubeconfig']);
  if (composite.namespace) {
    return {
      namespaced: true,
      namespace: composite.namespace,
      helmApiVersion: 'helm.m.crossplane.io/v1beta1',
      kubernetesApiVersion: 'kubernetes.m.crossplane.io/v1alpha1',
      usageApiVersion: 'protection.crossplane.io/v1beta1',
      kubeconfigSecret: {
        name: kubeconfigName,
        namespace: composite.namespace,
        key: KUBECONFIG_KEY,
      },
      prefix: composite.name,
    };
  }
  return {
    namespaced: false,
    helmApiVersion: 'helm.crossplane.io/v1beta1',
    kubernetesApiVersion: 'kubernetes.crossplane.io/v1alpha1',
    usageApiVersion: 'apiextensions.crossplane.io/v1beta1',
    kubeconfigSecret: {
      name: kubeconfigName,
      namespace: connectionSecretNamespace,
      key: KUBECONFIG_KEY,
    },
    prefix: composite.name,
  };
}
