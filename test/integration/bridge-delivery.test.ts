import { createServer as createHttpsServer } from 'node:https';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildEvent, EventType } from '../../bridge/delivery/cdevents.js';
import {
  DeliveryError,
  encode,
  post,
  sinkAgents,
  toCloudEvent,
} from '../../bridge/delivery/cloudevents.js';
import { createEmitter } from '../../bridge/delivery/emitter.js';
import { Metrics } from '../../bridge/kube/metrics.js';
import { WorkQueue } from '../../bridge/kube/queue.js';
import { createTestPki } from '../support/certificates.js';
import { TestSink } from '../support/sink.js';

const event = buildEvent(
  EventType.environmentCreated,
  {
    id: '0d1c2b3a-4e5f-8a7b-9c8d-7e6f5a4b3c2d',
    source: '/xenvironment-bridge',
    timestamp: new Date('2026-11-25T09:00:00.123Z'),
  },
  {
    id: 'team-a/dev',
    content: { name: 'team-a/dev', uri: 'https://vcluster.vcluster-dev.svc:443' },
  },
);
const quiet = pino({ level: 'silent' });
const sinks: TestSink[] = [];
async function sinkUp(): Promise<TestSink> {
  const sink = new TestSink();
  await sink.up();
  sinks.push(sink);
  return sink;
}
afterEach(async () => {
  await Promise.all(sinks.splice(0).map((s) => s.down()));
});

describe('CloudEvents delivery', () => {
  it('follows the CDEvents binding in binary and structured mode', async () => {
    const sink = await sinkUp();
    for (const mode of ['binary', 'structured'] as const) {
      await post(sink.url, encode(toCloudEvent(event, { cluster: 'dev' }), mode), {
        timeoutMs: 2_000,
      });
    }
    expect(sink.received.map((r) => r.mode)).toEqual(['binary', 'structured']);
    for (const { event: ce } of sink.received) {
      expect(ce).toMatchObject({
        id: event.context.id,
        source: event.context.source,
        type: event.context.type,
        subject: 'team-a/dev',
        time: '2026-11-25T09:00:00.123Z',
        datacontenttype: 'application/json',
        cluster: 'dev',
      });
      expect(ce.data).toEqual(event);
    }
  });

  it('treats a non-2xx answer as a failure, unlike the cloudevents transport', async () => {
    const sink = await sinkUp();
    sink.failWith = 500;
    const sending = post(sink.url, encode(toCloudEvent(event), 'binary'), { timeoutMs: 2_000 });
    await expect(sending).rejects.toEqual(new DeliveryError('sink answered 500', 500));
  });

  it('fails when the sink is down', async () => {
    const sink = await sinkUp();
    const url = sink.url;
    await sink.down();
    await expect(
      post(url, encode(toCloudEvent(event), 'binary'), { timeoutMs: 2_000 }),
    ).rejects.toBeInstanceOf(DeliveryError);
  });

  it('trusts a TLS sink through K_CA_CERTS, and only then', async () => {
    const pki = createTestPki();
    const server = createHttpsServer({ key: pki.server.key, cert: pki.server.cert }, (req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(202).end());
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const url = `https://127.0.0.1:${(server.address() as { port: number }).port}/`;
    try {
      const message = encode(toCloudEvent(event), 'binary');
      const untrusting = sinkAgents();
      const trusting = sinkAgents(pki.ca.cert);
      await expect(
        post(url, message, { timeoutMs: 2_000, agents: untrusting }),
      ).rejects.toBeInstanceOf(DeliveryError);
      await expect(post(url, message, { timeoutMs: 2_000, agents: trusting })).resolves.toBe(202);
      // The pool keeps its connection for the next event.
      await expect(post(url, message, { timeoutMs: 2_000, agents: trusting })).resolves.toBe(202);
      untrusting.https.destroy();
      trusting.https.destroy();
    } finally {
      server.close();
    }
  });

  it('counts, logs and does not fail when no sink is configured', async () => {
    const metrics = new Metrics();
    const emit = createEmitter(
      { extensions: {}, mode: 'binary', timeoutMs: 1_000 },
      metrics,
      quiet,
    );
    await emit(event, undefined);
    expect(await metrics.registry.metrics()).toContain(
      `xenvironment_bridge_events_unsent_total{type="${EventType.environmentCreated}"} 1`,
    );
  });

  it('sends to the environment sink over K_SINK', async () => {
    const [fallback, own] = [await sinkUp(), await sinkUp()];
    const emit = createEmitter(
      { defaultSink: fallback.url, extensions: {}, mode: 'binary', timeoutMs: 1_000 },
      new Metrics(),
      quiet,
    );
    await emit(event, own.url);
    await emit(event, undefined);
    expect([own.received.length, fallback.received.length]).toEqual([1, 1]);
  });
});

describe('work queue', () => {
  it('retries a failing key with capped exponential backoff, then succeeds', async () => {
    const attempts: number[] = [];
    const delays: number[] = [];
    let queue: WorkQueue;
    const done = new Promise<void>((resolve) => {
      queue = new WorkQueue(
        async () => {
          attempts.push(Date.now());
          if (attempts.length < 5) throw new Error('sink down');
          resolve();
        },
        { workers: 2, retryBaseMs: 10, retryMaxMs: 40, retryRate: 100 },
        (_key, _error, retryInMs) => delays.push(retryInMs),
      );
    });
    queue!.resume();
    const running = queue!.run();
    queue!.add('a');
    await done;
    queue!.stop();
    await running;
    expect(delays).toEqual([10, 20, 40, 40]);
  });

  it('never runs one key twice at once, and re-runs it when it changed meanwhile', async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    let release!: () => void;
    const firstRunBlocked = new Promise<void>((resolve) => (release = resolve));
    const queue = new WorkQueue(
      async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        runs++;
        if (runs === 1) await firstRunBlocked;
        active--;
      },
      { workers: 4, retryBaseMs: 10, retryMaxMs: 10, retryRate: 100 },
      () => {},
    );
    queue.resume();
    const running = queue.run();
    queue.add('a');
    await new Promise((r) => setTimeout(r, 10));
    queue.add('a');
    queue.add('a');
    release();
    await new Promise((r) => setTimeout(r, 20));
    queue.stop();
    await running;
    expect([maxActive, runs]).toEqual([1, 2]);
  });

  it('holds keys while paused and handles each once when resumed', async () => {
    const handled: string[] = [];
    const queue = new WorkQueue(
      async (key) => void handled.push(key),
      { workers: 2, retryBaseMs: 10, retryMaxMs: 10, retryRate: 100 },
      () => {},
    );
    const running = queue.run();
    for (const key of ['a', 'b', 'a']) queue.add(key);
    await new Promise((r) => setTimeout(r, 20));
    expect([handled, queue.depth]).toEqual([[], 2]);
    queue.resume();
    await new Promise((r) => setTimeout(r, 20));
    queue.pause();
    queue.add('c');
    await new Promise((r) => setTimeout(r, 20));
    queue.stop();
    await running;
    expect(handled.sort()).toEqual(['a', 'b']);
  });

  it('runs a key again at once after a conflict, without backing off', async () => {
    const errors: number[] = [];
    let runs = 0;
    const queue = new WorkQueue(
      async () => {
        if (++runs <= 3) throw Object.assign(new Error('conflict'), { code: 409 });
      },
      {
        workers: 1,
        retryBaseMs: 10_000,
        retryMaxMs: 10_000,
        retryRate: 1,
        immediate: (error) => (error as { code?: number }).code === 409,
      },
      (_key, _error, retryInMs) => errors.push(retryInMs),
    );
    queue.resume();
    const running = queue.run();
    queue.add('a');
    await new Promise((r) => setTimeout(r, 50));
    queue.stop();
    await running;
    expect([runs, errors]).toEqual([4, []]);
  });

  it('limits retries over all keys: past the burst, at the retry rate', async () => {
    const delays: number[] = [];
    const failed = new Set<string>();
    const queue = new WorkQueue(
      async (key) => {
        if (failed.has(key)) return;
        failed.add(key);
        throw new Error('sink down');
      },
      { workers: 4, retryBaseMs: 1, retryMaxMs: 1, retryRate: 2 },
      (_key, _error, retryInMs) => delays.push(retryInMs),
    );
    queue.resume();
    const running = queue.run();
    for (let i = 0; i < 24; i++) queue.add(`key-${i}`);
    await new Promise((r) => setTimeout(r, 50));
    queue.stop();
    await running;
    // A burst of 20 (10 s at 2/s) passes with the per-key backoff; then 500 ms apart.
    expect(delays.slice(0, 20)).toEqual(Array(20).fill(1));
    const later = delays.slice(20);
    [500, 1000, 1500, 2000].forEach((due, i) => {
      expect(later[i]).toBeGreaterThan(due - 50);
      expect(later[i]).toBeLessThanOrEqual(due);
    });
  });

  it('handles a key again when it asks to, the latest answer replacing the time asked before', async () => {
    const handled: [string, number][] = [];
    const started = Date.now();
    const asks: Record<string, (number | undefined)[]> = { a: [100, 40], b: [30, undefined] };
    const queue = new WorkQueue(
      async (key) => {
        handled.push([key, Date.now() - started]);
        return { requeueAfterMs: asks[key]!.shift() };
      },
      { workers: 2, retryBaseMs: 10, retryMaxMs: 10, retryRate: 100 },
      () => {},
    );
    queue.resume();
    const running = queue.run();
    queue.add('a');
    queue.add('b');
    await new Promise((r) => setTimeout(r, 20));
    queue.add('a'); // changed meanwhile: handled now, and its answer (40 ms) replaces the 100 ms
    await new Promise((r) => setTimeout(r, 150));
    queue.stop();
    await running;
    // a: at once, on the change, 40 ms after that; b: at once and 30 ms later, then no more.
    expect(handled.map(([key]) => key).sort()).toEqual(['a', 'a', 'a', 'b', 'b']);
    const times = (key: string) => handled.filter(([k]) => k === key).map(([, t]) => t);
    expect(times('a')[2]! - times('a')[1]!).toBeGreaterThanOrEqual(39);
    expect(times('b')[1]! - times('b')[0]!).toBeGreaterThanOrEqual(29);
  });

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('handles a low-priority requeue only while no other key waits, and at once when it changes', async () => {
    const handled: string[] = [];
    const lowOnce = new Set(['a']);
    const queue = new WorkQueue(
      async (key) => {
        handled.push(key);
        if (lowOnce.delete(key)) return { requeueAfterMs: 10, lowPriority: true };
        await sleep(40);
      },
      { workers: 1, retryBaseMs: 10, retryMaxMs: 10, retryRate: 100 },
      () => {},
    );
    queue.resume();
    const running = queue.run();
    for (const key of ['a', 'b', 'c', 'd']) queue.add(key);
    // a's requeue (due at 10 ms) waits behind b, c and d ...
    await sleep(200);
    expect(handled).toEqual(['a', 'b', 'c', 'd', 'a']);

    // ... unless a changes meanwhile (at 50 ms, c running, d waiting): then it goes before e.
    lowOnce.add('a');
    handled.length = 0;
    for (const key of ['a', 'b', 'c', 'd']) queue.add(key);
    await sleep(50);
    queue.add('a');
    queue.add('e');
    await sleep(250);
    queue.stop();
    await running;
    expect(handled).toEqual(['a', 'b', 'c', 'd', 'a', 'e']);
  });

  it('is quiet once every waiting key is handled, and at once while paused', async () => {
    const handled: string[] = [];
    const queue = new WorkQueue(
      async (key) => {
        await sleep(20);
        handled.push(key);
      },
      { workers: 1, retryBaseMs: 10, retryMaxMs: 10, retryRate: 100 },
      () => {},
    );
    const running = queue.run();
    queue.add('a');
    const started = Date.now();
    await queue.quiet(5_000);
    expect([handled, Date.now() - started < 1_000]).toEqual([[], true]);
    queue.resume();
    queue.add('b');
    await queue.quiet(5_000);
    expect(handled).toEqual(['a', 'b']);
    queue.stop();
    await running;
  });

  it('lets low-priority keys through at their rate, past a burst of one second', async () => {
    const settled: number[] = [];
    const seen = new Set<string>();
    const queue = new WorkQueue(
      async (key) => {
        if (!seen.has(key)) {
          seen.add(key);
          return { requeueAfterMs: 1, lowPriority: true };
        }
        settled.push(Date.now());
      },
      { workers: 4, retryBaseMs: 10, retryMaxMs: 10, retryRate: 100, lowPriorityRate: 20 },
      () => {},
    );
    queue.resume();
    const running = queue.run();
    const started = Date.now();
    for (let i = 0; i < 30; i++) queue.add(`key-${i}`);
    await sleep(200);
    const early = settled.length;
    await sleep(600);
    queue.stop();
    await running;
    // 20 at once, then one every 50 ms: about 24 by 200 ms, all 30 by 550 ms.
    expect(early).toBeGreaterThanOrEqual(20);
    expect(early).toBeLessThanOrEqual(25);
    expect(settled).toHaveLength(30);
    expect(settled.at(-1)! - started).toBeGreaterThanOrEqual(450);
  });
});
