import { readdirSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Ajv2020 } from 'ajv/dist/2020.js';
import {
  CDEventError,
  EventType,
  validateEvent,
  type CDEvent,
} from '../../../bridge/delivery/cdevents.js';
import { eventFor } from '../../../bridge/announce/events.js';
import { emptyRecord } from '../../../bridge/announce/transitions.js';
import { loadOfficialSpec, type OfficialSpec } from '../../support/cdevents-spec.js';
import { observation } from '../../support/observations.js';

const DIR = 'bridge/delivery/event-schemas';
const schemas = readdirSync(DIR).map(
  (file) => JSON.parse(readFileSync(`${DIR}/${file}`, 'utf8')) as Record<string, unknown>,
);
const typeOf = (schema: Record<string, unknown>) =>
  (schema as { properties: { context: { properties: { type: { const: string } } } } }).properties
    .context.properties.type.const;

let spec: OfficialSpec;
beforeAll(() => {
  spec = loadOfficialSpec();
});

/** The schemas as files, read apart from the bridge's own loading of them. */
const ajv = new Ajv2020({ strict: true, allErrors: true });
for (const schema of schemas) ajv.addSchema(schema, typeOf(schema));
const ours = (type: string) => ajv.getSchema(type)!;

function event(type: string, content: unknown, subject: Record<string, unknown> = {}): CDEvent {
  return {
    context: {
      specversion: '0.5.1',
      id: '7c6b1f0e-5a4d-4c3b-9a2e-1d0c9b8a7f6e',
      source: '/tekton/pipelines/release',
      type,
      timestamp: '2026-11-25T09:00:00.000Z',
    },
    subject: { id: 'team-a/dev', content, ...subject },
  } as CDEvent;
}

const R = EventType.environmentRequested;
const valid: [string, CDEvent][] = [
  ['requested: the least', event(R, { name: 'team-a/dev', tools: [] })],
  [
    'requested: everything',
    event(R, {
      name: 'team-a/dev',
      tools: [
        { name: 'cert-manager' },
        { name: 'argo-cd', version: '9.1.0', values: { server: { replicas: 2 } } },
      ],
      ttl: '1d12h',
      sink: 'http://broker-ingress.knative-eventing.svc.cluster.local/team-a/default',
    }),
  ],
  ['requested: an XR without a claim, as emitted', event(R, { name: 'dev-x7k2p', tools: [] })],
  [
    'released',
    event(EventType.environmentReleased, { name: 'team-a/dev' }, { source: '/pipelines' }),
  ],
  [
    'expiring',
    event(EventType.environmentExpiring, { name: 'team-a/dev', expiresAt: '2026-11-25T17:00:00Z' }),
  ],
];
const invalid: [string, CDEvent, string][] = [
  ['no tools', event(R, { name: 'team-a/dev' }), 'subject.content.tools: is required'],
  [
    'a field of its own',
    event(R, { name: 'team-a/dev', tools: [], owner: 'me' }),
    'subject.content.owner: is not allowed',
  ],
  [
    'a tool name that is no DNS label',
    event(R, { name: 'team-a/dev', tools: [{ name: 'Argo CD' }] }),
    'subject.content.tools[0].name: must match pattern',
  ],
  [
    'a tool field of its own',
    event(R, { name: 'team-a/dev', tools: [{ name: 'argo-cd', chart: 'x' }] }),
    'subject.content.tools[0].chart: is not allowed',
  ],
  [
    'values that are not an object',
    event(R, { name: 'team-a/dev', tools: [{ name: 'argo-cd', values: 'replicas=2' }] }),
    'subject.content.tools[0].values: must be object',
  ],
  [
    'a ttl in words',
    event(R, { name: 'team-a/dev', tools: [], ttl: '8 hours' }),
    'subject.content.ttl: must match pattern',
  ],
  [
    'a sink that is no http(s) URL',
    event(R, { name: 'team-a/dev', tools: [], sink: 'ftp://x' }),
    'subject.content.sink: must match pattern',
  ],
  [
    '201 tools',
    event(R, {
      name: 'team-a/dev',
      tools: Array.from({ length: 201 }, (_, i) => ({ name: `t${i}` })),
    }),
    'subject.content.tools: must NOT have more than 200 items',
  ],
  [
    'a name with two slashes',
    event(R, { name: 'team-a/dev/x', tools: [] }),
    'subject.content.name: must match pattern',
  ],
  [
    'released without a namespace',
    event(EventType.environmentReleased, { name: 'dev' }),
    'subject.content.name: must match pattern',
  ],
  [
    'expiring at a local time',
    event(EventType.environmentExpiring, { name: 'dev', expiresAt: '2026-11-25T17:00:00+01:00' }),
    'subject.content.expiresAt: must match pattern',
  ],
];

describe("the bridge's custom event schemas", () => {
  it('are one per custom type, each type in the CDEvents custom format', () => {
    const custom = Object.values(EventType).filter((t) => t.startsWith('dev.cdeventsx.'));
    expect(schemas.map(typeOf).sort()).toEqual([...custom].sort());
    for (const schema of schemas) {
      expect(typeOf(schema)).toMatch(
        /^dev\.cdeventsx\.[a-zA-Z0-9]+-[a-zA-Z]+\.[a-zA-Z]+\.[0-9]\.[0-9]\.[0-9]$/,
      );
      expect(schema.$id).toBe(
        `https://xenvironment.io/cdeventsx/${typeOf(schema).replace('dev.cdeventsx.', '')}`,
      );
    }
  });

  it.each(valid)(
    '%s: valid against its schema, the official custom schema and the bridge',
    (_, e) => {
      const official = spec.validatorFor(e.context.type);
      expect(official(e), JSON.stringify(official.errors)).toBe(true);
      const own = ours(e.context.type);
      expect(own(e), JSON.stringify(own.errors)).toBe(true);
      expect(() => validateEvent(e)).not.toThrow();
    },
  );

  it.each(invalid)('%s: refused by its schema and by the bridge, naming %s', (_, e, message) => {
    expect(ours(e.context.type)(e)).toBe(false);
    expect(() => validateEvent(e)).toThrow(CDEventError);
    expect(() => validateEvent(e)).toThrow(message);
  });

  it("holds the bridge's own announcements: the same content, one meaning both ways", () => {
    const observed = observation({ ttl: '8h', expiring: '2026-11-25T17:00:00Z' });
    for (const kind of ['requested', 'expiring'] as const) {
      const transition =
        kind === 'requested' ? { kind } : { kind, expiresAt: '2026-11-25T17:00:00Z' };
      const emitted = eventFor(observed, emptyRecord(), transition, '/xenvironment-bridge');
      expect(ours(emitted.context.type)(emitted)).toBe(true);
      expect(spec.validatorFor(emitted.context.type)(emitted)).toBe(true);
    }
    const requested = eventFor(observed, emptyRecord(), { kind: 'requested' }, '/x');
    expect(requested.subject.content).toEqual({
      name: 'team-a/dev',
      tools: [
        { name: 'cert-manager', version: 'v1.19.1' },
        { name: 'argo-cd', version: '9.1.0' },
      ],
      ttl: '8h',
    });
  });
});
