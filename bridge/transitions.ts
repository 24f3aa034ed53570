/**
 * What has happened to an environment that has not been announced yet. Pure: the bridge compares
 * what it observes with what it recorded (in the XR itself) and emits one transition at a time,
 * recording each after delivery, so a restart resumes exactly where the last delivery left off.
 */

export interface ToolObservation {
  name: string;
  /** The version the function resolved for the claim (status.tools[].version). */
  version: string;
  /** Set once the tool's Release exists: a purl of its chart and version. */
  artifactId?: string;
  ready: boolean;
  failure?: string;
}

export interface Observation {
  uid: string;
  /** The environment's subject id: the claim's namespace/name, or the XR's own. */
  id: string;
  /** Being deleted: what it composed is being torn down, which is not announced piecemeal. */
  deleting: boolean;
  /** Deleted: only the bridge's finalizer still holds the XR. */
  gone: boolean;
  cluster: { ready: boolean; endpoint?: string; failure?: string };
  tools: ToolObservation[];
  /** A Fatal result of the function, as the XR's Synced=False message. */
  fatal?: string;
}

export interface Incident {
  subject: string;
  description: string;
  tool?: string;
  artifactId?: string;
}

/** What has been announced, kept in an annotation on the XR. */
export interface Recorded {
  /** Events emitted so far: part of each event's id, so a restart re-derives the same ids. */
  seq: number;
  /** Id of the last event, linked from the next one. */
  last?: string;
  requested: boolean;
  created: boolean;
  ready: boolean;
  deleted: boolean;
  /** name@version of every requested tool, as last announced. */
  toolset: string[];
  /** Tools announced as deployed, with the artifact announced. */
  deployed: Record<string, { version: string; artifactId: string }>;
  /** Open incidents by what failed: `cluster`, `composite` or `tool/<name>`. */
  incidents: Record<string, Incident>;
}

export function emptyRecord(): Recorded {
  return {
    seq: 0,
    requested: false,
    created: false,
    ready: false,
    deleted: false,
    toolset: [],
    deployed: {},
    incidents: {},
  };
}

export type Transition =
  | { kind: 'requested' }
  | { kind: 'created' }
  | { kind: 'modified'; why: 'tools' | 'ready' | 'not-ready' }
  | { kind: 'deleted' }
  | { kind: 'deployed' | 'upgraded'; tool: string; artifactId: string }
  | { kind: 'removed'; tool: string }
  | { kind: 'incident-detected' | 'incident-resolved'; key: string; incident: Incident };

export interface Step {
  transition: Transition;
  /** The record once this transition is announced (seq and last are the caller's to advance). */
  record: Recorded;
}

export function toolset(observation: Observation): string[] {
  return observation.tools.map((tool) => `${tool.name}@${tool.version}`).sort();
}

/** A Fatal result is an incident, not unreadiness: what was composed keeps running. */
export function environmentReady(observation: Observation): boolean {
  return observation.cluster.ready && observation.tools.every((tool) => tool.ready);
}

function currentIncidents(observation: Observation): Record<string, Omit<Incident, 'subject'>> {
  const incidents: Record<string, Omit<Incident, 'subject'>> = {};
  if (observation.fatal) incidents.composite = { description: observation.fatal };
  if (observation.cluster.failure) incidents.cluster = { description: observation.cluster.failure };
  for (const tool of observation.tools) {
    if (tool.failure) {
      incidents[`tool/${tool.name}`] = {
        description: tool.failure,
        tool: tool.name,
        ...(tool.artifactId ? { artifactId: tool.artifactId } : {}),
      };
    }
  }
  return incidents;
}

/** The next transition to announce, or undefined when everything observed is announced. */
export function nextTransition(observation: Observation, recorded: Recorded): Step | undefined {
  const record = structuredClone(recorded);
  const step = (transition: Transition): Step => ({ transition, record });

  if (record.deleted) return undefined;
  if (observation.gone) {
    record.deleted = true;
    return step({ kind: 'deleted' });
  }
  if (observation.deleting) return undefined;
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
      const incident: Incident = { subject: `${observation.id}/incidents/${record.seq}`, ...found };
      record.incidents[key] = incident;
      return step({ kind: 'incident-detected', key, incident });
    }
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
