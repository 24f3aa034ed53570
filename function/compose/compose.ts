import {
  CLUSTER_KEY,
  HELM_PROVIDER_CONFIG_KEY,
  KUBERNETES_PROVIDER_CONFIG_KEY,
  prerequisiteUsageKey,
  toolOfKey,
  type ToolStatus,
} from '../../common/contract.js';
import { healthOf, type Health, type ObservedResource } from '../../common/health.js';
import type { JsonObject } from '../../common/objects.js';
import type { ClusterRendering } from '../backends/backend.js';
import type { Catalog } from '../input/catalog.js';
import type { Environment, Placement, ReadinessCheck, RequestedTool } from '../input/model.js';
import { keysOf } from './keys.js';
import { placementFor, KUBECONFIG_KEY } from './placement.js';
import {
  KeptResources,
  keptProviderConfig,
  keptReadinessObject,
  keptToolRelease,
  keptToolStatus,
  keptUsage,
} from './kept.js';
import { refTo, type Ref } from './resources.js';
import { checkState, releaseHealth, toolState, type ToolState } from './tool-state.js';
import type { WorkloadState } from './workloads.js';

export interface DesiredResource {
  resource: JsonObject;
  ready: boolean;
}

export type Observed = ReadonlyMap<string, ObservedResource>;

export interface Composed {
  resources: Map<string, DesiredResource>;
  cluster: { health: Health; endpoint: string; kubernetesVersion?: string };
  tools: ToolStatus[];
  /** Tools composed before that the claim no longer asks for; they are deleted. */
  removedTools: string[];
  kubeconfig?: Buffer;
  placement: Placement;
}

/**
 * Decides the composed resources of one environment from what is observed. The cluster is composed
 * once its prerequisite is observed Ready, and a tool once the cluster and every tool it depends on
 * are; from then on each stays for as long as the claim asks for it, so that a blip never deletes
 * anything. Any of a resource's own composed resources observed shows it was composed before.
 */
export function compose(environment: Environment, catalog: Catalog, observed: Observed): Composed {
  const placement = placementFor(environment.composite, catalog.connectionSecretNamespace);
  // Parsing the environment checked that the catalogue offers its backend.
  const offer = catalog.clusterOffers.get(environment.backend)!;
  const cluster = offer.backend.render(environment, offer.settings, placement);
  const resources = new Map<string, DesiredResource>();
  const kept = new KeptResources(environment.composite);
  const clusterHealth = composeCluster(cluster, observed, resources, placement, kept);
  const providerConfigName = placement.name('providerconfig');
  composeProviderConfigs(resources, placement, providerConfigName, observed, kept);

  // Every tool's state first: a dependency may be listed after the tool that needs it.
  const states = new Map(environment.tools.map((tool) => [tool.name, stateOf(tool, observed)]));
  const run: ComposeRun = {
    observed,
    placement,
    providerConfigName,
    resources,
    releaseRefs: new Map(),
    states,
    clusterHealth,
    composedTools: new Map(),
    kept,
  };
  const tools: ToolStatus[] = [];
  for (const tool of environment.tools) tools.push(composeTool(run, tool));
  composeToolUsages(run, refTo(cluster.resource));
  composeProviderConfigUsage(run, refTo(cluster.resource));
  kept.done();

  const composed: Composed = {
    resources,
    cluster: {
      health: clusterHealth,
      endpoint: cluster.endpoint,
      ...(cluster.kubernetesVersion ? { kubernetesVersion: cluster.kubernetesVersion } : {}),
    },
    tools,
    removedTools: removedTools(environment, observed),
    placement,
  };
  const kubeconfig = observed.get(CLUSTER_KEY)?.connectionDetails[KUBECONFIG_KEY];
  if (kubeconfig) composed.kubeconfig = kubeconfig;
  return composed;
}

/** The provider configs of the new cluster, for Helm and for Kubernetes objects. */
function composeProviderConfigs(
  resources: Map<string, DesiredResource>,
  placement: Placement,
  name: string,
  observed: Observed,
  kept: KeptResources,
): void {
  // Provider configs carry no Ready condition: they are ready once they exist.
  resources.set(HELM_PROVIDER_CONFIG_KEY, {
    resource: keptProviderConfig(
      kept,
      HELM_PROVIDER_CONFIG_KEY,
      placement,
      placement.helmApiVersion,
      name,
    ),
    ready: observed.has(HELM_PROVIDER_CONFIG_KEY),
  });
  resources.set(KUBERNETES_PROVIDER_CONFIG_KEY, {
    resource: keptProviderConfig(
      kept,
      KUBERNETES_PROVIDER_CONFIG_KEY,
      placement,
      placement.kubernetesApiVersion,
      name,
    ),
    ready: observed.has(KUBERNETES_PROVIDER_CONFIG_KEY),
  });
}

/** Each composed tool's Usages: of the cluster, and of each tool it depends on. */
function composeToolUsages(run: ComposeRun, clusterRef: Ref): void {
  const { composedTools, observed, placement, resources, kept } = run;
  for (const tool of composedTools.values()) {
    const by = releaseRef(run, tool.name);
    const onCluster = keysOf(tool.name).usage;
    resources.set(onCluster, {
      resource: keptUsage(
        kept,
        onCluster,
        placement,
        placement.name('usage', tool.name),
        clusterRef,
        by,
      ),
      ready: observed.has(onCluster),
    });
    for (const dep of tool.dependsOn) {
      // A tool stays composed even while a dependency is not (say, deleted during a cluster blip);
      // there is nothing to order its deletion against until the dependency is back.
      const key = keysOf(tool.name).usageOn(dep);
      if (!composedTools.has(dep) && !observed.has(key)) continue;
      resources.set(key, {
        resource: keptUsage(
          kept,
          key,
          placement,
          placement.name('usage', tool.name, dep),
          releaseRef(run, dep),
          by,
        ),
        ready: observed.has(key),
      });
    }
  }
}

/**
 * The tools' provider config goes only after the cluster, so after every tool: deleting an XR in
 * the foreground, the garbage collector deletes each Release's ProviderConfigUsage before the
 * Release, which would let the provider config go before Helm has uninstalled the tool with it.
 */
function composeProviderConfigUsage(run: ComposeRun, clusterRef: Ref): void {
  const { observed, placement, resources, kept } = run;
  if (!resources.has(CLUSTER_KEY)) return;
  const key = prerequisiteUsageKey(HELM_PROVIDER_CONFIG_KEY);
  const of = {
    apiVersion: placement.helmApiVersion,
    kind: 'ProviderConfig',
    name: run.providerConfigName,
  };
  resources.set(key, {
    resource: keptUsage(kept, key, placement, placement.name(key), of, clusterRef),
    ready: observed.has(key),
  });
}

/** Tools composed before that the claim no longer asks for, by name. */
function removedTools(environment: Environment, observed: Observed): string[] {
  const requested = new Set(environment.tools.map((tool) => tool.name));
  return [...observed.keys()]
    .map(toolOfKey)
    .filter((name): name is string => name !== undefined && !requested.has(name))
    .sort();
}

/**
 * What composing one environment's tools shares. The steps are module-level functions, not
 * closures made per request: V8 keeps a closure's optimized code only while a closure made at that
 * site lives, so closures made per request are compiled again after each major GC (figures:
 * docs/performance.md).
 */
interface ComposeRun {
  observed: Observed;
  placement: Placement;
  providerConfigName: string;
  resources: Map<string, DesiredResource>;
  releaseRefs: Map<string, Ref>;
  states: ReadonlyMap<string, ObservedTool>;
  clusterHealth: Health;
  /** The tools composed so far, in the claim's order. */
  composedTools: Map<string, RequestedTool>;
  kept: KeptResources;
}

function releaseRef(run: ComposeRun, tool: string): Ref {
  let ref = run.releaseRefs.get(tool);
  if (!ref) {
    ref = {
      apiVersion: run.placement.helmApiVersion,
      kind: 'Release',
      name: run.placement.name('tool', tool),
    };
    run.releaseRefs.set(tool, ref);
  }
  return ref;
}

/** Composes `tool` if it was before or may be now; its status either way. */
function composeTool(run: ComposeRun, tool: RequestedTool): ToolStatus {
  const { observed, placement, providerConfigName, resources, kept } = run;
  if (!composedBefore(tool, observed)) {
    const unmet = unmetDependencies(tool, run.clusterHealth, run.states);
    if (unmet.length > 0) {
      return keptToolStatus(kept, tool, {
        ready: false,
        phase: 'Waiting',
        message: `waiting for ${unmet.join(', ')}`,
      });
    }
  }
  run.composedTools.set(tool.name, tool);
  const { release, checks, state } = run.states.get(tool.name)!;
  const key = keysOf(tool.name).release;
  resources.set(key, {
    resource: toolRelease(
      kept,
      key,
      tool,
      placement,
      releaseRef(run, tool.name).name,
      providerConfigName,
    ),
    ready: release.state === 'ready',
  });
  // Once the Release is Ready its chart's objects exist, mostly; until then there is nothing
  // to read, and an Observe-only Object of an object that does not exist only reports errors.
  // Once composed, they stay, as everything else, while a Release blips.
  if (
    release.state === 'ready' ||
    tool.readiness.some((_, n) => observed.has(keysOf(tool.name).readiness(n)))
  ) {
    checks.forEach(({ check, state: checked }, n) => {
      const key = keysOf(tool.name).readiness(n);
      resources.set(key, {
        resource: readinessObject(kept, key, placement, tool.name, n, check, providerConfigName),
        ready: checked.state === 'ready',
      });
    });
  }
  return keptToolStatus(kept, tool, state);
}

/**
 * Composes the cluster, and its prerequisite first if it has one, with the Usage that orders their
 * deletion. Waiting for the prerequisite is the cluster's progress, and its failure the cluster's.
 */
function composeCluster(
  cluster: ClusterRendering,
  observed: Observed,
  resources: Map<string, DesiredResource>,
  placement: Placement,
  kept: KeptResources,
): Health {
  const health = healthOf(observed.get(CLUSTER_KEY));
  const composeIt = () =>
    resources.set(CLUSTER_KEY, { resource: cluster.resource, ready: health.state === 'ready' });
  const { prerequisite } = cluster;
  if (!prerequisite) {
    composeIt();
    return health;
  }
  const before = healthOf(observed.get(prerequisite.key));
  resources.set(prerequisite.key, {
    resource: prerequisite.resource,
    ready: before.state === 'ready',
  });
  const usageKey = prerequisiteUsageKey(prerequisite.key);
  if (observed.has(CLUSTER_KEY) || observed.has(usageKey) || before.state === 'ready') {
    composeIt();
    resources.set(usageKey, {
      resource: keptUsage(
        kept,
        usageKey,
        placement,
        placement.name(usageKey),
        refTo(prerequisite.resource),
        refTo(cluster.resource),
      ),
      ready: observed.has(usageKey),
    });
  }
  if (health.state !== 'absent') return health;
  switch (before.state) {
    case 'absent':
      return health;
    case 'ready':
      return { state: 'progressing' };
    case 'progressing':
      return { state: 'progressing', message: `waiting for ${prerequisite.description}` };
    case 'failed':
      return { state: 'failed', message: `${prerequisite.description}: ${before.message}` };
  }
}

function composedBefore(tool: RequestedTool, observed: Observed): boolean {
  return (
    observed.has(keysOf(tool.name).release) ||
    observed.has(keysOf(tool.name).usage) ||
    tool.dependsOn.some((dep) => observed.has(keysOf(tool.name).usageOn(dep))) ||
    tool.readiness.some((_, n) => observed.has(keysOf(tool.name).readiness(n)))
  );
}

interface ObservedTool {
  release: Health;
  /** In the catalogue's order, as readiness keys number them. */
  checks: { check: ReadinessCheck; state: WorkloadState }[];
  state: ToolState;
}

function stateOf(tool: RequestedTool, observed: Observed): ObservedTool {
  const release = releaseHealth(observed.get(keysOf(tool.name).release));
  const checks = tool.readiness.map((check, n) => ({
    check,
    state: checkState(check, observed.get(keysOf(tool.name).readiness(n))),
  }));
  return { release, checks, state: toolState(release, checks) };
}

/** A dependency is met only once it serves: its Release Ready and its workloads available. */
function unmetDependencies(
  tool: RequestedTool,
  clusterHealth: Health,
  states: ReadonlyMap<string, ObservedTool>,
) {
  const unmet = clusterHealth.state === 'ready' ? [] : ['the cluster'];
  for (const dep of tool.dependsOn) {
    if (!states.get(dep)?.state.ready) unmet.push(dep);
  }
  return unmet;
}

function readinessObject(
  kept: KeptResources,
  key: string,
  placement: Placement,
  tool: string,
  n: number,
  check: ReadinessCheck,
  providerConfigName: string,
) {
  return keptReadinessObject(
    kept,
    key,
    placement,
    placement.name('readiness', tool, String(n)),
    check,
    providerConfigName,
  );
}

function toolRelease(
  kept: KeptResources,
  key: string,
  tool: RequestedTool,
  placement: Placement,
  name: string,
  providerConfigName: string,
) {
  return keptToolRelease(
    kept,
    key,
    placement,
    {
      name: tool.name,
      chart: tool.chart,
      namespace: tool.namespace,
      catalogValues: tool.catalogValues,
      claimValues: tool.values,
      waitTimeout: tool.waitTimeout,
    },
    name,
    providerConfigName,
  );
}
