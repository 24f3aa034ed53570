/**
 * What the function writes and the bridge reads back: the keys of composed resources, the labels
 * and annotations Crossplane puts on them, and the XR's status. Spelled once, so that a rename
 * changes both sides (and the tests) together instead of silently breaking the bridge.
 */
import { isObject } from './objects.js';

// Composed resource keys, as Crossplane records them in COMPOSITION_RESOURCE_NAME_ANNOTATION.
// Renaming one makes Crossplane delete the resource under the old key and create it anew.

/** The resource that brings the cluster up (vcluster: its Helm Release). */
export const CLUSTER_KEY = 'cluster';
/** The cluster's prerequisite (vcluster: the Object that makes its host namespace). */
export const HOST_NAMESPACE_KEY = 'host-namespace';
export const HELM_PROVIDER_CONFIG_KEY = 'helm-providerconfig';
export const KUBERNETES_PROVIDER_CONFIG_KEY = 'kubernetes-providerconfig';

/** RFC 1123 label, as Kubernetes requires for namespaces and most names, and tool names are. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** RFC 1123 subdomain (length checked apart), as names of workloads and Compositions are. */
export const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const TOOL_PREFIX = 'tool-';
const USAGE_PREFIX = 'usage-';
const READINESS_PREFIX = 'readiness-';
/** Tool names are DNS labels: no dots, so `.on.` cannot be part of one. */
const USAGE_ON = '.on.';

/** A tool's Release. */
export const toolKey = (tool: string) => `${TOOL_PREFIX}${tool}`;

/** The tool whose Release `key` is; undefined for any other key, or a name no tool can have. */
export function toolOfKey(key: string): string | undefined {
  if (!key.startsWith(TOOL_PREFIX)) return undefined;
  const name = key.slice(TOOL_PREFIX.length);
  return DNS_LABEL.test(name) ? name : undefined;
}

/** A tool's Usage on the cluster, or on a tool it depends on. */
export const usageKey = (tool: string, dependency?: string) =>
  dependency === undefined
    ? `${USAGE_PREFIX}${tool}`
    : `${USAGE_PREFIX}${tool}${USAGE_ON}${dependency}`;

/**
 * The Observe-only Object that reads a tool's `n`th readiness check (`n` counts from 0 in the
 * catalogue's `readiness` list).
 */
export const readinessKey = (tool: string, n: number) => `${READINESS_PREFIX}${tool}-${n}`;

/** The Usage that keeps a prerequisite (of the cluster, or of its tools) until the cluster is gone. */
export const prerequisiteUsageKey = (prerequisite: string) => `${prerequisite}-usage`;

// Crossplane's labels and annotations on what it composes.

/** On a composed resource: its key in the Composition. */
export const COMPOSITION_RESOURCE_NAME_ANNOTATION = 'crossplane.io/composition-resource-name';
/** On a composed resource: the name of its XR. */
export const COMPOSITE_LABEL = 'crossplane.io/composite';
/** On a legacy XR made for a claim: the claim's name and namespace. */
export const CLAIM_NAME_LABEL = 'crossplane.io/claim-name';
export const CLAIM_NAMESPACE_LABEL = 'crossplane.io/claim-namespace';
/** On a managed resource: the external resource's name (a Helm release name). */
export const EXTERNAL_NAME_ANNOTATION = 'crossplane.io/external-name';

// The XR's status.

export const PHASES = [
  'Pending',
  'ProvisioningCluster',
  'InstallingTools',
  'Ready',
  'Failed',
] as const;
export type Phase = (typeof PHASES)[number];
/**
 * A tool is `Waiting` for the cluster or a dependency, `Installing` until its Release is Ready
 * (Helm has installed it and waited for its workloads), `Starting` while a workload its catalogue
 * entry lists is not available, `Ready` once its Release and every such workload are.
 */
export const TOOL_PHASES = ['Waiting', 'Installing', 'Starting', 'Ready', 'Failed'] as const;
export type ToolPhase = (typeof TOOL_PHASES)[number];

/** The conditions the function sets on the XR and its claim. */
export const CLUSTER_READY_CONDITION = 'ClusterReady';
export const TOOLS_READY_CONDITION = 'ToolsReady';
export type ConditionType = typeof CLUSTER_READY_CONDITION | typeof TOOLS_READY_CONDITION;
/** Written by the bridge, not the function: the environment is near or past `status.expiresAt`. */
export const EXPIRING_CONDITION = 'Expiring';

export interface ToolStatus {
  name: string;
  /** The chart version the function resolved for the claim. */
  version: string;
  /**
   * The function's verdict that the tool serves: its Release is Ready and every workload its
   * catalogue entry lists is available (phase `Ready`). Helm's "deployed" alone is not enough.
   */
  ready: boolean;
  phase: ToolPhase;
  message?: string;
  /**
   * The tools this one depends on, as the catalogue has them (absent when none). They install,
   * and are announced as deployed, before it.
   */
  dependsOn?: string[];
}

export interface ClusterStatus {
  backend: string;
  ready: boolean;
  /** The API server URL as reached from the host cluster. */
  endpoint: string;
  kubernetesVersion?: string;
  /** Namespaced XRs only: the Secret beside the XR that holds the kubeconfig. */
  kubeconfigSecretRef?: { name: string; key: string };
}

export interface EnvironmentStatus {
  phase: Phase;
  cluster: ClusterStatus;
  /** In the order the claim lists them. */
  tools: ToolStatus[];
  /**
   * `metadata.creationTimestamp` + `spec.ttl` (or the catalogue's `environments.defaultTTL`),
   * RFC 3339; recomputed on every call, so editing `spec.ttl` moves it. Absent: never expires.
   */
  expiresAt?: string;
}

/** A tool as a status or a claim lists it, read back from the API server. */
export type ListedTool = Pick<ToolStatus, 'name'> &
  Partial<Pick<ToolStatus, 'version' | 'ready' | 'dependsOn'>>;

/**
 * `status.tools` or `spec.tools` as read back from the API server, as far as it is what the
 * function writes or reads: an entry without a name is left out, a version not a string, a
 * `ready` not a boolean and dependencies that are not names dropped.
 */
export function readTools(list: unknown): ListedTool[] {
  return (Array.isArray(list) ? list : []).filter(isObject).flatMap((entry) => {
    if (typeof entry.name !== 'string' || entry.name === '') return [];
    const tool: ListedTool = { name: entry.name };
    if (typeof entry.version === 'string' && entry.version !== '') tool.version = entry.version;
    if (typeof entry.ready === 'boolean') tool.ready = entry.ready;
    if (Array.isArray(entry.dependsOn)) {
      const names = entry.dependsOn.filter((dep): dep is string => typeof dep === 'string');
      if (names.length > 0) tool.dependsOn = names;
    }
    return [tool];
  });
}

/** The part of a status read back from the API server that others act on. */
export interface ObservedStatus {
  endpoint?: string;
  tools: ListedTool[];
  /** Only when it is a time: the bridge deletes the environment then. */
  expiresAt?: Date;
}

export function readStatus(status: unknown): ObservedStatus {
  if (!isObject(status)) return { tools: [] };
  const cluster = isObject(status.cluster) ? status.cluster : {};
  const endpoint = cluster.endpoint;
  const expiresAt = typeof status.expiresAt === 'string' ? new Date(status.expiresAt) : undefined;
  return {
    ...(typeof endpoint === 'string' && endpoint !== '' ? { endpoint } : {}),
    tools: readTools(status.tools),
    ...(expiresAt && !Number.isNaN(expiresAt.getTime()) ? { expiresAt } : {}),
  };
}
