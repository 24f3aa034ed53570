/**
 * The e2e's view of what the bridge sent: short labels of the events in arrival order, taken a
 * step at a time, and the checks every event must pass.
 */
import { expect } from 'vitest';
import { loadOfficialSpec } from './support/cdevents-spec.js';
import type { Received, TestSink } from './support/sink.js';

type Obj = Record<string, unknown>;

/** `environment.created`, or `service.deployed web` for a tool's events. */
export function label(data: Obj): string {
  const context = data.context as { type: string };
  const subject = data.subject as { id: string };
  const short = context.type
    .replace(/^dev\.cdevents(x\.xenvironment-)?\.?/, '')
    .replace(/\.\d+\.\d+\.\d+$/, '');
  return short.startsWith('service.') ? `${short} ${subject.id.split('/').pop()}` : short;
}

export class Events {
  private seen = 0;

  constructor(private readonly sink: TestSink) {}

  /** The labels of the next `count` events, once they have all arrived. */
  async next(count: number, timeoutMs = 120_000): Promise<string[]> {
    const events = await this.sink.waitFor(this.seen + count, timeoutMs);
    const fresh = events.slice(this.seen).map((r) => label(r.event.data as Obj));
    this.seen += count;
    return fresh;
  }

  /** What arrived beyond those taken, after waiting `ms` for stragglers. */
  async extra(ms: number): Promise<string[]> {
    await new Promise((done) => setTimeout(done, ms));
    return this.sink.received.slice(this.seen).map((r) => label(r.event.data as Obj));
  }

  /** When the last event labelled `wanted` arrived (Date.now() clock). */
  arrival(wanted: string): number | undefined {
    const found = [...this.sink.received]
      .reverse()
      .find((r) => label(r.event.data as Obj) === wanted);
    return found && performance.timeOrigin + found.at;
  }
}

/**
 * Every event valid against the official schema of its type, in binary mode with the context in
 * the CloudEvents attributes, ids unique; per environment one chain, each event linking the one
 * before.
 */
export function checkEvents(received: Received[], extensions: Obj): void {
  const spec = loadOfficialSpec();
  const ids = new Set<string>();
  const previous = new Map<string, string>();
  const chains = new Map<string, string>();
  for (const { event, mode } of received) {
    const data = event.data as { context: Obj; subject: Obj };
    const validate = spec.validatorFor(String(data.context.type));
    expect(validate(data), JSON.stringify(validate.errors)).toBe(true);
    expect(mode).toBe('binary');
    expect(event).toMatchObject({
      id: data.context.id,
      source: data.context.source,
      type: data.context.type,
      subject: data.subject.id,
      time: data.context.timestamp,
      datacontenttype: 'application/json',
      ...extensions,
    });
    expect(ids.has(event.id)).toBe(false);
    ids.add(event.id);
    const environment = environmentOf(data.subject);
    const chain = String(data.context.chainId);
    expect(chains.get(environment) ?? chain).toBe(chain);
    chains.set(environment, chain);
    const before = previous.get(environment);
    if (before) {
      const links = data.context.links as { from: { contextId: string } }[];
      expect(links[0]!.from.contextId).toBe(before);
    }
    previous.set(environment, event.id);
  }
  expect(new Set(chains.values()).size).toBe(chains.size);
}

/** The environment an event is about: its own id, or the one its content names. */
function environmentOf(subject: Obj): string {
  const content = subject.content as { environment?: { id: string } } | undefined;
  return content?.environment?.id ?? String(subject.id);
}
