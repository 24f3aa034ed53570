/**
 * Hostile RunFunction requests from a seeded generator, and the properties every answer must have.
 * A request starts from the shipped catalogue and a valid claim with observed resources of odd
 * shapes, then takes a few mutations: prototype keys, absurd ttls, deep values, long chains and
 * cycles, lists beyond limits, wrong types anywhere, names at length limits, values outside the
 * allow-list, bad sinks.
 */
import { isDeepStrictEqual } from 'node:util';
import {
  Ready,
  RunFunctionRequest,
  Severity,
  type RunFunctionResponse,
} from '@crossplane-org/function-sdk-typescript';
import {
  CLUSTER_KEY,
  DNS_LABEL,
  HELM_PROVIDER_CONFIG_KEY,
  HOST_NAMESPACE_KEY,
  KUBERNETES_PROVIDER_CONFIG_KEY,
  PHASES,
  TOOL_PHASES,
  prerequisiteUsageKey,
  readinessKey,
  toolKey,
  toolOfKey,
  usageKey,
} from '../../common/contract.js';
import type { Random } from './random.js';

type Obj = Record<string, unknown>;
interface Observed {
  /** Crossplane always sends one; a request need not. */
  resource: Obj | undefined;
  connectionDetails: Record<string, Buffer>;
  ready: Ready;
}

/** What one request is made of, before it becomes a RunFunctionRequest. */
export interface Parts {
  xr: unknown;
  input: unknown;
  observed: Record<string, Observed>;
  desired: Record<string, Obj>;
}

const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];
const SHIPPED_TOOLS_ALLOWED: Record<string, string> = {
  'cert-manager': 'resources',
  'argo-cd': 'server.resources',
  'tekton-pipelines': 'controller.resources',
};
const RFC3339_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** An object with `key` as an own data property, as JSON.parse (or a decoder) makes it. */
function own(key: string, value: unknown): Obj {
  const object: Obj = {};
  Object.defineProperty(object, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
  return object;
}

/** `{ a: { a: … leaf } }`, `depth` keys deep (lists when `lists`), built without recursion. */
export function nestedValue(depth: number, leaf: unknown = 1, lists = false): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = lists ? [value] : { a: value };
  return value;
}

function hostileValue(random: Random): unknown {
  return random.pick<() => unknown>([
    () => null,
    () => 0,
    () => -1,
    () => 1e308,
    () => true,
    () => '',
    () => ' ',
    () => 'x'.repeat(random.int(1, 100_000)),
    () => random.pick(PROTOTYPE_KEYS),
    () => [],
    () => [random.pick(PROTOTYPE_KEYS), 1, null],
    () => ({}),
    () => own('__proto__', { polluted: true }),
    () => ({ toString: 1, valueOf: 'x' }),
    () => nestedValue(random.int(1, 20)),
  ])();
}

function conditions(random: Random): unknown {
  const condition = (type: string) => {
    const status = random.pick(['True', 'False', 'Unknown', 1, null]);
    const message = random.pick<unknown>([
      undefined,
      'boom',
      'observe failed: cannot get connection details: cannot get object: secrets "vc-vcluster" not found',
      'y'.repeat(random.int(1, 50_000)),
      { nested: true },
      42,
    ]);
    return {
      type,
      status,
      reason: random.pick<unknown>(['Available', 'Creating', 'ReconcileError', 'Unavailable', 7]),
      ...(message === undefined ? {} : { message }),
      ...(random.chance(0.2) ? { observedGeneration: random.pick<unknown>([0, 5, '5', -1]) } : {}),
    };
  };
  return random.pick<() => unknown>([
    () => [condition('Ready'), condition('Synced')],
    () => [condition('Ready')],
    () => [condition('Synced')],
    () => 'Ready',
    () => [null, 1, 'x', condition('Ready')],
    () => ({ Ready: true }),
    () => [],
  ])();
}

/** What provider-helm or provider-kubernetes write in `status.atProvider`, and worse. */
function atProvider(random: Random): unknown {
  const count = () => random.pick<unknown>([0, 1, 2, -1, 1.5, '1', null]);
  const workload = () => ({
    apiVersion: random.pick(['apps/v1', 'batch/v1', 7]),
    kind: random.pick<unknown>(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', '__proto__']),
    metadata: random.chance(0.8)
      ? {
          name: random.pick(['cert-manager', 'cert-manager-webhook', 'x']),
          namespace: 'cert-manager',
          generation: count(),
        }
      : hostileValue(random),
    spec: random.chance(0.8) ? { replicas: count() } : hostileValue(random),
    status: random.chance(0.8)
      ? {
          observedGeneration: count(),
          replicas: count(),
          updatedReplicas: count(),
          availableReplicas: count(),
          readyReplicas: count(),
          conditions: conditions(random),
        }
      : hostileValue(random),
  });
  return random.pick<() => unknown>([
    () => ({ manifest: workload() }),
    () => ({ manifest: hostileValue(random) }),
    () => ({
      state: random.pick<unknown>(['failed', 'deployed', 7]),
      releaseDescription: hostileValue(random),
    }),
    () => hostileValue(random),
  ])();
}

function observedResource(random: Random): Observed {
  const resource: Obj = { apiVersion: 'helm.crossplane.io/v1beta1', kind: 'Release' };
  if (random.chance(0.9))
    resource.status = random.chance(0.9)
      ? {
          conditions: conditions(random),
          ...(random.chance(0.3) ? { atProvider: atProvider(random) } : {}),
        }
      : hostileValue(random);
  if (random.chance(0.3))
    resource.metadata = { generation: random.pick<unknown>([1, 7, '7', null]) };
  if (random.chance(0.3)) {
    resource.spec = {
      connectionDetails: random.pick<unknown>([
        [{ kind: 'Secret', name: 'vc-vcluster', namespace: 'ns' }],
        [null, 'x'],
        'vc-vcluster',
      ]),
    };
  }
  const connectionDetails: Record<string, Buffer> = random.chance(0.3)
    ? { kubeconfig: Buffer.from('apiVersion: v1\nkind: Config\n') }
    : {};
  return { resource, connectionDetails, ready: Ready.READY_UNSPECIFIED };
}

/** A few tools of the catalogue, with everything they depend on. */
function claimTools(random: Random, catalogTools: Obj[]): Obj[] {
  const byName = new Map(catalogTools.map((tool) => [String(tool.name), tool]));
  const chosen = new Set<string>();
  const add = (name: string) => {
    const pending = [name];
    for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
      if (chosen.has(next)) continue;
      chosen.add(next);
      pending.push(...((byName.get(next)?.dependsOn as string[] | undefined) ?? []));
    }
  };
  for (let i = random.int(0, 4); i > 0; i--) add(String(random.pick(catalogTools).name));
  return [...chosen].map((name) => {
    const path = SHIPPED_TOOLS_ALLOWED[name];
    return path && random.chance(0.3)
      ? { name, values: setPath({}, path, { cpu: '1' }) }
      : { name };
  });
}

function setPath(object: Obj, path: string, value: unknown): Obj {
  const keys = path.split('.');
  let at = object;
  for (const key of keys.slice(0, -1)) at = (at[key] ??= {}) as Obj;
  at[keys.at(-1)!] = value;
  return object;
}

/** Every container path in `root` (at most `limit`), for replacing one with a wrong type. */
function paths(root: unknown, limit = 2_000): (string | number)[][] {
  const found: (string | number)[][] = [];
  const pending: { value: unknown; path: (string | number)[] }[] = [{ value: root, path: [] }];
  for (let next = pending.pop(); next && found.length < limit; next = pending.pop()) {
    const entries: [string | number, unknown][] = Array.isArray(next.value)
      ? [...next.value.entries()]
      : next.value && typeof next.value === 'object'
        ? Object.entries(next.value)
        : [];
    for (const [key, child] of entries) {
      found.push([...next.path, key]);
      pending.push({ value: child, path: [...next.path, key] });
    }
  }
  return found;
}

function replaceAt(root: unknown, path: (string | number)[], value: unknown): void {
  let at = root as Obj;
  for (const key of path.slice(0, -1)) at = at[key] as Obj;
  Object.defineProperty(at, path.at(-1)!, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

const tool = (name: string, extra: Obj = {}): Obj => ({
  name,
  chart: { repository: 'https://charts.example.org', name: 'chart', version: '1.0.0' },
  namespace: 'tools',
  ...extra,
});

/** A chain t0 ← t1 ← … of `length` tools, closed into a cycle when `cycle`. */
export function chainCatalog(catalog: Obj, length: number, cycle = false): Obj {
  return {
    ...catalog,
    tools: Array.from({ length }, (_, i) =>
      tool(`t${i}`, i > 0 || cycle ? { dependsOn: [`t${(i + length - 1) % length}`] } : {}),
    ),
  };
}

type Mutation = (random: Random, parts: Parts, spec: Obj, input: Obj) => void;

const mutations: Mutation[] = [
  // Prototype keys wherever input becomes a key or a name.
  (random, _parts, spec) => {
    spec.tools = [{ name: random.pick(PROTOTYPE_KEYS) }];
  },
  (random, _parts, spec) => {
    spec.cluster = { backend: random.pick(PROTOTYPE_KEYS) };
  },
  (random, _parts, spec) => {
    spec.cluster = { kubernetesVersion: random.pick(['__proto__', 'constructor', '1.99', '1.33']) };
  },
  (random, _parts, _spec, input) => {
    const vcluster = (input.cluster as Obj).vcluster as Obj;
    if (random.chance(0.5)) vcluster.defaultKubernetesVersion = random.pick(PROTOTYPE_KEYS);
    else vcluster.kubernetesVersions = own(random.pick(PROTOTYPE_KEYS), {});
  },
  (random, _parts, _spec, input) => {
    input.cluster = own(random.pick(PROTOTYPE_KEYS), { chart: {} });
  },
  (random, _parts, spec, input) => {
    const name = random.pick(['constructor', 'tostring', 'valueof', 'proto']);
    input.tools = [tool(name, { allowedValues: ['*'], values: own('__proto__', { base: 1 }) })];
    spec.tools = [{ name, values: own(random.pick(PROTOTYPE_KEYS), { polluted: true }) }];
  },
  // ttl, absurd and at the edges.
  (random, _parts, spec) => {
    spec.ttl = random.pick<unknown>([
      '99999999999999999999d',
      '10000000d',
      '365d',
      '366d',
      '364d23h59m60s',
      '1s'.repeat(random.int(15, 20)),
      '0s',
      'd',
      '',
      '٣d',
      8,
      null,
      `${random.int(0, 400)}d${random.int(0, 30)}h`,
    ]);
  },
  // Deep values, under allowed and refused paths, objects and lists.
  (random, _parts, spec) => {
    const depth = random.pick([30, 62, 63, 64, 65, 66, 200, 5_000, 100_000]);
    const lists = random.chance(0.3);
    if (random.chance(0.5)) {
      spec.tools = [{ name: 'cert-manager', values: { resources: nestedValue(depth, 1, lists) } }];
    } else {
      spec.cluster = { values: { sync: nestedValue(depth, 1, lists) } };
    }
  },
  (random, _parts, _spec, input) => {
    ((input.tools as Obj[])[0] as Obj).values = nestedValue(random.pick([63, 64, 65, 1_000]));
  },
  // Lists beyond the limits, names at them.
  (random, _parts, spec) => {
    spec.tools = Array.from({ length: random.pick([199, 200, 201, 250]) }, (_, i) => ({
      name: `t${i}`,
    }));
  },
  // Chains and cycles; those of thousands of tools are among the fixed requests (fuzz.test.ts).
  (random, _parts, spec, input) => {
    const length = random.chance(0.05) ? 1025 : random.int(1, 60);
    Object.assign(input, chainCatalog(input, length, random.chance(0.5)));
    spec.tools = Array.from({ length: random.int(0, Math.min(length, 200)) }, (_, i) => ({
      name: `t${i}`,
    }));
  },
  (random, _parts, _spec, input) => {
    const first = (input.tools as Obj[])[0] as Obj;
    first.dependsOn = Array.from({ length: random.pick([32, 33, 100]) }, (_, i) =>
      random.chance(0.1) ? i : `t${random.chance(0.2) ? 0 : i}`,
    );
  },
  (random, _parts, _spec, input) => {
    const target = random.chance(0.5)
      ? ((input.tools as Obj[])[0] as Obj)
      : ((input.cluster as Obj).vcluster as Obj);
    target.allowedValues = random.pick<unknown>([
      Array.from({ length: random.pick([64, 65]) }, (_, i) => `k${i}`),
      ['a..b', '.a', 'a.', '*', '*.*'],
      ['x'.repeat(254)],
      'sync',
      [1, null],
    ]);
  },
  (random, _parts, spec) => {
    spec.tools = [{ name: random.pick(['a'.repeat(63), 'a'.repeat(64), `${'a'.repeat(53)}`]) }];
  },
  (random, parts) => {
    const xr = parts.xr as Obj;
    const metadata = xr.metadata as Obj;
    const label = (n: number) => 'a'.repeat(n);
    metadata.name = random.pick<unknown>([
      `${label(63)}.${label(63)}.${label(63)}.${label(61)}`,
      `${label(63)}.${label(63)}.${label(63)}.${label(62)}`,
      'Upper.Case_name',
      '',
      null,
      7,
    ]);
    if (random.chance(0.5)) {
      metadata.namespace = random.pick<unknown>([label(63), '', 'team-a', 3, null]);
      xr.kind = 'Environment';
    }
    if (random.chance(0.3)) {
      metadata.creationTimestamp = random.pick<unknown>([
        'yesterday',
        '9999-12-31T00:00:00Z',
        '2026-13-40T00:00:00Z',
        5,
      ]);
    }
  },
  // Values outside the allow-list.
  (random, _parts, spec) => {
    spec.cluster = {
      values: random.pick<Obj>([
        { exportKubeConfig: { secret: { namespace: 'kube-system' } } },
        { sync: { fromHost: { secrets: { mappings: { byName: { 'kube-system/*': 'x/*' } } } } } },
        { sync: null },
        { sync: [] },
        { sync: { toHost: { ingresses: { enabled: false } } } },
        { 'app.kubernetes.io/name': 'x' },
        own('__proto__', { polluted: true }),
      ]),
    };
  },
  (random, _parts, spec) => {
    spec.tools = [
      {
        name: 'cert-manager',
        values: random.pick<Obj>([
          { hostNetwork: true },
          { resources: { limits: { cpu: 'x'.repeat(random.int(1, 1_000)) } } },
          { webhook: { podLabels: { [`k${'.x'.repeat(random.int(1, 20))}`]: 'v' } } },
          { ['k'.repeat(random.int(100, 10_000))]: 1 },
        ]),
      },
    ];
  },
  // Bad sinks.
  (random, _parts, spec) => {
    spec.events = random.pick<unknown>([
      { sink: 'broker' },
      { sink: 'ftp://example.org' },
      { sink: 'javascript:alert(1)' },
      { sink: `http://${'x'.repeat(random.int(2_000, 5_000))}` },
      { sink: 42 },
      { sink: '' },
      'sink',
      null,
    ]);
  },
  // Wrong types in every field, claim and catalogue.
  (random, parts) => {
    const candidates = paths(parts.xr);
    if (candidates.length > 0) replaceAt(parts.xr, random.pick(candidates), hostileValue(random));
  },
  (random, parts) => {
    const candidates = paths(parts.input);
    if (candidates.length > 0)
      replaceAt(parts.input, random.pick(candidates), hostileValue(random));
  },
  (random, parts) => {
    const whole = random.pick<unknown>([
      undefined,
      null,
      [],
      'input',
      { apiVersion: 'x/v1', kind: 'Catalog' },
    ]);
    if (random.chance(0.5)) parts.input = whole;
    else parts.xr = whole;
  },
  // Observed resources without a body, and under keys that are not the function's.
  (random, parts) => {
    for (const key of Object.keys(parts.observed)) {
      if (random.chance(0.3)) {
        parts.observed[key] = {
          resource: undefined,
          connectionDetails: {},
          ready: Ready.READY_UNSPECIFIED,
        };
      }
    }
    for (const key of [
      'foo',
      '__proto__',
      toolKey('Foo'),
      toolKey(''),
      toolKey('x'.repeat(100)),
      usageKey(''),
    ]) {
      if (random.chance(0.5)) parts.observed[key] = observedResource(random);
    }
  },
];

/** A request near the 4 MiB gRPC limit: one big value under a path the catalogue allows. */
export function largeParts(catalog: Obj, bytes: number): Parts {
  return {
    xr: xr({
      tools: [{ name: 'cert-manager', values: { resources: { blob: 'x'.repeat(bytes) } } }],
    }),
    input: structuredClone(catalog),
    observed: {},
    desired: {},
  };
}

function xr(spec: Obj): Obj {
  return {
    apiVersion: 'platform.xenvironment.io/v1alpha1',
    kind: 'XEnvironment',
    metadata: { name: 'fuzz-x7k2p', creationTimestamp: '2026-11-25T09:00:00Z' },
    spec,
  };
}

/** One generated request's parts. */
export function generate(random: Random, catalog: Obj): Parts {
  const input = structuredClone(catalog);
  const tools = claimTools(random, input.tools as Obj[]);
  const spec: Obj = { tools, ...(random.chance(0.5) ? { ttl: '8h' } : {}) };
  const parts: Parts = { xr: xr(spec), input, observed: {}, desired: {} };
  // Observed: some of what the function composes for these tools, and for tools dropped since.
  const names = [
    ...tools.map((t) => String(t.name)),
    ...(random.chance(0.3) ? ['tekton-pipelines'] : []),
  ];
  const keys = [...ENVIRONMENT_KEYS];
  const catalogTools = new Map((input.tools as Obj[]).map((t) => [String(t.name), t]));
  for (const name of names) {
    keys.push(toolKey(name), usageKey(name));
    // Its readiness Objects, and one the catalogue does not list.
    const checks = (catalogTools.get(name)?.readiness as unknown[] | undefined) ?? [];
    for (let n = 0; n <= checks.length; n++) keys.push(readinessKey(name, n));
    for (const dep of (catalogTools.get(name)?.dependsOn as string[] | undefined) ?? []) {
      keys.push(usageKey(name, dep));
    }
  }
  for (const key of keys) if (random.chance(0.5)) parts.observed[key] = observedResource(random);
  if (random.chance(0.2)) {
    parts.desired['earlier-step'] = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'kept' },
    };
  }
  for (let i = random.pick([0, 1, 1, 2, 3]); i > 0; i--) {
    try {
      random.pick(mutations)(random, parts, spec, input);
    } catch {
      // An earlier mutation replaced what this one edits (the XR with a string, say).
    }
  }
  return parts;
}

export function toRequest(parts: Parts): RunFunctionRequest {
  return RunFunctionRequest.fromPartial({
    meta: { tag: 'fuzz' },
    observed: {
      composite:
        parts.xr === undefined
          ? undefined
          : { resource: parts.xr as Obj, connectionDetails: {}, ready: Ready.READY_UNSPECIFIED },
      resources: parts.observed,
    },
    desired: {
      resources: Object.fromEntries(
        Object.entries(parts.desired).map(([key, resource]) => [
          key,
          { resource, connectionDetails: {}, ready: Ready.READY_UNSPECIFIED },
        ]),
      ),
    },
    input: parts.input as Obj,
  });
}

export interface Verdict {
  fatal: boolean;
  problems: string[];
}

const FIELD_PATH =
  /^(observed\.composite\.resource|input|spec|metadata|apiVersion|kind)((?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\]|\["(?:[^"\\]|\\.)*"\])*): /;

/** The path's segments, as `fieldPath` writes them. */
function segments(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const [, ident, index, quoted] of path.matchAll(
    /\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g,
  )) {
    out.push(ident ?? (index !== undefined ? Number(index) : (JSON.parse(quoted!) as string)));
  }
  return out;
}

/** Whether every segment but the last leads somewhere in `root` (a shortened key by its start). */
function parentExists(root: unknown, keys: (string | number)[]): boolean {
  let at = root;
  for (const key of keys.slice(0, -1)) {
    if (!at || typeof at !== 'object') return false;
    if (typeof key === 'string' && key.endsWith('…')) {
      const prefix = key.slice(0, -1);
      const match = Object.keys(at).find((k) => k.startsWith(prefix));
      if (match === undefined) return false;
      at = (at as Obj)[match];
    } else if (Object.hasOwn(at, key)) {
      at = (at as Obj)[key as string];
    } else {
      return false;
    }
  }
  return true;
}

/** The properties every answer to `req` must have; each problem is one sentence. */
export function verdict(req: RunFunctionRequest, rsp: RunFunctionResponse): Verdict {
  const problems: string[] = [];
  for (const result of rsp.results) {
    if (result.message.startsWith('internal error'))
      problems.push(`internal error: ${result.message.slice(0, 200)}`);
  }
  const fatal = rsp.results.find((r) => r.severity === Severity.SEVERITY_FATAL);
  if (fatal) {
    const match = FIELD_PATH.exec(fatal.message);
    if (!match) {
      problems.push(`Fatal without a field: ${fatal.message.slice(0, 200)}`);
    } else {
      const [, root, rest] = match;
      const base = root === 'input' ? req.input : req.observed?.composite?.resource;
      const keys =
        root === 'input' || root === 'observed.composite.resource'
          ? segments(rest!)
          : [root!, ...segments(rest!)];
      if (root !== 'observed.composite.resource' && !parentExists(base, keys)) {
        problems.push(
          `Fatal names a field the request does not have: ${fatal.message.slice(0, 200)}`,
        );
      }
    }
    if (fatal.message.length > 20_000)
      problems.push(`Fatal message of ${fatal.message.length} characters`);
    if (!isDeepStrictEqual(rsp.desired, req.desired))
      problems.push('Fatal changed the desired state');
    return { fatal: true, problems };
  }

  const desired = rsp.desired?.resources ?? {};
  for (const key of Object.keys(req.desired?.resources ?? {})) {
    if (!(key in desired)) problems.push(`an earlier step's ${key} was dropped`);
  }
  const spec = ((req.observed?.composite?.resource as Obj).spec ?? {}) as Obj;
  const requested = new Set(((spec.tools as Obj[] | undefined) ?? []).map((t) => String(t.name)));
  const catalogTools = (req.input as Obj).tools as Obj[];
  const dependsOn = new Map(
    catalogTools.map((t) => [String(t.name), (t.dependsOn as string[]) ?? []]),
  );
  const checks = new Map(
    catalogTools.map((t) => [String(t.name), ((t.readiness as unknown[]) ?? []).length]),
  );
  for (const key of Object.keys(req.observed?.resources ?? {})) {
    const owner = ownerOf(key, dependsOn, checks);
    if (owner === undefined || key in desired) continue;
    if (owner === '' || requested.has(owner)) problems.push(`observed ${key} was dropped`);
  }
  const ids = new Set<string>();
  for (const [key, { resource }] of Object.entries(desired)) {
    if (key in (req.desired?.resources ?? {}) && ownerOf(key, dependsOn, checks) === undefined)
      continue;
    const name = String((resource?.metadata as Obj | undefined)?.name);
    if (!DNS_LABEL.test(name))
      problems.push(`${key} is named ${name.slice(0, 80)}, not a DNS label`);
    const id = `${String(resource?.apiVersion)}/${String(resource?.kind)}/${name}`;
    if (ids.has(id)) problems.push(`two composed resources are ${id}`);
    ids.add(id);
  }
  const status = (rsp.desired?.composite?.resource?.status ?? {}) as Obj;
  if (!(PHASES as readonly unknown[]).includes(status.phase))
    problems.push(`phase ${String(status.phase)}`);
  for (const tool of (status.tools as Obj[] | undefined) ?? []) {
    if (!(TOOL_PHASES as readonly unknown[]).includes(tool.phase))
      problems.push(`tool phase ${String(tool.phase)}`);
    if (tool.ready !== (tool.phase === 'Ready'))
      problems.push(
        `tool ${String(tool.name)} ready ${String(tool.ready)} in phase ${String(tool.phase)}`,
      );
  }
  if (status.expiresAt !== undefined && !RFC3339_SECONDS.test(String(status.expiresAt))) {
    problems.push(`expiresAt ${String(status.expiresAt)} is not RFC 3339`);
  }
  return { fatal: false, problems };
}

/**
 * The tool an observed key of the function's belongs to ('' for the environment's own), or
 * undefined for keys that are not the function's. A Usage on a dependency the catalogue no longer
 * lists is no one's: the function rightly drops it, or it would hold the dependency forever; so is
 * a readiness Object of a check the catalogue no longer lists.
 */
function ownerOf(
  key: string,
  dependsOn: Map<string, string[]>,
  checks: Map<string, number>,
): string | undefined {
  if (ENVIRONMENT_KEYS.includes(key)) return '';
  const tool = toolOfKey(key);
  if (tool !== undefined) return tool;
  for (const [by, deps] of dependsOn) {
    if (key === usageKey(by)) return by;
    if (deps.some((of) => key === usageKey(by, of))) return by;
    for (let n = 0; n < (checks.get(by) ?? 0); n++) if (key === readinessKey(by, n)) return by;
  }
  return undefined;
}

const ENVIRONMENT_KEYS = [
  CLUSTER_KEY,
  HOST_NAMESPACE_KEY,
  prerequisiteUsageKey(HOST_NAMESPACE_KEY),
  HELM_PROVIDER_CONFIG_KEY,
  KUBERNETES_PROVIDER_CONFIG_KEY,
];
