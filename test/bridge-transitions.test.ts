import { describe, expect, it } from 'vitest';
import {
  emptyRecord,
  nextTransition,
  type Observation,
  type Recorded,
  type Transition,
} from '../bridge/transitions.js';
import { eventFor } from '../bridge/events.js';

const purl = (name: string, version: string) => `pkg:generic/${name}@${version}`;

function observation(overrides: Partial<Observation> = {}): Observation {
  return {
    uid: '5f0c9a4e-2d7b-4c1e-9a63-0b8f1e2d3c4a',
    id: 'team-a/dev',
    deleting: false,
    gone: false,
    cluster: { ready: false, endpoint: 'https://vcluster.vcluster-dev.svc:443' },
    tools: [
      { name: 'cert-manager', version: 'v1.19.1', ready: false },
      { name: 'argo-cd', version: '9.1.0', ready: false },
    ],
    ...overrides,
  };
}

function ready(o: Observation, ...names: string[]): Observation {
  return {
    ...o,
    tools: o.tools.map((t) =>
      names.includes(t.name) ? { ...t, ready: true, artifactId: purl(t.name, t.version) } : t,
    ),
  };
}

/** Announces everything observed, as the bridge does: one transition, recorded, then the next. */
function drain(o: Observation, record: Recorded): { said: string[]; record: Recorded } {
  const said: string[] = [];
  for (let step = nextTransition(o, record); step; step = nextTransition(o, record)) {
    const event = eventFor(o, record, step.transition, '/test');
    record = { ...step.record, seq: record.seq + 1, last: event.context.id };
    said.push(describe_(step.transition));
    if (said.length > 50) throw new Error('no fixed point');
  }
  return { said, record };
}

function describe_(t: Transition): string {
  switch (t.kind) {
    case 'deployed':
    case 'upgraded':
    case 'removed':
      return `${t.kind} ${t.tool}`;
    case 'modified':
      return `modified (${t.why})`;
    case 'incident-detected':
    case 'incident-resolved':
      return `${t.kind} ${t.key}`;
    default:
      return t.kind;
  }
}

describe('bridge transitions', () => {
  it('announce an environment through its life, each real transition once', () => {
    let o = observation();
    let r = emptyRecord();
    const story: string[][] = [];
    const say = (next: Observation) => {
      o = next;
      const out = drain(o, r);
      r = out.record;
      story.push(out.said);
      // A second look at the same state says nothing: exactly one event per transition.
      expect(drain(o, r).said).toEqual([]);
    };
    say(o);
    say({ ...o, cluster: { ...o.cluster, ready: true } });
    say(ready(o, 'cert-manager'));
    say(ready(o, 'cert-manager', 'argo-cd'));
    // The claim bumps argo-cd: the function resolves the new version, the Release is not ready yet.
    say({
      ...o,
      tools: [
        o.tools[0]!,
        { name: 'argo-cd', version: '9.2.0', ready: false, artifactId: purl('argo-cd', '9.1.0') },
      ],
    });
    say(ready(o, 'argo-cd'));
    // The claim drops cert-manager.
    say({ ...o, tools: [o.tools[1]!] });
    // Deletion: Crossplane tears down what it composed first; that is not announced piecemeal.
    say({ ...o, deleting: true, cluster: { ready: false }, tools: [] });
    say({ ...o, deleting: true, gone: true });
    say(o);

    expect(story).toEqual([
      ['requested'],
      ['created'],
      ['deployed cert-manager'],
      ['deployed argo-cd', 'modified (ready)'],
      ['modified (tools)', 'modified (not-ready)'],
      ['upgraded argo-cd', 'modified (ready)'],
      ['modified (tools)', 'removed cert-manager'],
      [],
      ['deleted'],
      [],
    ]);
  });

  it('open an incident on a failure and resolve it on recovery', () => {
    const healthy = ready(observation({ cluster: { ready: true } }), 'cert-manager', 'argo-cd');
    let { record } = drain(healthy, emptyRecord());
    const failing = {
      ...healthy,
      tools: [
        { ...healthy.tools[0]!, ready: false, failure: 'chart not found' },
        healthy.tools[1]!,
      ],
    };
    const detected = drain(failing, record);
    expect(detected.said).toEqual(['incident-detected tool/cert-manager', 'modified (not-ready)']);
    record = detected.record;
    expect(record.incidents['tool/cert-manager']).toMatchObject({
      description: 'chart not found',
      tool: 'cert-manager',
    });
    const fatal = drain(
      { ...failing, fatal: 'spec.tools[2].name: "tekon" is not in the catalogue' },
      record,
    );
    expect(fatal.said).toEqual(['incident-detected composite']);
    expect(drain(healthy, fatal.record).said).toEqual([
      'incident-resolved tool/cert-manager',
      'incident-resolved composite',
      'modified (ready)',
    ]);
  });

  it('treat a Fatal result on a healthy environment as an incident, not as unreadiness', () => {
    const healthy = ready(observation({ cluster: { ready: true } }), 'cert-manager', 'argo-cd');
    const { record } = drain(healthy, emptyRecord());
    const fatal = drain(
      { ...healthy, fatal: 'spec.tools[2].name: "tekon" is not in the catalogue' },
      record,
    );
    expect(fatal.said).toEqual(['incident-detected composite']);
    expect(drain(healthy, fatal.record).said).toEqual(['incident-resolved composite']);
  });

  it('say nothing but "requested" before the cluster is ready', () => {
    const failing = observation({ cluster: { ready: false, failure: 'ImagePullBackOff' } });
    expect(drain(failing, emptyRecord()).said).toEqual(['requested', 'incident-detected cluster']);
  });

  it('derive the same ids and chain after a restart, and link each event to the one before', () => {
    const o = ready(observation({ cluster: { ready: true } }), 'cert-manager');
    const ids = (record: Recorded) => {
      const out: { id: string; chain?: string; links?: unknown }[] = [];
      for (let step = nextTransition(o, record); step; step = nextTransition(o, record)) {
        const event = eventFor(o, record, step.transition, '/test');
        out.push({
          id: event.context.id,
          chain: event.context.chainId,
          links: event.context.links,
        });
        record = { ...step.record, seq: record.seq + 1, last: event.context.id };
      }
      return out;
    };
    const first = ids(emptyRecord());
    expect(ids(emptyRecord())).toEqual(first);
    expect(new Set(first.map((e) => e.id)).size).toBe(first.length);
    expect(new Set(first.map((e) => e.chain)).size).toBe(1);
    expect(first[0]!.links).toBeUndefined();
    for (let i = 1; i < first.length; i++) {
      expect(first[i]!.links).toEqual([
        { linkType: 'PATH', from: { contextId: first[i - 1]!.id } },
      ]);
    }
    const other = ids(emptyRecord()).map((e) => e.id);
    const otherUid = (() => {
      const o2 = { ...o, uid: 'another-uid' };
      const step = nextTransition(o2, emptyRecord())!;
      return eventFor(o2, emptyRecord(), step.transition, '/test').context.id;
    })();
    expect(other).not.toContain(otherUid);
  });
});
