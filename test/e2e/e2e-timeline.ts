/**
 * What the e2e watches while Crossplane and the providers work: every composed resource of one XR
 * by its composition key, with when it was first seen, first Ready and gone, and the host
 * namespace itself (as `namespace`). Polled (every 200 ms), so that the order of things can be asserted afterwards
 * whatever the order of the steps that caused them.
 */
import {
  COMPOSITE_LABEL,
  COMPOSITION_RESOURCE_NAME_ANNOTATION as RESOURCE_NAME,
} from '../../common/contract.js';
import { conditionStatus, type Kube, type Resource } from '../support/kube.js';

export interface Moments {
  seen?: number;
  ready?: number;
  gone?: number;
  /** Keys Ready when this one was first seen. */
  readyBefore?: string[];
}

export interface ComposedKinds {
  release: string;
  object: string;
  usage: string;
}

export const V1_KINDS: ComposedKinds = {
  release: 'helm.crossplane.io/v1beta1',
  object: 'kubernetes.crossplane.io/v1alpha2',
  usage: 'apiextensions.crossplane.io/v1beta1',
};

export const V2_KINDS: ComposedKinds = {
  release: 'helm.m.crossplane.io/v1beta1',
  object: 'kubernetes.m.crossplane.io/v1alpha1',
  usage: 'protection.crossplane.io/v1beta1',
};

export class Timeline {
  readonly moments = new Map<string, Moments>();
  /** The latest of each composed resource by key. */
  readonly current = new Map<string, Resource>();
  private timer: NodeJS.Timeout | undefined;
  /** The host namespace, once the Object has named it. */
  namespace: string | undefined;
  private polling: Promise<void> | undefined;

  constructor(
    private readonly kube: Kube,
    private readonly kinds: ComposedKinds,
    private readonly composite: () => string | undefined,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.polling ??= this.poll()
        .catch(() => undefined)
        .finally(() => (this.polling = undefined));
    }, 200);
  }

  /** A poll that starts now, so that everything that happened before is recorded. */
  async refresh(): Promise<void> {
    await this.polling;
    this.polling = this.poll().finally(() => (this.polling = undefined));
    await this.polling;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.polling;
  }

  at(key: string): Moments {
    let moments = this.moments.get(key);
    if (!moments) this.moments.set(key, (moments = {}));
    return moments;
  }

  /** The keys present now whose resource is a Release. */
  releases(): string[] {
    return [...this.current]
      .filter(([, r]) => r.kind === 'Release')
      .map(([key]) => key)
      .sort();
  }

  /** The Releases and Objects composed for the XR that exist now, and `namespace` if it does. */
  async present(): Promise<string[]> {
    const selector = { labelSelector: `${COMPOSITE_LABEL}=${this.composite()}` };
    const found = [
      ...(await this.kube.list(this.kinds.release, 'Release', selector)),
      ...(await this.kube.list(this.kinds.object, 'Object', selector)),
    ].map((r) => r.metadata!.annotations![RESOURCE_NAME]!);
    const namespace = this.namespace && (await this.kube.read('v1', 'Namespace', this.namespace));
    return [...found, ...(namespace ? ['namespace'] : [])].sort();
  }

  private async poll(): Promise<void> {
    const xr = this.composite();
    if (!xr) return;
    const now = Date.now();
    const selector = { labelSelector: `${COMPOSITE_LABEL}=${xr}` };
    const found = (
      await Promise.all([
        this.kube.list(this.kinds.release, 'Release', selector),
        this.kube.list(this.kinds.object, 'Object', selector),
        this.kube.list(this.kinds.usage, 'Usage', selector),
      ])
    ).flat();
    const present = new Set<string>();
    const readyNow = found
      .filter((r) => conditionStatus(r, 'Ready') === 'True')
      .map((r) => r.metadata?.annotations?.[RESOURCE_NAME]);
    for (const resource of found) {
      const key = resource.metadata?.annotations?.[RESOURCE_NAME];
      if (!key) continue;
      present.add(key);
      this.current.set(key, resource);
      const moments = this.at(key);
      if (moments.seen === undefined) {
        moments.seen = now;
        moments.readyBefore = readyNow.filter((k): k is string => k !== undefined && k !== key);
      }
      if (moments.ready === undefined && conditionStatus(resource, 'Ready') === 'True') {
        moments.ready = now;
      }
    }
    for (const [key, moments] of this.moments) {
      if (key === 'namespace') continue;
      if (moments.seen !== undefined && moments.gone === undefined && !present.has(key)) {
        moments.gone = now;
        this.current.delete(key);
      }
    }
    const object = this.current.get('host-namespace');
    const spec = object?.spec as { forProvider?: { manifest?: { metadata?: { name?: string } } } };
    this.namespace ??= spec?.forProvider?.manifest?.metadata?.name;
    if (this.namespace) {
      const moments = this.at('namespace');
      const exists = (await this.kube.read('v1', 'Namespace', this.namespace)) !== undefined;
      if (exists) moments.seen ??= now;
      else if (moments.seen !== undefined) moments.gone ??= now;
    }
  }
}
