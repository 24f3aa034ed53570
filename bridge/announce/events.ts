import { createHash } from 'node:crypto';
import {
  buildEvent,
  EventType,
  type CDEvent,
  type ContextInput,
  type Link,
} from '../delivery/cdevents.js';
import type { Observation, Recorded, Transition } from './transitions.js';

/** A UUID-shaped id (version 8, RFC 9562) derived from text, so the same input gives the same id. */
function deterministicUuid(text: string): string {
  const hex = createHash('sha256').update(text).digest('hex').slice(0, 32).split('');
  hex[12] = '8';
  hex[16] = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  const h = hex.join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function transitionKey(transition: Transition): string {
  switch (transition.kind) {
    case 'deployed':
    case 'upgraded':
      return `${transition.kind}/${transition.tool}/${transition.artifactId}`;
    case 'removed':
      return `removed/${transition.tool}`;
    case 'modified':
      return `modified/${transition.why}`;
    case 'expiring':
      return `expiring/${transition.expiresAt}`;
    case 'incident-detected':
    case 'incident-resolved':
      return `${transition.kind}/${transition.key}`;
    default:
      return transition.kind;
  }
}

/**
 * The event for a transition. Its id derives from the XR's uid, the record's epoch, the event's
 * position in it and the transition. It is recorded (batch.ts) before it is sent, so no other
 * transition can take that position, and a resend after a restart repeats the id. Every event of
 * one environment shares a chainId and links to the one before.
 */
export function eventFor(
  observation: Observation,
  before: Recorded,
  transition: Transition,
  source: string,
  now = new Date(),
): CDEvent<EventType> {
  const context = contextFor(observation, before, transition, source, now);
  switch (transition.kind) {
    case 'requested':
    case 'expiring':
    case 'created':
    case 'modified':
    case 'deleted':
      return environmentEvent(observation, transition, context);
    case 'deployed':
    case 'upgraded':
      return buildEvent(
        transition.kind === 'deployed' ? EventType.serviceDeployed : EventType.serviceUpgraded,
        context,
        {
          id: `${observation.id}/${transition.tool}`,
          content: {
            environment: { id: observation.id, source },
            artifactId: transition.artifactId,
          },
        },
      );
    case 'removed':
      return buildEvent(EventType.serviceRemoved, context, {
        id: `${observation.id}/${transition.tool}`,
        content: { environment: { id: observation.id, source } },
      });
    case 'incident-detected':
    case 'incident-resolved':
      return incidentEvent(observation, transition, context);
  }
}

function contextFor(
  observation: Observation,
  before: Recorded,
  transition: Transition,
  source: string,
  now: Date,
): ContextInput {
  return {
    id: deterministicUuid(
      `${observation.uid}/${before.epoch}/${before.seq}/${transitionKey(transition)}`,
    ),
    source,
    timestamp: now,
    chainId: deterministicUuid(`${observation.uid}/chain`),
    links: before.last
      ? [
          {
            linkType: transition.kind === 'deleted' ? 'END' : 'PATH',
            from: { contextId: before.last },
          } as Link,
        ]
      : [],
  };
}

/** An event whose subject is the environment itself. */
function environmentEvent(
  observation: Observation,
  transition: Extract<
    Transition,
    { kind: 'requested' | 'expiring' | 'created' | 'modified' | 'deleted' }
  >,
  context: ContextInput,
): CDEvent<EventType> {
  const subject = { id: observation.id };
  const name = observation.id;
  const endpoint = observation.cluster.endpoint ? { uri: observation.cluster.endpoint } : {};
  switch (transition.kind) {
    case 'requested':
      return buildEvent(EventType.environmentRequested, context, {
        ...subject,
        content: {
          name,
          tools: observation.tools.map(({ name, version }) =>
            version ? { name, version } : { name },
          ),
          // Not the sink (it may hold credentials) nor values (they can be large): both optional.
          ...(observation.ttl ? { ttl: observation.ttl } : {}),
        },
      });
    case 'expiring':
      return buildEvent(EventType.environmentExpiring, context, {
        ...subject,
        content: { name, expiresAt: transition.expiresAt },
      });
    case 'created':
      return buildEvent(EventType.environmentCreated, context, {
        ...subject,
        content: { name, ...endpoint },
      });
    case 'modified':
      return buildEvent(EventType.environmentModified, context, {
        ...subject,
        content: { name, ...endpoint },
      });
    case 'deleted':
      return buildEvent(EventType.environmentDeleted, context, { ...subject, content: { name } });
  }
}

function incidentEvent(
  observation: Observation,
  transition: Extract<Transition, { kind: 'incident-detected' | 'incident-resolved' }>,
  context: ContextInput,
): CDEvent<EventType> {
  const { incident } = transition;
  return buildEvent(
    transition.kind === 'incident-detected'
      ? EventType.incidentDetected
      : EventType.incidentResolved,
    context,
    {
      id: incident.subject,
      content: {
        description: incident.description,
        environment: { id: observation.id, source: context.source },
        ...(incident.tool ? { service: { id: `${observation.id}/${incident.tool}` } } : {}),
        ...(incident.artifactId ? { artifactId: incident.artifactId } : {}),
      },
    },
  );
}

/** A purl for a Helm chart: purl has no helm type, so `generic` with the repository as qualifier. */
export function chartPurl(chart: { name: string; version: string; repository?: string }): string {
  const qualifier = chart.repository
    ? `?repository_url=${encodeURIComponent(chart.repository)}`
    : '';
  return `pkg:generic/${encodeURIComponent(chart.name)}@${encodeURIComponent(chart.version)}${qualifier}`;
}
