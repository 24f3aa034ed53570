/**
 * A few verbs on any kind of object, for tests that drive a real API server: server-side apply,
 * read (undefined when absent), list, delete and status patches.
 */
import {
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
} from '@kubernetes/client-node';

export type Obj = Record<string, unknown>;
export type Resource = KubernetesObject & Obj;

function notFound(error: unknown): boolean {
  return (error as { code?: number }).code === 404;
}

export class Kube {
  readonly objects: KubernetesObjectApi;
  readonly custom: CustomObjectsApi;

  constructor(readonly config: KubeConfig) {
    this.objects = KubernetesObjectApi.makeApiClient(config);
    this.custom = config.makeApiClient(CustomObjectsApi);
  }

  static fromFile(path: string): Kube {
    const config = new KubeConfig();
    config.loadFromFile(path);
    return new Kube(config);
  }

  async apply<T extends Obj>(object: T, fieldManager = 'xenvironment-e2e'): Promise<Resource> {
    return (await this.objects.patch(
      object as unknown as KubernetesObject,
      undefined,
      undefined,
      fieldManager,
      true,
      PatchStrategy.ServerSideApply,
    )) as Resource;
  }

  async read(
    apiVersion: string,
    kind: string,
    name: string,
    namespace?: string,
  ): Promise<Resource | undefined> {
    try {
      return (await this.objects.read({
        apiVersion,
        kind,
        metadata: { name, ...(namespace ? { namespace } : {}) },
      })) as Resource;
    } catch (error) {
      if (notFound(error)) return undefined;
      throw error;
    }
  }

  async list(
    apiVersion: string,
    kind: string,
    options: { namespace?: string; labelSelector?: string } = {},
  ): Promise<Resource[]> {
    const list = await this.objects.list(
      apiVersion,
      kind,
      options.namespace,
      undefined,
      undefined,
      undefined,
      undefined,
      options.labelSelector,
    );
    return list.items as Resource[];
  }

  /** Deletes the object; true if it existed. */
  async delete(apiVersion: string, kind: string, name: string, namespace?: string) {
    try {
      await this.objects.delete({
        apiVersion,
        kind,
        metadata: { name, ...(namespace ? { namespace } : {}) },
      });
      return true;
    } catch (error) {
      if (notFound(error)) return false;
      throw error;
    }
  }

  /**
   * Merge-patches the status subresource of a cluster-scoped custom resource; with a
   * resourceVersion, only if the object has not changed since (else a 409 error).
   */
  async patchClusterStatus(
    apiVersion: string,
    plural: string,
    name: string,
    status: Obj,
    resourceVersion?: string,
  ) {
    const [group, version] = apiVersion.split('/') as [string, string];
    const body = resourceVersion ? { metadata: { resourceVersion }, status } : { status };
    await this.custom.patchClusterCustomObjectStatus(
      { group, version, plural, name, body },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }
}

/** The status of a condition type, such as 'True', or undefined. */
export function conditionStatus(object: Obj | undefined, type: string): string | undefined {
  const conditions = (object?.status as { conditions?: { type: string; status: string }[] })
    ?.conditions;
  return conditions?.find((c) => c.type === type)?.status;
}
