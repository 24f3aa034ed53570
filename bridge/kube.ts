import {
  CustomObjectsApi,
  makeInformer,
  type Informer,
  type KubeConfig,
  type KubernetesObject,
  type ObjectCache,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { JsonObject } from '../common/objects.js';
import { FINALIZER, RECORD_ANNOTATION } from './observe.js';
import type { FinalizerChange, Store } from './reconciler.js';
import type { Recorded } from './transitions.js';
import { ApiClient } from './api.js';

/** A resource to watch, as group/version/plural. */
export interface ResourceType {
  group: string;
  version: string;
  plural: string;
}

export function parseResourceType(text: string): ResourceType {
  const [group, version, plural, ...rest] = text.split('/');
  if (!group || !version || !plural || rest.length > 0) {
    throw new Error(`${JSON.stringify(text)} is not group/version/plural`);
  }
  return { group, version, plural };
}

type Watched = Informer<KubernetesObject> & ObjectCache<KubernetesObject>;
const COMPOSITE_LABEL = 'crossplane.io/composite';
const RESTART_DELAY_MS = 2_000;

/**
 * XRs and their composed resources from informers (list + watch; the client relists after a 410
 * Gone, and a failed informer is restarted here), and the record written back onto the XR.
 */
export class KubeStore implements Store {
  private readonly composites: Watched[];
  private readonly composedInformers: Watched[];
  private readonly api: ApiClient;
  private readonly synced = new Set<Watched>();
  private readonly byComposite = new Map<string, Map<string, KubernetesObject>>();
  private stopped = false;

  constructor(
    kubeConfig: KubeConfig,
    private readonly compositeTypes: ResourceType[],
    composedTypes: ResourceType[],
    private readonly changed: (key: string) => void,
    private readonly logger: Logger,
  ) {
    const api = kubeConfig.makeApiClient(CustomObjectsApi);
    const informer = (type: ResourceType, labelSelector?: string) =>
      makeInformer<KubernetesObject>(
        kubeConfig,
        `/apis/${type.group}/${type.version}/${type.plural}`,
        () =>
          api.listClusterCustomObject({
            ...type,
            ...(labelSelector ? { labelSelector } : {}),
          }) as never,
        labelSelector,
      );
    this.composites = compositeTypes.map((type) => informer(type));
    this.composedInformers = composedTypes.map((type) => informer(type, COMPOSITE_LABEL));
    this.api = new ApiClient(kubeConfig);

    this.composites.forEach((inf, index) => {
      const enqueue = (obj: KubernetesObject) =>
        this.changed(keyOf(index, obj.metadata?.namespace, obj.metadata?.name ?? ''));
      inf.on('add', enqueue);
      inf.on('update', enqueue);
      inf.on('delete', enqueue);
    });
    for (const inf of this.composedInformers) {
      const changed = (obj: KubernetesObject, removed: boolean) => {
        this.index(obj, removed);
        this.compositesOf(obj).forEach(this.changed);
      };
      inf.on('add', (obj) => changed(obj, false));
      inf.on('update', (obj) => changed(obj, false));
      inf.on('delete', (obj) => changed(obj, true));
    }
    for (const inf of [...this.composites, ...this.composedInformers]) {
      inf.on('error', (error: unknown) => {
        this.synced.delete(inf);
        if (this.stopped) return;
        this.logger.warn({ err: String(error) }, 'watch failed; restarting');
        setTimeout(() => void this.startInformer(inf), RESTART_DELAY_MS);
      });
    }
  }

  private async startInformer(inf: Watched): Promise<void> {
    if (this.stopped) return;
    try {
      await inf.start();
      this.synced.add(inf);
    } catch (error) {
      this.logger.warn({ err: String(error) }, 'list failed; retrying');
      setTimeout(() => void this.startInformer(inf), RESTART_DELAY_MS);
    }
  }

  /** Starts every informer; resolves once each has listed. */
  async start(): Promise<void> {
    const all = [...this.composites, ...this.composedInformers];
    await Promise.all(all.map((inf) => this.startInformer(inf)));
    while (!this.stopped && all.some((inf) => !this.synced.has(inf))) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  get ready(): boolean {
    return [...this.composites, ...this.composedInformers].every((inf) => this.synced.has(inf));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.composites, ...this.composedInformers].map((inf) => inf.stop()));
    this.api.close();
  }

  /** Keys of every XR currently known, to reconcile all at start. */
  keys(): string[] {
    return this.composites.flatMap((inf, index) =>
      inf.list().map((obj) => keyOf(index, obj.metadata?.namespace, obj.metadata?.name ?? '')),
    );
  }

  composite(key: string): JsonObject | undefined {
    const { index, namespace, name } = parseKey(key);
    return this.composites[index]?.get(name, namespace) as JsonObject | undefined;
  }

  /**
   * Composed resources by their composite, kept from informer events: scanning the whole cache on
   * every reconcile costs O(resources) per event, which dominated the bridge's CPU at 1,000 XRs.
   */
  private index(obj: KubernetesObject, removed: boolean): void {
    const composite = obj.metadata?.labels?.[COMPOSITE_LABEL];
    const uid = obj.metadata?.uid;
    if (!composite || !uid) return;
    const key = `${obj.metadata?.namespace ?? ''}/${composite}`;
    const members = this.byComposite.get(key) ?? new Map<string, KubernetesObject>();
    if (removed) members.delete(uid);
    else members.set(uid, obj);
    if (members.size > 0) this.byComposite.set(key, members);
    else this.byComposite.delete(key);
  }

  composed(xr: JsonObject): JsonObject[] {
    const metadata = xr.metadata as { name: string; namespace?: string };
    const members = this.byComposite.get(`${metadata.namespace ?? ''}/${metadata.name}`);
    return members ? ([...members.values()] as unknown as JsonObject[]) : [];
  }

  private compositesOf(composed: KubernetesObject): string[] {
    const name = composed.metadata?.labels?.[COMPOSITE_LABEL];
    if (!name) return [];
    const namespace = composed.metadata?.namespace;
    return this.composites
      .map((inf, index) => (inf.get(name, namespace) ? keyOf(index, namespace, name) : undefined))
      .filter((key): key is string => key !== undefined);
  }

  async record(
    key: string,
    xr: JsonObject,
    record: Recorded,
    finalizer: FinalizerChange,
  ): Promise<JsonObject> {
    const { index, namespace, name } = parseKey(key);
    const type = this.compositeTypes[index]!;
    const path = `/apis/${type.group}/${type.version}/${namespace ? `namespaces/${namespace}/` : ''}${type.plural}/${name}`;
    let current = xr;
    for (let attempt = 0; ; attempt++) {
      const metadata = current.metadata as KubernetesObject['metadata'] & object;
      const finalizers = metadata.finalizers ?? [];
      const wanted =
        finalizer === 'add'
          ? finalizers.includes(FINALIZER)
            ? undefined
            : [...finalizers, FINALIZER]
          : finalizers.includes(FINALIZER)
            ? finalizers.filter((f) => f !== FINALIZER)
            : undefined;
      const patch = {
        metadata: {
          annotations: { [RECORD_ANNOTATION]: JSON.stringify(record) },
          // A merge patch replaces the whole list: guard it with the version it was computed from.
          ...(wanted ? { finalizers: wanted, resourceVersion: metadata.resourceVersion } : {}),
        },
      };
      try {
        return await this.api.send('PATCH', `${path}?fieldManager=xenvironment-bridge`, patch);
      } catch (error) {
        const code = (error as { code?: number }).code;
        if (code === 404 && finalizer === 'remove') return xr;
        if (code !== 409 || attempt >= 5) throw error;
        current = await this.api.send('GET', path);
      }
    }
  }
}

function keyOf(index: number, namespace: string | undefined, name: string): string {
  return `${index}/${namespace ?? ''}/${name}`;
}

function parseKey(key: string): { index: number; namespace?: string; name: string } {
  const [index, namespace, name] = key.split('/');
  return { index: Number(index), ...(namespace ? { namespace } : {}), name: name ?? '' };
}
