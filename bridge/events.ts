import { createHash } from 'node:crypto';
import { buildEvent, EventType, type CDEvent, type Link } from './cdevents.js';
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
  const context = {
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
  const environment = { id: observation.id, source };
  const endpoint = observation.cluster.endpoint ? { uri: observation.cluster.endpoint } : {};
  switch (transition.kind) {
    case 'requested':
      return buildEvent(EventType.environmentRequested, context, {
        id: observation.id,
        content: {
          name: observation.id,
          tools: observation.tools.map(({ name, version }) =>
            version ? { name, version } : { name },
          ),
          // Not the sink (it may hold credentials) nor values (they can be large): both optional.
          ...(observation.ttl ? { ttl: observation.ttl } : {}),
        },
      });
    case 'expiring':
      return buildEvent(EventType.environmentExpiring, context, {
        id: observation.id,
        content: { name: observation.id, expiresAt: transition.expiresAt },
      });
    case 'created':
      return buildEvent(EventType.environmentCreated, context, {
        id: observation.id,
        content: { name: observation.id, ...endpoint },
      });
    case 'modified':
      return buildEvent(EventType.environmentModified, context, {
        id: observation.id,
        content: { name: observation.id, ...endpoint },
      });
    case 'deleted':
      return buildEvent(EventType.environmentDeleted, context, {
        id: observation.id,
        content: { name: observation.id },
      });
    case 'deployed':
    case 'upgraded':
      return buildEvent(
        transition.kind === 'deployed' ? EventType.serviceDeployed : EventType.serviceUpgraded,
        context,
        {
          id: `${observation.id}/${transition.tool}`,
          content: { environment, artifactId: transition.artifactId },
        },
      );
    case 'removed':
      return buildEvent(EventType.serviceRemoved, context, {
        id: `${observation.id}/${transition.tool}`,
        content: { environment },
      });
    case 'incident-detected':
    case 'incident-resolved': {
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
            environment,
            ...(incident.tool ? { service: { id: `${observation.id}/${incident.tool}` } } : {}),
            ...(incident.artifactId ? { artifactId: incident.artifactId } : {}),
          },
        },
      );
    }
  }
}

/** A purl for a Helm chart: purl has no helm type, so `generic` with the repository as qualifier. */
export function chartPurl(chart: { name: string; version: string; repository?: string }): string {
  const qualifier = chart.repository
    ? `?repository_url=${encodeURIComponent(chart.repository)}`
    : '';
  return `pkg:generic/${encodeURIComponent(chart.name)}@${encodeURIComponent(chart.version)}${qualifier}`;
}
