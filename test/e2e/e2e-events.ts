/**
 * The e2e's view of what the bridge sent: short labels of the events in arrival order, taken a
 * step at a time, and the checks every event must pass.
 */
import { expect } from 'vitest';
import { loadOfficialSpec } from '../support/cdevents-spec.js';
import type { Received, TestSink } from '../support/sink.js';

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

/**
 * The bridge's events one step at a time, each once: an event sent again with the same id (the
 * bridge sends a batch again when it restarts before the batch's record is on its XR) is counted
 * in `redeliveries`, and must carry the same payload.
 */
export class Events {
  private seen = 0;
  redeliveries = 0;

  constructor(private readonly sink: TestSink) {}

  /** Each id once, in order of first arrival. */
  distinct(): Received[] {
    const byId = new Map<string, Received>();
    this.redeliveries = 0;
    for (const received of this.sink.received) {
      const first = byId.get(received.event.id);
      if (!first) byId.set(received.event.id, received);
      else {
        this.redeliveries++;
        expect(JSON.stringify(received.event.data)).toBe(JSON.stringify(first.event.data));
      }
    }
    return [...byId.values()];
  }

  /** The labels of the next `count` events, once they have all arrived. */
  async next(count: number, timeoutMs = 120_000): Promise<string[]> {
    const started = Date.now();
    while (this.distinct().length < this.seen + count) {
      if (Date.now() - started > timeoutMs) {
        const all = this.distinct().map((r) => label(r.event.data as Obj));
        throw new Error(`${count} more events expected after ${this.seen}: ${all.join(', ')}`);
      }
      await new Promise((done) => setTimeout(done, 100));
    }
    return this.take(this.seen + count);
  }

  /**
   * The labels of the events that arrive until none has for `quietMs`: for steps where how many
   * `environment.modified` come depends on how Crossplane's writes interleave.
   */
  async settle(quietMs = 5_000): Promise<string[]> {
    let count = this.distinct().length;
    let since = Date.now();
    while (Date.now() - since < quietMs) {
      await new Promise((done) => setTimeout(done, 100));
      const now = this.distinct().length;
      if (now !== count) [count, since] = [now, Date.now()];
    }
    return this.take(count);
  }

  /** The labels of the events up to the next `last` (the deletion, say), once it has arrived. */
  async until(last: string, timeoutMs = 120_000): Promise<string[]> {
    const started = Date.now();
    for (;;) {
      const labels = this.distinct()
        .slice(this.seen)
        .map((r) => label(r.event.data as Obj));
      const at = labels.indexOf(last);
      if (at !== -1) return this.take(this.seen + at + 1);
      if (Date.now() - started > timeoutMs) {
        throw new Error(`no ${last} after ${this.seen} events: ${labels.join(', ')}`);
      }
      await new Promise((done) => setTimeout(done, 100));
    }
  }

  /** The tools of `environment` (its subject id) announced as deployed so far. */
  deployedTools(environment: string): string[] {
    return this.distinct()
      .map((r) => r.event.data as { context: { type: string }; subject: { id: string } })
      .filter((d) => d.context.type.includes('service.deployed'))
      .map((d) => d.subject.id)
      .filter((id) => id.startsWith(`${environment}/`))
      .map((id) => id.slice(environment.length + 1))
      .sort();
  }

  private take(upTo: number): string[] {
    const fresh = this.distinct()
      .slice(this.seen, upTo)
      .map((r) => label(r.event.data as Obj));
    this.seen = upTo;
    return fresh;
  }
}

/**
 * Every event (each id once) valid against the official schema of its type, in binary mode with
 * the context in the CloudEvents attributes, ids unique; per environment one chain, each event
 * linking the one before.
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
