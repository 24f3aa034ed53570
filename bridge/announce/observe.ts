import {
  CLAIM_NAME_LABEL,
  CLAIM_NAMESPACE_LABEL,
  CLUSTER_KEY,
  COMPOSITION_RESOURCE_NAME_ANNOTATION,
  readStatus,
  type ListedTool,
  readTools,
  toolKey,
} from '../../common/contract.js';
import { conditionOf, healthOf } from '../../common/health.js';
import { DURATION } from '../../common/duration.js';
import { isObject, type JsonObject } from '../../common/objects.js';
import { chartPurl } from './events.js';
import { FINALIZER } from './record.js';
import type { Observation, ToolObservation } from './transitions.js';

const objectAt = (value: unknown): JsonObject => (isObject(value) ? value : {});
const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

/** The environment's name for consumers: the claim's namespace/name when it has a claim. */
export function environmentId(xr: JsonObject): string {
  const metadata = objectAt(xr.metadata);
  const labels = objectAt(metadata.labels);
  const claimName = text(labels[CLAIM_NAME_LABEL]);
  const claimNamespace = text(labels[CLAIM_NAMESPACE_LABEL]);
  if (claimName && claimNamespace) return `${claimNamespace}/${claimName}`;
  const namespace = text(metadata.namespace);
  return namespace ? `${namespace}/${String(metadata.name)}` : String(metadata.name);
}

export function sinkOf(xr: JsonObject): string | undefined {
  return text(objectAt(objectAt(xr.spec).events).sink);
}

/** What the XR and its composed Releases say now. */
export function observe(xr: JsonObject, composed: JsonObject[]): Observation {
  const metadata = objectAt(xr.metadata);
  const byKey = new Map<string, JsonObject>();
  for (const resource of composed) {
    const annotations = objectAt(objectAt(resource.metadata).annotations);
    const key = text(annotations[COMPOSITION_RESOURCE_NAME_ANNOTATION]);
    if (key) byKey.set(key, resource);
  }
  const status = readStatus(xr.status);
  // The function's resolved view (status.tools) once it has run; the claim's request before, in
  // which no tool is ready: only the function can tell that its workloads are.
  const fromStatus = status.tools.length > 0;
  const listed: ListedTool[] = fromStatus
    ? status.tools
    : readTools(objectAt(xr.spec).tools).map(({ ready: _, ...tool }) => tool);
  const tools = listed.map(({ name, version: resolved, ready, dependsOn }): ToolObservation => {
    const release = byKey.get(toolKey(name));
    const chart = objectAt(objectAt(objectAt(release?.spec).forProvider).chart);
    const version = resolved ?? text(chart.version) ?? '';
    const health = healthOf(release && { resource: release, connectionDetails: {} });
    const tool: ToolObservation = {
      name,
      version,
      // The function's verdict (Release and workloads) and what the bridge sees itself: its
      // Release Ready at that version, so an upgrade is announced only once it has happened.
      ready: ready === true && health.state === 'ready' && text(chart.version) === version,
      ...(dependsOn ? { dependsOn } : {}),
    };
    if (release && text(chart.name)) {
      tool.artifactId = chartPurl({
        name: String(chart.name),
        version: text(chart.version) ?? version,
        ...(text(chart.repository) ? { repository: String(chart.repository) } : {}),
      });
    }
    if (health.state === 'failed') tool.failure = health.message;
    return tool;
  });

  const cluster = byKey.get(CLUSTER_KEY);
  const clusterHealth = healthOf(cluster && { resource: cluster, connectionDetails: {} });
  const synced = conditionOf(xr, 'Synced');
  const finalizers = Array.isArray(metadata.finalizers) ? metadata.finalizers : [];

  const observation: Observation = {
    uid: String(metadata.uid),
    id: environmentId(xr),
    deleting: Boolean(metadata.deletionTimestamp),
    gone: Boolean(metadata.deletionTimestamp) && finalizers.every((f) => f === FINALIZER),
    cluster: {
      ready: clusterHealth.state === 'ready',
      ...(status.endpoint ? { endpoint: status.endpoint } : {}),
      ...(clusterHealth.state === 'failed' ? { failure: clusterHealth.message } : {}),
    },
    tools,
  };
  if (synced?.status === 'False') {
    observation.fatal = synced.message || synced.reason || 'composition failed';
  }
  const ttl = text(objectAt(xr.spec).ttl);
  // The XRD allows no other; its announcement must satisfy the same schema.
  if (ttl && ttl.length <= 32 && DURATION.test(ttl)) observation.ttl = ttl;
  return observation;
}
