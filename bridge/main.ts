import { createServer } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { loadConfig } from './config.js';
import { createEmitter, redactedSink } from './emitter.js';
import { KubeStore } from './kube.js';
import { Metrics } from './metrics.js';
import { WorkQueue } from './queue.js';
import { Reconciler } from './reconciler.js';

/** The bridge: XEnvironment readiness → CDEvents. Settings come from the environment only. */
async function main(): Promise<void> {
  const logger = pino({ level: process.env.BRIDGE_LOG_LEVEL || 'info' });
  const config = loadConfig(process.env);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();

  const metrics = new Metrics();
  const emit = createEmitter(
    {
      ...(config.defaultSink ? { defaultSink: config.defaultSink } : {}),
      extensions: config.extensions,
      mode: config.mode,
      ...(config.ca ? { ca: config.ca } : {}),
      timeoutMs: config.sinkTimeoutMs,
    },
    metrics,
    logger,
  );
  // The queue's handler runs only once the store and reconciler below exist.
  const queue = new WorkQueue(
    (key) => reconciler.reconcile(key),
    { workers: config.workers, retryBaseMs: config.retryBaseMs, retryMaxMs: config.retryMaxMs },
    (key, error, retryInMs) =>
      logger.warn(
        { key, err: (error as Error).message, retryInMs },
        'reconcile failed; will retry',
      ),
  );
  const store = new KubeStore(
    kubeConfig,
    config.composites,
    config.composed,
    (key) => queue.add(key),
    logger,
  );
  const reconciler = new Reconciler(store, emit, config.source, logger);

  const http = createServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200).end('ok');
    } else if (req.url === '/readyz') {
      res.writeHead(store.ready ? 200 : 503).end(store.ready ? 'ok' : 'informers not synced');
    } else if (req.url === '/metrics') {
      metrics.queueDepth.set(queue.depth);
      void metrics.registry
        .metrics()
        .then((body) =>
          res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
        );
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) =>
    http.listen(config.httpAddress.port, config.httpAddress.host, resolve),
  );

  const running = queue.run();
  await store.start();
  for (const key of store.keys()) queue.add(key);
  logger.info(
    {
      sink: config.defaultSink ? redactedSink(config.defaultSink) : null,
      composites: config.composites.map((t) => `${t.group}/${t.version}/${t.plural}`),
      http: `${config.httpAddress.host}:${(http.address() as { port: number }).port}`,
    },
    'bridge started',
  );

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'stopping: finishing deliveries in flight');
      queue.stop();
      void Promise.all([running, store.stop()]).then(() => {
        http.close();
        process.exit(0);
      });
    });
  }
}

main().catch((error: unknown) => {
  console.error(`xenvironment-bridge: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
