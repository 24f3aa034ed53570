import type { JsonObject } from './field-error.js';
import type { Catalog } from './catalog.js';
import type { Environment, RequestedTool } from './environment.js';
import { backends } from './backends/index.js';
import { healthOf, type Health, type ObservedResource } from '../common/health.js';
import { placementFor, KUBECONFIG_KEY, type Placement } from './placement.js';
import { boundedName } from './names.js';
import { helmRelease, providerConfig, refTo, usage } from './resources.js';
import { mergeValues } from './values.js';

export type ToolPhase = 'Waiting' | 'Installing' | 'Ready' | 'Failed';

export interface ToolState {
  name: string;
  version: string;
  ready: boolean;
  phase: ToolPhase;
  message?: string;
}

export interface DesiredResource {
  resource: JsonObject;
  ready: boolean;
}

export interface Composed {
  resources: Record<string, DesiredResource>;
  cluster: { health: Health; endpoint: string; kubernetesVersion?: string };
  tools: ToolState[];
  /** Tools composed before that the claim no longer asks for; they are deleted. */
  removedTools: string[];
  kubeconfig?: Buffer;
  placement: Placement;
}

export const CLUSTER_KEY = 'cluster';
export const HELM_PROVIDER_CONFIG_KEY = 'helm-providerconfig';
export const KUBERNETES_PROVIDER_CONFIG_KEY = 'kubernetes-providerconfig';
const TOOL_PREFIX = 'tool-';
export const toolKey = (name: string) => `${TOOL_PREFIX}${name}`;

/**
 * Decides the composed resources of one environment from what is observed. A tool is composed once
 * the cluster and every tool it depends on are observed Ready, and from then on for as long as the
 * claim asks for it, so a dependency that blips never uninstalls it.
 */
export function compose(
  environment: Environment,
  catalog: Catalog,
  observed: Record<string, ObservedResource>,
): Composed {
  const placement = placementFor(environment.composite, catalog.connectionSecretNamespace);
  const backend = backends[environment.backend]!;
  const cluster = backend.render(
    environment,
    catalog.clusterBackends[environment.backend],
    placement,
  );
  const clusterObserved = observed[CLUSTER_KEY];
  const clusterHealth = healthOf(clusterObserved);
  const resources: Record<string, DesiredResource> = {
    [CLUSTER_KEY]: { resource: cluster.resource, ready: clusterHealth.state === 'ready' },
  };

  const providerConfigName = boundedName([placement.prefix]);
  const helmConfig = providerConfig(placement, placement.helmApiVersion, providerConfigName);
  const kubernetesConfig = providerConfig(
    placement,
    placement.kubernetesApiVersion,
    providerConfigName,
  );
  // Provider configs carry no Ready condition: they are ready once they exist.
  resources[HELM_PROVIDER_CONFIG_KEY] = {
    resource: helmConfig,
    ready: observed[HELM_PROVIDER_CONFIG_KEY] !== undefined,
  };
  resources[KUBERNETES_PROVIDER_CONFIG_KEY] = {
    resource: kubernetesConfig,
    ready: observed[KUBERNETES_PROVIDER_CONFIG_KEY] !== undefined,
  };

  const releases = new Map<string, { tool: RequestedTool; release: JsonObject }>();
  const tools = environment.tools.map((tool): ToolState => {
    const key = toolKey(tool.name);
    const health = healthOf(observed[key]);
    const unmet = unmetDependencies(tool, clusterHealth, observed);
    if (health.state === 'absent' && unmet.length > 0) {
      return {
        name: tool.name,
        version: tool.chart.version,
        ready: false,
        phase: 'Waiting',
        message: `waiting for ${unmet.join(', ')}`,
      };
    }
    const release = toolRelease(tool, placement, providerConfigName);
    releases.set(tool.name, { tool, release });
    resources[key] = { resource: release, ready: health.state === 'ready' };
    return toolState(tool, health);
  });

  const clusterRef = refTo(cluster.resource);
  for (const [name, { tool, release }] of releases) {
    const by = refTo(release);
    const usageName = (of: string) => boundedName([placement.prefix, name, 'uses', of]);
    resources[`usage-${name}`] = {
      resource: usage(placement, usageName('cluster'), clusterRef, by),
      ready: observed[`usage-${name}`] !== undefined,
    };
    for (const dep of tool.dependsOn) {
      // A tool stays composed even while a dependency is not (say, deleted during a cluster blip);
      // there is nothing to order its deletion against until the dependency is back.
      const of = releases.get(dep);
      if (!of) continue;
      const key = `usage-${name}-on-${dep}`;
      resources[key] = {
        resource: usage(placement, usageName(dep), refTo(of.release), by),
        ready: observed[key] !== undefined,
      };
    }
  }

  const requested = new Set(environment.tools.map((tool) => tool.name));
  const removedTools = Object.keys(observed)
    .filter((key) => key.startsWith(TOOL_PREFIX))
    .map((key) => key.slice(TOOL_PREFIX.length))
    .filter((name) => !requested.has(name))
    .sort();

  const composed: Composed = {
    resources,
    cluster: {
      health: clusterHealth,
      endpoint: cluster.endpoint,
      ...(cluster.kubernetesVersion ? { kubernetesVersion: cluster.kubernetesVersion } : {}),
    },
    tools,
    removedTools,
    placement,
  };
  const kubeconfig = clusterObserved?.connectionDetails[KUBECONFIG_KEY];
  if (kubeconfig) composed.kubeconfig = kubeconfig;
  return composed;
}

function unmetDependencies(
  tool: RequestedTool,
  clusterHealth: Health,
  observed: Record<string, ObservedResource>,
): string[] {
  const unmet = clusterHealth.state === 'ready' ? [] : ['the cluster'];
  for (const dep of tool.dependsOn) {
    if (healthOf(observed[toolKey(dep)]).state !== 'ready') unmet.push(dep);
  }
  return unmet;
}

function toolRelease(tool: RequestedTool, placement: Placement, providerConfigName: string) {
  return helmRelease(placement, {
    name: boundedName([placement.prefix, tool.name]),
    releaseName: tool.name,
    chart: tool.chart,
    namespace: tool.namespace,
    values: mergeValues(tool.catalogValues, tool.values),
    providerConfig: { name: providerConfigName, kind: 'ProviderConfig' },
  });
}

function toolState(tool: RequestedTool, health: Health): ToolState {
  const base = { name: tool.name, version: tool.chart.version };
  switch (health.state) {
    case 'ready':
      return { ...base, ready: true, phase: 'Ready' };
    case 'failed':
      return { ...base, ready: false, phase: 'Failed', message: health.message };
    case 'progressing':
      return {
        ...base,
        ready: false,
        phase: 'Installing',
        message: health.message ?? 'installing',
      };
    case 'absent':
      return { ...base, ready: false, phase: 'Installing', message: 'installing' };
  }
}
