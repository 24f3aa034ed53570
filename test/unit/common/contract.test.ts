import { describe, expect, it } from 'vitest';
import {
  CLUSTER_KEY,
  HELM_PROVIDER_CONFIG_KEY,
  HOST_NAMESPACE_KEY,
  KUBERNETES_PROVIDER_CONFIG_KEY,
  prerequisiteUsageKey,
  readinessKey,
  readStatus,
  readTools,
  toolKey,
  toolOfKey,
  usageKey,
  type ObservedStatus,
} from '../../../common/contract.js';

describe('composed resource keys', () => {
  // Spelled out: renaming a key makes Crossplane delete what every environment composed under
  // the old one and create it anew, so a rename must be deliberate.
  const table: { name: string; input: string; want: string }[] = [
    { name: 'the cluster', input: CLUSTER_KEY, want: 'cluster' },
    { name: 'its host namespace', input: HOST_NAMESPACE_KEY, want: 'host-namespace' },
    {
      name: 'the Usage that keeps the host namespace',
      input: prerequisiteUsageKey(HOST_NAMESPACE_KEY),
      want: 'host-namespace-usage',
    },
    {
      name: "provider-helm's config",
      input: HELM_PROVIDER_CONFIG_KEY,
      want: 'helm-providerconfig',
    },
    {
      name: "provider-kubernetes' config",
      input: KUBERNETES_PROVIDER_CONFIG_KEY,
      want: 'kubernetes-providerconfig',
    },
    { name: "a tool's Release", input: toolKey('argo-cd'), want: 'tool-argo-cd' },
    { name: "a tool's Usage on the cluster", input: usageKey('argo-cd'), want: 'usage-argo-cd' },
    {
      name: "a tool's Usage on a dependency",
      input: usageKey('argo-cd', 'cert-manager'),
      want: 'usage-argo-cd.on.cert-manager',
    },
    {
      name: "the Object that reads a tool's first readiness check",
      input: readinessKey('cert-manager', 0),
      want: 'readiness-cert-manager-0',
    },
  ];
  it.each(table)('$name', ({ input, want }) => {
    expect(input).toBe(want);
  });
});

describe('the tool of a key', () => {
  const table: { name: string; input: string; want: string | undefined }[] = [
    { name: "a tool's Release", input: 'tool-argo-cd', want: 'argo-cd' },
    { name: 'a tool named like a key', input: 'tool-tool-1', want: 'tool-1' },
    { name: 'the cluster', input: 'cluster', want: undefined },
    { name: "a tool's Usage", input: 'usage-argo-cd', want: undefined },
    { name: 'no name', input: 'tool-', want: undefined },
    { name: 'a name no tool can have: capitals', input: 'tool-Foo', want: undefined },
    { name: 'a name no tool can have: a dot', input: 'tool-a.on.b', want: undefined },
    { name: 'a name longer than a label', input: `tool-${'x'.repeat(64)}`, want: undefined },
  ];
  it.each(table)('$name', ({ input, want }) => {
    expect(toolOfKey(input)).toBe(want);
  });

  it('is the inverse of toolKey', () => {
    for (const name of ['a', 'cert-manager', 'tool-x', '0', 'x'.repeat(63)]) {
      expect(toolOfKey(toolKey(name))).toBe(name);
    }
  });
});

describe('a status read back from the API server', () => {
  const table: { name: string; input: unknown; want: ObservedStatus }[] = [
    { name: 'none', input: undefined, want: { tools: [] } },
    { name: 'not an object', input: 'Ready', want: { tools: [] } },
    {
      name: 'as the function writes it',
      input: {
        phase: 'InstallingTools',
        cluster: { backend: 'vcluster', ready: true, endpoint: 'https://vcluster.ns.svc:443' },
        tools: [
          { name: 'cert-manager', version: 'v1.19.1', ready: true, phase: 'Ready' },
          { name: 'argo-cd', version: '9.1.0', ready: false, phase: 'Installing' },
        ],
        expiresAt: '2026-11-25T17:00:00Z',
      },
      want: {
        endpoint: 'https://vcluster.ns.svc:443',
        tools: [
          { name: 'cert-manager', version: 'v1.19.1', ready: true },
          { name: 'argo-cd', version: '9.1.0', ready: false },
        ],
        expiresAt: new Date('2026-11-25T17:00:00Z'),
      },
    },
    {
      name: 'fields of the wrong type dropped, entries without a name left out',
      input: {
        cluster: { endpoint: 443 },
        tools: [
          { version: '1.0.0' },
          { name: '' },
          'argo-cd',
          { name: 'a', version: 1, ready: 'true' },
          null,
        ],
        expiresAt: 1798218000,
      },
      want: { tools: [{ name: 'a' }] },
    },
    {
      name: 'an expiresAt that is not a time counts as none',
      input: { expiresAt: 'tomorrow' },
      want: { tools: [] },
    },
    {
      name: 'an empty endpoint and version count as none',
      input: { cluster: { endpoint: '' }, tools: [{ name: 'a', version: '' }] },
      want: { tools: [{ name: 'a' }] },
    },
    { name: 'tools that are not a list', input: { tools: { name: 'a' } }, want: { tools: [] } },
  ];
  it.each(table)('$name', ({ input, want }) => {
    expect(readStatus(input)).toEqual(want);
  });

  it("reads a claim's spec.tools the same way", () => {
    expect(readTools([{ name: 'argo-cd', version: '9.2.0', values: {} }, { name: 'x' }])).toEqual([
      { name: 'argo-cd', version: '9.2.0' },
      { name: 'x' },
    ]);
  });
});
