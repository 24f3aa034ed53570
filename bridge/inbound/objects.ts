import type { JsonObject } from '../../common/objects.js';
import {
  getObject,
  managedBy,
  resourcePath,
  type ApiClient,
  type ResourceType,
} from '../kube/api.js';
import type { Discovery } from '../kube/discovery.js';

/** The kind requested events create, in the namespace an event names. */
export interface Objects {
  kind(): Promise<{ apiVersion: string; kind: string }>;
  get(namespace: string, name: string): Promise<JsonObject | undefined>;
  create(namespace: string, object: JsonObject): Promise<void>;
  patch(namespace: string, name: string, patch: JsonObject): Promise<JsonObject>;
  /** Deletes the object if it still has `uid` and `resourceVersion`. */
  delete(namespace: string, name: string, uid: string, resourceVersion: string): Promise<void>;
}

/** Objects of one kind through the API server; its kind found by discovery, once. */
export class KubeObjects implements Objects {
  constructor(
    private readonly api: Pick<ApiClient, 'send'>,
    private readonly discovery: Discovery,
    private readonly type: ResourceType,
  ) {}

  async kind(): Promise<{ apiVersion: string; kind: string }> {
    const { group, version, plural } = this.type;
    const served = await this.discovery.byPlural(group, version, plural);
    if (!served?.namespaced)
      throw new Error(`${plural}.${group}/${version} is not a namespaced kind served`);
    return { apiVersion: `${group}/${version}`, kind: served.kind };
  }

  get(namespace: string, name: string): Promise<JsonObject | undefined> {
    return getObject(this.api, resourcePath(this.type, namespace, name));
  }

  async create(namespace: string, object: JsonObject): Promise<void> {
    await this.api.send('POST', managedBy(resourcePath(this.type, namespace)), object);
  }

  patch(namespace: string, name: string, patch: JsonObject): Promise<JsonObject> {
    return this.api.send('PATCH', managedBy(resourcePath(this.type, namespace, name)), patch);
  }

  async delete(
    namespace: string,
    name: string,
    uid: string,
    resourceVersion: string,
  ): Promise<void> {
    await this.api.send('DELETE', resourcePath(this.type, namespace, name), {
      preconditions: { uid, resourceVersion },
    });
  }
}
