import { deepFreeze, equalJson, setOwn, type JsonObject } from '../../common/objects.js';
import { keepEncoding } from '../codec/kept-encodings.js';
import type { ToolStatus } from '../../common/contract.js';
import type { Chart, CompositeRef, Placement, ReadinessCheck } from '../input/model.js';
import { mergeValues } from '../input/values.js';
import { helmRelease, kubernetesObject, providerConfig, usage, type Ref } from './resources.js';
import type { ToolState } from './tool-state.js';

/**
 * Resources composed for an XR at its last call. Crossplane calls the function for an XR at every
 * reconcile, and most of what one call composes the call before composed too: a resource made of
 * the same parts as then is taken from then, deep-frozen and with its encoding kept
 * (codec/kept-encodings.ts), so that neither building nor writing it is paid again. The parts are
 * every argument its builder is given and every field of the placement the builder reads, compared
 * in full (strings and flags by value, values by equalJson, keys in order): what is taken is what building it
 * again would give. Only what the last call used is kept; bounded, the XRs least recently called
 * go first.
 */
interface Kept {
  parts: readonly unknown[];
  resource: JsonObject;
  /** The call that used it last. */
  call: number;
  /** Resources it weighs as: 1, and more for the claim's values it holds (see keptToolRelease). */
  weight: number;
}

/**
 * Resources kept, of every XR together, by weight: a few hundred XRs of a few tools, a few of
 * many. A resource takes a few KiB with its encoding; all of them at most about 10 MiB.
 */
const KEPT_WEIGHT = 4096;
/** By XR, then by composed resource key; the XRs least recently called first. */
const store = new Map<string, { resources: Map<string, Kept>; weight: number }>();
let storeWeight = 0;
let calls = 0;

/** Forgets every kept resource (tests compare what is composed with and without them). */
export function forgetKeptResources(): void {
  store.clear();
  storeWeight = 0;
}

/** What one call composes for one XR: what its last call kept, and what this one uses. */
export class KeptResources {
  private readonly xr: string;
  private readonly kept: Map<string, Kept>;
  private readonly call = ++calls;

  constructor(composite: CompositeRef) {
    this.xr = JSON.stringify([
      composite.apiVersion,
      composite.kind,
      composite.namespace ?? '',
      composite.name,
    ]);
    const kept = store.get(this.xr);
    if (kept) {
      store.delete(this.xr);
      storeWeight -= kept.weight;
    }
    this.kept = kept?.resources ?? new Map();
  }

  /** The resource the last call composed under `key`, if it was made of `parts`. */
  get(key: string, parts: readonly unknown[]): JsonObject | undefined {
    const kept = this.kept.get(key);
    if (kept === undefined || kept.call === this.call || !sameParts(kept.parts, parts)) {
      return undefined;
    }
    kept.call = this.call;
    return kept.resource;
  }

  /** Keeps `resource`, made of `parts` only, which must share nothing with the request. */
  keep(key: string, parts: readonly unknown[], resource: JsonObject, weight = 1): JsonObject {
    this.kept.set(key, {
      parts: deepFreeze(parts),
      resource: keepEncoding(resource),
      call: this.call,
      weight,
    });
    return resource;
  }

  /** Keeps what this call used, and only that, as the XR's most recent. */
  done(): void {
    let weight = 0;
    for (const [key, kept] of this.kept) {
      if (kept.call === this.call) weight += kept.weight;
      else this.kept.delete(key);
    }
    store.set(this.xr, { resources: this.kept, weight });
    storeWeight += weight;
    for (const [xr, kept] of store) {
      if (storeWeight <= KEPT_WEIGHT) break;
      store.delete(xr);
      storeWeight -= kept.weight;
    }
  }
}

function sameParts(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (!Object.is(x, y) && (typeof x !== 'object' || !equalJson(x, y, true))) return false;
  }
  return true;
}

/*
 * The builders of resources.ts, kept: each one's parts are the arguments it is given and the
 * fields of the placement it reads, for the options given here.
 */

export function keptUsage(
  kept: KeptResources,
  key: string,
  placement: Placement,
  name: string,
  of: Ref,
  by: Ref,
): JsonObject {
  const parts = [
    'Usage',
    placement.usageApiVersion,
    placement.namespace,
    name,
    of.apiVersion,
    of.kind,
    of.name,
    by.apiVersion,
    by.kind,
    by.name,
  ];
  return kept.get(key, parts) ?? kept.keep(key, parts, usage(placement, name, of, by));
}

export function keptProviderConfig(
  kept: KeptResources,
  key: string,
  placement: Placement,
  apiVersion: string,
  name: string,
): JsonObject {
  const secret = placement.kubeconfigSecret;
  const parts = [
    'ProviderConfig',
    placement.namespace,
    apiVersion,
    name,
    secret.name,
    secret.namespace,
    secret.key,
  ];
  return kept.get(key, parts) ?? kept.keep(key, parts, providerConfig(placement, apiVersion, name));
}

/** What a tool's Release is made of, but for the claim's values. */
interface ReleasedTool {
  name: string;
  chart: Chart;
  namespace: string;
  catalogValues: JsonObject;
  waitTimeout: string;
}

/** A tool's Release: the catalogue's values with the claim's (`claimValues`) merged over them. */
export function keptToolRelease(
  kept: KeptResources,
  key: string,
  placement: Placement,
  tool: ReleasedTool & { claimValues: JsonObject },
  name: string,
  providerConfigName: string,
): JsonObject {
  const { chart } = tool;
  const parts = [
    'Release',
    placement.helmApiVersion,
    placement.namespaced,
    placement.namespace,
    name,
    tool.name,
    chart.repository,
    chart.name,
    chart.version,
    tool.namespace,
    tool.waitTimeout,
    providerConfigName,
    // Part of a catalogue read once and frozen (input/catalog.ts): the same object call after call.
    tool.catalogValues,
    tool.claimValues,
  ];
  const found = kept.get(key, parts);
  if (found) return found;
  // The claim's values come with the request: a kept Release holds a copy of its own, if they
  // are few (a claim may send megabytes of them, which are not kept).
  const copy = copyValues(tool.claimValues);
  if (copy === undefined) {
    return toolRelease(placement, tool, name, providerConfigName, tool.claimValues);
  }
  parts[parts.length - 1] = copy.values;
  const resource = toolRelease(placement, tool, name, providerConfigName, copy.values);
  return kept.keep(key, parts, resource, 1 + Math.ceil(copy.nodes / NODES_PER_WEIGHT));
}

function toolRelease(
  placement: Placement,
  tool: ReleasedTool,
  name: string,
  providerConfigName: string,
  claimValues: JsonObject,
): JsonObject {
  const { chart } = tool;
  return helmRelease(placement, {
    name,
    releaseName: tool.name,
    chart: { repository: chart.repository, name: chart.name, version: chart.version },
    namespace: tool.namespace,
    values: mergeValues(tool.catalogValues, claimValues),
    providerConfig: { name: providerConfigName, kind: 'ProviderConfig' },
    waitTimeout: tool.waitTimeout,
  });
}

/** An Observe-only Object that reads `check` in the new cluster, through its provider config. */
export function keptReadinessObject(
  kept: KeptResources,
  key: string,
  placement: Placement,
  name: string,
  check: ReadinessCheck,
  providerConfigName: string,
): JsonObject {
  const parts = [
    'Object',
    placement.kubernetesObjectApiVersion,
    placement.namespaced,
    placement.namespace,
    name,
    check.apiVersion,
    check.kind,
    check.name,
    check.namespace,
    providerConfigName,
  ];
  const found = kept.get(key, parts);
  if (found) return found;
  const resource = kubernetesObject(
    placement,
    name,
    {
      apiVersion: check.apiVersion,
      kind: check.kind,
      metadata: { name: check.name, namespace: check.namespace },
    },
    { name: providerConfigName, kind: 'ProviderConfig' },
    { observeOnly: true },
  );
  return kept.keep(key, parts, resource);
}

/**
 * A tool's entry in the XR's status, kept as resources are: most of them say the same call after
 * call. Under a key no composed resource has (those have no '/').
 */
export function keptToolStatus(
  kept: KeptResources,
  tool: { name: string; chart: Chart; dependsOn: string[] },
  state: ToolState,
): ToolStatus {
  const key = `status/${tool.name}`;
  const parts = [
    'ToolStatus',
    tool.name,
    tool.chart.version,
    tool.dependsOn,
    state.ready,
    state.phase,
    state.message,
  ];
  const found = kept.get(key, parts);
  if (found) return found as unknown as ToolStatus;
  const status: ToolStatus = {
    name: tool.name,
    version: tool.chart.version,
    ...(tool.dependsOn.length > 0 ? { dependsOn: [...tool.dependsOn] } : {}),
    ready: state.ready,
    phase: state.phase,
    ...(state.message !== undefined ? { message: state.message } : {}),
  };
  parts[3] = [...tool.dependsOn];
  // A message can be as long as what is observed makes it (a Helm error): it weighs accordingly.
  const weight = 1 + Math.floor((state.message?.length ?? 0) / MESSAGE_PER_WEIGHT);
  return kept.keep(key, parts, status as unknown as JsonObject, weight) as unknown as ToolStatus;
}

/** Characters of a status message that weigh as much as a kept resource. */
const MESSAGE_PER_WEIGHT = 2048;

/** Claim values of more nodes (objects, lists and scalars) than this are not kept. */
const KEPT_VALUE_NODES = 1024;
/** What a kept value node weighs against a kept resource (with its parts and its encoding). */
const NODES_PER_WEIGHT = 8;

/**
 * A copy that shares nothing with `values` (chart values, nested at most limits.valuesDepth, so
 * recursion is bounded), and its nodes; undefined if they are more than KEPT_VALUE_NODES.
 */
function copyValues(values: JsonObject): { values: JsonObject; nodes: number } | undefined {
  const budget = { nodes: KEPT_VALUE_NODES };
  const copy = copyValue(values, budget) as JsonObject;
  return budget.nodes < 0 ? undefined : { values: copy, nodes: KEPT_VALUE_NODES - budget.nodes };
}

function copyValue(value: unknown, budget: { nodes: number }): unknown {
  if (--budget.nodes < 0 || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const list: unknown[] = [];
    for (const item of value) {
      list.push(copyValue(item, budget));
      if (budget.nodes < 0) return undefined;
    }
    return list;
  }
  const copy: JsonObject = {};
  for (const key of Object.keys(value)) {
    setOwn(copy, key, copyValue((value as JsonObject)[key], budget));
    if (budget.nodes < 0) return undefined;
  }
  return copy;
}
