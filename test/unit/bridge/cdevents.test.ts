import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildEvent,
  CDEventError,
  EventType,
  parseEvent,
  validateEvent,
  type ContextInput,
  type Contents,
} from '../../../bridge/delivery/cdevents.js';
import { loadOfficialSpec, type OfficialSpec } from '../../support/cdevents-spec.js';

let spec: OfficialSpec;
beforeAll(() => {
  spec = loadOfficialSpec();
});

const context: ContextInput = {
  id: '6f1c1c53-8d7e-4f5b-9b1a-0c3e2f1d4a5b',
  source: '/xenvironment-bridge',
  timestamp: new Date('2026-11-25T09:00:00.123Z'),
  chainId: 'b1e8f0d2-3c4a-4e5f-8a9b-0c1d2e3f4a5b',
  links: [{ linkType: 'PATH', from: { contextId: '2d6e0c1a-9b8f-4e7d-a6c5-b4a3f2e1d0c9' } }],
};
const environment = { id: 'team-a/dev', source: '/xenvironment-bridge' };
const artifactId = 'pkg:generic/argo-cd@9.1.0?download_url=https://argoproj.github.io/argo-helm';

/** One sample subject per type the module builds: every field the schema allows. */
const samples: { [T in EventType]: { id: string; content: Contents[T] } } = {
  [EventType.environmentCreated]: {
    id: 'team-a/dev',
    content: { name: 'team-a/dev', uri: 'https://vcluster.vcluster-dev.svc:443' },
  },
  [EventType.environmentModified]: {
    id: 'team-a/dev',
    content: { name: 'team-a/dev', uri: 'https://vcluster.vcluster-dev.svc:443' },
  },
  [EventType.environmentDeleted]: { id: 'team-a/dev', content: { name: 'team-a/dev' } },
  [EventType.serviceDeployed]: { id: 'team-a/dev/argo-cd', content: { environment, artifactId } },
  [EventType.serviceUpgraded]: { id: 'team-a/dev/argo-cd', content: { environment, artifactId } },
  [EventType.serviceRemoved]: { id: 'team-a/dev/argo-cd', content: { environment } },
  [EventType.incidentDetected]: {
    id: 'team-a/dev/incidents/7',
    content: {
      description: 'chart not found',
      environment,
      service: { id: 'team-a/dev/argo-cd' },
      artifactId,
    },
  },
  [EventType.incidentResolved]: {
    id: 'team-a/dev/incidents/7',
    content: {
      description: 'chart not found',
      environment,
      service: { id: 'team-a/dev/argo-cd' },
      artifactId,
    },
  },
  [EventType.environmentRequested]: {
    id: 'team-a/dev',
    content: {
      name: 'team-a/dev',
      tools: [{ name: 'argo-cd', version: '9.1.0', values: { server: { replicas: 2 } } }],
      ttl: '8h',
      sink: 'http://broker-ingress.knative-eventing.svc.cluster.local/team-a/default',
    },
  },
  [EventType.environmentReleased]: { id: 'team-a/dev', content: { name: 'team-a/dev' } },
  [EventType.environmentExpiring]: {
    id: 'team-a/dev',
    content: { name: 'team-a/dev', expiresAt: '2026-11-25T17:00:00Z' },
  },
};

describe('CDEvents builders', () => {
  it.each(Object.values(EventType))('%s validates against the official schema', (type) => {
    const event = buildEvent(type, context, samples[type] as never);
    const validate = spec.validatorFor(type);
    expect(validate(event), JSON.stringify(validate.errors)).toBe(true);
    expect(event.context).toMatchObject({
      specversion: '0.5.1',
      type,
      timestamp: '2026-11-25T09:00:00.123Z',
    });
  });

  it('refuses what the schemas refuse, naming the field', () => {
    expect(() =>
      buildEvent(EventType.environmentCreated, context, {
        id: 'x',
        content: { name: 'x', url: 'https://x' } as never,
      }),
    ).toThrow(new CDEventError('subject.content.url', 'is not allowed'));
    expect(() =>
      buildEvent(EventType.environmentCreated, context, { id: 'x', content: { uri: 'not a uri' } }),
    ).toThrow('subject.content.uri: "not a uri" is not an absolute URI');
    expect(() =>
      buildEvent(EventType.environmentDeleted, context, {
        id: 'x',
        content: { name: 'x', uri: 'https://x' } as never,
      }),
    ).toThrow('subject.content.uri: is not allowed');
    expect(() =>
      buildEvent(EventType.serviceDeployed, context, {
        id: 'x',
        content: { environment } as never,
      }),
    ).toThrow('subject.content.artifactId: is required');
    expect(() =>
      buildEvent(EventType.serviceRemoved, { ...context, id: '' }, { id: 'x', content: {} }),
    ).toThrow('context.id: must be a non-empty string');
  });

  it('agrees with the official schemas on invalid events', () => {
    const base = buildEvent(EventType.serviceDeployed, context, samples[EventType.serviceDeployed]);
    const broken = [
      { ...base, subject: { ...base.subject, content: { environment: {}, artifactId } } },
      { ...base, context: { ...base.context, timestamp: 'yesterday' } },
      { ...base, context: { ...base.context, links: [{ linkType: 'PATH' }] } },
      { ...base, extra: true },
    ];
    const validate = spec.validatorFor(EventType.serviceDeployed);
    for (const event of broken) {
      expect(validate(event)).toBe(false);
      expect(() => validateEvent(event)).toThrow(CDEventError);
    }
  });
});

describe('CDEvents parser', () => {
  it('parses every official conformance example without loss', () => {
    const examples = Object.entries(spec.conformance);
    expect(examples.length).toBeGreaterThanOrEqual(46);
    for (const [file, example] of examples) {
      const parsed = parseEvent(structuredClone(example));
      expect(JSON.parse(JSON.stringify(parsed)), file).toEqual(example);
    }
  });
});
