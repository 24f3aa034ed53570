import { ApiError, type ApiClient } from './api.js';

/** A kind as the API serves it. */
export interface ServedResource {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

interface ApiResourceList {
  resources?: { name: string; kind: string; namespaced: boolean }[];
}

/**
 * Kinds to plurals and back, from API discovery (which every authenticated user may read), cached
 * per group and version: a claim names its kind (spec.claimRef), the API wants its plural. A
 * group/version not served is cached too, briefly, so a missing CRD costs one request a minute.
 */
export class Discovery {
  private readonly cache = new Map<string, { at: number; resources: ServedResource[] }>();

  constructor(
    private readonly api: Pick<ApiClient, 'send'>,
    private readonly missingTtlMs = 60_000,
  ) {}

  private async resources(group: string, version: string): Promise<ServedResource[]> {
    const key = `${group}/${version}`;
    const cached = this.cache.get(key);
    if (cached && (cached.resources.length > 0 || Date.now() - cached.at < this.missingTtlMs)) {
      return cached.resources;
    }
    let list: ApiResourceList;
    try {
      list = (await this.api.send(
        'GET',
        group ? `/apis/${group}/${version}` : `/api/${version}`,
      )) as ApiResourceList;
    } catch (error) {
      if (!(error instanceof ApiError && error.code === 404)) throw error;
      list = {};
    }
    const resources = (list.resources ?? [])
      .filter((resource) => !resource.name.includes('/')) // not subresources
      .map(({ name, kind, namespaced }) => ({ group, version, plural: name, kind, namespaced }));
    this.cache.set(key, { at: Date.now(), resources });
    return resources;
  }

  /** The resource of `kind` in `apiVersion` (group/version, or v1), if served. */
  async byKind(apiVersion: string, kind: string): Promise<ServedResource | undefined> {
    const slash = apiVersion.lastIndexOf('/');
    const group = slash < 0 ? '' : apiVersion.slice(0, slash);
    const version = apiVersion.slice(slash + 1);
    return (await this.resources(group, version)).find((resource) => resource.kind === kind);
  }

  /** The resource `group/version/plural`, if served. */
  async byPlural(
    group: string,
    version: string,
    plural: string,
  ): Promise<ServedResource | undefined> {
    return (await this.resources(group, version)).find((resource) => resource.plural === plural);
  }
}
