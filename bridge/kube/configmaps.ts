import type { JsonObject } from '../../common/objects.js';
import { getObject, managedBy, resourcePath, type ApiClient } from './api.js';

const CONFIGMAPS = { group: '', version: 'v1', plural: 'configmaps' };
const LABELS = { 'app.kubernetes.io/name': 'xenvironment-bridge' };

/**
 * Texts kept under one key of ConfigMaps in one namespace: read, created, and replaced guarded by
 * their resourceVersion (PUT), so that a write based on an old read fails with 409.
 */
export class ConfigMapTexts {
  constructor(
    private readonly api: Pick<ApiClient, 'send'>,
    private readonly namespace: string,
    private readonly key: string,
  ) {}

  async read(
    name: string,
  ): Promise<{ text: string | undefined; resourceVersion: string } | undefined> {
    const object = await getObject(this.api, resourcePath(CONFIGMAPS, this.namespace, name));
    if (!object) return undefined;
    const data = (object.data ?? {}) as Record<string, unknown>;
    const text = data[this.key];
    return {
      text: typeof text === 'string' ? text : undefined,
      resourceVersion: String((object.metadata as JsonObject).resourceVersion),
    };
  }

  /** Creates `name` (no `resourceVersion`) or replaces it as read at `resourceVersion`. */
  async write(name: string, text: string, resourceVersion: string | undefined): Promise<string> {
    const body = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name,
        namespace: this.namespace,
        labels: LABELS,
        ...(resourceVersion !== undefined ? { resourceVersion } : {}),
      },
      data: { [this.key]: text },
    };
    const written =
      resourceVersion === undefined
        ? await this.api.send('POST', managedBy(resourcePath(CONFIGMAPS, this.namespace)), body)
        : await this.api.send(
            'PUT',
            managedBy(resourcePath(CONFIGMAPS, this.namespace, name)),
            body,
          );
    return String((written.metadata as JsonObject).resourceVersion);
  }
}
