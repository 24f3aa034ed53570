import { randomBytes } from 'node:crypto';
import { isObject, type JsonObject } from '../../common/objects.js';
import { validateEvent } from '../delivery/cdevents.js';
import { announcesDeletion, MAX_BATCH } from './batch.js';
import {
  currentIncidents,
  emptyRecord,
  environmentReady,
  toolset,
  type Incident,
  type Observation,
  type OutboxEntry,
  type Recorded,
} from './transitions.js';

/**
 * The record annotation, checked field by field: anyone who can patch the XR can write it, and a
 * record taken at its word could silence an environment or make ids repeat.
 */

/** Where the bridge records what it has announced, on the XR itself. */
export const RECORD_ANNOTATION = 'xenvironment.io/cdevents';
/** Holds a deleted XR until environment.deleted is delivered. */
export const FINALIZER = 'xenvironment.io/cdevents-bridge';

/** A write of the record and/or the finalizer onto the XR. */
export interface Change {
  record?: Recorded;
  finalizer?: 'add' | 'remove';
}

export function hasFinalizer(xr: JsonObject): boolean {
  const metadata = isObject(xr.metadata) ? xr.metadata : {};
  return Array.isArray(metadata.finalizers) && metadata.finalizers.includes(FINALIZER);
}

/**
 * The merge patch that makes `change` on `xr`, guarded by the resourceVersion it was read at. One
 * that removes the finalizer lets a deleted XR go.
 */
export function recordPatch(xr: JsonObject, change: Change): JsonObject {
  const metadata = isObject(xr.metadata) ? xr.metadata : {};
  const finalizers = Array.isArray(metadata.finalizers) ? (metadata.finalizers as string[]) : [];
  return {
    metadata: {
      resourceVersion: metadata.resourceVersion,
      ...(change.record
        ? { annotations: { [RECORD_ANNOTATION]: JSON.stringify(change.record) } }
        : {}),
      ...(change.finalizer === 'add' && !finalizers.includes(FINALIZER)
        ? { finalizers: [...finalizers, FINALIZER] }
        : {}),
      ...(change.finalizer === 'remove'
        ? { finalizers: finalizers.filter((f) => f !== FINALIZER) }
        : {}),
    },
  };
}

const EPOCH = /^[0-9a-f]{1,16}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const FIELDS = [
  'epoch',
  'seq',
  'last',
  'requested',
  'created',
  'ready',
  'toolset',
  'deployed',
  'incidents',
  'expiring',
  'outbox',
  'journal',
];

type Problems = string[];

function stringField(value: JsonObject, field: string, at: string, problems: Problems): void {
  if (typeof value[field] !== 'string' || value[field] === '') {
    problems.push(`${at}.${field} must be a non-empty string`);
  }
}

function checkIncidents(value: unknown, problems: Problems): value is Record<string, Incident> {
  const before = problems.length;
  if (!isObject(value)) {
    problems.push('incidents must be an object');
    return false;
  }
  for (const [key, incident] of Object.entries(value)) {
    const at = `incidents[${JSON.stringify(key)}]`;
    if (!isObject(incident)) {
      problems.push(`${at} must be an object`);
      continue;
    }
    stringField(incident, 'subject', at, problems);
    if (typeof incident.description !== 'string')
      problems.push(`${at}.description must be a string`);
    for (const optional of ['tool', 'artifactId']) {
      if (incident[optional] !== undefined) stringField(incident, optional, at, problems);
    }
  }
  return problems.length === before;
}

function checkDeployed(value: unknown, problems: Problems): value is Recorded['deployed'] {
  const before = problems.length;
  if (!isObject(value)) {
    problems.push('deployed must be an object');
    return false;
  }
  for (const [name, tool] of Object.entries(value)) {
    const at = `deployed[${JSON.stringify(name)}]`;
    if (!isObject(tool)) problems.push(`${at} must be an object`);
    else for (const field of ['version', 'artifactId']) stringField(tool, field, at, problems);
  }
  return problems.length === before;
}

function checkOutbox(value: unknown, problems: Problems): void {
  if (!Array.isArray(value)) {
    problems.push('outbox must be a list');
    return;
  }
  if (value.length > MAX_BATCH) problems.push(`outbox holds more than ${MAX_BATCH} events`);
  value.forEach((entry: unknown, i) => {
    const at = `outbox[${i}]`;
    if (!isObject(entry) || (entry.toDefault !== undefined && entry.toDefault !== true)) {
      problems.push(`${at} must be {event, toDefault?: true}`);
      return;
    }
    try {
      validateEvent(entry.event);
    } catch (error) {
      problems.push(`${at}.event: ${(error as Error).message}`);
    }
  });
}

/** The problems of a parsed record; none means it is a Recorded. */
export function recordProblems(value: unknown): Problems {
  if (!isObject(value)) return ['must be an object'];
  const problems: Problems = [];
  for (const key of Object.keys(value)) {
    if (!FIELDS.includes(key)) problems.push(`${key} is not a field of the record`);
  }
  if (typeof value.epoch !== 'string' || !EPOCH.test(value.epoch)) {
    problems.push('epoch must be 1 to 16 hex digits');
  }
  if (!Number.isSafeInteger(value.seq) || (value.seq as number) < 0) {
    problems.push('seq must be a whole number ≥ 0');
  }
  if (value.last !== undefined && (typeof value.last !== 'string' || !UUID.test(value.last))) {
    problems.push('last must be an event id');
  }
  for (const flag of ['requested', 'created', 'ready']) {
    if (typeof value[flag] !== 'boolean') problems.push(`${flag} must be true or false`);
  }
  if (!Array.isArray(value.toolset) || value.toolset.some((t) => typeof t !== 'string')) {
    problems.push('toolset must be a list of strings');
  }
  if (
    value.expiring !== undefined &&
    (typeof value.expiring !== 'string' || value.expiring === '')
  ) {
    problems.push('expiring must be a non-empty string');
  }
  if (
    value.journal !== undefined &&
    (typeof value.journal !== 'string' || !EPOCH.test(value.journal))
  ) {
    problems.push('journal must be 1 to 16 hex digits');
  }
  checkDeployed(value.deployed, problems);
  checkIncidents(value.incidents, problems);
  checkOutbox(value.outbox, problems);
  if (problems.length > 0) return problems;

  // Consistency: a record the bridge writes always satisfies these.
  const record = value as unknown as Recorded;
  if (record.created && !record.requested) problems.push('created before requested');
  if (record.ready && !record.created) problems.push('ready before created');
  if (record.seq < record.outbox.length) problems.push('seq is less than the outbox holds');
  const lastQueued = record.outbox.at(-1)?.event.context.id;
  if (lastQueued !== undefined && lastQueued !== record.last) {
    problems.push('last is not the last event of the outbox');
  }
  return problems;
}

/**
 * What can be kept of an invalid record, where it checks out on its own: open incidents, so their
 * resolutions name them; deployed tools; the last id, so the chain goes on.
 */
export interface Salvage {
  incidents?: Record<string, Incident>;
  deployed?: Recorded['deployed'];
  last?: string;
}

export type RecordRead =
  | { kind: 'new'; record: Recorded }
  | { kind: 'valid'; record: Recorded }
  | { kind: 'invalid'; problems: Problems; salvage: Salvage };

/** The journal incarnation the record of `xr` names, if it parses and names one. */
export function recordJournal(xr: JsonObject): string | undefined {
  const metadata = isObject(xr.metadata) ? xr.metadata : {};
  const raw = (isObject(metadata.annotations) ? metadata.annotations : {})[RECORD_ANNOTATION];
  try {
    const parsed: unknown = JSON.parse(String(raw));
    return isObject(parsed) && typeof parsed.journal === 'string' ? parsed.journal : undefined;
  } catch {
    return undefined;
  }
}

/** Reads the record of `xr`, as observed (`observation`, for what a record cannot claim of it). */
export function readRecord(xr: JsonObject, observation: Pick<Observation, 'gone'>): RecordRead {
  const metadata = isObject(xr.metadata) ? xr.metadata : {};
  const raw = (isObject(metadata.annotations) ? metadata.annotations : {})[RECORD_ANNOTATION];
  if (raw === undefined) {
    // The finalizer is added with the first record: one without the other means it was removed.
    return hasFinalizer(xr)
      ? { kind: 'invalid', problems: ['missing, but the finalizer is set'], salvage: {} }
      : { kind: 'new', record: emptyRecord() };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(String(raw));
  } catch {
    return { kind: 'invalid', problems: ['not JSON'], salvage: {} };
  }
  const problems = recordProblems(parsed);
  // Delivering it would let the XR go: only true of an XR that is gone.
  if (
    problems.length === 0 &&
    announcesDeletion((parsed as Recorded).outbox) &&
    !observation.gone
  ) {
    problems.push('the outbox announces the deletion of an XR that is not gone');
  }
  if (problems.length === 0) return { kind: 'valid', record: parsed as Recorded };
  const salvage: Salvage = {};
  if (isObject(parsed)) {
    if (checkIncidents(parsed.incidents, [])) salvage.incidents = parsed.incidents;
    if (checkDeployed(parsed.deployed, [])) salvage.deployed = parsed.deployed;
    if (typeof parsed.last === 'string' && UUID.test(parsed.last)) salvage.last = parsed.last;
  }
  return { kind: 'invalid', problems, salvage };
}

/**
 * What the bridge's finalizer on the XR needs once `delivered` is: removed when that announced the
 * deletion it holds the XR for, whatever else the record says; added while the XR lives without it.
 */
export function finalizerChange(
  observation: Pick<Observation, 'deleting'>,
  finalizerSet: boolean,
  delivered: OutboxEntry[],
): 'add' | 'remove' | undefined {
  if (announcesDeletion(delivered)) return 'remove';
  return !observation.deleting && !finalizerSet ? 'add' : undefined;
}

/** An epoch no earlier record of this XR can have had: the old one may be unreadable. */
export function newEpoch(): string {
  return randomBytes(4).toString('hex');
}

/**
 * A record rebuilt from what is observed, in a new epoch: everything observed counts as announced,
 * so nothing is announced again under a new id. A tool whose Release exists counts as deployed,
 * ready or not: it may well have been announced, and announcing it twice is what this avoids.
 * What survived is kept; failures observed without an incident are adopted under subjects of the
 * new epoch, so their recovery is announced.
 */
export function adoptObserved(observation: Observation, epoch: string, salvage: Salvage): Recorded {
  // Tools are composed only after the cluster was Ready once, so a composed tool means "created".
  const created =
    observation.cluster.ready || observation.tools.some((tool) => tool.artifactId !== undefined);
  const deployed: Recorded['deployed'] = {};
  for (const tool of observation.tools) {
    if (tool.artifactId)
      deployed[tool.name] = { version: tool.version, artifactId: tool.artifactId };
  }
  const adopted = Object.fromEntries(
    Object.entries(currentIncidents(observation)).map(([key, found]) => [
      key,
      { subject: `${observation.id}/incidents/${epoch}-${key}`, ...found },
    ]),
  );
  return {
    ...emptyRecord(epoch),
    ...(salvage.last ? { last: salvage.last } : {}),
    requested: true,
    created,
    ready: created && environmentReady(observation),
    toolset: created ? toolset(observation) : [],
    deployed: salvage.deployed ?? deployed,
    incidents: salvage.incidents ?? adopted,
    ...(observation.expiring ? { expiring: observation.expiring } : {}),
  };
}
