import { beforeAll, describe, expect, it } from 'vitest';
import type { RunFunctionResponse } from '@crossplane-org/function-sdk-typescript';
import { CLUSTER_KEY, DNS_LABEL, HOST_NAMESPACE_KEY, toolKey } from '../../../common/contract.js';
import { derivedName } from '../../../function/compose/names.js';
import { placementFor } from '../../../function/compose/placement.js';
import { runFunction } from '../../../function/run-function.js';
import { Random } from '../../support/random.js';
import { observedResource, request, shippedCatalog, xEnvironment } from '../../support/requests.js';

type Obj = Record<string, unknown>;

/** A tenant's names, and what the function derives a name for: every role it uses. */
interface Tuple {
  namespace?: string;
  name: string;
  role: string;
  parts: string[];
}

function derive({ namespace, name, role, parts }: Tuple): string {
  const composite = { apiVersion: 'v1', kind: 'X', name, ...(namespace ? { namespace } : {}) };
  return placementFor(composite, 'crossplane-system').name(role, ...parts);
}

/** An XR name: a DNS subdomain up to 253 characters, dots included. */
function xrName(random: Random): string {
  const target = random.length(253, [1, 63, 64, 253]);
  let name = random.label(Math.min(target, random.int(1, 63)));
  while (name.length + 2 <= target) {
    name += `.${random.label(Math.min(target - name.length - 1, random.int(1, 63)))}`;
  }
  return name;
}

function randomTuple(random: Random): Tuple {
  const namespace = random.chance(0.5) ? undefined : random.label(random.length(63, [1, 62, 63]));
  const tool = () => random.label(random.length(63, [1, 53, 63]));
  const role = random.pick([
    'vcluster',
    'cluster',
    'kubeconfig',
    'providerconfig',
    'tool',
    'usage',
  ]);
  const parts =
    role === 'tool'
      ? [tool()]
      : role === 'usage'
        ? [tool(), ...(random.chance(0.5) ? [tool()] : [])]
        : [];
  return { ...(namespace ? { namespace } : {}), name: xrName(random), role, parts };
}

/**
 * Tuples whose readable parts are the same text split differently (`team-a`/`dev` and
 * `team`/`a-dev`, XR `a` with tool `b-c` and XR `a-b` with tool `c`), or the same long prefix.
 */
function confusableTuples(random: Random): Tuple[] {
  const words = Array.from({ length: random.int(3, 6) }, () => random.label(random.int(1, 8)));
  const tuples: Tuple[] = [];
  for (let cut = 1; cut < words.length; cut++) {
    const left = words.slice(0, cut).join('-');
    const right = words.slice(cut).join('-');
    tuples.push({ namespace: left, name: right, role: 'vcluster', parts: [] });
    tuples.push({ namespace: left, name: right, role: 'cluster', parts: [] });
    tuples.push({ name: left, role: 'tool', parts: [right] });
    tuples.push({ name: left, role: 'usage', parts: [right] });
    tuples.push({ name: `${left}-${right}`, role: 'usage', parts: [] });
  }
  const long = random.label(63);
  tuples.push({ name: `${long}.${long}.a`, role: 'cluster', parts: [] });
  tuples.push({ name: `${long}.${long}.b`, role: 'cluster', parts: [] });
  tuples.push({ name: words.join('-'), role: 'tool', parts: ['cluster'] });
  tuples.push({ name: words.join('-'), role: 'cluster', parts: [] });
  return tuples;
}

describe('derived names', () => {
  it('differ for every distinct namespace, name, role and parts, and are DNS labels (both XR variants)', () => {
    const random = new Random(20261125);
    const byName = new Map<string, string>();
    const problems: string[] = [];
    let count = 0;
    for (let round = 0; round < 1_000; round++) {
      for (const tuple of [randomTuple(random), ...confusableTuples(random)]) {
        const name = derive(tuple);
        const key = JSON.stringify(tuple);
        count++;
        if (!DNS_LABEL.test(name)) problems.push(`${name} (for ${key}) is not a DNS label`);
        const earlier = byName.get(name);
        if (earlier !== undefined && earlier !== key)
          problems.push(`${name}: ${earlier} and ${key}`);
        byName.set(name, key);
      }
    }
    expect(count).toBeGreaterThan(15_000);
    expect(problems).toEqual([]);
  });

  // Exact names: a change to how names are derived renames every composed resource, which
  // Crossplane would delete and create anew. The hashes were computed apart from this code.
  const table: { name: string; input: { parts: string[]; max?: number }; want: string }[] = [
    {
      name: 'a readable head of the parts, and a hash of them',
      input: { parts: ['vcluster', 'team-a', 'dev'] },
      want: 'vcluster-team-a-dev-fxyxntmhwq',
    },
    {
      name: 'empty parts left out of the head, not out of the hash',
      input: { parts: ['cluster', '', 'dev-x7k2p'] },
      want: 'cluster-dev-x7k2p-frfq4y6spp',
    },
    {
      name: 'characters a label may not hold replaced, dashes at the ends trimmed',
      input: { parts: ['tool', '', 'a.b_C'] },
      want: 'tool-a-b-2pmfx45hhw',
    },
    {
      name: 'a head of nothing: the hash alone',
      input: { parts: ['', '...'] },
      want: 'uzyvbwwbbm',
    },
    {
      name: 'the same head split differently: another hash (1)',
      input: { parts: ['a', 'b-c'] },
      want: 'a-b-c-uabcnzfdlb',
    },
    {
      name: 'the same head split differently: another hash (2)',
      input: { parts: ['a-b', 'c'] },
      want: 'a-b-c-vfiewrhywz',
    },
    {
      name: 'a long head cut to fit 63 characters',
      input: { parts: ['tool', '', 'x'.repeat(60), 'argo-cd'] },
      want: `tool-${'x'.repeat(47)}-vt4ttz35kv`,
    },
    {
      name: 'a bound of 20: as much head as fits',
      input: { parts: ['vcluster', 'team-a', 'dev'], max: 20 },
      want: 'vcluster-fxyxntmhwq',
    },
    {
      name: 'a bound of the hash alone',
      input: { parts: ['vcluster', 'team-a', 'dev'], max: 10 },
      want: 'fxyxntmhwq',
    },
  ];
  it.each(table)('$name', ({ input, want }) => {
    expect(derivedName(input.parts, input.max)).toBe(want);
  });

  it('fit any bound of at least the hash', () => {
    const random = new Random(7);
    for (let i = 0; i < 2_000; i++) {
      const max = random.int(10, 253);
      const name = derivedName([xrName(random), random.label(63)], max);
      expect(name.length).toBeLessThanOrEqual(max);
      expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    }
  });
});

describe('names a tenant can reach', () => {
  let catalog: Obj;
  beforeAll(async () => {
    catalog = await shippedCatalog();
  });
  const up = () => ({
    [HOST_NAMESPACE_KEY]: observedResource('Object', { ready: true }),
    [CLUSTER_KEY]: observedResource('Release', { ready: true }),
  });
  /** Every name the response gives the host or composes: host namespace, kubeconfig Secret, resources. */
  function namesIn(rsp: RunFunctionResponse): Set<string> {
    const names = new Set<string>();
    for (const { resource } of Object.values(rsp.desired!.resources)) {
      const spec = resource!.spec as Obj;
      names.add(`${String(resource!.kind)}/${(resource!.metadata as Obj).name as string}`);
      const forProvider = spec.forProvider as { namespace?: string } | undefined;
      if (resource!.kind === 'Release' && forProvider?.namespace?.startsWith('vcluster-')) {
        names.add(`Namespace/${forProvider.namespace}`);
      }
      const secret = spec.writeConnectionSecretToRef as { name: string } | undefined;
      if (secret) names.add(`Secret/${secret.name}`);
    }
    return names;
  }
  const overlap = (a: Set<string>, b: Set<string>) => [...a].filter((name) => b.has(name));

  it('are not shared by team-a/dev and team/a-dev (namespaced XRs)', async () => {
    const [a, b] = await Promise.all(
      [
        { namespace: 'team-a', name: 'dev' },
        { namespace: 'team', name: 'a-dev' },
      ].map((metadata) =>
        runFunction(
          request(
            {
              ...xEnvironment({ tools: [{ name: 'cert-manager' }] }, metadata),
              kind: 'Environment',
            },
            catalog,
            up(),
          ),
        ),
      ),
    );
    expect(namesIn(a!).size).toBeGreaterThan(5);
    expect(overlap(namesIn(a!), namesIn(b!))).toEqual([]);
  });

  it('are not shared by XR a with tool b-c and XR a-b with tool c, nor by a tool named cluster and the cluster', async () => {
    const tool = (name: string) => ({
      name,
      chart: { repository: 'https://charts.example.org', name, version: '1.0.0' },
      namespace: 'tools',
    });
    const input = { ...catalog, tools: [tool('b-c'), tool('c'), tool('cluster')] };
    const run = (xr: string, tools: string[]) =>
      runFunction(
        request(
          xEnvironment({ tools: tools.map((name) => ({ name })) }, { name: xr }),
          input,
          up(),
        ),
      );
    const a = namesIn(await run('a', ['b-c']));
    const ab = namesIn(await run('a-b', ['c']));
    expect(overlap(a, ab)).toEqual([]);
    const x = await run('x', ['cluster']);
    const release = (key: string) => (x.desired!.resources[key]!.resource!.metadata as Obj).name;
    expect(release(toolKey('cluster'))).not.toBe(release(CLUSTER_KEY));
  });
});
