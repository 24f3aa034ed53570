import {
  CustomObjectsApi,
  makeInformer,
  type Informer,
  type KubeConfig,
  type KubernetesObject,
  type ObjectCache,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { COMPOSITE_LABEL } from '../../common/contract.js';
import type { JsonObject } from '../../common/objects.js';
import {
  ApiClient,
  ApiError,
  getObject,
  managedBy,
  resourcePath,
  type ResourceType,
} from './api.js';
import { ReadYourWrites } from './read-your-writes.js';

/** makeInformer's ListWatch, with the one method its declared type leaves out. */
type Watched = Informer<KubernetesObject> &
  ObjectCache<KubernetesObject> & { latestResourceVersion(): string };
const RESTART_DELAY_MS = 2_000;

/** An informer and whether its cache is complete: listed, and watching without a gap. */
interface Tracked {
  informer: Watched;
  synced: boolean;
  /** Failures so far: a start that resolves after one has not synced anything. */
  failures: number;
}

/** What the informers report once started. */
export interface InformerListeners {
  /** The XR of `key`, or one of its composed resources, changed. */
  changed(key: string): void;
  /**
   * Every cache is complete (`ready`), or one stopped being so: after a watch failure, until it
   * has listed again. Reconciling before that would judge environments on part of what exists (a
   * Ready XR whose Releases are not listed yet looks not ready).
   */
  synced(ready: boolean): void;
}

/** XRs and their composed resources from informers, and guarded writes back onto the XRs. */
export class CompositeInformers {
  private readonly composites: Tracked[];
  private readonly composedInformers: Tracked[];
  private readonly api: ApiClient;
  private readonly byComposite = new Map<string, Map<string, KubernetesObject>>();
  private readonly fresh = new ReadYourWrites();
  private listeners: InformerListeners = { changed: () => {}, synced: () => {} };
  private stopped = false;
  private wasReady = false;

  constructor(
    kubeConfig: KubeConfig,
    private readonly compositeTypes: ResourceType[],
    composedTypes: ResourceType[],
    private readonly logger: Logger,
  ) {
    const api = kubeConfig.makeApiClient(CustomObjectsApi);
    const track = (type: ResourceType, labelSelector?: string): Tracked => {
      const tracked = { synced: false, failures: 0 } as Tracked;
      tracked.informer = makeInformer<KubernetesObject>(
        kubeConfig,
        `/apis/${type.group}/${type.version}/${type.plural}`,
        async () => {
          const list = await api.listClusterCustomObject({
            ...type,
            ...(labelSelector ? { labelSelector } : {}),
          });
          // The informer fills its cache right after this resolves; a relist after a 410 Gone
          // has no other signal that it is done.
          const failures = tracked.failures;
          setImmediate(() => {
            if (tracked.failures === failures) this.setSynced(tracked, true);
          });
          return list as never;
        },
        labelSelector,
      ) as Watched;
      return tracked;
    };
    this.composites = compositeTypes.map((type) => track(type));
    this.composedInformers = composedTypes.map((type) => track(type, COMPOSITE_LABEL));
    this.api = new ApiClient(kubeConfig);

    this.composites.forEach(({ informer }, index) => {
      const enqueue = (obj: KubernetesObject) =>
        this.listeners.changed(keyOf(index, obj.metadata?.namespace, obj.metadata?.name ?? ''));
      informer.on('add', enqueue);
      informer.on('update', enqueue);
      informer.on('delete', enqueue);
    });
    for (const { informer } of this.composedInformers) {
      const changed = (obj: KubernetesObject, removed: boolean) => {
        this.index(obj, removed);
        for (const key of this.compositesOf(obj)) this.listeners.changed(key);
      };
      informer.on('add', (obj) => changed(obj, false));
      informer.on('update', (obj) => changed(obj, false));
      informer.on('delete', (obj) => changed(obj, true));
    }
    for (const tracked of this.all) {
      // A connect without a resourceVersion is a (re)list about to start.
      tracked.informer.on('connect', () => {
        if (tracked.informer.latestResourceVersion() === '') this.setSynced(tracked, false);
      });
      tracked.informer.on('error', (error: unknown) => {
        tracked.failures++;
        this.setSynced(tracked, false);
        if (this.stopped) return;
        this.logger.warn({ err: String(error) }, 'watch failed; restarting');
        setTimeout(() => void this.startInformer(tracked), RESTART_DELAY_MS);
      });
    }
  }

  private get all(): Tracked[] {
    return [...this.composites, ...this.composedInformers];
  }

  private setSynced(tracked: Tracked, synced: boolean): void {
    tracked.synced = synced;
    const ready = this.ready;
    if (ready !== this.wasReady) {
      this.wasReady = ready;
      this.listeners.synced(ready);
    }
  }

  private async startInformer(tracked: Tracked): Promise<void> {
    if (this.stopped) return;
    const failures = tracked.failures;
    try {
      await tracked.informer.start();
      // start() resolves even when its list or watch failed (it reports those as errors).
      if (tracked.failures === failures) this.setSynced(tracked, true);
    } catch (error) {
      tracked.failures++;
      this.logger.warn({ err: String(error) }, 'list failed; retrying');
      setTimeout(() => void this.startInformer(tracked), RESTART_DELAY_MS);
    }
  }

  /** Starts every informer, reporting to `listeners`; resolves once each has listed. */
  async start(listeners: InformerListeners): Promise<void> {
    this.listeners = listeners;
    await Promise.all(this.all.map((tracked) => this.startInformer(tracked)));
    while (!this.stopped && !this.ready) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  get ready(): boolean {
    return this.all.every((tracked) => tracked.synced);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.all.map(({ informer }) => informer.stop()));
    this.api.close();
  }

  composite(key: string): JsonObject | undefined {
    const { index, namespace, name } = parseKey(key);
    const cached = this.composites[index]?.informer.get(name, namespace) as JsonObject | undefined;
    return this.fresh.pick(key, cached);
  }

  /**
   * Composed resources by their composite, kept from informer events, so that a reconcile costs
   * O(its own resources), not a scan of the whole cache.
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
      .map(({ informer }, index) =>
        informer.get(name, namespace) ? keyOf(index, namespace, name) : undefined,
      )
      .filter((key): key is string => key !== undefined);
  }

  private pathOf(key: string): string {
    const { index, namespace, name } = parseKey(key);
    return resourcePath(this.compositeTypes[index]!, namespace, name);
  }

  /**
   * One merge patch of the XR of `key` (of its `subresource`: '' or '/status'), which carries the
   * resourceVersion `xr` was read at when it guards the write. Returns the XR as written; undefined
   * once it is gone, or when `lettingGo` (the patch removes its last finalizer: a deleted XR is gone
   * then, whatever the answer shows). On a conflict the XR is read again, so the retry starts from
   * fresh state, and the 409 is thrown.
   */
  async patch(
    key: string,
    xr: JsonObject,
    subresource: '' | '/status',
    patch: JsonObject,
    lettingGo: boolean,
  ): Promise<JsonObject | undefined> {
    const path = this.pathOf(key);
    const basedOn = (xr.metadata as KubernetesObject['metadata'] & object).resourceVersion;
    try {
      const written = await this.api.send('PATCH', managedBy(`${path}${subresource}`), patch);
      this.fresh.wrote(key, basedOn, lettingGo ? undefined : written);
      return lettingGo ? undefined : written;
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.code === 404) {
        this.fresh.wrote(key, basedOn, undefined);
        return undefined;
      }
      if (error.code === 409) this.fresh.wrote(key, basedOn, await getObject(this.api, path));
      throw error;
    }
  }

  /** The XR of `key` read from the API server; the cache shows it from then on, or newer. */
  async read(key: string): Promise<JsonObject | undefined> {
    const cached = this.composite(key);
    const fresh = await getObject(this.api, this.pathOf(key));
    const basedOn = (cached?.metadata as KubernetesObject['metadata'] | undefined)?.resourceVersion;
    const freshVersion = (fresh?.metadata as KubernetesObject['metadata'] | undefined)
      ?.resourceVersion;
    if (basedOn !== freshVersion) this.fresh.wrote(key, basedOn, fresh);
    return fresh;
  }

  /** Every XR of every watched kind, listed from the API server now, with its key. */
  async list(): Promise<{ key: string; xr: JsonObject }[]> {
    const lists = await Promise.all(
      this.compositeTypes.map((type) => this.api.send('GET', resourcePath(type, undefined))),
    );
    return lists.flatMap((list, index) =>
      ((list.items ?? []) as JsonObject[]).map((xr) => {
        const metadata = xr.metadata as KubernetesObject['metadata'] & object;
        return { key: keyOf(index, metadata.namespace, metadata.name ?? ''), xr };
      }),
    );
  }

  /**
   * Deletes the XR itself (one without a claim), if it is still the one read: in the foreground,
   * so that it is gone, and environment.deleted announced, only once what it composed is.
   */
  async deleteComposite(key: string, xr: JsonObject): Promise<void> {
    const uid = (xr.metadata as KubernetesObject['metadata'] & object).uid;
    await this.api
      .send('DELETE', this.pathOf(key), {
        propagationPolicy: 'Foreground',
        preconditions: { uid },
      })
      .catch((error: unknown) => {
        if (!(error instanceof ApiError && error.code === 404)) throw error;
      });
  }
}

function keyOf(index: number, namespace: string | undefined, name: string): string {
  return `${index}/${namespace ?? ''}/${name}`;
}

function parseKey(key: string): { index: number; namespace?: string; name: string } {
  const [index, namespace, name] = key.split('/');
  return { index: Number(index), ...(namespace ? { namespace } : {}), name: name ?? '' };
}
