/**
 * Environments requested and released by events: what a received CDEvent asks for, and what that
 * means for the claim as it is now. Pure: endpoint.ts reads the HTTP request and acts.
 */
import { isObject, type JsonObject } from '../../common/objects.js';
import {
  CDEventError,
  EventType,
  validateEvent,
  type EnvironmentRequestedContent,
} from '../delivery/cdevents.js';
import { routeSink } from '../delivery/sink-route.js';

/** On the claim: the last event applied to it, so redeliveries and older events change nothing. */
export const EVENT_ID_ANNOTATION = 'xenvironment.io/inbound-event-id';
export const EVENT_TIME_ANNOTATION = 'xenvironment.io/inbound-event-time';

interface Target {
  id: string;
  /** context.timestamp: orders requests and releases of one environment. */
  time: Date;
  namespace: string;
  name: string;
}
export type Inbound =
  | (Target & { kind: 'request'; content: EnvironmentRequestedContent })
  | (Target & { kind: 'release' });

/** A received CloudEvent, as the cloudevents package reads it. */
export interface Received {
  type: string;
  data?: unknown;
}

/**
 * The event as an Inbound, or the problem that makes it invalid (answered 400, not retried). A
 * sink it asks for must be one the bridge would send to (`sinkAllow`: BRIDGE_SINK_ALLOW and
 * K_SINK's host): a claim made with any other would only have its events go to K_SINK, and an
 * incident about it.
 */
export function readInbound(
  received: Received,
  sinkAllow: readonly string[],
): Inbound | { problem: string } {
  const { type, data } = received;
  if (type !== EventType.environmentRequested && type !== EventType.environmentReleased) {
    return { problem: `type: ${JSON.stringify(type)} is not accepted here` };
  }
  if (!isObject(data)) return { problem: 'data: must be a CDEvent, as application/json' };
  try {
    validateEvent(data);
  } catch (error) {
    if (error instanceof CDEventError) return { problem: error.message };
    throw error;
  }
  if (data.context.type !== type) {
    return { problem: `context.type: ${data.context.type} is not the CloudEvent's type ${type}` };
  }
  const content = data.subject.content as { name: string; sink?: string };
  const slash = content.name.indexOf('/');
  if (slash < 0) return { problem: 'subject.content.name: must be <namespace>/<name>' };
  const { problem } = routeSink(content.sink, sinkAllow);
  if (problem) return { problem: `subject.content.sink: ${problem}` };
  const target: Target = {
    id: data.context.id,
    time: new Date(data.context.timestamp),
    namespace: content.name.slice(0, slash),
    name: content.name.slice(slash + 1),
  };
  return type === EventType.environmentRequested
    ? { ...target, kind: 'request', content: content as EnvironmentRequestedContent }
    : { ...target, kind: 'release' };
}

export type Action =
  | { do: 'create'; object: JsonObject }
  | { do: 'patch'; patch: JsonObject }
  /** Record the event on the claim (when `patch` is given), then delete it. */
  | { do: 'delete'; patch?: JsonObject }
  /** Nothing to do: a redelivery, an older event, nothing to release. Accepted. */
  | { do: 'nothing'; why: string }
  /** Not now: the claim is being deleted; a request must wait until it is gone. */
  | { do: 'later'; why: string };

function annotations(inbound: Inbound): Record<string, string> {
  return { [EVENT_ID_ANNOTATION]: inbound.id, [EVENT_TIME_ANNOTATION]: inbound.time.toISOString() };
}

/** The claim's spec fields a requested event sets; the rest of the spec is left as it is. */
function specOf(content: EnvironmentRequestedContent, removeAbsent: boolean): JsonObject {
  const spec: JsonObject = { tools: content.tools };
  // In a merge patch, null removes: the event says what the environment is, ttl and sink included.
  if (content.ttl !== undefined || removeAbsent) spec.ttl = content.ttl ?? null;
  if (content.sink !== undefined || removeAbsent) {
    spec.events = content.sink ? { sink: content.sink } : null;
  }
  return spec;
}

/**
 * What `inbound` means for `existing` (the claim as just read; undefined: there is none). An event
 * applied already, or older than the last one applied (by its time), changes nothing; a release
 * is recorded on the claim before it is deleted, so a request older than it that arrives while
 * the claim is being deleted changes nothing either.
 */
export function actionFor(
  inbound: Inbound,
  existing: JsonObject | undefined,
  kind: { apiVersion: string; kind: string },
  /** Spec fields only a creation sets, such as the Composition to select. */
  onCreate: JsonObject = {},
): Action {
  if (!existing) {
    if (inbound.kind === 'release') return { do: 'nothing', why: 'no such environment' };
    return {
      do: 'create',
      object: {
        ...kind,
        metadata: {
          namespace: inbound.namespace,
          name: inbound.name,
          annotations: annotations(inbound),
        },
        spec: { ...onCreate, ...specOf(inbound.content, false) },
      },
    };
  }
  const metadata = isObject(existing.metadata) ? existing.metadata : {};
  const recorded = isObject(metadata.annotations) ? metadata.annotations : {};
  const deleting = typeof metadata.deletionTimestamp === 'string';
  const recordedTime = Date.parse(String(recorded[EVENT_TIME_ANNOTATION]));
  if (recorded[EVENT_ID_ANNOTATION] === inbound.id) {
    // Applied already; a release recorded but not yet followed by its deletion is finished.
    return inbound.kind === 'release' && !deleting
      ? { do: 'delete' }
      : { do: 'nothing', why: 'applied already' };
  }
  if (recordedTime > inbound.time.getTime()) {
    return { do: 'nothing', why: 'older than the event last applied' };
  }
  if (deleting) {
    return inbound.kind === 'release'
      ? { do: 'nothing', why: 'being deleted already' }
      : { do: 'later', why: 'the environment is being deleted; send it again once it is gone' };
  }
  const guard = { resourceVersion: metadata.resourceVersion, annotations: annotations(inbound) };
  return inbound.kind === 'release'
    ? { do: 'delete', patch: { metadata: guard } }
    : { do: 'patch', patch: { metadata: guard, spec: specOf(inbound.content, true) } };
}
