import type { CompositeRef, Placement } from '../input/model.js';
import { derivedName } from './names.js';

export const KUBECONFIG_KEY = 'kubeconfig';

export function placementFor(
  composite: CompositeRef,
  connectionSecretNamespace: string,
): Placement {
  return new XrPlacement(composite, connectionSecretNamespace);
}

/** A class, so that `name` is one function for every request (see ComposeRun in compose/compose.ts). */
class XrPlacement implements Placement {
  readonly namespaced: boolean;
  readonly namespace?: string;
  readonly helmApiVersion: string;
  readonly kubernetesApiVersion: string;
  readonly kubernetesObjectApiVersion: string;
  readonly usageApiVersion: string;
  readonly kubeconfigSecret: { name: string; namespace: string; key: string };

  constructor(
    private readonly composite: CompositeRef,
    connectionSecretNamespace: string,
  ) {
    this.kubeconfigSecret = {
      name: this.name('kubeconfig'),
      namespace: composite.namespace ?? connectionSecretNamespace,
      key: KUBECONFIG_KEY,
    };
    this.namespaced = composite.namespace !== undefined && composite.namespace !== '';
    if (this.namespaced) {
      this.namespace = composite.namespace;
      this.helmApiVersion = 'helm.m.crossplane.io/v1beta1';
      this.kubernetesApiVersion = 'kubernetes.m.crossplane.io/v1alpha1';
      this.kubernetesObjectApiVersion = 'kubernetes.m.crossplane.io/v1alpha1';
      this.usageApiVersion = 'protection.crossplane.io/v1beta1';
    } else {
      this.helmApiVersion = 'helm.crossplane.io/v1beta1';
      this.kubernetesApiVersion = 'kubernetes.crossplane.io/v1alpha1';
      this.kubernetesObjectApiVersion = 'kubernetes.crossplane.io/v1alpha2';
      this.usageApiVersion = 'apiextensions.crossplane.io/v1beta1';
    }
  }

  name(role: string, ...parts: string[]): string {
    return derivedName([role, this.composite.namespace ?? '', this.composite.name, ...parts]);
  }
}
