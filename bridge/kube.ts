import {
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
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
  private readonly objects: KubernetesObjectApi;
  private readonly synced = new Set<Watched>();
  private stopped = false;

  constructor(
    kubeConfig: KubeConfig,
    compositeTypes: ResourceType[],
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
    this.objects = KubernetesObjectApi.makeApiClient(kubeConfig);

    this.composites.forEach((inf, index) => {
      const enqueue = (obj: KubernetesObject) =>
        this.changed(keyOf(index, obj.metadata?.namespace, obj.metadata?.name ?? ''));
      inf.on('add', enqueue);
      inf.on('update', enqueue);
      inf.on('delete', enqueue);
    });
    for (const inf of this.composedInformers) {
      const enqueue = (obj: KubernetesObject) => {
        const keys = this.compositesOf(obj);
        this.logger.debug({ composed: obj.metadata?.name, keys }, 'composed resource changed');
        keys.forEach(this.changed);
      };
      inf.on('add', enqueue);
      inf.on('update', enqueue);
      inf.on('delete', enqueue);
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

  composed(xr: JsonObject): JsonObject[] {
    const metadata = xr.metadata as { name: string; namespace?: string };
    return this.composedInformers.flatMap((inf) =>
      inf
        .list(metadata.namespace)
        .filter((obj) => obj.metadata?.labels?.[COMPOSITE_LABEL] === metadata.name),
    ) as JsonObject[];
  }

  private compositesOf(composed: KubernetesObject): string[] {
    const name = composed.metadata?.labels?.[COMPOSITE_LABEL];
    if (!name) return [];
    const namespace = composed.metadata?.namespace;
    return this.composites
      .map((inf, index) => (inf.get(name, namespace) ? keyOf(index, namespace, name) : undefined))
      .filter((key): key is string => key !== undefined);
  }

  async record(xr: JsonObject, record: Recorded, finalizer: FinalizerChange): Promise<JsonObject> {
    let current = xr as unknown as KubernetesObject;
    for (let attempt = 0; ; attempt++) {
      const metadata = current.metadata!;
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
        apiVersion: current.apiVersion,
        kind: current.kind,
        metadata: {
          name: metadata.name,
          ...(metadata.namespace ? { namespace: metadata.namespace } : {}),
          annotations: { [RECORD_ANNOTATION]: JSON.stringify(record) },
          // A merge patch replaces the whole list: guard it with the version it was computed from.
          ...(wanted ? { finalizers: wanted, resourceVersion: metadata.resourceVersion } : {}),
        },
      };
      try {
        return (await this.objects.patch(
          patch as KubernetesObject,
          undefined,
          undefined,
          'xenvironment-bridge',
          undefined,
          PatchStrategy.MergePatch,
        )) as unknown as JsonObject;
      } catch (error) {
        const code = (error as { code?: number }).code;
        if (code === 404 && finalizer === 'remove') return xr;
        if (code !== 409 || attempt >= 5) throw error;
        current = await this.objects.read({
          apiVersion: current.apiVersion!,
          kind: current.kind!,
          metadata: {
            name: metadata.name!,
            ...(metadata.namespace ? { namespace: metadata.namespace } : {}),
          },
        });
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
