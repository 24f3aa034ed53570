import { describe, expect, it } from 'vitest';
import {
  emptyRecord,
  nextTransition,
  type Observation,
  type Recorded,
  type Transition,
} from '../../../bridge/announce/transitions.js';
import { eventFor } from '../../../bridge/announce/events.js';
import { MAX_BATCH, planBatch } from '../../../bridge/announce/batch.js';
import { observation } from '../../support/observations.js';

const purl = (name: string, version: string) => `pkg:generic/${name}@${version}`;

function ready(o: Observation, ...names: string[]): Observation {
  return {
    ...o,
    tools: o.tools.map((t) =>
      names.includes(t.name) ? { ...t, ready: true, artifactId: purl(t.name, t.version) } : t,
    ),
  };
}

/** The tools `names` as observed once Helm uninstalled them: their Releases gone. */
function uninstalled(o: Observation, ...names: string[]): Observation {
  return {
    ...o,
    tools: o.tools.map(({ artifactId, ...t }) =>
      names.includes(t.name)
        ? { ...t, ready: false }
        : { ...t, ...(artifactId ? { artifactId } : {}) },
    ),
  };
}

/** Announces everything observed, one transition after the other; deletion is the last word. */
function drain(o: Observation, record: Recorded): { said: string[]; record: Recorded } {
  const said: string[] = [];
  for (let step = nextTransition(o, record); step; step = nextTransition(o, record)) {
    const event = eventFor(o, record, step.transition, '/test');
    record = { ...step.record, seq: record.seq + 1, last: event.context.id };
    said.push(describe_(step.transition));
    if (step.transition.kind === 'deleted') break;
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
      if (!o.gone) expect(drain(o, r).said).toEqual([]);
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
    // Deletion: the status still lists argo-cd; its Release is being uninstalled, then gone.
    say({ ...o, deleting: true });
    say({ ...uninstalled(o, 'argo-cd'), deleting: true, cluster: { ready: false } });
    say({ ...o, deleting: true, gone: true });

    expect(story).toEqual([
      ['requested'],
      ['created'],
      ['deployed cert-manager'],
      ['deployed argo-cd', 'modified (ready)'],
      ['modified (tools)', 'modified (not-ready)'],
      ['upgraded argo-cd', 'modified (ready)'],
      ['modified (tools)', 'removed cert-manager'],
      [],
      ['removed argo-cd'],
      ['deleted'],
    ]);
  });

  describe('announce the tools Helm uninstalls while the environment is deleted', () => {
    // cert-manager and argo-cd announced as deployed, argo-cd failing since.
    const healthy = ready(observation({ cluster: { ready: true } }), 'cert-manager', 'argo-cd');
    const failing = {
      ...healthy,
      tools: [healthy.tools[0]!, { ...healthy.tools[1]!, ready: false, failure: 'chart gone' }],
    };
    const before = drain(failing, drain(healthy, emptyRecord()).record).record;
    const deleting = (o: Observation): Observation => ({ ...o, deleting: true });
    const cases: { name: string; steps: Observation[]; want: string[][] }[] = [
      {
        name: 'each once its Release is gone, its open incident resolved first; then the deletion',
        steps: [
          deleting(failing),
          deleting(uninstalled(failing, 'argo-cd')),
          deleting(uninstalled(failing, 'argo-cd', 'cert-manager')),
          { ...failing, deleting: true, gone: true },
        ],
        want: [
          [],
          ['incident-resolved tool/argo-cd', 'removed argo-cd'],
          ['removed cert-manager'],
          ['deleted'],
        ],
      },
      {
        name: 'gone with tools still deployed (uninstalled unseen, or a deletion in the background)',
        steps: [deleting(failing), { ...failing, deleting: true, gone: true }],
        want: [
          [],
          ['incident-resolved tool/argo-cd', 'removed argo-cd', 'removed cert-manager', 'deleted'],
        ],
      },
      {
        name: 'a tool the status no longer lists is removed at once',
        steps: [deleting({ ...failing, tools: [failing.tools[0]!] })],
        want: [['incident-resolved tool/argo-cd', 'removed argo-cd']],
      },
      {
        name: 'a tool never announced as deployed is not removed',
        steps: [
          deleting({
            ...uninstalled(failing, 'cert-manager'),
            tools: [
              ...uninstalled(failing, 'cert-manager').tools,
              { name: 'x', version: '1', ready: false },
            ],
          }),
        ],
        want: [['removed cert-manager']],
      },
      {
        name: 'nothing else is announced meanwhile: readiness, failures, the expiry',
        steps: [
          deleting({
            ...healthy,
            cluster: { ready: false, failure: 'boom' },
            fatal: 'gone wrong',
            expiring: '2026-11-25T17:00:00Z',
          }),
        ],
        want: [[]],
      },
    ];
    for (const { name, steps, want } of cases) {
      it(name, () => {
        let record = before;
        const said = steps.map((o) => {
          const out = drain(o, record);
          record = out.record;
          // A second look at the same state says nothing more.
          if (!o.gone) expect(drain(o, record).said).toEqual([]);
          return out.said;
        });
        expect(said).toEqual(want);
      });
    }
  });

  describe('announce deployments in dependency order, whatever order the claim lists', () => {
    // app depends on conf, conf on base; the claim lists them [app, base, conf].
    const chain = observation({
      cluster: { ready: true },
      tools: [
        { name: 'app', version: '3.0.0', ready: false, dependsOn: ['conf'] },
        { name: 'base', version: '1.0.0', ready: false },
        { name: 'conf', version: '2.0.0', ready: false, dependsOn: ['base'] },
      ],
    });
    const created = drain(chain, emptyRecord()).record;
    const cases: { name: string; ready: string[]; before?: string[]; want: string[] }[] = [
      {
        name: 'all ready at once (a restart after they came up)',
        ready: ['app', 'base', 'conf'],
        want: ['deployed base', 'deployed conf', 'deployed app', 'modified (ready)'],
      },
      {
        name: 'the dependency already announced',
        before: ['base'],
        ready: ['app', 'base', 'conf'],
        want: ['deployed conf', 'deployed app', 'modified (ready)'],
      },
      {
        name: 'a dependent ready while its dependency is not: held until it is',
        ready: ['app', 'conf'],
        want: [],
      },
      {
        name: 'tools without dependencies in the order listed',
        ready: ['base'],
        want: ['deployed base'],
      },
    ];
    for (const { name, ready: readyNow, before = [], want } of cases) {
      it(name, () => {
        const record = drain(ready(chain, ...before), created).record;
        expect(drain(ready(chain, ...readyNow), record).said).toEqual(want);
      });
    }

    it('a dependency the claim dropped holds nothing', () => {
      const record = drain(ready(chain, 'base'), created).record;
      const withoutBase = { ...chain, tools: [chain.tools[0]!, chain.tools[2]!] };
      expect(drain(ready(withoutBase, 'app', 'conf'), record).said).toEqual([
        'modified (tools)',
        'removed base',
        'deployed conf',
        'deployed app',
        'modified (ready)',
      ]);
    });
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

  it('resolve open incidents when the environment is gone, then announce its deletion', () => {
    const failing = observation({ cluster: { ready: false, failure: 'ImagePullBackOff' } });
    const { record } = drain(failing, emptyRecord());
    expect(drain({ ...failing, deleting: true }, record).said).toEqual([]);
    expect(drain({ ...failing, deleting: true, gone: true }, record).said).toEqual([
      'incident-resolved cluster',
      'deleted',
    ]);
  });

  it('announce an invalid claim sink as an incident, and its fix as the resolution', () => {
    const healthy = ready(observation({ cluster: { ready: true } }), 'cert-manager', 'argo-cd');
    const { record } = drain(healthy, emptyRecord());
    const bad = drain({ ...healthy, sinkProblem: '"http://" is not an absolute URL' }, record);
    expect(bad.said).toEqual(['incident-detected sink']);
    expect(bad.record.incidents.sink!.description).toBe(
      'spec.events.sink: "http://" is not an absolute URL',
    );
    expect(drain(healthy, bad.record).said).toEqual(['incident-resolved sink']);
  });
});

describe('bridge batches', () => {
  const now = new Date('2026-11-25T09:00:00.000Z');
  const o = ready(observation({ cluster: { ready: true } }), 'cert-manager');

  it('fix ids, links and timestamps before sending: the same record gives the same batch', () => {
    const batch = planBatch(o, emptyRecord(), '/test', now);
    expect(planBatch(o, emptyRecord(), '/test', now)).toEqual(batch);
    const events = batch.outbox.map((entry) => entry.event);
    expect(events.map((e) => e.context.type)).toEqual([
      'dev.cdeventsx.xenvironment-environment.requested.0.1.0',
      'dev.cdevents.environment.created.0.3.0',
      'dev.cdevents.service.deployed.0.3.0',
    ]);
    expect(new Set(events.map((e) => e.context.id)).size).toBe(events.length);
    expect(new Set(events.map((e) => e.context.chainId)).size).toBe(1);
    expect(events.every((e) => e.context.timestamp === now.toISOString())).toBe(true);
    expect(events[0]!.context.links).toBeUndefined();
    for (let i = 1; i < events.length; i++) {
      expect(events[i]!.context.links).toEqual([
        { linkType: 'PATH', from: { contextId: events[i - 1]!.context.id } },
      ]);
    }
    expect(batch).toMatchObject({ seq: 3, last: events[2]!.context.id, created: true });
  });

  it('keep ids of another epoch or another environment apart', () => {
    const ids = (obs: Observation, record: Recorded) =>
      planBatch(obs, record, '/test', now).outbox.map((entry) => entry.event.context.id);
    const first = ids(o, emptyRecord());
    const all = [
      ...first,
      ...ids(o, emptyRecord('1f2e3d4c')),
      ...ids({ ...o, uid: 'other' }, emptyRecord()),
    ];
    expect(new Set(all).size).toBe(all.length);
  });

  it('hold at most MAX_BATCH events, and go on from there in the next batch', () => {
    const many = {
      ...o,
      tools: Array.from({ length: 20 }, (_, i) => ({
        name: `tool-${i}`,
        version: '1.0.0',
        ready: true,
        artifactId: purl(`tool-${i}`, '1.0.0'),
      })),
    };
    const first = planBatch(many, emptyRecord(), '/test', now);
    expect(first.outbox).toHaveLength(MAX_BATCH);
    const second = planBatch(many, first, '/test', now);
    // requested, created, 20 deployed, modified (ready).
    expect(first.outbox.length + second.outbox.length).toBe(23);
    expect(second.outbox[0]!.event.context.links).toEqual([
      { linkType: 'PATH', from: { contextId: first.last } },
    ]);
    expect(planBatch(many, second, '/test', now).outbox).toEqual([]);
  });

  it('route incidents about the claim sink to the default sink, and stop after the deletion', () => {
    const bad = planBatch(
      { ...o, sinkProblem: 'host evil.example is not allowed' },
      emptyRecord(),
      '/test',
      now,
    );
    expect(bad.outbox.map((entry) => entry.toDefault ?? false)).toEqual([
      false,
      true,
      false,
      false,
    ]);
    const gone = planBatch({ ...o, deleting: true, gone: true }, bad, '/test', now);
    expect(gone.outbox.map((entry) => entry.event.context.type)).toEqual([
      'dev.cdevents.incident.resolved.0.3.0',
      'dev.cdevents.service.removed.0.3.0',
      'dev.cdevents.environment.deleted.0.3.0',
    ]);
    expect(gone.outbox[2]!.event.context.links).toEqual([
      { linkType: 'END', from: { contextId: gone.outbox[1]!.event.context.id } },
    ]);
  });

  it('remove more tools than a batch holds across batches, the deletion last', () => {
    const many = {
      ...o,
      tools: Array.from({ length: 20 }, (_, i) => ({
        name: `tool-${String(i).padStart(2, '0')}`,
        version: '1.0.0',
        ready: true,
        artifactId: purl(`tool-${i}`, '1.0.0'),
      })),
    };
    let record = emptyRecord();
    while ((record = planBatch(many, record, '/test', now)).outbox.length > 0);
    const gone = { ...many, deleting: true, gone: true };
    const first = planBatch(gone, record, '/test', now);
    const second = planBatch(gone, first, '/test', now);
    const said = [...first.outbox, ...second.outbox].map(({ event }) => [
      event.context.type.split('.')[3],
      event.subject.id,
    ]);
    expect(first.outbox).toHaveLength(MAX_BATCH);
    expect(said).toEqual([
      ...many.tools.map((tool) => ['removed', `team-a/dev/${tool.name}`]),
      ['deleted', 'team-a/dev'],
    ]);
    expect(second).toMatchObject({ deployed: {}, outbox: { length: 5 } });
    // The same record gives the same batch: a resend repeats the ids.
    expect(planBatch(gone, record, '/test', now)).toEqual(first);
  });
});
