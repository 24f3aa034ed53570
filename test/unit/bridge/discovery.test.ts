import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../bridge/kube/api.js';
import { Discovery } from '../../../bridge/kube/discovery.js';

/** The API server's discovery documents, counting the requests made. */
function api(served: Record<string, { name: string; kind: string; namespaced: boolean }[]>) {
  const paths: string[] = [];
  return {
    paths,
    send: async (_method: string, path: string) => {
      paths.push(path);
      const resources = served[path];
      if (!resources) throw new ApiError(404, '{"message":"not found"}');
      return { resources };
    },
  };
}

describe('discovery', () => {
  const group = '/apis/platform.xenvironment.io/v1alpha1';
  const resources = [
    { name: 'environments', kind: 'Environment', namespaced: true },
    { name: 'environments/status', kind: 'Environment', namespaced: true },
    { name: 'xenvironments', kind: 'XEnvironment', namespaced: false },
  ];

  it('finds plurals by kind and kinds by plural, asking once per group/version', async () => {
    const server = api({
      [group]: resources,
      '/api/v1': [{ name: 'namespaces', kind: 'Namespace', namespaced: false }],
    });
    const discovery = new Discovery(server);
    expect(await discovery.byKind('platform.xenvironment.io/v1alpha1', 'Environment')).toEqual({
      group: 'platform.xenvironment.io',
      version: 'v1alpha1',
      plural: 'environments',
      kind: 'Environment',
      namespaced: true,
    });
    expect(
      (await discovery.byPlural('platform.xenvironment.io', 'v1alpha1', 'xenvironments'))?.kind,
    ).toBe('XEnvironment');
    expect((await discovery.byKind('v1', 'Namespace'))?.plural).toBe('namespaces');
    expect(server.paths).toEqual([group, '/api/v1']);
  });

  it('answers undefined for what is not served, asking again only after a while', async () => {
    const server = api({});
    const discovery = new Discovery(server, 50);
    expect(
      await discovery.byKind('platform.xenvironment.io/v1alpha1', 'Environment'),
    ).toBeUndefined();
    expect(
      await discovery.byKind('platform.xenvironment.io/v1alpha1', 'Environment'),
    ).toBeUndefined();
    expect(server.paths).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 60));
    await discovery.byKind('platform.xenvironment.io/v1alpha1', 'Environment');
    expect(server.paths).toHaveLength(2);
  });
});
