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
    const { composite } = this;
    let node = NAMES.at(composite.namespace ?? '')
      .at(composite.name)
      .at(role);
    for (const part of parts) node = node.at(part);
    // A separate branch for the name itself: a part may be any string, the empty one included.
    const leaf = node.at('');
    leaf.name ??= derivedName([role, composite.namespace ?? '', composite.name, ...parts]);
    return leaf.name;
  }
}

/**
 * The names derived lately, by XR namespace, XR name, role and parts, one level each. Every call
 * for an XR asks for the same few hundred names, whose parts are mostly the very strings decoded
 * from the request the time before: finding a name this way builds nothing, where a key of the
 * parts joined would be built and hashed for each (figures: docs/performance.md). Bounded, and
 * forgotten all at once, as derivedName's own.
 */
class NameNode {
  name: string | undefined = undefined;
  private children: Map<string, NameNode> | undefined = undefined;

  at(part: string): NameNode {
    this.children ??= new Map();
    let child = this.children.get(part);
    if (child === undefined) {
      if (++nodes > MAX_NODES) forgetNames();
      child = new NameNode();
      this.children.set(part, child);
    }
    return child;
  }
}

const MAX_NODES = 16_384;
let nodes = 0;
let NAMES = new NameNode();

function forgetNames(): void {
  NAMES = new NameNode();
  nodes = 0;
}
