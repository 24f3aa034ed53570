import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CloudEvent, HTTP } from 'cloudevents';
import { pino } from 'pino';
import { isObject, type JsonObject } from '../../common/objects.js';
import { CLUSTER_LOCAL_HOSTS } from '../../common/sink.js';
import { ApiError } from '../../bridge/kube/api.js';
import { EventType, type CDEvent } from '../../bridge/delivery/cdevents.js';
import { inboundHandler } from '../../bridge/inbound/endpoint.js';
import type { Objects } from '../../bridge/inbound/objects.js';
import {
  actionFor,
  EVENT_ID_ANNOTATION,
  EVENT_TIME_ANNOTATION,
  readInbound,
  type Inbound,
} from '../../bridge/inbound/environment-requests.js';

const KIND = { apiVersion: 'platform.xenvironment.io/v1alpha1', kind: 'Environment' };
const BRIDGE_SOURCE = '/xenvironment-bridge';
/** BRIDGE_SINK_ALLOW's default, as the endpoint is given it. */
const SINK_ALLOW = CLUSTER_LOCAL_HOSTS;

function cdevent(
  type: string,
  content: JsonObject,
  id = 'e-1',
  timestamp = '2026-11-25T09:00:00.000Z',
): CDEvent {
  return {
    context: { specversion: '0.5.1', id, source: '/tekton/release', type, timestamp },
    subject: { id: String(content.name), content },
  };
}
const requested = (content: JsonObject = {}, id?: string, time?: string) =>
  cdevent(
    EventType.environmentRequested,
    { name: 'team-a/dev', tools: [{ name: 'argo-cd' }], ...content },
    id,
    time,
  );
const released = (id?: string, time?: string) =>
  cdevent(EventType.environmentReleased, { name: 'team-a/dev' }, id, time);

/** A claim as the API server would hold it, after an event was applied. */
function claim(applied?: { id: string; time: string }, extra: JsonObject = {}): JsonObject {
  return {
    ...KIND,
    metadata: {
      name: 'dev',
      namespace: 'team-a',
      uid: 'u-1',
      resourceVersion: '7',
      ...(applied
        ? {
            annotations: {
              [EVENT_ID_ANNOTATION]: applied.id,
              [EVENT_TIME_ANNOTATION]: applied.time,
            },
          }
        : {}),
      ...extra,
    },
    spec: { tools: [{ name: 'cert-manager' }], ttl: '8h' },
  };
}

function inbound(event: CDEvent): Inbound {
  const read = readInbound({ type: event.context.type, data: event }, SINK_ALLOW);
  if ('problem' in read) throw new Error(read.problem);
  return read;
}

describe('what a received event means for the claim', () => {
  const NINE = '2026-11-25T09:00:00.000Z';
  const TEN = '2026-11-25T10:00:00.000Z';
  const annotations = (id: string, time: string) => ({
    [EVENT_ID_ANNOTATION]: id,
    [EVENT_TIME_ANNOTATION]: time,
  });
  const table: {
    name: string;
    input: { event: CDEvent; existing?: JsonObject; onCreate?: JsonObject };
    want: unknown;
  }[] = [
    {
      name: 'a request, no claim: created with the event recorded',
      input: { event: requested({ ttl: '2h', sink: 'http://b.ns.svc/' }) },
      want: {
        do: 'create',
        object: {
          ...KIND,
          metadata: { namespace: 'team-a', name: 'dev', annotations: annotations('e-1', NINE) },
          spec: { tools: [{ name: 'argo-cd' }], ttl: '2h', events: { sink: 'http://b.ns.svc/' } },
        },
      },
    },
    {
      name: 'a request, no claim, a Composition configured: created selecting it',
      input: { event: requested(), onCreate: { compositionRef: { name: 'ephemeral' } } },
      want: {
        do: 'create',
        object: {
          spec: { compositionRef: { name: 'ephemeral' }, tools: [{ name: 'argo-cd' }] },
        },
      },
    },
    {
      name: 'a request for an existing claim, a Composition configured: the selection left alone',
      input: {
        event: requested({}, 'e-2', TEN),
        existing: claim({ id: 'e-1', time: NINE }),
        onCreate: { compositionRef: { name: 'ephemeral' } },
      },
      want: {
        do: 'patch',
        patch: { spec: { tools: [{ name: 'argo-cd' }], ttl: null, events: null } },
      },
    },
    {
      name: 'a request for an existing claim: its tools, ttl and sink replaced, guarded',
      input: { event: requested({}, 'e-2', TEN), existing: claim({ id: 'e-1', time: NINE }) },
      want: {
        do: 'patch',
        patch: {
          metadata: { resourceVersion: '7', annotations: annotations('e-2', TEN) },
          spec: { tools: [{ name: 'argo-cd' }], ttl: null, events: null },
        },
      },
    },
    {
      name: 'a claim made by hand, no event recorded: updated',
      input: { event: requested(), existing: claim() },
      want: { do: 'patch' },
    },
    {
      name: 'the same event again: nothing',
      input: { event: requested(), existing: claim({ id: 'e-1', time: NINE }) },
      want: { do: 'nothing', why: 'applied already' },
    },
    {
      name: 'an older request than the one applied: nothing',
      input: { event: requested({}, 'e-0', NINE), existing: claim({ id: 'e-2', time: TEN }) },
      want: { do: 'nothing', why: 'older than the event last applied' },
    },
    {
      name: 'a request while the claim is being deleted: later',
      input: {
        event: requested({}, 'e-3', TEN),
        existing: claim({ id: 'e-2', time: NINE }, { deletionTimestamp: TEN }),
      },
      want: { do: 'later' },
    },
    {
      name: 'a request older than the release that is deleting the claim: nothing',
      input: {
        event: requested({}, 'e-1', NINE),
        existing: claim({ id: 'r-1', time: TEN }, { deletionTimestamp: TEN }),
      },
      want: { do: 'nothing', why: 'older than the event last applied' },
    },
    {
      name: 'a release: recorded, then the claim deleted',
      input: { event: released('r-1', TEN), existing: claim({ id: 'e-1', time: NINE }) },
      want: {
        do: 'delete',
        patch: { metadata: { resourceVersion: '7', annotations: annotations('r-1', TEN) } },
      },
    },
    {
      name: 'a release older than the request applied: nothing',
      input: { event: released('r-1', NINE), existing: claim({ id: 'e-2', time: TEN }) },
      want: { do: 'nothing', why: 'older than the event last applied' },
    },
    {
      name: 'a release recorded whose deletion never happened: deleted now',
      input: { event: released('r-1', TEN), existing: claim({ id: 'r-1', time: TEN }) },
      want: { do: 'delete' },
    },
    {
      name: 'a release again while deleting: nothing',
      input: {
        event: released('r-1', TEN),
        existing: claim({ id: 'r-1', time: TEN }, { deletionTimestamp: TEN }),
      },
      want: { do: 'nothing', why: 'applied already' },
    },
    {
      name: 'a release of a claim another release is deleting: nothing',
      input: {
        event: released('r-2', TEN),
        existing: claim({ id: 'r-1', time: NINE }, { deletionTimestamp: TEN }),
      },
      want: { do: 'nothing', why: 'being deleted already' },
    },
    {
      name: 'a release, no claim: nothing',
      input: { event: released() },
      want: { do: 'nothing', why: 'no such environment' },
    },
  ];
  it.each(table)('$name', ({ input, want }) => {
    const action = actionFor(inbound(input.event), input.existing, KIND, input.onCreate);
    expect(action).toMatchObject(want as object);
    if (action.do === 'patch') expect(action.patch.spec).not.toHaveProperty('compositionRef');
  });
});

describe('reading a received event', () => {
  const table: {
    name: string;
    input: { type: string; data?: unknown; allow?: string[] };
    want: string;
  }[] = [
    {
      name: 'a type not taken',
      input: { type: EventType.environmentCreated, data: requested() },
      want: 'type: "dev.cdevents.environment.created.0.3.0" is not accepted here',
    },
    {
      name: 'no CDEvent as data',
      input: { type: EventType.environmentRequested, data: 'dev' },
      want: 'data: must be a CDEvent, as application/json',
    },
    {
      name: 'a CloudEvent type other than its CDEvent type',
      input: { type: EventType.environmentReleased, data: requested() },
      want: `context.type: ${EventType.environmentRequested} is not the CloudEvent's type ${EventType.environmentReleased}`,
    },
    {
      name: 'content against the schema',
      input: { type: EventType.environmentRequested, data: requested({ tools: [{ name: 'A' }] }) },
      want: 'subject.content.tools[0].name: must match pattern',
    },
    {
      name: 'a request without a namespace',
      input: { type: EventType.environmentRequested, data: requested({ name: 'dev' }) },
      want: 'subject.content.name: must be <namespace>/<name>',
    },
    {
      name: 'a sink that is no URL',
      input: { type: EventType.environmentRequested, data: requested({ sink: 'http://' }) },
      want: 'subject.content.sink: "http://" is not an absolute URL with a valid host and port',
    },
    {
      name: 'a sink on a host BRIDGE_SINK_ALLOW does not allow',
      input: {
        type: EventType.environmentRequested,
        data: requested({ sink: 'http://events.example.org/hook' }),
      },
      want: 'subject.content.sink: host events.example.org is not allowed (BRIDGE_SINK_ALLOW)',
    },
    ...[
      [
        'http://169.254.169.254/latest',
        '169.254.169.254 is link-local (169.254.0.0/16, fe80::/10)',
      ],
      ['http://[fe80::a9fe]/', '[fe80::a9fe] is link-local (169.254.0.0/16, fe80::/10)'],
      ['https://127.0.0.1:8443/', '127.0.0.1 is loopback (127.0.0.0/8, ::1, localhost)'],
      ['http://localhost/', 'localhost is loopback (127.0.0.0/8, ::1, localhost)'],
      ['http://[::1]/', '[::1] is loopback (127.0.0.0/8, ::1, localhost)'],
      ['http://0.0.0.0:8080/', '0.0.0.0 is unspecified (0.0.0.0/8, ::)'],
      ['http://[::]/', '[::] is unspecified (0.0.0.0/8, ::)'],
    ].map(([sink, why]) => ({
      name: `a sink no allow-list lets through: ${sink}, even with *`,
      input: { type: EventType.environmentRequested, data: requested({ sink }), allow: ['*'] },
      want: `subject.content.sink: host ${why}: no sink may be there`,
    })),
    {
      name: 'a context without a timestamp',
      input: {
        type: EventType.environmentReleased,
        data: { ...released(), context: { ...released().context, timestamp: undefined } },
      },
      want: 'context.timestamp: must be a non-empty string',
    },
  ];
  it.each(table)('$name', ({ input: { allow = SINK_ALLOW, ...input }, want }) => {
    expect(readInbound(input, allow)).toEqual({ problem: expect.stringContaining(want) });
  });
});

/** RFC 7386, as the API server applies a merge patch. */
function merge(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = merge(result[key], value);
  }
  return result;
}

/** Objects in memory, guarded as the API server guards them; deletion held while `holding`. */
class MemoryObjects implements Objects {
  readonly items = new Map<string, JsonObject>();
  version = 1;
  holding = false;
  failWith: number | undefined;
  writes = 0;

  private check(): void {
    if (this.failWith) throw new ApiError(this.failWith, JSON.stringify({ message: 'refused' }));
  }

  async kind() {
    return KIND;
  }

  async get(namespace: string, name: string) {
    this.check();
    const found = this.items.get(`${namespace}/${name}`);
    return found && structuredClone(found);
  }

  async create(namespace: string, object: JsonObject) {
    this.check();
    const metadata = object.metadata as JsonObject;
    const key = `${namespace}/${String(metadata.name)}`;
    if (this.items.has(key)) throw new ApiError(409, '{"reason":"AlreadyExists"}');
    this.writes++;
    this.items.set(key, {
      ...object,
      metadata: {
        ...metadata,
        uid: `uid-${this.version}`,
        resourceVersion: String(++this.version),
      },
    });
  }

  async patch(namespace: string, name: string, patch: JsonObject) {
    this.check();
    const current = this.items.get(`${namespace}/${name}`);
    if (!current) throw new ApiError(404, '{}');
    const given = (patch.metadata as JsonObject | undefined)?.resourceVersion;
    if (given !== undefined && given !== (current.metadata as JsonObject).resourceVersion) {
      throw new ApiError(409, '{"reason":"Conflict"}');
    }
    this.writes++;
    const next = merge(current, patch) as JsonObject;
    (next.metadata as JsonObject).resourceVersion = String(++this.version);
    this.items.set(`${namespace}/${name}`, next);
    return structuredClone(next);
  }

  async delete(namespace: string, name: string, uid: string, resourceVersion: string) {
    this.check();
    const key = `${namespace}/${name}`;
    const metadata = this.items.get(key)?.metadata as JsonObject | undefined;
    if (!metadata) throw new ApiError(404, '{}');
    if (metadata.uid !== uid || metadata.resourceVersion !== resourceVersion) {
      throw new ApiError(409, '{"reason":"Conflict"}');
    }
    this.writes++;
    if (this.holding) metadata.deletionTimestamp = '2026-11-25T11:00:00Z';
    else this.items.delete(key);
  }
}

describe('the inbound endpoint', () => {
  let objects: MemoryObjects;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    server = createServer((req, res) =>
      inboundHandler(objects, {
        namespaces: ['team-a'],
        sinkAllow: SINK_ALLOW,
        token: 's3cret',
        source: BRIDGE_SOURCE,
        logger: pino({ level: 'silent' }),
        maxBytes: 64 * 1024,
      })(req, res),
    );
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  });
  afterAll(() => new Promise((done) => server.close(done)));
  beforeEach(() => {
    objects = new MemoryObjects();
  });

  async function post(
    event: CDEvent,
    options: { mode?: 'binary' | 'structured'; token?: string; source?: string } = {},
  ): Promise<{ status: number; body: JsonObject }> {
    const cloudEvent = new CloudEvent({
      id: event.context.id,
      source: options.source ?? event.context.source,
      type: event.context.type,
      subject: event.subject.id,
      time: event.context.timestamp,
      datacontenttype: 'application/json',
      data: event,
    });
    const message =
      options.mode === 'structured' ? HTTP.structured(cloudEvent) : HTTP.binary(cloudEvent);
    return send(message.headers as Record<string, string>, String(message.body), options.token);
  }

  async function send(headers: Record<string, string>, body: string, token = 's3cret') {
    const res = await fetch(url, {
      method: 'POST',
      headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body,
    });
    return { status: res.status, body: (await res.json()) as JsonObject };
  }

  const stored = () => objects.items.get('team-a/dev');

  it.each(['binary', 'structured'] as const)(
    'creates the claim from a requested event in %s mode, and updates it from a newer one',
    async (mode) => {
      expect(await post(requested({ ttl: '30m' }), { mode })).toEqual({
        status: 202,
        body: { result: 'created' },
      });
      expect(stored()).toMatchObject({
        ...KIND,
        metadata: { annotations: { [EVENT_ID_ANNOTATION]: 'e-1' } },
        spec: { tools: [{ name: 'argo-cd' }], ttl: '30m' },
      });
      const newer = requested(
        { tools: [{ name: 'argo-cd', version: '9.2.0' }] },
        'e-2',
        '2026-11-25T09:05:00.000Z',
      );
      expect((await post(newer, { mode })).body).toEqual({ result: 'updated' });
      expect(stored()!.spec).toEqual({ tools: [{ name: 'argo-cd', version: '9.2.0' }] });
    },
  );

  it('changes nothing for a redelivery or an older event, and answers 202 all the same', async () => {
    await post(requested({}, 'e-2', '2026-11-25T10:00:00.000Z'));
    const writes = objects.writes;
    expect(await post(requested({}, 'e-2', '2026-11-25T10:00:00.000Z'))).toEqual({
      status: 202,
      body: { result: 'applied already' },
    });
    expect(await post(requested({ ttl: '1h' }, 'e-1', '2026-11-25T09:00:00.000Z'))).toEqual({
      status: 202,
      body: { result: 'older than the event last applied' },
    });
    expect(await post(released('r-0', '2026-11-25T09:30:00.000Z'))).toEqual({
      status: 202,
      body: { result: 'older than the event last applied' },
    });
    expect([objects.writes, stored()!.spec]).toEqual([writes, { tools: [{ name: 'argo-cd' }] }]);
  });

  it('releases: records the release, deletes the claim; a newer request waits until it is gone', async () => {
    await post(requested());
    objects.holding = true;
    expect(await post(released('r-1', '2026-11-25T10:00:00.000Z'))).toEqual({
      status: 202,
      body: { result: 'deleting' },
    });
    expect(stored()!.metadata).toMatchObject({
      deletionTimestamp: expect.any(String),
      annotations: { [EVENT_ID_ANNOTATION]: 'r-1' },
    });
    // Older than the release: done with. Newer: the broker is asked to come back (409 is retried).
    expect((await post(requested({}, 'e-1'))).body).toEqual({
      result: 'older than the event last applied',
    });
    const newer = requested({}, 'e-3', '2026-11-25T11:00:00.000Z');
    expect(await post(newer)).toEqual({
      status: 409,
      body: { error: 'the environment is being deleted; send it again once it is gone' },
    });
    objects.items.delete('team-a/dev');
    expect((await post(newer)).body).toEqual({ result: 'created' });
    expect((await post(released('r-9'))).status).toBe(202);
  });

  it('ignores what this bridge sent itself, by the CloudEvent source or the CDEvent one', async () => {
    const own = requested();
    expect(await post(own, { source: BRIDGE_SOURCE })).toEqual({
      status: 202,
      body: { result: 'ignored: sent by this bridge' },
    });
    const announced = { ...own, context: { ...own.context, source: BRIDGE_SOURCE } };
    expect((await post(announced, { source: '/broker' })).body).toEqual({
      result: 'ignored: sent by this bridge',
    });
    expect(objects.writes).toBe(0);
  });

  it('answers what a broker must not retry: 400 naming the field, 401, 403, 405, 413', async () => {
    expect(await post(requested({ tools: [{ name: 'argo-cd', values: [1] }] }))).toEqual({
      status: 400,
      body: { error: 'subject.content.tools[0].values: must be object' },
    });
    expect((await send({ 'content-type': 'application/json' }, '{"id":"x"}')).status).toBe(400);
    expect(await post(requested(), { token: 'wrong' })).toEqual({
      status: 401,
      body: { error: 'a bearer token is required' },
    });
    expect((await post(requested(), { token: '' })).status).toBe(401);
    expect(await post(requested({ name: 'team-b/dev' }))).toEqual({
      status: 403,
      body: { error: 'namespace team-b is not allowed (BRIDGE_INBOUND_NAMESPACES)' },
    });
    expect((await fetch(url, { headers: { authorization: 'Bearer s3cret' } })).status).toBe(405);
    const values = { blob: 'x'.repeat(70 * 1024) };
    expect((await post(requested({ tools: [{ name: 'argo-cd', values }] }))).status).toBe(413);
    expect(objects.writes).toBe(0);
  });

  it('refuses at the door a sink the bridge would not send to: 400 naming it, nothing written', async () => {
    for (const sink of ['http://169.254.169.254/latest', 'http://events.example.org/']) {
      const answer = await post(requested({ sink }));
      expect(answer.status).toBe(400);
      expect(answer.body.error).toMatch(/^subject\.content\.sink: host \S+ is /);
    }
    expect(objects.writes).toBe(0);
    // Nor does an update to an existing claim take one.
    expect((await post(requested({ sink: 'http://broker.team-a.svc/' }))).body).toEqual({
      result: 'created',
    });
    const later = requested({ sink: 'http://[::1]:8080/' }, 'e-2', '2026-11-25T10:00:00.000Z');
    expect((await post(later)).status).toBe(400);
    expect(stored()!.spec).toMatchObject({ events: { sink: 'http://broker.team-a.svc/' } });
  });

  it('answers 400 for what the API server refuses as invalid, 5xx (retried) when it fails', async () => {
    objects.failWith = 422;
    expect(await post(requested())).toEqual({ status: 400, body: { error: 'refused' } });
    objects.failWith = 500;
    expect((await post(requested())).status).toBe(502);
    objects.failWith = undefined;
    expect((await post(requested())).status).toBe(202);
  });

  it('decides again when someone else wrote the claim meanwhile', async () => {
    await post(requested());
    const patch = objects.patch.bind(objects);
    let raced = false;
    objects.patch = async (namespace, name, body) => {
      if (!raced) {
        raced = true;
        await patch(namespace, name, { metadata: { labels: { edited: 'by-someone' } } });
      }
      return patch(namespace, name, body);
    };
    const newer = requested({ ttl: '2h' }, 'e-2', '2026-11-25T10:00:00.000Z');
    expect((await post(newer)).body).toEqual({ result: 'updated' });
    expect(stored()).toMatchObject({
      metadata: { labels: { edited: 'by-someone' } },
      spec: { ttl: '2h' },
    });
  });
});
