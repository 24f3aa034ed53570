/**
 * Checks on what a sink received from the bridge, for tests that crash it: redeliveries must
 * repeat an event exactly, and no transition may be announced under two ids.
 */
import type { CDEvent } from '../../bridge/delivery/cdevents.js';

export interface EventLog {
  /** Each id once, in order of first arrival. */
  distinct: CDEvent[];
  /** Arrivals of an id already seen. */
  redeliveries: number;
  problems: string[];
}

const short = (event: CDEvent) =>
  `${event.context.type.replace(/^dev\.cdevents(x\.xenvironment-)?\.?/, '').replace(/\.\d+\.\d+\.\d+$/, '')} ${event.subject.id}`;

export function label(event: CDEvent): string {
  return short(event);
}

/**
 * - an id always carries the same event;
 * - ids never fork: no two events link from the same event, so no position was given twice;
 * - an incident is detected once and resolved once, after; an environment is requested,
 *   created and deleted once; a tool is not deployed twice without being removed between.
 */
export function checkEventLog(received: CDEvent[]): EventLog {
  const byId = new Map<string, string>();
  const distinct: CDEvent[] = [];
  const problems: string[] = [];
  let redeliveries = 0;
  for (const event of received) {
    const json = JSON.stringify(event);
    const known = byId.get(event.context.id);
    if (known === undefined) {
      byId.set(event.context.id, json);
      distinct.push(event);
    } else {
      redeliveries++;
      if (known !== json) problems.push(`${event.context.id} sent with two payloads`);
    }
  }

  const successors = new Map<string, string>();
  for (const event of distinct) {
    for (const link of event.context.links ?? []) {
      if (!('from' in link)) continue;
      const other = successors.get(link.from.contextId);
      if (other) {
        problems.push(`fork: ${other} and ${event.context.id} both follow ${link.from.contextId}`);
      }
      successors.set(link.from.contextId, event.context.id);
    }
  }

  const once = new Map<string, string>();
  const deployed = new Set<string>();
  for (const event of distinct) {
    const { type } = event.context;
    const subject = event.subject.id;
    const kind = short(event).split(' ')[0]!;
    if (
      ['environment.requested', 'environment.created', 'environment.deleted'].includes(kind) ||
      kind.startsWith('incident.')
    ) {
      const key = `${kind} ${subject}`;
      if (once.has(key))
        problems.push(`${key} announced twice: ${once.get(key)}, ${event.context.id}`);
      once.set(key, event.context.id);
      if (kind === 'incident.resolved' && !once.has(`incident.detected ${subject}`)) {
        // Allowed only for incidents adopted from a rebuilt record: their subject says so.
        if (!/\/incidents\/[0-9a-f]+-[a-z]/.test(subject)) {
          problems.push(`${subject} resolved but never detected`);
        }
      }
    }
    if (type.includes('service.deployed')) {
      if (deployed.has(subject)) problems.push(`${subject} deployed twice without removal`);
      deployed.add(subject);
    }
    if (type.includes('service.removed')) deployed.delete(subject);
  }
  return { distinct, redeliveries, problems };
}

/** Incident subjects detected and never resolved. */
export function openIncidents(distinct: CDEvent[]): string[] {
  const open = new Set<string>();
  for (const event of distinct) {
    if (event.context.type.includes('incident.detected')) open.add(event.subject.id);
    if (event.context.type.includes('incident.resolved')) open.delete(event.subject.id);
  }
  return [...open];
}
