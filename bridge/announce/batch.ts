import { EventType } from '../delivery/cdevents.js';
import { eventFor } from './events.js';
import {
  nextTransition,
  type Observation,
  type OutboxEntry,
  type Recorded,
  type Transition,
} from './transitions.js';

/** Events per batch: bounds the record annotation (an event is about 1 KiB). */
export const MAX_BATCH = 16;

/** Incidents about the claim's own sink cannot go to that sink: they go to K_SINK. */
function toDefault(transition: Transition): boolean {
  return (
    (transition.kind === 'incident-detected' || transition.kind === 'incident-resolved') &&
    transition.key === 'sink'
  );
}

/**
 * The record once the next batch of transitions is announced, with their events in its outbox:
 * positions, ids, links and timestamps are fixed here, before anything is sent. Assumes the
 * previous outbox was delivered. An empty outbox means there is nothing to announce.
 */
export function planBatch(
  observation: Observation,
  recorded: Recorded,
  source: string,
  now: Date,
  max = MAX_BATCH,
): Recorded {
  let record: Recorded = { ...recorded, outbox: [] };
  const outbox: OutboxEntry[] = [];
  while (outbox.length < max) {
    const step = nextTransition(observation, record);
    if (!step) break;
    const event = eventFor(observation, record, step.transition, source, now);
    record = { ...step.record, seq: record.seq + 1, last: event.context.id };
    outbox.push(toDefault(step.transition) ? { event, toDefault: true } : { event });
    if (step.transition.kind === 'deleted') break;
  }
  return { ...record, outbox };
}

export function announcesDeletion(outbox: OutboxEntry[]): boolean {
  return outbox.some(({ event }) => event.context.type === EventType.environmentDeleted);
}
