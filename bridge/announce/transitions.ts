/**
 * What has happened to an environment that has not been announced yet. Pure: the bridge compares
 * what it observes with what it recorded (in the XR itself); batch.ts turns the transitions into
 * events, which are recorded before they are delivered.
 */
import type { CDEvent } from '../delivery/cdevents.js';

export interface ToolObservation {
  name: string;
  /** The version the function resolved for the claim (status.tools[].version). */
  version: string;
  /** Set once the tool's Release exists: a purl of its chart and version. */
  artifactId?: string;
  ready: boolean;
  failure?: string;
  /** The tools it depends on (the function's status says): announced as deployed before it. */
  dependsOn?: string[];
}

export interface Observation {
  uid: string;
  /** The environment's subject id: the claim's namespace/name, or the XR's own. */
  id: string;
  /**
   * Being deleted: what it composed is being torn down. Of that only the tools Helm uninstalled
   * are announced (service.removed), each once its Release is gone.
   */
  deleting: boolean;
  /** Deleted: only the bridge's finalizer still holds the XR. */
  gone: boolean;
  cluster: { ready: boolean; endpoint?: string; failure?: string };
  tools: ToolObservation[];
  /** A Fatal result of the function, as the XR's Synced=False message. */
  fatal?: string;
  /** Why the claim's spec.events.sink cannot be used, if it cannot. */
  sinkProblem?: string;
  /** status.expiresAt, once it is within the warning window (the reconciler decides: lifecycle/expiry.ts). */
  expiring?: string;
  /** spec.ttl, as the claim asks for it. */
  ttl?: string;
}

export interface Incident {
  subject: string;
  description: string;
  tool?: string;
  artifactId?: string;
}

/** An event recorded before delivery; `toDefault`: for K_SINK, whatever the claim's sink. */
export interface OutboxEntry {
  event: CDEvent;
  toDefault?: true;
}

/** What has been announced, kept in an annotation on the XR (format and checks: record.ts). */
export interface Recorded {
  /** Names this record's id space: a record rebuilt after corruption gets a new one. */
  epoch: string;
  /** Events recorded so far in this epoch: each event's position, part of its id. */
  seq: number;
  /** Id of the last event, linked from the next one. */
  last?: string;
  requested: boolean;
  created: boolean;
  ready: boolean;
  /** name@version of every requested tool, as last announced. */
  toolset: string[];
  /** Tools announced as deployed, with the artifact announced. */
  deployed: Record<string, { version: string; artifactId: string }>;
  /** Open incidents by what failed: `cluster`, `composite` or `tool/<name>`. */
  incidents: Record<string, Incident>;
  /** The expiresAt last warned of: each value is announced once. */
  expiring?: string;
  /** Events recorded but perhaps not yet delivered, in order: delivered before anything new. */
  outbox: OutboxEntry[];
  /**
   * On the XR only: the incarnation of the journal shard this record was checkpointed from
   * (journal.ts). Should that shard be lost, the record may be behind what was announced.
   */
  journal?: string;
}

export function emptyRecord(epoch = '0'): Recorded {
  return {
    epoch,
    seq: 0,
    requested: false,
    created: false,
    ready: false,
    toolset: [],
    deployed: {},
    incidents: {},
    outbox: [],
  };
}

export type Transition =
  | { kind: 'requested' }
  | { kind: 'created' }
  | { kind: 'modified'; why: 'tools' | 'ready' | 'not-ready' }
  | { kind: 'deleted' }
  | { kind: 'deployed' | 'upgraded'; tool: string; artifactId: string }
  | { kind: 'removed'; tool: string }
  | { kind: 'expiring'; expiresAt: string }
  | { kind: 'incident-detected' | 'incident-resolved'; key: string; incident: Incident };

export interface Step {
  transition: Transition;
  /** The record once this transition is announced (seq, last, outbox are the caller's). */
  record: Recorded;
}

/** Incident descriptions are error messages of any length; the record must stay small. */
const MAX_DESCRIPTION = 1_000;

function describe(text: string): string {
  return text.length > MAX_DESCRIPTION ? `${text.slice(0, MAX_DESCRIPTION - 1)}…` : text;
}

export function toolset(observation: Observation): string[] {
  return observation.tools.map((tool) => `${tool.name}@${tool.version}`).sort();
}

/** A Fatal result is an incident, not unreadiness: what was composed keeps running. */
export function environmentReady(observation: Observation): boolean {
  return observation.cluster.ready && observation.tools.every((tool) => tool.ready);
}

/** Failures observed now, by what failed: `composite`, `sink`, `cluster` or `tool/<name>`. */
export function currentIncidents(
  observation: Observation,
): Record<string, Omit<Incident, 'subject'>> {
  const incidents: Record<string, Omit<Incident, 'subject'>> = {};
  if (observation.fatal) incidents.composite = { description: describe(observation.fatal) };
  if (observation.sinkProblem) {
    incidents.sink = { description: describe(`spec.events.sink: ${observation.sinkProblem}`) };
  }
  if (observation.cluster.failure) {
    incidents.cluster = { description: describe(observation.cluster.failure) };
  }
  for (const tool of observation.tools) {
    if (tool.failure) {
      incidents[`tool/${tool.name}`] = {
        description: describe(tool.failure),
        tool: tool.name,
        ...(tool.artifactId ? { artifactId: tool.artifactId } : {}),
      };
    }
  }
  return incidents;
}

/**
 * The next transition to announce, or undefined when everything observed is announced. Once the
 * XR is gone its open incidents are resolved, its tools removed and then it is deleted: the caller
 * stops there.
 */
export function nextTransition(observation: Observation, recorded: Recorded): Step | undefined {
  const record: Recorded = structuredClone({ ...recorded, outbox: [] });
  const step = (transition: Transition): Step => ({ transition, record });

  if (observation.deleting) return teardown(observation, record);
  if (!record.requested) {
    record.requested = true;
    return step({ kind: 'requested' });
  }

  const incidents = currentIncidents(observation);
  for (const [key, incident] of Object.entries(record.incidents)) {
    if (!incidents[key]) {
      delete record.incidents[key];
      return step({ kind: 'incident-resolved', key, incident });
    }
  }
  for (const [key, found] of Object.entries(incidents)) {
    if (!record.incidents[key]) {
      const subject = `${observation.id}/incidents/${record.epoch}-${record.seq}`;
      const incident: Incident = { subject, ...found };
      record.incidents[key] = incident;
      return step({ kind: 'incident-detected', key, incident });
    }
  }

  // Before "created": an environment that never came up expires all the same.
  if (observation.expiring && observation.expiring !== record.expiring) {
    record.expiring = observation.expiring;
    return step({ kind: 'expiring', expiresAt: observation.expiring });
  }

  if (!record.created) {
    if (!observation.cluster.ready) return undefined;
    record.created = true;
    record.toolset = toolset(observation);
    return step({ kind: 'created' });
  }

  const tools = toolset(observation);
  if (tools.join(',') !== record.toolset.join(',')) {
    record.toolset = tools;
    return step({ kind: 'modified', why: 'tools' });
  }
  const requested = new Map(observation.tools.map((tool) => [tool.name, tool]));
  for (const name of Object.keys(record.deployed).sort()) {
    if (!requested.has(name)) {
      delete record.deployed[name];
      return step({ kind: 'removed', tool: name });
    }
  }
  for (const tool of observation.tools) {
    if (!tool.ready || !tool.artifactId) continue;
    const announced = record.deployed[tool.name];
    if (announced?.version === tool.version) continue;
    // In dependency order, whatever order the claim lists them in: after a restart several may
    // be ready and unannounced at once. A dependency the claim no longer asks for holds nothing.
    if (!announced && tool.dependsOn?.some((dep) => requested.has(dep) && !record.deployed[dep])) {
      continue;
    }
    record.deployed[tool.name] = { version: tool.version, artifactId: tool.artifactId };
    return step({
      kind: announced ? 'upgraded' : 'deployed',
      tool: tool.name,
      artifactId: tool.artifactId,
    });
  }
  const ready = environmentReady(observation);
  if (ready !== record.ready) {
    record.ready = ready;
    return step({ kind: 'modified', why: ready ? 'ready' : 'not-ready' });
  }
  return undefined;
}

/**
 * While the XR is deleted: nothing is announced but what Helm uninstalled, a tool announced as
 * deployed whose Release no longer exists (one observed with a deletionTimestamp is still being
 * uninstalled, and may never be), or that the status no longer lists. Each is removed as it goes,
 * its open incident resolved first, so that no incident names a removed service. Once the XR is
 * gone (only the bridge's finalizer holds it): its open incidents are resolved, every tool still
 * recorded as deployed is removed, whatever became of its Release (one uninstalled while no bridge
 * ran, or one the garbage collector deletes only now, after a deletion in the background), and
 * last the environment is deleted.
 */
function teardown(observation: Observation, record: Recorded): Step | undefined {
  const step = (transition: Transition): Step => ({ transition, record });
  const resolve = (key: string, incident: Incident): Step => {
    delete record.incidents[key];
    return step({ kind: 'incident-resolved', key, incident });
  };
  const { gone } = observation;
  const open = Object.entries(record.incidents)[0];
  if (gone && open) return resolve(...open);
  // A tool's Release exists while its observation has an artifact (observe.ts).
  const installed = new Set(
    gone ? [] : observation.tools.filter((tool) => tool.artifactId).map((tool) => tool.name),
  );
  const uninstalled = Object.keys(record.deployed)
    .sort()
    .find((name) => !installed.has(name));
  if (uninstalled !== undefined) {
    const key = `tool/${uninstalled}`;
    const incident = record.incidents[key];
    if (incident) return resolve(key, incident);
    delete record.deployed[uninstalled];
    return step({ kind: 'removed', tool: uninstalled });
  }
  return gone ? step({ kind: 'deleted' }) : undefined;
}
